//! Pure. Which seeds Cassandra starts with, from what DNS answered and what is on disk.
//!
//! Cassandra never bootstraps (streams data) when its own address is in its seed list
//! (`StorageService.shouldBootstrap`), and a node whose only seed is itself founds a new
//! cluster. So the rules below are about when this pod may list itself:
//!
//! * **Restart** — the data directory holds a Cassandra node's state: the node may list
//!   itself, so that a cold restart of the whole cluster can come up. Only when ringkeeper
//!   saw that node finish joining (`DataState::Present`): a node killed mid-bootstrap
//!   also has state on disk (`DataState::Unconfirmed`), and listing itself would make
//!   Cassandra skip the rest of its bootstrap and serve ranges it never streamed. Such a
//!   node restarts with the other pods as seeds, and Cassandra resumes the bootstrap.
//! * **Join** — no data: the seeds are other pods, never this one, so the node bootstraps
//!   and streams its data.
//! * **Found** — no data, ordinal 0, no extra seeds configured, and every other candidate
//!   name is authoritatively absent from DNS: the first pod of a new cluster seeds itself.
//!   (Provisional: a later step confirms over CQL that no ring exists.)
//! * **Replace** — no data, and the identity record in the Kubernetes API
//!   (`decide::cluster_record`) names this pod's previous node: once every ring member
//!   asked (at least two where the ring has them) lists that host as a token owner and
//!   sees it down, the node takes over its tokens, exactly as `--replace-address <its
//!   address>` would. Never on the record alone, never while any member sees it alive;
//!   a record the ring does not confirm is not acted on.
//! * **The cluster remembers it exists** — with a record of the cluster, ordinal 0 never
//!   founds, whatever DNS and CQL answer (the other pods may all be away); when the API
//!   answers that there is no record, it founds as soon as no other pod answers as a ring
//!   member, without waiting out `--seed-wait` for pods that resolve.
//! * otherwise **wait** (DNS may still be catching up) and, once the wait is over,
//!   **refuse**: an empty or self-only list is how clusters split in two. Each refusal
//!   says whether other pods can still end it (`Refusal::KeepWaiting`: the entrypoint
//!   waits on) or only a person can (`Refusal::PersonMustAct`: it exits).
//!
//! "Self" is decided by address as well as by name: a name of another pod that resolves
//! to this pod's IP is a stale record, and listing it would make this node its own seed.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::cluster_record::{PreviousSelf, Recorded};
pub use super::data::DataState;
use super::data::JoinRecord;

mod answer;
mod kin;
mod replace;
mod types;
mod wait;

pub use answer::member_answer;
use kin::*;
use replace::*;
pub use types::*;
pub use wait::Waiting;
use wait::*;

/// Decides the seed list and boot mode. See the module documentation for the rules.
pub fn plan(facts: &Facts<'_>) -> Plan {
    // The previous node confirmed down by the ring is replaced exactly as with an explicit
    // `--replace-address`, which always wins.
    let mut record = previous_in_ring(facts);
    let inferred;
    let facts = match &record {
        Some(RecordUse::Replace { address, .. }) => {
            inferred = Facts {
                replace_address: Some(*address),
                ..facts.clone()
            };
            &inferred
        }
        _ => facts,
    };
    let may_list_self = facts.data == DataState::Present;
    let mut reports: Vec<Report> = Vec::with_capacity(facts.candidates.len());
    for candidate in facts.candidates {
        let is_own_name = candidate.ordinal == Some(facts.own_ordinal);
        let addresses = addresses(candidate);
        let use_ = if is_own_name {
            if may_list_self {
                Use::SeedSelf
            } else {
                Use::SkippedSelf
            }
        } else if addresses.is_empty() {
            Use::Unresolved
        } else if addresses.contains(&facts.pod_ip) && !may_list_self {
            Use::SkippedOwnAddress
        } else if facts
            .replace_address
            .is_some_and(|old| addresses.contains(&old))
        {
            Use::SkippedReplaced
        } else {
            Use::Seed
        };
        reports.push(Report {
            candidate: candidate.clone(),
            use_,
            identity: None,
        });
    }

    let mut saved_peers = facts.saved_peers.to_vec();
    let verdict = match &record {
        Some(RecordUse::ReplaceNotYet { why, .. }) => wait_or_refuse(facts, why.clone()),
        _ => decide(facts, &mut reports, &mut saved_peers, &mut record),
    };
    Plan {
        verdict,
        candidates: reports,
        saved_peers,
        record,
    }
}

