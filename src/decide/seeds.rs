//! Pure. Which seeds Cassandra starts with, from what DNS answered and what is on disk.
//!
//! Cassandra never bootstraps (streams data) when its own address is in its seed list
//! (`StorageService.shouldBootstrap`), and a node whose only seed is itself founds a new
//! cluster. So the rules below are about when this pod may list itself:
//!
//! * **Restart** — the data directory holds a Cassandra node's state: the node may list
//!   itself, so that a cold restart of the whole cluster can come up.
//! * **Join** — no data: the seeds are other pods, never this one, so the node bootstraps
//!   and streams its data.
//! * **Found** — no data, ordinal 0, no extra seeds configured, and every other candidate
//!   name is authoritatively absent from DNS: the first pod of a new cluster seeds itself.
//!   (Provisional: a later step confirms over CQL that no ring exists.)
//! * otherwise **wait** (DNS may still be catching up) and, once the wait is over,
//!   **refuse**: an empty or self-only list is how clusters split in two.
//!
//! "Self" is decided by address as well as by name: a name of another pod that resolves
//! to this pod's IP is a stale record, and listing it would make this node its own seed.

use std::net::IpAddr;

use serde::Serialize;

/// What one DNS lookup of a candidate name returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Lookup {
    /// The name resolved to these addresses, in answer order.
    Resolved {
        /// Addresses, as the server returned them.
        addresses: Vec<IpAddr>,
    },
    /// The candidate was given as an IP address; nothing to resolve.
    Literal {
        /// The address as given.
        address: IpAddr,
    },
    /// NXDOMAIN, or an answer with no address records: the name has no address now. In a
    /// headless Service with `publishNotReadyAddresses`, the pod does not exist (yet).
    Absent,
    /// The server answered SERVFAIL (or REFUSED, or another error code).
    ServerError {
        /// The response code, as text.
        code: String,
    },
    /// No answer in time.
    Timeout,
    /// The lookup failed in some other way (no name servers, I/O error...).
    Failed {
        /// What went wrong, for the report.
        error: String,
    },
    /// Not looked up: it is this pod's own name (reported for completeness).
    NotAsked,
}

impl Lookup {
    /// True for failures that say nothing about whether the name exists; worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Lookup::ServerError { .. } | Lookup::Timeout | Lookup::Failed { .. }
        )
    }
}

/// Whether the data directory holds a Cassandra node's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataState {
    /// Nothing Cassandra wrote: a brand-new (or wiped) node.
    Empty,
    /// Cassandra wrote files but never flushed its `system.local` table: it started and
    /// stopped before finishing its first boot. Treated like `Empty` for seeding.
    Partial,
    /// `system.local` was flushed: the node has an identity (host ID, and usually tokens).
    Present,
}

/// One name (or address) that may become a seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The DNS name (no trailing dot) or the address as written.
    pub name: String,
    /// The pod ordinal, for names of this StatefulSet; `None` for extra seeds.
    pub ordinal: Option<u32>,
    /// What DNS answered.
    #[serde(flatten)]
    pub lookup: Lookup,
}

/// The facts the decision is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<'a> {
    /// This pod's ordinal.
    pub own_ordinal: u32,
    /// This pod's IP (the broadcast address Cassandra will gossip with).
    pub pod_ip: IpAddr,
    /// What the data directory holds.
    pub data: DataState,
    /// Candidates in priority order: this StatefulSet's ordinals `0..n`, then extra seeds.
    pub candidates: &'a [Candidate],
    /// True once the bounded wait is over: the last chance to decide.
    pub wait_over: bool,
}

/// Why a candidate did or did not make it into the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// Its addresses are seeds.
    Seed,
    /// It is this pod, and this pod may seed itself (restart with data, or founder).
    SeedSelf,
    /// It is this pod (by name), and a node without data must not seed itself.
    SkippedSelf,
    /// It resolves to this pod's own IP although it names another pod: a stale record.
    SkippedOwnAddress,
    /// All its addresses were already in the list.
    SkippedDuplicate,
    /// No address (absent, error or timeout).
    Unresolved,
}

/// A candidate with the decision made about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The candidate as observed.
    #[serde(flatten)]
    pub candidate: Candidate,
    /// What was done with it.
    #[serde(rename = "use")]
    pub use_: Use,
}