fn addresses(candidate: &Candidate) -> Vec<IpAddr> {
    match &candidate.lookup {
        Lookup::Resolved { addresses } => addresses.clone(),
        Lookup::Literal { address } => vec![*address],
        _ => Vec::new(),
    }
}

/// Collects the seed addresses of the reports accepted by `keep`, marking duplicates.
fn collect(reports: &mut [Report], pod_ip: IpAddr, keep: impl Fn(&Report) -> bool) -> Vec<IpAddr> {
    let mut seeds = Vec::new();
    for r in reports.iter_mut() {
        match r.use_ {
            Use::SeedSelf => push_unique(&mut seeds, pod_ip),
            Use::Seed if keep(r) => {
                let before = seeds.len();
                for a in addresses(&r.candidate) {
                    push_unique(&mut seeds, a);
                }
                if seeds.len() == before {
                    r.use_ = Use::SkippedDuplicate;
                }
            }
            Use::Seed => r.use_ = Use::NotAMember,
            _ => {}
        }
    }
    seeds
}

fn decide(
    facts: &Facts<'_>,
    reports: &mut [Report],
    saved: &mut [SavedPeer],
    record: &mut Option<RecordUse>,
) -> Verdict {
    let own = facts.own_ordinal;
    // Another cluster answering on one of our names: never gossip with it.
    if let Some(expected) = facts.cluster_name {
        for r in reports.iter() {
            if let Cql::Member {
                cluster_name: Some(name),
                ..
            } = &r.candidate.cql
                && name != expected
            {
                return Verdict::Refuse {
                    reason: format!(
                        "{} answers as a node of cluster {name:?}, but this node belongs to {expected:?}: \
                         DNS or the seed list points at another cluster. Cassandra was not started; check \
                         --service, --namespace, --extra-seeds and --cluster-name",
                        r.candidate.name
                    ),
                    refusal: Refusal::PersonMustAct,
                };
            }
        }
    }

    // What the other candidates tell, summarised before the reports are updated.
    let others: Vec<&Report> = reports
        .iter()
        .filter(|r| r.candidate.ordinal != Some(own))
        .collect();
    let transient: Vec<&Report> = others
        .iter()
        .copied()
        .filter(|r| r.candidate.lookup.is_transient())
        .collect();
    let transient_why =
        (!transient.is_empty()).then(|| format!("DNS errors for {}", describe(&transient)));
    let is_member =
        |r: &Report| matches!(r.candidate.cql, Cql::Member { .. }) && r.use_ == Use::Seed;
    let members: Vec<&Report> = others.iter().copied().filter(|r| is_member(r)).collect();
    let have_members = !members.is_empty();
    let moving: Vec<String> = members
        .iter()
        .flat_map(|r| match &r.candidate.cql {
            Cql::Member { movements, .. } => movements.clone(),
            _ => Vec::new(),
        })
        .filter(|ip| *ip != facts.pod_ip)
        .map(|ip| ip.to_string())
        .collect();
    let earlier: Vec<&Report> = others
        .iter()
        .copied()
        .filter(|r| r.candidate.ordinal.is_some_and(|o| o < own))
        .filter(|r| {
            matches!(r.candidate.lookup, Lookup::Resolved { .. })
                && !matches!(r.candidate.cql, Cql::Member { .. })
        })
        .collect();
    let earlier_why = (!earlier.is_empty()).then(|| describe(&earlier));
    let mut down: Vec<IpAddr> = members
        .iter()
        .flat_map(|r| match &r.candidate.cql {
            Cql::Member { down, .. } => down.clone(),
            _ => Vec::new(),
        })
        .filter(|ip| *ip != facts.pod_ip && Some(*ip) != facts.replace_address)
        .collect();
    down.sort();
    down.dedup();
    let old_is_known = facts.replace_address.is_some_and(|old| {
        members.iter().any(|r| match &r.candidate.cql {
            Cql::Member { ring, .. } => ring.iter().any(|m| m.address == old),
            _ => false,
        })
    });
    // A ring member at this pod's own IP: alive (measured, not in `down`) or dead.
    let ip_holder: Option<bool> = members.iter().find_map(|r| match &r.candidate.cql {
        Cql::Member { ring, down, .. } if ring.iter().any(|m| m.address == facts.pod_ip) => {
            Some(!down.contains(&facts.pod_ip))
        }
        _ => None,
    });
    let extras = others.iter().any(|r| r.candidate.ordinal.is_none());
    let all_absent = others.iter().all(|r| r.candidate.lookup == Lookup::Absent);
    let no_seed_why = no_seed_reason(facts, &others);

    // An interrupted replace resumes as a replace (below): Cassandra replaces again as long
    // as its bootstrap is not COMPLETED, and a plain restart would bootstrap new tokens
    // beside the dead node it was replacing.
    if facts.data == DataState::Unconfirmed && facts.replace_address.is_none() {
        let alone = own == 0 && !extras && transient_why.is_none() && all_absent;
        return restart_unconfirmed(facts, reports, transient_why, alone);
    }

    if facts.data == DataState::Present {
        // Restart. Our own address is always usable, so the list is never empty; DNS
        // errors are retried while the wait lasts so the list is as complete as it can be.
        if let Some(why) = transient_why
            && !facts.wait_over
        {
            return Verdict::Wait { reason: why };
        }
        if let Some(record) = facts.record
            && let Some(verdict) = check_ring_identity(facts, record, reports, saved)
        {
            return verdict;
        }
        let mut seeds = collect(reports, facts.pod_ip, |_| true);
        // Only when seed-count excludes our own ordinal; still list ourselves last so
        // that a lone survivor can come up.
        push_unique(&mut seeds, facts.pod_ip);
        return Verdict::Seeds {
            mode: BootMode::Restart,
            seeds,
        };
    }

    // A replace at this pod's own (old) IP is how Cassandra replaces a node at the same
    // address: the holder is the node being replaced.
    let ip_holder = ip_holder.filter(|_| facts.replace_address != Some(facts.pod_ip));
    match ip_holder {
        Some(true) => {
            return Verdict::Refuse {
                reason: format!(
                    "this pod's IP {} belongs to a live member of the ring (another host): two nodes \
                     cannot share an address. Cassandra was not started; check that --pod-ip is this \
                     pod's own address",
                    facts.pod_ip
                ),
                refusal: Refusal::PersonMustAct,
            };
        }
        Some(false) => {
            return wait_or_refuse(
                facts,
                format!(
                    "a down member of the ring still holds this pod's IP {ip}; Cassandra would cancel the \
                     join (\"A node with address ... already exists\"). If it is this pod's previous \
                     incarnation (its disk was lost), restart with --replace-address {ip} to take over \
                     its tokens and data at the same address; if it is gone for good, remove it with \
                     `nodetool removenode <host-id>` (see `ringkeeper status`) before this node joins",
                    ip = facts.pod_ip
                ),
            );
        }
        None => {}
    }

    if let Some(old) = facts.replace_address {
        if !have_members {
            return wait_or_refuse(
                facts,
                format!(
                    "--replace-address {old} given, but no ring member answers CQL to confirm it"
                ),
            );
        }
        if !old_is_known {
            return Verdict::Refuse {
                reason: format!(
                    "--replace-address {old} is not a member of the ring (no live node knows it): there is \
                     nothing to replace. Remove the flag to bootstrap as a new node, or give the old node's \
                     address as system.peers shows it"
                ),
                refusal: Refusal::PersonMustAct,
            };
        }
        let seeds = collect(reports, facts.pod_ip, |r| {
            matches!(r.candidate.cql, Cql::Member { .. })
        });
        return Verdict::Seeds {
            mode: BootMode::Replace { address: old },
            seeds,
        };
    }

    if have_members {
        // Join: one range movement at a time (Cassandra refuses a second), and in ordinal
        // order, so pods started all at once still join one by one.
        if !moving.is_empty() {
            return wait_or_refuse(
                facts,
                format!(
                    "another node is joining, leaving or moving ({}); Cassandra allows one at a time",
                    moving.join(", ")
                ),
            );
        }
        if let Some(why) = earlier_why {
            return wait_or_refuse(
                facts,
                format!("{why} exists but is not a ring member yet; pods join in ordinal order"),
            );
        }
        if !down.is_empty() {
            // Cassandra refuses to bootstrap while a replica it must stream from is down
            // ("A node required to move the data consistently is down"); the usual cause
            // on Kubernetes is this very pod's previous incarnation, which lost its disk.
            let list = down
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return wait_or_refuse(
                facts,
                format!(
                    "the ring has down members ({list}); a new node cannot bootstrap consistently while \
                     they are down. If one is this pod's previous incarnation (its disk was lost), restart \
                     with --replace-address <its IP>; if it is gone for good, remove it with `nodetool \
                     removenode <host-id>` (see `ringkeeper status`); otherwise wait for it to come back"
                ),
            );
        }
        let seeds = collect(reports, facts.pod_ip, |r| {
            matches!(r.candidate.cql, Cql::Member { .. })
        });
        return Verdict::Seeds {
            mode: BootMode::Join,
            seeds,
        };
    }

    // No member answers. Only ordinal 0 may found, never with extra seeds (the cluster is
    // elsewhere) or on DNS errors, and never when the identity record says the cluster
    // exists; at once when no other pod exists or the API says no node of the set was ever
    // a member, otherwise only when the wait is over (other pods with data get the time
    // to come back first).
    let may_found = own == 0 && !extras && transient_why.is_none();
    if may_found && let Recorded::Exists { pods } = facts.recorded {
        *record = Some(RecordUse::FoundingRefused { pods: pods.clone() });
        return wait_or_refuse_founding(facts, pods, no_seed_why);
    }
    let never_formed = *facts.recorded == Recorded::Absent;
    // A record that is missing or holds nothing usable may stand for a cluster that
    // exists: no founding at once, even with every other name absent (they may all be
    // away); only once the wait is over, as without a record.
    if may_found
        && all_absent
        && !facts.wait_over
        && let Recorded::Unusable { entries } = facts.recorded
    {
        return Verdict::Wait {
            reason: format!(
                "no other pod exists, but the identity record cannot say that this cluster \
                 was never formed ({}): ordinal 0 does not found before --seed-wait is over",
                entries.join("; ")
            ),
        };
    }
    if may_found && (all_absent || facts.wait_over || never_formed) {
        if never_formed && !all_absent && !facts.wait_over {
            *record = Some(RecordUse::FoundingEarly);
        }
        for r in reports.iter_mut() {
            match r.use_ {
                Use::SkippedSelf => r.use_ = Use::SeedSelf,
                Use::Seed => r.use_ = Use::NotAMember,
                _ => {}
            }
        }
        return Verdict::Seeds {
            mode: BootMode::Found,
            seeds: vec![facts.pod_ip],
        };
    }
    wait_or_refuse(facts, no_seed_why)
}

#[cfg(test)]
mod tests;