/// How this node will enter the ring, given its seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BootMode {
    /// The node has data and restarts with its identity; it may be its own seed.
    Restart,
    /// The node has no data and bootstraps from other nodes.
    Join,
    /// The node has no data, is ordinal 0 and no other pod exists: it founds the cluster.
    Found,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Start with these seeds (never empty).
    Seeds {
        /// How the node boots.
        mode: BootMode,
        /// The seed addresses, in priority order, without duplicates.
        seeds: Vec<IpAddr>,
    },
    /// Not decidable yet: look up again after a pause.
    Wait {
        /// Why, for the log.
        reason: String,
    },
    /// No safe seed list exists; Cassandra must not start.
    Refuse {
        /// What was seen and what the operator can do.
        reason: String,
    },
}

/// The decision and the per-candidate reasons behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// What to do.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What was done with each candidate, in priority order.
    pub candidates: Vec<Report>,
}

/// Decides the seed list. See the module documentation for the rules.
pub fn plan(facts: &Facts<'_>) -> Plan {
    let may_list_self = facts.data == DataState::Present;
    let mut seeds: Vec<IpAddr> = Vec::new();
    let mut reports = Vec::with_capacity(facts.candidates.len());
    let mut own_listed = false;

    for candidate in facts.candidates {
        let is_own_name = candidate.ordinal == Some(facts.own_ordinal);
        let use_ = if is_own_name {
            if may_list_self {
                // Our own IP is known for certain; DNS for our own name may lag behind a
                // pod IP change, so it is not what we list.
                push_unique(&mut seeds, facts.pod_ip);
                own_listed = true;
                Use::SeedSelf
            } else {
                Use::SkippedSelf
            }
        } else {
            let addresses: &[IpAddr] = match &candidate.lookup {
                Lookup::Resolved { addresses } => addresses,
                Lookup::Literal { address } => std::slice::from_ref(address),
                _ => &[],
            };
            if addresses.is_empty() {
                Use::Unresolved
            } else if addresses.contains(&facts.pod_ip) && !may_list_self {
                Use::SkippedOwnAddress
            } else {
                let before = seeds.len();
                for address in addresses {
                    push_unique(&mut seeds, *address);
                }
                own_listed |= addresses.contains(&facts.pod_ip);
                if seeds.len() == before {
                    Use::SkippedDuplicate
                } else {
                    Use::Seed
                }
            }
        };
        reports.push(Report {
            candidate: candidate.clone(),
            use_,
        });
    }

    let others: Vec<&Report> = reports
        .iter()
        .filter(|r| r.candidate.ordinal != Some(facts.own_ordinal))
        .collect();
    let transient: Vec<&Report> = others
        .iter()
        .copied()
        .filter(|r| r.candidate.lookup.is_transient())
        .collect();
    let has_other_seed = seeds.iter().any(|ip| *ip != facts.pod_ip);

    let verdict = if may_list_self {
        // Restart. Our own address is always usable, so the list is never empty; DNS
        // errors are retried while the wait lasts so the list is as complete as it can be.
        if !transient.is_empty() && !facts.wait_over {
            Verdict::Wait {
                reason: format!("DNS errors for {}", describe(&transient)),
            }
        } else {
            if !own_listed {
                // Only when seed-count excludes our own ordinal; still list ourselves last
                // so that a lone survivor can come up.
                push_unique(&mut seeds, facts.pod_ip);
            }
            Verdict::Seeds {
                mode: BootMode::Restart,
                seeds,
            }
        }
    } else if has_other_seed {
        Verdict::Seeds {
            mode: BootMode::Join,
            seeds,
        }
    } else if facts.own_ordinal == 0
        && others
            .iter()
            .all(|r| r.candidate.ordinal.is_some() && r.candidate.lookup == Lookup::Absent)
    {
        Verdict::Seeds {
            mode: BootMode::Found,
            seeds: vec![facts.pod_ip],
        }
    } else {
        let why = no_seed_reason(facts, &others);
        if facts.wait_over {
            Verdict::Refuse {
                reason: format!(
                    "no usable seed for a node without data: {why}. Starting Cassandra now \
                     would make this pod its own seed and found a second cluster. Check that \
                     the headless Service publishes not-ready addresses \
                     (publishNotReadyAddresses: true), that ordinal 0 is running, and that DNS \
                     answers; or raise --seed-wait"
                ),
            }
        } else {
            Verdict::Wait { reason: why }
        }
    };

    Plan {
        verdict,
        candidates: reports,
    }
}

fn push_unique(list: &mut Vec<IpAddr>, ip: IpAddr) {
    if !list.contains(&ip) {
        list.push(ip);
    }
}

fn no_seed_reason(facts: &Facts<'_>, others: &[&Report]) -> String {
    if others.is_empty() {
        return if facts.own_ordinal == 0 {
            "no other candidate is configured".to_owned()
        } else {
            format!(
                "ordinal {} has no data and no other candidate is configured; only ordinal 0 \
                 may found a cluster",
                facts.own_ordinal
            )
        };
    }
    let mut why = format!("tried {}", describe(others));
    if facts.own_ordinal == 0 {
        if others.iter().any(|r| r.candidate.ordinal.is_none()) {
            why.push_str(
                "; extra seeds are configured, so this pod joins an existing cluster and never \
                 founds one",
            );
        } else {
            why.push_str(
                "; ordinal 0 founds a cluster only when every other pod name is \
                 authoritatively absent from DNS (NXDOMAIN), not on DNS errors",
            );
        }
    } else {
        why.push_str(&format!(
            "; ordinal {} has no data, so it needs another pod as seed",
            facts.own_ordinal
        ));
    }
    why
}

fn describe(reports: &[&Report]) -> String {
    reports
        .iter()
        .map(|r| {
            let what = match (&r.candidate.lookup, &r.use_) {
                (_, Use::SkippedOwnAddress) => "resolves to this pod's own IP".to_owned(),
                (Lookup::Resolved { addresses }, _) => format!("{addresses:?}"),
                (Lookup::Literal { address }, _) => address.to_string(),
                (Lookup::Absent, _) => "NXDOMAIN/no address".to_owned(),
                (Lookup::ServerError { code }, _) => code.clone(),
                (Lookup::Timeout, _) => "timed out".to_owned(),
                (Lookup::Failed { error }, _) => error.clone(),
                (Lookup::NotAsked, _) => "not asked".to_owned(),
            };
            format!("{} ({what})", r.candidate.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "10.0.0.10";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn pod(ordinal: u32, lookup: Lookup) -> Candidate {
        Candidate {
            name: format!("c-{ordinal}.c.db.svc.cluster.local"),
            ordinal: Some(ordinal),
            lookup,
        }
    }

    fn extra(name: &str, lookup: Lookup) -> Candidate {
        Candidate {
            name: name.into(),
            ordinal: None,
            lookup,
        }
    }

    fn at(addresses: &[&str]) -> Lookup {
        Lookup::Resolved {
            addresses: addresses.iter().map(|a| ip(a)).collect(),
        }
    }

    fn servfail() -> Lookup {
        Lookup::ServerError {
            code: "SERVFAIL".into(),
        }
    }

    /// Expected verdict shape in the table: seeds with mode, wait, or refuse.
    #[derive(Debug)]
    enum Want {
        Seeds(BootMode, &'static [&'static str]),
        Wait,
        Refuse,
    }

    fn check(
        name: &str,
        own: u32,
        data: DataState,
        candidates: Vec<Candidate>,
        wait_over: bool,
        want: Want,
    ) {
        let facts = Facts {
            own_ordinal: own,
            pod_ip: ip(ME),
            data,
            candidates: &candidates,
            wait_over,
        };
        let plan = plan(&facts);
        match (&plan.verdict, &want) {
            (Verdict::Seeds { mode, seeds }, Want::Seeds(want_mode, want_seeds)) => {
                let want_seeds: Vec<IpAddr> = want_seeds.iter().map(|s| ip(s)).collect();
                assert_eq!((mode, seeds), (want_mode, &want_seeds), "{name}");
            }
            (Verdict::Wait { .. }, Want::Wait) | (Verdict::Refuse { .. }, Want::Refuse) => {}
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
        // Whatever happens, a node without data never lists itself unless it founds.
        if let Verdict::Seeds { mode, seeds } = &plan.verdict {
            assert!(!seeds.is_empty(), "{name}: empty seed list");
            if data != DataState::Present && *mode != BootMode::Found {
                assert!(
                    !seeds.contains(&ip(ME)),
                    "{name}: lists itself without data"
                );
            }
        }
    }

    use DataState::*;
    use Lookup::Absent;

    /// One row: name, own ordinal, data, candidates, wait over, expected verdict.
    type Case = (&'static str, u32, DataState, Vec<Candidate>, bool, Want);

    #[test]
    fn seed_rules_table() {
        let me = || Lookup::NotAsked;
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            // --- with data: may list itself ---
            ("restart, all resolve", 1, Present,
             vec![pod(0, at(&["10.0.0.1"])), pod(1, me()), pod(2, at(&["10.0.0.3"]))], false,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME, "10.0.0.3"])),
            ("restart, others absent: no waiting on peers", 1, Present,
             vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], false,
             Want::Seeds(BootMode::Restart, &[ME])),
            ("restart, DNS error: retry while waiting", 0, Present,
             vec![pod(0, me()), pod(1, servfail()), pod(2, at(&["10.0.0.3"]))], false,
             Want::Wait),
            ("restart, DNS error at the end: go with what resolved", 0, Present,
             vec![pod(0, me()), pod(1, servfail()), pod(2, at(&["10.0.0.3"]))], true,
             Want::Seeds(BootMode::Restart, &[ME, "10.0.0.3"])),
            ("restart beyond seed-count lists itself last", 5, Present,
             vec![pod(0, at(&["10.0.0.1"])), pod(1, Lookup::Timeout)], true,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME])),
            ("restart, single-node cluster", 0, Present,
             vec![pod(0, me())], false,
             Want::Seeds(BootMode::Restart, &[ME])),
            // --- without data, ordinal > 0: join through others, never self ---
            ("join, all resolve", 2, Empty,
             vec![pod(0, at(&["10.0.0.1"])), pod(1, at(&["10.0.0.2"])), pod(2, me())], false,
             Want::Seeds(BootMode::Join, &["10.0.0.1", "10.0.0.2"])),
            ("join, only ordinal 1 resolves", 2, Empty,
             vec![pod(0, Absent), pod(1, at(&["10.0.0.2"])), pod(2, me())], false,
             Want::Seeds(BootMode::Join, &["10.0.0.2"])),
            ("join, nothing resolves yet: wait", 1, Empty,
             vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], false,
             Want::Wait),
            ("join, nothing resolves in time: refuse", 1, Empty,
             vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], true,
             Want::Refuse),
            ("join, all SERVFAIL/timeout in time: refuse", 1, Empty,
             vec![pod(0, servfail()), pod(1, me()), pod(2, Lookup::Timeout)], true,
             Want::Refuse),
            ("partial data is not data", 1, Partial,
             vec![pod(0, Absent), pod(1, me())], true,
             Want::Refuse),
            ("stale record: another pod's name on our IP is skipped", 2, Empty,
             vec![pod(0, at(&[ME])), pod(1, at(&["10.0.0.2"])), pod(2, me())], false,
             Want::Seeds(BootMode::Join, &["10.0.0.2"])),
            ("stale record only: wait, never self", 2, Empty,
             vec![pod(0, at(&[ME])), pod(1, Absent), pod(2, me())], false,
             Want::Wait),
            ("duplicates collapse", 3, Empty,
             vec![pod(0, at(&["10.0.0.1"])), pod(1, at(&["10.0.0.1", "10.0.0.2"])), pod(2, at(&["10.0.0.2"]))], false,
             Want::Seeds(BootMode::Join, &["10.0.0.1", "10.0.0.2"])),
            // --- without data, ordinal 0 ---
            ("found: every other pod is absent", 0, Empty,
             vec![pod(0, me()), pod(1, Absent), pod(2, Absent)], false,
             Want::Seeds(BootMode::Found, &[ME])),
            ("found: single replica", 0, Empty,
             vec![pod(0, me())], false,
             Want::Seeds(BootMode::Found, &[ME])),
            ("found from partial data (crashed during first boot)", 0, Partial,
             vec![pod(0, me()), pod(1, Absent)], false,
             Want::Seeds(BootMode::Found, &[ME])),
            ("ordinal 0 without data joins when another pod exists", 0, Empty,
             vec![pod(0, me()), pod(1, at(&["10.0.0.2"])), pod(2, Absent)], false,
             Want::Seeds(BootMode::Join, &["10.0.0.2"])),
            ("ordinal 0 never founds on a DNS error", 0, Empty,
             vec![pod(0, me()), pod(1, servfail()), pod(2, Absent)], false,
             Want::Wait),
            ("ordinal 0 never founds on a timeout, even at the end", 0, Empty,
             vec![pod(0, me()), pod(1, Lookup::Timeout), pod(2, Absent)], true,
             Want::Refuse),
            ("ordinal 0 never founds on a stale record of our IP", 0, Empty,
             vec![pod(0, me()), pod(1, at(&[ME])), pod(2, Absent)], true,
             Want::Refuse),
            ("ordinal 0 never founds when extra seeds are configured", 0, Empty,
             vec![pod(0, me()), pod(1, Absent), extra("seed.dc2", Absent)], true,
             Want::Refuse),
            // --- extra seeds ---
            ("extra seeds follow the pods", 1, Empty,
             vec![pod(0, at(&["10.0.0.1"])), pod(1, me()), extra("192.168.9.9", Lookup::Literal { address: ip("192.168.9.9") }), extra("seeds.dc2", at(&["10.1.0.1", "10.1.0.2"]))], false,
             Want::Seeds(BootMode::Join, &["10.0.0.1", "192.168.9.9", "10.1.0.1", "10.1.0.2"])),
            ("extra seeds alone are enough to join", 0, Empty,
             vec![pod(0, me()), pod(1, Absent), extra("seeds.dc2", at(&["10.1.0.1"]))], false,
             Want::Seeds(BootMode::Join, &["10.1.0.1"])),
            ("extra seed equal to a pod address is not repeated", 1, Empty,
             vec![pod(0, at(&["10.0.0.1"])), pod(1, me()), extra("10.0.0.1", Lookup::Literal { address: ip("10.0.0.1") })], false,
             Want::Seeds(BootMode::Join, &["10.0.0.1"])),
            ("extra seed that is our own IP is skipped without data", 1, Empty,
             vec![pod(0, at(&["10.0.0.1"])), pod(1, me()), extra(ME, Lookup::Literal { address: ip(ME) })], false,
             Want::Seeds(BootMode::Join, &["10.0.0.1"])),
            ("extra seed that is our own IP is fine with data", 1, Present,
             vec![pod(0, at(&["10.0.0.1"])), pod(1, me()), extra(ME, Lookup::Literal { address: ip(ME) })], false,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME])),
        ];
        for (name, own, data, candidates, wait_over, want) in cases {
            check(name, own, data, candidates, wait_over, want);
        }
    }

    #[test]
    fn reports_say_why() {
        let candidates = vec![
            pod(0, at(&[ME])),
            pod(1, Lookup::NotAsked),
            pod(2, at(&["10.0.0.3"])),
            pod(3, at(&["10.0.0.3"])),
            pod(4, servfail()),
        ];
        let plan = plan(&Facts {
            own_ordinal: 1,
            pod_ip: ip(ME),
            data: Empty,
            candidates: &candidates,
            wait_over: false,
        });
        let uses: Vec<Use> = plan.candidates.iter().map(|r| r.use_.clone()).collect();
        assert_eq!(
            uses,
            [
                Use::SkippedOwnAddress,
                Use::SkippedSelf,
                Use::Seed,
                Use::SkippedDuplicate,
                Use::Unresolved
            ]
        );
    }

    #[test]
    fn refusal_names_what_was_tried() {
        let candidates = vec![pod(0, servfail()), pod(1, Lookup::NotAsked)];
        let plan = plan(&Facts {
            own_ordinal: 1,
            pod_ip: ip(ME),
            data: Empty,
            candidates: &candidates,
            wait_over: true,
        });
        let Verdict::Refuse { reason } = plan.verdict else {
            panic!("expected a refusal")
        };
        assert!(
            reason.contains("c-0.c.db.svc.cluster.local (SERVFAIL)"),
            "{reason}"
        );
        assert!(reason.contains("publishNotReadyAddresses"), "{reason}");
    }
}
