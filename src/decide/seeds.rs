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
    /// What the candidate answered over CQL.
    pub cql: Cql,
}

impl Candidate {
    /// The address it is asked at over CQL: the first one DNS gave, or the literal.
    pub fn probe_address(&self) -> Option<IpAddr> {
        match &self.lookup {
            Lookup::Resolved { addresses } => addresses.first().copied(),
            Lookup::Literal { address } => Some(*address),
            _ => None,
        }
    }
}

/// What a candidate answered over CQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Cql {
    /// Not asked (not resolved, or this pod).
    NotAsked,
    /// No CQL answer: not running, not joined yet, or unreachable.
    NoAnswer {
        /// What happened.
        detail: String,
    },
    /// It answered: a live, joined node.
    Member {
        /// Its `cluster_name`.
        cluster_name: Option<String>,
        /// Its own host ID.
        #[serde(default)]
        host_id: Option<String>,
        /// Members it sees moving ranges (BOOT, BOOT_REPLACE, LEAVING, MOVING).
        movements: Vec<IpAddr>,
        /// The ring's token owners it knows (itself and `system.peers_v2`, live or down).
        ring: Vec<RingMember>,
        /// Ring members it sees down (shut down, or heartbeat not advancing). Only
        /// observed for nodes without data, which must not bootstrap beside them.
        #[serde(default)]
        down: Vec<IpAddr>,
        /// When the longest-running node of its ring started (gossip generation, Unix
        /// seconds), if gossip shows it: a ring founded by mistake is younger than that.
        #[serde(default)]
        oldest_start: Option<i64>,
        /// Host IDs its gossip shows as removed or left.
        #[serde(default)]
        gone: Vec<String>,
    },
}

/// A token owner as a candidate reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RingMember {
    /// Its address.
    pub address: IpAddr,
    /// Its host ID.
    pub host_id: Option<String>,
}

/// Whether a candidate belongs to this node's ring, judged for a node restarting with a
/// join record: Cassandra merges the rings of any two nodes that gossip with the same
/// cluster name, and a node that founded a new cluster by mistake (a pod that lost its
/// disk) has the right name but not the right members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kin {
    /// Its ring lists this node's host ID: a seed.
    KnowsThisNode,
    /// It answers as a ring that does not list this node, and it is no node this one
    /// last saw in its ring: another cluster under the same name. Not a seed.
    ForeignRing,
    /// Its gossip shows this node's host ID as removed or left: this node was removed
    /// (`nodetool removenode`) while it was away. Not a seed; the node must not start.
    RemovedThisNode,
    /// A node this one last saw in its ring, whose ring does not list this node now (an
    /// address swap in a cold restart, where a peer took this node's old address): not a
    /// seed, but no reason to stop; Cassandra re-announces this node at its new address.
    DoesNotListThisNode,
    /// No CQL answer, and its address is a member of a foreign ring seen now. Not a seed.
    ForeignRingMember,
    /// No CQL answer: its ring cannot be checked (every pod is silent in a cold restart).
    Unverified,
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
    /// The cluster this node belongs to; a candidate of another cluster is refused.
    pub cluster_name: Option<&'a str>,
    /// The old address of this pod's previous incarnation, to replace (explicit evidence).
    pub replace_address: Option<IpAddr>,
    /// The join record (with `DataState::Present`): this node's host ID and the ring
    /// members it last saw, against which candidates are checked.
    pub record: Option<&'a JoinRecord>,
    /// The record's peers, asked at their saved addresses (those no candidate resolves to).
    pub saved_peers: &'a [SavedPeer],
    /// Whether this cluster was ever formed, from the identity record in the Kubernetes
    /// API (`Recorded::Unknown` without it).
    pub recorded: &'a Recorded,
    /// This pod's previous node, from that record (acted on only without data).
    pub previous: Option<&'a PreviousSelf>,
    /// The other pods' nodes as the identity record names them, by ordinal: a lower
    /// ordinal whose node is down too replaces first.
    pub others_previous: &'a [(u32, PreviousSelf)],
    /// How long, as this boot observed it round after round, every member that answers has
    /// seen that previous node down (zero at first).
    pub previous_down_for: Duration,
    /// How long it must have been seen down before it is replaced (`--replace-after-down`).
    pub replace_after_down: Duration,
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
    /// It resolves but does not answer CQL as a ring member, so it cannot seed a join.
    NotAMember,
    /// It is the address being replaced.
    SkippedReplaced,
    /// It answers as a ring that does not know this node (or is a member of one): never
    /// a seed, or the two rings would merge.
    ForeignRing,
    /// A member that knows this node answered, so a candidate whose ring cannot be
    /// checked (no CQL answer) is left out.
    SkippedUnverified,
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
    /// Whether it belongs to this node's ring (only judged for a restart with a join
    /// record).
    pub identity: Option<Kin>,
}

/// How this node will enter the ring, given its seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BootMode {
    /// The node has data and restarts with its identity; it may be its own seed.
    Restart,
    /// The node has no data and bootstraps from other nodes.
    Join,
    /// The node has no data, is ordinal 0 and no ring exists: it founds the cluster.
    Found,
    /// The node has no data and takes over the tokens of its previous incarnation, a
    /// member of the ring at `address` (`-Dcassandra.replace_address_first_boot`).
    Replace {
        /// The old address.
        address: IpAddr,
    },
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
        /// Whether the answer can still change by itself.
        refusal: Refusal,
    },
}

/// What a refusal asks for. Waiting is always safe (Cassandra is not started and the pod
/// is not ready), so the only question is whether waiting can ever end it:
///
/// * the answer depends on other pods (they are still starting, joining, coming back, or
///   DNS is catching up): it can change by itself, and the entrypoint keeps waiting.
///   Exiting would only make the kubelet restart the container with a growing back-off
///   (CrashLoopBackOff) and see the same thing later;
/// * the answer depends on this node's configuration or on state only a person changes
///   (another cluster answering, this node removed from the ring, a pod that founded a
///   second ring, a `--replace-address` nothing knows): the entrypoint exits 1 so that
///   the pod shows it.
///
/// No refusal is one that a restart alone could end: what the plan reads once (the data
/// directory, the join record, the flags) changes only by a person's hand, and everything
/// else is looked up again every round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The answer can change by itself as other pods come up: keep waiting.
    KeepWaiting,
    /// Only a person can change the answer: exit.
    PersonMustAct,
}

impl Refusal {
    /// How an exit for this refusal begins its message.
    pub fn prefix(self) -> &'static str {
        match self {
            Refusal::KeepWaiting => "waiting for other pods",
            Refusal::PersonMustAct => "a person must act",
        }
    }
}

/// The decision and the per-candidate reasons behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// What to do.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What was done with each candidate, in priority order.
    pub candidates: Vec<Report>,
    /// The peers this node last saw, asked at their saved addresses (restart with a join
    /// record), with whether their ring knows this node.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub saved_peers: Vec<SavedPeer>,
    /// What the identity record in the Kubernetes API decided, when it played a part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordUse>,
}

/// The part the identity record played in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RecordUse {
    /// Replace this pod's previous node: every member asked lists it at `address` as a
    /// token owner and sees it down.
    Replace {
        /// Its host ID.
        host_id: String,
        /// Its address in the ring.
        address: IpAddr,
        /// The members that confirmed it.
        confirmed_by: Vec<String>,
    },
    /// Not yet: the ring has not confirmed the previous node down (too few members
    /// answer, they disagree, or one sees it alive), another range movement runs, or it
    /// has not been seen down for long enough yet.
    ReplaceNotYet {
        /// Its host ID.
        host_id: String,
        /// Why not yet.
        why: String,
        /// True when only the time remains: every member confirms it down now, and the
        /// edge keeps counting how long.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        awaiting_down_time: bool,
    },
    /// The record names a previous node the ring does not confirm: not acted on, the
    /// rules without the record apply.
    NotActedOn {
        /// Its host ID.
        host_id: String,
        /// Why.
        why: String,
    },
    /// Ordinal 0 does not found a new cluster: the record says this one exists.
    FoundingRefused {
        /// The pods with an entry.
        pods: Vec<String>,
    },
    /// Ordinal 0 founds without waiting out `--seed-wait`: the API answered that no node
    /// of this set was ever a ring member.
    FoundingEarly,
}

/// A ring member this node last saw (its join record), asked over CQL at the address it
/// had: Cassandra gossips with its saved peers at start, whatever the seed list says, so
/// whatever answers there must belong to this node's ring. Never a seed by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedPeer {
    /// The host ID this node last saw there.
    pub host_id: String,
    /// Its address then.
    pub address: IpAddr,
    /// What answers there now.
    pub cql: Cql,
    /// Whether that ring knows this node (set by the plan).
    pub identity: Option<Kin>,
}

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

/// Whether the ring confirms this pod's previous node (from the identity record) as a
/// down token owner, for a node without data and without `--replace-address`. `None`
/// when the record names none, or no member answers yet (the rules without the record
/// then wait as they would).
///
/// Every member that answers is asked; all must list the host at the same address, none
/// may see it alive, and at least two must answer where the ring has two besides it. A
/// member that does not list it (or whose gossip shows it removed) makes the record
/// stale when no member lists it, and a disagreement to wait out otherwise (a peers table
/// lags a removal by moments).
fn previous_in_ring(facts: &Facts<'_>) -> Option<RecordUse> {
    let previous = facts.previous?;
    if !matches!(facts.data, DataState::Empty | DataState::Partial)
        || facts.replace_address.is_some()
    {
        return None;
    }
    let host_id = previous.host_id.clone();
    let members: Vec<Asked> = facts
        .candidates
        .iter()
        .filter(|c| c.ordinal != Some(facts.own_ordinal))
        .filter(|c| c.probe_address() != Some(facts.pod_ip))
        .filter_map(|c| match &c.cql {
            Cql::Member {
                ring,
                down,
                gone,
                movements,
                ..
            } => Some(Asked {
                name: &c.name,
                ring,
                down,
                gone,
                movements,
            }),
            _ => None,
        })
        .collect();
    if members.is_empty() {
        return None;
    }
    let listing = |ring: &[RingMember]| {
        ring.iter()
            .find(|m| m.host_id.as_deref() == Some(host_id.as_str()))
            .map(|m| m.address)
    };
    let removed: Vec<&str> = members
        .iter()
        .filter(|m| m.gone.contains(&host_id))
        .map(|m| m.name)
        .collect();
    if !removed.is_empty() {
        return Some(RecordUse::NotActedOn {
            host_id,
            why: format!(
                "{} show(s) it removed from the ring: this pod joins as a new node",
                removed.join(", ")
            ),
        });
    }
    let (listed, unlisted): (Vec<&Asked>, Vec<&Asked>) =
        members.iter().partition(|m| listing(m.ring).is_some());
    if listed.is_empty() {
        return Some(RecordUse::NotActedOn {
            host_id,
            why: format!(
                "no ring member lists it ({} answered): it is no longer a token owner, so this pod \
                 joins as a new node",
                names(&members.iter().collect::<Vec<_>>())
            ),
        });
    }
    let not_yet = |why: String| {
        Some(RecordUse::ReplaceNotYet {
            host_id: host_id.clone(),
            why,
            awaiting_down_time: false,
        })
    };
    if !unlisted.is_empty() {
        return not_yet(format!(
            "ring members disagree about this pod's previous node {host_id}: listed by {}, not by {}",
            names(&listed),
            names(&unlisted)
        ));
    }
    let mut addresses: Vec<IpAddr> = listed.iter().filter_map(|m| listing(m.ring)).collect();
    addresses.sort();
    addresses.dedup();
    let [address] = addresses[..] else {
        return not_yet(format!(
            "ring members list this pod's previous node {host_id} at different addresses ({addresses:?})"
        ));
    };
    let alive: Vec<&Asked> = listed
        .iter()
        .filter(|m| !m.down.contains(&address))
        .copied()
        .collect();
    if !alive.is_empty() {
        return not_yet(format!(
            "{} see(s) this pod's previous node {host_id} at {address} alive: a live node is never \
             replaced (another pod may run with this identity, or the ring has not noticed it stop)",
            names(&alive)
        ));
    }
    // Live members besides the previous node, as the largest view counts them: members
    // that are down themselves (another pod that lost its disk) cannot confirm anything,
    // and counting them would keep two lost disks in a ring of three from ever being
    // replaced.
    let others = listed
        .iter()
        .map(|m| {
            m.ring
                .iter()
                .filter(|r| r.address != address && !m.down.contains(&r.address))
                .count()
        })
        .max()
        .unwrap_or(0);
    let need = others.min(2);
    if listed.len() < need {
        return not_yet(format!(
            "only {} confirm(s) this pod's previous node {host_id} at {address} down; a replace \
             needs {need} ring members to agree",
            names(&listed)
        ));
    }
    // One replace at a time across the set, the lowest ordinal first: a lower ordinal
    // whose recorded node is down too (it lost its disk as well, or is restarting) goes
    // first, and this pod waits for it. Its replace then shows as a range movement.
    let first: Vec<String> = facts
        .others_previous
        .iter()
        .filter(|(o, _)| *o < facts.own_ordinal)
        .filter(|(_, node)| {
            listed.iter().any(|m| {
                m.ring.iter().any(|r| {
                    r.host_id.as_deref() == Some(node.host_id.as_str())
                        && m.down.contains(&r.address)
                })
            })
        })
        .map(|(o, node)| format!("ordinal {o} (its node {} is down)", node.host_id))
        .collect();
    if !first.is_empty() {
        return not_yet(format!(
            "one replace at a time, the lowest ordinal first: waiting for {} before this pod's \
             previous node {host_id} is replaced",
            first.join(", ")
        ));
    }
    // One range movement at a time, as for a join: a replace beside another replace, a
    // join, a decommission or a move could leave two nodes streaming the same ranges.
    let moving: Vec<String> = listed
        .iter()
        .flat_map(|m| m.movements.iter())
        .filter(|a| **a != address)
        .map(IpAddr::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !moving.is_empty() {
        return not_yet(format!(
            "another range movement is in progress ({}: joining, replacing, leaving or \
             moving): this pod's previous node {host_id} is replaced once it is over",
            moving.join(", ")
        ));
    }
    // Seen down long enough: Cassandra refuses to replace a node heard from within its
    // ring delay ("Cannot replace a live node"), and a node partitioned away from the
    // members (a force-deleted pod whose container still runs) may still take writes.
    if facts.previous_down_for < facts.replace_after_down {
        return Some(RecordUse::ReplaceNotYet {
            why: format!(
                "every member that answers sees this pod's previous node {host_id} at \
                 {address} down; it is replaced once it has been seen down for {}s \
                 continuously (--replace-after-down)",
                facts.replace_after_down.as_secs()
            ),
            host_id,
            awaiting_down_time: true,
        });
    }
    Some(RecordUse::Replace {
        host_id,
        address,
        confirmed_by: listed.iter().map(|m| m.name.to_owned()).collect(),
    })
}

/// A ring member that answered, as `previous_in_ring` reads it.
struct Asked<'a> {
    name: &'a str,
    ring: &'a [RingMember],
    down: &'a [IpAddr],
    gone: &'a [String],
    movements: &'a [IpAddr],
}

fn names(members: &[&Asked]) -> String {
    members
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
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

/// Ring identity, for a node restarting with its join record: a candidate is a seed only
/// if its ring lists this node's host ID. Cassandra merges any two rings that gossip under
/// the same cluster name, and a pod that lost its disk may have founded a new, empty one:
/// merged, that ring takes token ranges whose rows it does not hold, and reads at CL ONE
/// miss them.
///
/// * A candidate whose ring does not list this node is no seed (`Kin::ForeignRing`), nor
///   is a silent candidate at an address of that ring (`Kin::ForeignRingMember`).
/// * If this node last saw a ring member at an address the foreign ring now holds,
///   Cassandra would gossip with it at start whatever the seed list says (saved peers):
///   then the node does not start at all (wait, then refuse).
/// * A node this one last saw in its ring, whose ring no longer lists it
///   (`Kin::RemovedThisNode`): this node was removed while away, and its data
///   is stale: wait (a peers table may lag just after a join), then refuse.
///   Only on positive evidence: its gossip shows this host ID removed or left. A peer
///   whose ring merely does not list this node (`Kin::DoesNotListThisNode`, e.g. it took
///   this node's old address in a cold restart) is no seed, and no reason to stop.
/// * Silent candidates cannot be checked: they stay seeds (a cold restart of the whole set
///   has nothing else), unless a member that knows this node answered.
///
/// Marks each report's identity and use; returns a verdict when the node must not start.
fn check_ring_identity(
    facts: &Facts<'_>,
    record: &JoinRecord,
    reports: &mut [Report],
    saved: &mut [SavedPeer],
) -> Option<Verdict> {
    for r in reports.iter_mut() {
        if r.use_ == Use::Seed {
            r.identity = kin_of(&r.candidate.cql, record, facts.cluster_name);
        }
    }
    for p in saved.iter_mut() {
        p.identity = kin_of(&p.cql, record, facts.cluster_name);
    }
    // Foreign rings (what answered, and where) and the addresses they hold: the nodes
    // that answered and their members.
    let mut foreign: Vec<(&str, IpAddr, &Cql)> = Vec::new();
    for r in reports.iter() {
        if r.identity == Some(Kin::ForeignRing) {
            for a in addresses(&r.candidate) {
                foreign.push((&r.candidate.name, a, &r.candidate.cql));
            }
        }
    }
    let saved_names: Vec<String> = saved
        .iter()
        .map(|p| format!("saved peer {} at {}", p.host_id, p.address))
        .collect();
    for (p, name) in saved.iter().zip(&saved_names) {
        if p.identity == Some(Kin::ForeignRing) {
            foreign.push((name, p.address, &p.cql));
        }
    }
    let mut foreign_addresses: Vec<IpAddr> = Vec::new();
    for (_, address, cql) in &foreign {
        foreign_addresses.push(*address);
        if let Cql::Member { ring, .. } = cql {
            foreign_addresses.extend(ring.iter().map(|m| m.address));
        }
    }
    foreign_addresses.retain(|a| *a != facts.pod_ip);
    let saved_clash: Vec<String> = record
        .peers
        .iter()
        .flatten()
        .filter(|p| p.address.is_some_and(|a| foreign_addresses.contains(&a)))
        .map(|p| format!("{} at {}", p.host_id, p.address.expect("filtered")))
        .collect();
    let foreign_why = foreign
        .iter()
        .map(|(name, _, cql)| describe_foreign(name, cql, &record.host_id))
        .collect::<Vec<_>>()
        .join("; ");
    let any_foreign = !foreign.is_empty();
    let forgot: Vec<String> = reports
        .iter()
        .filter(|r| r.identity == Some(Kin::RemovedThisNode))
        .map(|r| r.candidate.name.clone())
        .chain(
            saved
                .iter()
                .zip(&saved_names)
                .filter(|(p, _)| p.identity == Some(Kin::RemovedThisNode))
                .map(|(_, name)| name.clone()),
        )
        .collect();

    for r in reports.iter_mut() {
        match r.identity {
            Some(Kin::ForeignRing | Kin::RemovedThisNode | Kin::DoesNotListThisNode) => {
                r.use_ = Use::ForeignRing
            }
            Some(Kin::Unverified)
                if addresses(&r.candidate)
                    .iter()
                    .any(|a| foreign_addresses.contains(a)) =>
            {
                r.identity = Some(Kin::ForeignRingMember);
                r.use_ = Use::ForeignRing;
            }
            _ => {}
        }
    }
    let knows_us = reports
        .iter()
        .any(|r| r.identity == Some(Kin::KnowsThisNode));
    if knows_us {
        for r in reports.iter_mut() {
            if r.identity == Some(Kin::Unverified) {
                r.use_ = Use::SkippedUnverified;
            }
        }
    }

    if !forgot.is_empty() {
        let why = format!(
            "{} show(s) this node (host ID {}) as removed from the ring: it was removed (nodetool removenode) while this pod was away, and the data on this disk is stale",
            forgot.join(", "),
            record.host_id
        );
        return Some(restart_refused(
            facts,
            why,
            "Cassandra was not started: rejoining would take back token ranges from the nodes that own them now. If this node was removed on purpose, delete its data directory so that it bootstraps as a new node",
        ));
    }
    if !saved_clash.is_empty() {
        let why = format!(
            "{foreign_why}. This node last saw its own ring there ({}), and Cassandra gossips with the peers it saved whatever the seed list says, so starting it would merge the two rings",
            saved_clash.join(", ")
        );
        return Some(restart_refused(facts, why, FOUNDED_ANEW_REMEDY));
    }
    if record.peers.is_none() && any_foreign {
        // A record of the first format does not say where the peers were: whether
        // Cassandra would reach that ring through them cannot be told, so do not start.
        let why = format!(
            "{foreign_why}. This node's join record was written by an earlier ringkeeper and \
             does not say where its peers were, so whether Cassandra would gossip with that ring \
             at start (it contacts the peers it saved) cannot be told"
        );
        return Some(restart_refused(facts, why, FOUNDED_ANEW_REMEDY));
    }
    None
}

/// What to do about a pod that founded a new cluster beside this ring.
const FOUNDED_ANEW_REMEDY: &str = "Cassandra was not started. If that pod lost its disk and \
    founded a new, empty cluster, nothing of this ring is on it: stop it, delete its data, and \
    start it again with --replace-address <its old IP> (see `ringkeeper status`), which makes \
    it wait for this ring and take over its old identity; this pod then restarts normally";

/// Whether what answered belongs to this node's ring: its ring lists this node's host
/// ID; its gossip shows this node removed; it is a node this one knew that does not list
/// it now; or none of these (another ring). A node of another cluster name is not judged:
/// Cassandra never gossips across cluster names.
fn kin_of(cql: &Cql, record: &JoinRecord, cluster: Option<&str>) -> Option<Kin> {
    let Cql::Member {
        ring,
        host_id,
        gone,
        cluster_name,
        ..
    } = cql
    else {
        return Some(Kin::Unverified);
    };
    let ours = cluster.or(record.cluster_name.as_deref());
    if let (Some(theirs), Some(ours)) = (cluster_name.as_deref(), ours)
        && theirs != ours
    {
        return None;
    }
    let me = record.host_id.as_str();
    let lists_us = ring.iter().any(|m| m.host_id.as_deref() == Some(me));
    let known = host_id
        .as_deref()
        .is_some_and(|id| record.peers.iter().flatten().any(|p| p.host_id == id));
    Some(if lists_us {
        Kin::KnowsThisNode
    } else if gone.iter().any(|g| g == me) {
        Kin::RemovedThisNode
    } else if known {
        Kin::DoesNotListThisNode
    } else {
        Kin::ForeignRing
    })
}

/// One foreign node, for messages: who answered, and the ring it answered as.
fn describe_foreign(name: &str, cql: &Cql, own_host_id: &str) -> String {
    let Cql::Member {
        cluster_name,
        host_id,
        ring,
        oldest_start,
        ..
    } = cql
    else {
        return name.to_owned();
    };
    let members: Vec<String> = ring
        .iter()
        .take(5)
        .map(|m| format!("{}@{}", m.host_id.as_deref().unwrap_or("?"), m.address))
        .collect();
    let more = if ring.len() > 5 { ", ..." } else { "" };
    let since = oldest_start
        .map(|t| {
            format!(
                "; its longest-running node started at {} (gossip generation), so it was founded no later than that",
                super::time::utc(t)
            )
        })
        .unwrap_or_default();
    format!(
        "{} (host ID {}) answers as a ring of {} member(s) under cluster name {:?} ({}{more}) that does not include this node's host ID {own_host_id}{since}",
        name,
        host_id.as_deref().unwrap_or("?"),
        ring.len(),
        cluster_name.as_deref().unwrap_or("?"),
        members.join(", "),
    )
}

/// Wait while the seed wait lasts (what is seen may change: a peers table catching up,
/// a pod being stopped), then refuse with `what_to_do`.
fn restart_refused(facts: &Facts<'_>, why: String, what_to_do: &str) -> Verdict {
    if facts.wait_over {
        Verdict::Refuse {
            reason: format!("{why}. {what_to_do}"),
            refusal: Refusal::PersonMustAct,
        }
    } else {
        Verdict::Wait { reason: why }
    }
}

/// A restart whose join was never confirmed: any other pod may seed it, never itself (a
/// seed skips its bootstrap). It may list itself only when it is alone on the same terms
/// on which ordinal 0 founds at once: ordinal 0, no extra seeds, no DNS errors, and every
/// other pod name NXDOMAIN (a lone node has no ring to stream from). Otherwise it waits,
/// and keeps waiting after the seed wait: another pod coming up ends it.
fn restart_unconfirmed(
    facts: &Facts<'_>,
    reports: &mut [Report],
    transient_why: Option<String>,
    alone: bool,
) -> Verdict {
    if let Some(why) = transient_why
        && !facts.wait_over
    {
        return Verdict::Wait { reason: why };
    }
    let seeds = collect(reports, facts.pod_ip, |_| true);
    if !seeds.is_empty() {
        return Verdict::Seeds {
            mode: BootMode::Restart,
            seeds,
        };
    }
    if alone {
        for r in reports.iter_mut() {
            if r.use_ == Use::SkippedSelf {
                r.use_ = Use::SeedSelf;
            }
        }
        return Verdict::Seeds {
            mode: BootMode::Restart,
            seeds: vec![facts.pod_ip],
        };
    }
    let why = format!(
        "this node has data, but ringkeeper never saw it finish joining the ring (no usable \
         {marker} record in --data-dir): it may have been stopped mid-bootstrap, and as its own seed \
         Cassandra would skip the rest of the bootstrap. No other pod resolves to seed it from",
        marker = super::data::JOINED_MARKER
    );
    if facts.wait_over {
        Verdict::Refuse {
            reason: format!(
                "{why}. Cassandra was not started; it can start once another pod of the ring \
                 resolves (start one if none is coming). If this node did complete its bootstrap (its data predates ringkeeper), write the line \
                 host_id=<its host ID, from `nodetool info`> into {marker} in --data-dir and \
                 restart (the entrypoint then records its ring)",
                marker = super::data::JOINED_MARKER
            ),
            refusal: Refusal::KeepWaiting,
        }
    } else {
        Verdict::Wait { reason: why }
    }
}

/// Wait while the seed wait lasts, then refuse; what other pods do can still end it, so
/// the refusal is one to keep waiting on.
/// Ordinal 0 without data while the identity record says the cluster exists: it waits
/// for the others, however long, and never founds (which pods are away cannot change
/// that; their coming back can).
fn wait_or_refuse_founding(facts: &Facts<'_>, pods: &[String], seen: String) -> Verdict {
    let why = format!(
        "the identity record in the Kubernetes API says this cluster exists ({} were ring \
         members), so ordinal 0 never founds a new one, whatever DNS and CQL answer now \
         ({seen}). It waits for a member to answer; if this pod lost its disk it then \
         replaces its previous node. If the cluster really is gone for good, delete the \
         record (ConfigMap <statefulset>-identity) to found a new one",
        pods.join(", ")
    );
    if facts.wait_over {
        Verdict::Refuse {
            reason: why,
            refusal: Refusal::KeepWaiting,
        }
    } else {
        Verdict::Wait { reason: why }
    }
}

fn wait_or_refuse(facts: &Facts<'_>, why: String) -> Verdict {
    if facts.wait_over {
        Verdict::Refuse {
            reason: format!(
                "no safe way to start this node without data yet: {why}. Starting Cassandra now \
                 could make this pod its own seed and found a second cluster, or bootstrap beside \
                 another range movement. This can change by itself as other pods come up; if it \
                 does not, check that the headless Service publishes not-ready addresses \
                 (publishNotReadyAddresses: true), that ordinal 0 is running, and that DNS answers"
            ),
            refusal: Refusal::KeepWaiting,
        }
    } else {
        Verdict::Wait { reason: why }
    }
}

/// What the boot is waiting for, reported at a steady interval while it waits (before
/// `--seed-wait` is over, and after it for a refusal to keep waiting on): the entrypoint
/// logs it, and it is what a Kubernetes Event about the wait would say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// What it waits for (the plan's reason).
    pub reason: String,
    /// What each other candidate answered, one short entry each, in priority order.
    pub seen: Vec<String>,
    /// True once `--seed-wait` is over: the plan's answer is final, and only other pods
    /// (or DNS) can change it.
    pub seed_wait_over: bool,
    /// How long the boot has waited so far.
    pub waited: Duration,
    /// Lookup rounds so far.
    pub rounds: u32,
}

impl Plan {
    /// The wait this plan asks for: `Some` while it waits, or refuses in a way that other
    /// pods can end; `None` when it decided, or refused for a person to act.
    pub fn waiting(
        &self,
        own_ordinal: u32,
        waited: Duration,
        rounds: u32,
        seed_wait_over: bool,
    ) -> Option<Waiting> {
        let reason = match &self.verdict {
            Verdict::Wait { reason }
            | Verdict::Refuse {
                reason,
                refusal: Refusal::KeepWaiting,
            } => reason.clone(),
            _ => return None,
        };
        let seen = self
            .candidates
            .iter()
            .filter(|r| r.candidate.ordinal != Some(own_ordinal))
            .map(seen)
            .collect();
        Some(Waiting {
            reason,
            seen,
            seed_wait_over,
            waited,
            rounds,
        })
    }
}

/// One candidate as the wait report shows it: `name: DNS answer[, CQL answer]`.
fn seen(r: &Report) -> String {
    let c = &r.candidate;
    let dns = match &c.lookup {
        Lookup::Resolved { addresses } => addresses
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        Lookup::Literal { address } => address.to_string(),
        Lookup::Absent => "NXDOMAIN".to_owned(),
        Lookup::ServerError { code } => code.clone(),
        Lookup::Timeout => "DNS timeout".to_owned(),
        Lookup::Failed { error } => format!("DNS failed ({error})"),
    };
    let cql = match &c.cql {
        Cql::NotAsked if r.use_ == Use::SkippedOwnAddress => ", this pod's own IP".to_owned(),
        Cql::NotAsked => String::new(),
        Cql::NoAnswer { .. } => ", no CQL answer".to_owned(),
        Cql::Member {
            ring,
            movements,
            down,
            ..
        } => {
            let list = |ips: &[IpAddr]| {
                ips.iter()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let mut text = format!(", member of a ring of {}", ring.len());
            if !movements.is_empty() {
                text.push_str(&format!(", moving: {}", list(movements)));
            }
            if !down.is_empty() {
                text.push_str(&format!(", down: {}", list(down)));
            }
            if let Some(
                kin @ (Kin::ForeignRing | Kin::RemovedThisNode | Kin::DoesNotListThisNode),
            ) = r.identity
            {
                text.push_str(&format!(", {kin:?}"));
            }
            text
        }
    };
    format!("{}: {dns}{cql}", c.name)
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
                (Lookup::Resolved { addresses }, _) => match &r.candidate.cql {
                    Cql::NoAnswer { .. } => format!("{addresses:?}, no CQL answer"),
                    _ => format!("{addresses:?}"),
                },
                (Lookup::Literal { address }, _) => address.to_string(),
                (Lookup::Absent, _) => "NXDOMAIN/no address".to_owned(),
                (Lookup::ServerError { code }, _) => code.clone(),
                (Lookup::Timeout, _) => "timed out".to_owned(),
                (Lookup::Failed { error }, _) => error.clone(),
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

    /// A pod candidate that CQL was not asked about (unresolved, or this pod).
    fn pod(ordinal: u32, lookup: Lookup) -> Candidate {
        Candidate {
            name: format!("c-{ordinal}.c.db.svc.cluster.local"),
            ordinal: Some(ordinal),
            lookup,
            cql: Cql::NotAsked,
        }
    }

    /// A pod that resolves and answers CQL as a member of cluster "c".
    fn up(ordinal: u32, addr: &str) -> Candidate {
        Candidate {
            cql: member("c", &[], &[addr]),
            ..pod(ordinal, at(&[addr]))
        }
    }

    /// A pod that resolves but does not answer CQL (not started, or not joined yet).
    fn silent(ordinal: u32, addr: &str) -> Candidate {
        Candidate {
            cql: Cql::NoAnswer {
                detail: "refused".into(),
            },
            ..pod(ordinal, at(&[addr]))
        }
    }

    fn member(cluster: &str, movements: &[&str], ring: &[&str]) -> Cql {
        Cql::Member {
            cluster_name: Some(cluster.into()),
            host_id: None,
            movements: movements.iter().map(|a| ip(a)).collect(),
            ring: ring
                .iter()
                .map(|a| RingMember {
                    address: ip(a),
                    host_id: None,
                })
                .collect(),
            down: Vec::new(),
            oldest_start: None,
            gone: Vec::new(),
        }
    }

    /// A member of cluster "c" whose ring is `ring`, of which `down` are down.
    fn member_down(ring: &[&str], down: &[&str]) -> Cql {
        let Cql::Member {
            cluster_name,
            host_id,
            movements,
            ring,
            oldest_start,
            gone,
            ..
        } = member("c", &[], ring)
        else {
            unreachable!()
        };
        Cql::Member {
            cluster_name,
            host_id,
            movements,
            ring,
            down: down.iter().map(|a| ip(a)).collect(),
            oldest_start,
            gone,
        }
    }

    fn extra(name: &str, lookup: Lookup) -> Candidate {
        Candidate {
            name: name.into(),
            ordinal: None,
            lookup,
            cql: Cql::NotAsked,
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

    /// Expected verdict shape in the table: seeds with mode, wait, or refuse (and whether
    /// the refusal is one to keep waiting on).
    #[derive(Debug)]
    enum Want {
        Seeds(BootMode, &'static [&'static str]),
        Wait,
        Refuse(Refusal),
    }

    /// A refusal that other pods can still end: the entrypoint keeps waiting.
    const WAITS: Want = Want::Refuse(Refusal::KeepWaiting);
    /// A refusal only a person can end: the entrypoint exits.
    const PERSON: Want = Want::Refuse(Refusal::PersonMustAct);

    fn check(
        name: &str,
        own: u32,
        data: DataState,
        candidates: Vec<Candidate>,
        wait_over: bool,
        replace: Option<&str>,
        want: Want,
    ) -> Plan {
        check_with(
            name,
            own,
            data,
            None,
            &[],
            candidates,
            wait_over,
            replace,
            want,
        )
    }

    #[allow(clippy::too_many_arguments)] // one table row, spelled out
    fn check_with(
        name: &str,
        own: u32,
        data: DataState,
        record: Option<&JoinRecord>,
        saved: &[SavedPeer],
        candidates: Vec<Candidate>,
        wait_over: bool,
        replace: Option<&str>,
        want: Want,
    ) -> Plan {
        let api = (&Recorded::Unknown, None);
        check_full(
            name, own, data, record, saved, api, candidates, wait_over, replace, want,
        )
    }

    /// The identity record in the API, as a table row gives it.
    type Api<'a> = (&'a Recorded, Option<&'a PreviousSelf>);

    #[allow(clippy::too_many_arguments)] // one table row, spelled out
    fn check_full(
        name: &str,
        own: u32,
        data: DataState,
        record: Option<&JoinRecord>,
        saved: &[SavedPeer],
        api: Api<'_>,
        candidates: Vec<Candidate>,
        wait_over: bool,
        replace: Option<&str>,
        want: Want,
    ) -> Plan {
        let facts = Facts {
            own_ordinal: own,
            pod_ip: ip(ME),
            data,
            candidates: &candidates,
            wait_over,
            cluster_name: Some("c"),
            replace_address: replace.map(ip),
            record,
            saved_peers: saved,
            recorded: api.0,
            previous: api.1,
            others_previous: &[],
            previous_down_for: Duration::from_secs(3600),
            replace_after_down: Duration::from_secs(180),
        };
        let plan = plan(&facts);
        match (&plan.verdict, &want) {
            (Verdict::Seeds { mode, seeds }, Want::Seeds(want_mode, want_seeds)) => {
                let want_seeds: Vec<IpAddr> = want_seeds.iter().map(|s| ip(s)).collect();
                assert_eq!((mode, seeds), (want_mode, &want_seeds), "{name}");
            }
            (Verdict::Wait { .. }, Want::Wait) => {}
            (Verdict::Refuse { refusal, .. }, Want::Refuse(want)) => {
                assert_eq!(refusal, want, "{name}: {:?}", plan.verdict)
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
        // Whatever happens, a node without data (or whose join is unconfirmed) never lists
        // itself, unless it founds, or is an unconfirmed ordinal 0 with no one to seed from.
        if let Verdict::Seeds { mode, seeds } = &plan.verdict {
            assert!(!seeds.is_empty(), "{name}: empty seed list");
            let lone_first = data == DataState::Unconfirmed && own == 0 && seeds.len() == 1;
            if data != DataState::Present && *mode != BootMode::Found && !lone_first {
                assert!(
                    !seeds.contains(&ip(ME)),
                    "{name}: lists itself without data"
                );
            }
            if let Some(old) = replace {
                assert!(!seeds.contains(&ip(old)), "{name}: seeds the replaced node");
            }
        }
        // Before the wait is over, only a refusal that no other pod can end is final.
        if !wait_over && let Verdict::Refuse { refusal, .. } = &plan.verdict {
            assert_eq!(*refusal, Refusal::PersonMustAct, "{name}: refuses early");
        }
        // Never wait once the wait is over.
        if wait_over {
            assert!(
                !matches!(plan.verdict, Verdict::Wait { .. }),
                "{name}: waits after the wait"
            );
        }
        // Never a seed whose ring does not know this node.
        if let Verdict::Seeds { seeds, .. } = &plan.verdict {
            for r in &plan.candidates {
                if matches!(
                    r.identity,
                    Some(
                        Kin::ForeignRing
                            | Kin::ForeignRingMember
                            | Kin::RemovedThisNode
                            | Kin::DoesNotListThisNode
                    )
                ) {
                    for a in addresses(&r.candidate) {
                        assert!(
                            !seeds.contains(&a) || a == ip(ME),
                            "{name}: seeds {a} of a foreign ring"
                        );
                    }
                }
            }
        }
        plan
    }

    use DataState::*;
    use Lookup::Absent;

    /// One row: name, own ordinal, data, candidates, wait over, --replace-address, expected.
    type Case = (
        &'static str,
        u32,
        DataState,
        Vec<Candidate>,
        bool,
        Option<&'static str>,
        Want,
    );

    #[test]
    fn boot_plan_table() {
        let me = || Lookup::Absent; // this pod's own name: its lookup does not matter
        const R: BootMode = BootMode::Replace {
            address: IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
        };
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            // --- with data: restart, may list itself, no waiting on peers ---
            ("restart, all resolve", 1, Present,
             vec![up(0, "10.0.0.1"), pod(1, me()), silent(2, "10.0.0.3")], false, None,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME, "10.0.0.3"])),
            ("restart, others absent", 1, Present,
             vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], false, None,
             Want::Seeds(BootMode::Restart, &[ME])),
            ("restart, DNS error: retry while waiting", 0, Present,
             vec![pod(0, me()), pod(1, servfail()), silent(2, "10.0.0.3")], false, None,
             Want::Wait),
            ("restart, DNS error at the end: go with what resolved", 0, Present,
             vec![pod(0, me()), pod(1, servfail()), silent(2, "10.0.0.3")], true, None,
             Want::Seeds(BootMode::Restart, &[ME, "10.0.0.3"])),
            ("restart beyond seed-count lists itself last", 5, Present,
             vec![up(0, "10.0.0.1"), pod(1, Lookup::Timeout)], true, None,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME])),
            ("restart, single-node cluster", 0, Present,
             vec![pod(0, me())], false, None,
             Want::Seeds(BootMode::Restart, &[ME])),
            ("restart refuses a candidate of another cluster", 1, Present,
             vec![Candidate { cql: member("other", &[], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
             PERSON),
            // --- data, but the join was never confirmed (killed mid-bootstrap?): restart,
            // never as its own seed, so Cassandra resumes the bootstrap ---
            ("unconfirmed restart seeds from the others, not itself", 1, Unconfirmed,
             vec![up(0, "10.0.0.1"), pod(1, me()), silent(2, "10.0.0.3")], false, None,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", "10.0.0.3"])),
            ("unconfirmed restart: a stale name at our own IP is not listed", 2, Unconfirmed,
             vec![up(0, "10.0.0.1"), pod(1, at(&[ME])), pod(2, me())], false, None,
             Want::Seeds(BootMode::Restart, &["10.0.0.1"])),
            ("unconfirmed restart waits on DNS errors", 1, Unconfirmed,
             vec![pod(0, servfail()), pod(1, me()), up(2, "10.0.0.3")], false, None,
             Want::Wait),
            ("unconfirmed ordinal 0 alone lists itself", 0, Unconfirmed,
             vec![pod(0, me()), pod(1, Absent), pod(2, Absent)], false, None,
             Want::Seeds(BootMode::Restart, &[ME])),
            ("unconfirmed ordinal 0 with an extra seed that is unresolved waits", 0, Unconfirmed,
             vec![pod(0, me()), extra("dc2-seed", Absent)], false, None,
             Want::Wait),
            ("unconfirmed ordinal 1 with no other pod waits", 1, Unconfirmed,
             vec![pod(0, Absent), pod(1, me())], false, None,
             Want::Wait),
            ("unconfirmed ordinal 1 with no other pod refuses at the end", 1, Unconfirmed,
             vec![pod(0, Absent), pod(1, me())], true, None,
             WAITS),
            ("unconfirmed ordinal 0 never lists itself on DNS errors, even after the wait", 0, Unconfirmed,
             vec![pod(0, me()), pod(1, servfail())], true, None,
             WAITS),
            ("unconfirmed ordinal 0 with an unresolved extra seed refuses after the wait", 0, Unconfirmed,
             vec![pod(0, me()), extra("dc2-seed", Absent)], true, None,
             WAITS),
            ("an interrupted replace resumes as a replace", 1, Unconfirmed,
             vec![Candidate { cql: member("c", &[], &["10.0.0.2", "10.0.0.1"]), ..up(0, "10.0.0.2") }, pod(1, me())], false, Some("10.0.0.1"),
             Want::Seeds(R, &["10.0.0.2"])),
            ("unconfirmed restart refuses a candidate of another cluster", 1, Unconfirmed,
             vec![Candidate { cql: member("other", &[], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
             PERSON),
            // --- without data: join through live members only, never self ---
            ("join, all up", 2, Empty,
             vec![up(0, "10.0.0.1"), up(1, "10.0.0.2"), pod(2, me())], false, None,
             Want::Seeds(BootMode::Join, &["10.0.0.1", "10.0.0.2"])),
            ("join through members only: a silent pod is no seed", 3, Empty,
             vec![up(0, "10.0.0.1"), up(1, "10.0.0.2"), silent(2, "10.0.0.3")], false, None,
             Want::Wait),
            ("join waits for an earlier ordinal that is not a member yet", 2, Empty,
             vec![up(0, "10.0.0.1"), silent(1, "10.0.0.2"), pod(2, me())], false, None,
             Want::Wait),
            ("join refuses at the end when an earlier ordinal never joins", 2, Empty,
             vec![up(0, "10.0.0.1"), silent(1, "10.0.0.2"), pod(2, me())], true, None,
             WAITS),
            ("join, a later ordinal that is down does not block", 1, Empty,
             vec![up(0, "10.0.0.1"), pod(1, me()), silent(2, "10.0.0.3")], false, None,
             Want::Seeds(BootMode::Join, &["10.0.0.1"])),
            ("join waits while another node bootstraps", 2, Empty,
             vec![Candidate { cql: member("c", &["10.0.0.2"], &[]), ..up(0, "10.0.0.1") }, up(1, "10.0.0.2"), pod(2, me())], false, None,
             Want::Wait),
            ("a range movement outlasting the wait: keep waiting", 2, Empty,
             vec![Candidate { cql: member("c", &["10.0.0.2"], &[]), ..up(0, "10.0.0.1") }, up(1, "10.0.0.2"), pod(2, me())], true, None,
             WAITS),
            ("a movement of this very pod does not block it", 1, Empty,
             vec![Candidate { cql: member("c", &[ME], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
             Want::Seeds(BootMode::Join, &["10.0.0.1"])),
            ("join, nothing resolves yet: wait", 1, Empty,
             vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], false, None,
             Want::Wait),
            ("join, nothing resolves in time: refuse", 1, Empty,
             vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], true, None,
             WAITS),
            ("join, all SERVFAIL/timeout in time: refuse", 1, Empty,
             vec![pod(0, servfail()), pod(1, me()), pod(2, Lookup::Timeout)], true, None,
             WAITS),
            ("partial data is not data", 1, Partial,
             vec![pod(0, Absent), pod(1, me())], true, None,
             WAITS),
            ("stale record: another pod's name on our IP is never a seed", 2, Empty,
             vec![up(0, "10.0.0.1"), Candidate { cql: Cql::NotAsked, ..up(1, ME) }, pod(2, me())], false, None,
             Want::Wait),
            ("stale record of a later pod does not block a join", 1, Empty,
             vec![up(0, "10.0.0.1"), pod(1, me()), Candidate { cql: Cql::NotAsked, ..up(2, ME) }], false, None,
             Want::Seeds(BootMode::Join, &["10.0.0.1"])),
            ("duplicates collapse", 3, Empty,
             vec![up(0, "10.0.0.1"), Candidate { lookup: at(&["10.0.0.1", "10.0.0.2"]), ..up(1, "10.0.0.1") }, up(2, "10.0.0.2")], false, None,
             Want::Seeds(BootMode::Join, &["10.0.0.1", "10.0.0.2"])),
            ("another cluster on our names: refuse at once", 1, Empty,
             vec![Candidate { cql: member("other", &[], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
             PERSON),
            // --- without data, ordinal 0 ---
            ("found: every other pod is absent", 0, Empty,
             vec![pod(0, me()), pod(1, Absent), pod(2, Absent)], false, None,
             Want::Seeds(BootMode::Found, &[ME])),
            ("found: single replica", 0, Empty,
             vec![pod(0, me())], false, None,
             Want::Seeds(BootMode::Found, &[ME])),
            ("found from partial data (crashed during first boot)", 0, Partial,
             vec![pod(0, me()), pod(1, Absent)], false, None,
             Want::Seeds(BootMode::Found, &[ME])),
            ("pods started at once: ordinal 0 waits for a ring to answer first", 0, Empty,
             vec![pod(0, me()), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")], false, None,
             Want::Wait),
            ("pods started at once: no ring answered in time, ordinal 0 founds", 0, Empty,
             vec![pod(0, me()), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")], true, None,
             Want::Seeds(BootMode::Found, &[ME])),
            ("ordinal 0 without data joins a live ring", 0, Empty,
             vec![pod(0, me()), up(1, "10.0.0.2"), pod(2, Absent)], false, None,
             Want::Seeds(BootMode::Join, &["10.0.0.2"])),
            ("ordinal 0 never founds on a DNS error", 0, Empty,
             vec![pod(0, me()), pod(1, servfail()), pod(2, Absent)], true, None,
             WAITS),
            ("ordinal 0 never founds when extra seeds are configured", 0, Empty,
             vec![pod(0, me()), pod(1, Absent), extra("seed.dc2", Absent)], true, None,
             WAITS),
            ("other ordinals never found", 1, Empty,
             vec![silent(0, "10.0.0.1"), pod(1, me())], true, None,
             WAITS),
            ("a down member blocks a join: wait", 0, Empty,
             vec![pod(0, me()), Candidate { cql: member_down(&["10.0.0.1", "10.0.0.2"], &["10.0.0.1"]), ..up(1, "10.0.0.2") }], false, None,
             Want::Wait),
            ("a down member blocks a join: refuse at the end, pointing at --replace-address", 0, Empty,
             vec![pod(0, me()), Candidate { cql: member_down(&["10.0.0.1", "10.0.0.2"], &["10.0.0.1"]), ..up(1, "10.0.0.2") }], true, None,
             WAITS),
            ("replacing the down member is the way through", 0, Empty,
             vec![pod(0, me()), Candidate { cql: member_down(&["10.0.0.1", "10.0.0.2"], &["10.0.0.1"]), ..up(1, "10.0.0.2") }], false, Some("10.0.0.1"),
             Want::Seeds(R, &["10.0.0.2"])),
            ("a live member holds our IP: refuse at once", 1, Empty,
             vec![Candidate { cql: member_down(&["10.0.0.1", ME], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
             PERSON),
            ("a down member holds our IP: wait (removenode first)", 1, Empty,
             vec![Candidate { cql: member_down(&["10.0.0.1", ME], &[ME]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
             Want::Wait),
            ("a down member holds our IP: keep waiting (it may come back elsewhere)", 1, Empty,
             vec![Candidate { cql: member_down(&["10.0.0.1", ME], &[ME]), ..up(0, "10.0.0.1") }, pod(1, me())], true, None,
             WAITS),
            ("our IP in the ring does not matter with data (it is us)", 1, Present,
             vec![Candidate { cql: member_down(&["10.0.0.1", ME], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME])),
            // --- replace (explicit evidence) ---
            ("replace a member the ring knows", 0, Empty,
             vec![pod(0, me()), Candidate { cql: member("c", &[], &["10.0.0.2", "10.0.0.1"]), ..up(1, "10.0.0.2") }], false, Some("10.0.0.1"),
             Want::Seeds(R, &["10.0.0.2"])),
            ("replace: the old address is never a seed even if DNS still has it", 1, Empty,
             vec![Candidate { cql: Cql::NotAsked, ..up(0, "10.0.0.1") }, pod(1, me()), Candidate { cql: member("c", &[], &["10.0.0.1", "10.0.0.3"]), ..up(2, "10.0.0.3") }], false, Some("10.0.0.1"),
             Want::Seeds(R, &["10.0.0.3"])),
            ("replace an address the ring does not know: refuse", 0, Empty,
             vec![pod(0, me()), up(1, "10.0.0.2")], false, Some("10.0.0.1"),
             PERSON),
            ("replace with no member answering: wait", 0, Empty,
             vec![pod(0, me()), silent(1, "10.0.0.2")], false, Some("10.0.0.1"),
             Want::Wait),
            ("replace with no member answering after the wait: keep waiting", 0, Empty,
             vec![pod(0, me()), silent(1, "10.0.0.2")], true, Some("10.0.0.1"),
             WAITS),
            ("replace is ignored with data (Cassandra ignores _first_boot too)", 0, Present,
             vec![pod(0, me()), up(1, "10.0.0.2")], false, Some("10.0.0.1"),
             Want::Seeds(BootMode::Restart, &[ME, "10.0.0.2"])),
            // --- extra seeds ---
            ("extra seeds that answer are join seeds", 1, Empty,
             vec![up(0, "10.0.0.1"), pod(1, me()), Candidate { cql: member("c", &[], &[]), ..extra("192.168.9.9", Lookup::Literal { address: ip("192.168.9.9") }) }], false, None,
             Want::Seeds(BootMode::Join, &["10.0.0.1", "192.168.9.9"])),
            ("extra seed that is our own IP is skipped without data", 1, Empty,
             vec![up(0, "10.0.0.1"), pod(1, me()), extra(ME, Lookup::Literal { address: ip(ME) })], false, None,
             Want::Seeds(BootMode::Join, &["10.0.0.1"])),
            ("extra seed that is our own IP is fine with data", 1, Present,
             vec![up(0, "10.0.0.1"), pod(1, me()), extra(ME, Lookup::Literal { address: ip(ME) })], false, None,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME])),
        ];
        for (name, own, data, candidates, wait_over, replace, want) in cases {
            check(name, own, data, candidates, wait_over, replace, want);
        }
    }

    const H_ME: &str = "00000000-0000-4000-8000-00000000000a";
    const H0: &str = "00000000-0000-4000-8000-000000000000";
    const H0_NEW: &str = "00000000-0000-4000-8000-0000000000f0";
    const H2: &str = "00000000-0000-4000-8000-000000000002";

    /// This node's record: host H_ME, last saw H0 at 10.0.0.1 and H2 at 10.0.0.3.
    fn record(peers: Option<&[(&str, &str)]>) -> JoinRecord {
        JoinRecord {
            format: crate::decide::data::RECORD_FORMAT,
            host_id: H_ME.into(),
            cluster_name: Some("c".into()),
            address: Some(ip(ME)),
            peers: peers.map(|p| {
                p.iter()
                    .map(|(id, a)| crate::decide::data::KnownPeer {
                        host_id: (*id).into(),
                        address: Some(ip(a)),
                    })
                    .collect()
            }),
            recorded_at: None,
            dc: None,
            rack: None,
        }
    }

    /// A pod at `addr` answering as host `host` of a ring of `ring` (host, address) pairs.
    fn ring_pod(ordinal: u32, addr: &str, host: &str, ring: &[(&str, &str)]) -> Candidate {
        Candidate {
            cql: Cql::Member {
                cluster_name: Some("c".into()),
                host_id: Some(host.into()),
                movements: vec![],
                ring: ring
                    .iter()
                    .map(|(h, a)| RingMember {
                        address: ip(a),
                        host_id: Some((*h).into()),
                    })
                    .collect(),
                down: vec![],
                oldest_start: Some(1_796_186_096),
                gone: vec![],
            },
            ..pod(ordinal, at(&[addr]))
        }
    }

    /// `c` with this node's host ID shown as removed in its gossip.
    fn removed(mut c: Candidate) -> Candidate {
        if let Cql::Member { gone, .. } = &mut c.cql {
            gone.push(H_ME.into());
        }
        c
    }

    #[test]
    fn ring_identity_table() {
        let me = || Lookup::Absent;
        let peers: &[(&str, &str)] = &[(H0, "10.0.0.1"), (H2, "10.0.0.3")];
        let ours = record(Some(peers));
        let legacy = record(None);
        // The old ring, as a member that knows us reports it.
        let old_ring: &[(&str, &str)] = &[(H0, "10.0.0.1"), (H_ME, ME), (H2, "10.0.0.3")];
        // A new, empty cluster founded by ordinal 0 after it lost its disk.
        let new_ip = |o| ring_pod(o, "10.0.0.21", H0_NEW, &[(H0_NEW, "10.0.0.21")]);
        let old_ip = |o| ring_pod(o, "10.0.0.1", H0_NEW, &[(H0_NEW, "10.0.0.1")]);
        type Row<'a> = (
            &'a str,
            &'a JoinRecord,
            Vec<Candidate>,
            bool,
            Want,
            Vec<(u32, Option<Kin>, Use)>,
        );
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("a member whose ring lists this node is a seed", &ours,
             vec![ring_pod(0, "10.0.0.1", H0, old_ring), pod(1, me()), pod(2, Absent)], false,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME]),
             vec![(0, Some(Kin::KnowsThisNode), Use::Seed)]),
            ("a new empty founder on a new IP is no seed: restart without it", &ours,
             vec![new_ip(0), pod(1, me()), pod(2, Absent)], false,
             Want::Seeds(BootMode::Restart, &[ME]),
             vec![(0, Some(Kin::ForeignRing), Use::ForeignRing)]),
            ("a founder on a saved peer's address: wait (Cassandra would gossip with it)", &ours,
             vec![old_ip(0), pod(1, me()), pod(2, Absent)], false,
             Want::Wait,
             vec![(0, Some(Kin::ForeignRing), Use::ForeignRing)]),
            ("a founder on a saved peer's address: refuse when the wait is over", &ours,
             vec![old_ip(0), pod(1, me()), pod(2, Absent)], true,
             PERSON, vec![]),
            ("the other pod that knows this node seeds it; the foreign one does not", &ours,
             vec![new_ip(0), pod(1, me()), ring_pod(2, "10.0.0.3", H2, old_ring)], false,
             Want::Seeds(BootMode::Restart, &[ME, "10.0.0.3"]),
             vec![(0, Some(Kin::ForeignRing), Use::ForeignRing), (2, Some(Kin::KnowsThisNode), Use::Seed)]),
            ("cold restart: every other pod is silent, all stay seeds", &ours,
             vec![silent(0, "10.0.0.1"), pod(1, me()), silent(2, "10.0.0.3")], false,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME, "10.0.0.3"]),
             vec![(0, Some(Kin::Unverified), Use::Seed), (2, Some(Kin::Unverified), Use::Seed)]),
            ("a member that knows this node answered: silent pods are left out", &ours,
             vec![ring_pod(0, "10.0.0.1", H0, old_ring), pod(1, me()), silent(2, "10.0.0.9")], false,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME]),
             vec![(2, Some(Kin::Unverified), Use::SkippedUnverified)]),
            ("a silent pod at an address of a foreign ring is no seed", &ours,
             vec![ring_pod(0, "10.0.0.21", H0_NEW, &[(H0_NEW, "10.0.0.21"), (H2, "10.0.0.22")]), pod(1, me()), silent(2, "10.0.0.22")], false,
             Want::Seeds(BootMode::Restart, &[ME]),
             vec![(2, Some(Kin::ForeignRingMember), Use::ForeignRing)]),
            ("a ring whose gossip shows this node removed: wait", &ours,
             vec![removed(ring_pod(0, "10.0.0.1", H0, &[(H0, "10.0.0.1"), (H2, "10.0.0.3")])), pod(1, me())], false,
             Want::Wait,
             vec![(0, Some(Kin::RemovedThisNode), Use::ForeignRing)]),
            ("a ring whose gossip shows this node removed: refuse when the wait is over", &ours,
             vec![removed(ring_pod(0, "10.0.0.1", H0, &[(H0, "10.0.0.1"), (H2, "10.0.0.3")])), pod(1, me())], true,
             PERSON, vec![]),
            ("a peer that took this node's old address in a cold restart: no seed, no refusal", &ours,
             vec![ring_pod(0, "10.0.0.1", H0, &[(H0, "10.0.0.1"), (H2, ME)]), pod(1, me())], true,
             Want::Seeds(BootMode::Restart, &[ME]),
             vec![(0, Some(Kin::DoesNotListThisNode), Use::ForeignRing)]),
            ("a record of the first format checks the host ID", &legacy,
             vec![ring_pod(0, "10.0.0.1", H0, old_ring), pod(1, me()), silent(2, "10.0.0.3")], false,
             Want::Seeds(BootMode::Restart, &["10.0.0.1", ME]),
             vec![(0, Some(Kin::KnowsThisNode), Use::Seed)]),
            ("a record of the first format cannot rule out a merge: wait", &legacy,
             vec![new_ip(0), pod(1, me()), ring_pod(2, "10.0.0.3", H2, old_ring)], false,
             Want::Wait,
             vec![(0, Some(Kin::ForeignRing), Use::ForeignRing), (2, Some(Kin::KnowsThisNode), Use::Seed)]),
            ("a record of the first format cannot rule out a merge: refuse", &legacy,
             vec![new_ip(0), pod(1, me())], true,
             PERSON, vec![]),
            ("another cluster name still refuses at once", &ours,
             vec![Candidate { cql: member("other", &[], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false,
             PERSON, vec![]),
        ];
        for (name, record, candidates, wait_over, want, marks) in rows {
            let plan = check_with(
                name,
                1,
                Present,
                Some(record),
                &[],
                candidates,
                wait_over,
                None,
                want,
            );
            for (ordinal, kin, use_) in marks {
                let r = plan
                    .candidates
                    .iter()
                    .find(|r| r.candidate.ordinal == Some(ordinal))
                    .unwrap();
                assert_eq!(
                    (r.identity, r.use_.clone()),
                    (kin, use_),
                    "{name}: ordinal {ordinal}"
                );
            }
        }
        // Without a record (data from before ringkeeper kept one) nothing is judged.
        let plan = check(
            "no record, no identity",
            1,
            Present,
            vec![new_ip(0), pod(1, me())],
            false,
            None,
            Want::Seeds(BootMode::Restart, &["10.0.0.21", ME]),
        );
        assert!(plan.candidates.iter().all(|r| r.identity.is_none()));
    }

    #[test]
    fn saved_peers_are_checked_where_cassandra_will_gossip() {
        let peers: &[(&str, &str)] = &[(H0, "10.0.0.1"), (H2, "10.0.0.3")];
        let ours = record(Some(peers));
        let saved = |cql: Cql| SavedPeer {
            host_id: H0.into(),
            address: ip("10.0.0.1"),
            cql,
            identity: None,
        };
        let founder = ring_pod(0, "10.0.0.1", H0_NEW, &[(H0_NEW, "10.0.0.1")]).cql;
        let old_ring = ring_pod(0, "10.0.0.1", H0, &[(H0, "10.0.0.1"), (H_ME, ME)]).cql;
        // Pod 0's name does not resolve (yet), but a new ring answers at its saved address.
        for (wait_over, want) in [(false, Want::Wait), (true, PERSON)] {
            let plan = check_with(
                "a foreign ring at a saved peer's address",
                1,
                Present,
                Some(&ours),
                &[saved(founder.clone())],
                vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
                wait_over,
                None,
                want,
            );
            assert_eq!(plan.saved_peers[0].identity, Some(Kin::ForeignRing));
        }
        // Another cluster at that address now (the IP was reused): Cassandra never gossips
        // across cluster names, so it is not judged.
        let mut other_cluster = founder.clone();
        if let Cql::Member { cluster_name, .. } = &mut other_cluster {
            *cluster_name = Some("staging".into());
        }
        // The old peer answers there and knows this node; or nothing answers.
        for cql in [
            old_ring,
            Cql::NoAnswer {
                detail: "refused".into(),
            },
            other_cluster,
        ] {
            check_with(
                "a saved peer of this ring, or silent",
                1,
                Present,
                Some(&ours),
                &[saved(cql)],
                vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
                false,
                None,
                Want::Seeds(BootMode::Restart, &[ME]),
            );
        }
    }

    #[test]
    fn identity_refusals_say_what_was_seen_and_what_to_do() {
        let peers: &[(&str, &str)] = &[(H0, "10.0.0.1"), (H2, "10.0.0.3")];
        let ours = record(Some(peers));
        let candidates = vec![
            ring_pod(0, "10.0.0.1", H0_NEW, &[(H0_NEW, "10.0.0.1")]),
            pod(1, Lookup::Absent),
        ];
        let plan = plan(&Facts {
            own_ordinal: 1,
            pod_ip: ip(ME),
            data: Present,
            candidates: &candidates,
            wait_over: true,
            cluster_name: Some("c"),
            replace_address: None,
            record: Some(&ours),
            saved_peers: &[],
            recorded: &Recorded::Unknown,
            previous: None,
            others_previous: &[],
            previous_down_for: Duration::from_secs(3600),
            replace_after_down: Duration::from_secs(180),
        });
        let Verdict::Refuse { reason, .. } = plan.verdict else {
            panic!("expected a refusal")
        };
        for part in [
            "answers as a ring of 1 member(s) under cluster name \"c\"",
            &format!("does not include this node's host ID {H_ME}"),
            "started at 2026-12-02T04:34:56Z",
            &format!("{H0} at 10.0.0.1"),
            "merge the two rings",
            "--replace-address",
        ] {
            assert!(reason.contains(part), "{part:?} not in: {reason}");
        }
    }

    #[test]
    fn a_same_address_replace_is_allowed() {
        // The pod lost its disk and came back on its old IP: Cassandra replaces a node at
        // the same address too (it hibernates while it streams).
        check(
            "replace at the same IP",
            0,
            Empty,
            vec![
                pod(0, Lookup::Absent),
                Candidate {
                    cql: member_down(&[ME, "10.0.0.2"], &[ME]),
                    ..up(1, "10.0.0.2")
                },
            ],
            false,
            Some(ME),
            Want::Seeds(BootMode::Replace { address: ip(ME) }, &["10.0.0.2"]),
        );
    }

    #[test]
    fn refusal_names_what_was_tried() {
        let candidates = vec![pod(0, servfail()), pod(1, Lookup::Absent)];
        let plan = plan(&Facts {
            own_ordinal: 1,
            pod_ip: ip(ME),
            data: Empty,
            candidates: &candidates,
            wait_over: true,
            cluster_name: None,
            replace_address: None,
            record: None,
            saved_peers: &[],
            recorded: &Recorded::Unknown,
            previous: None,
            others_previous: &[],
            previous_down_for: Duration::from_secs(3600),
            replace_after_down: Duration::from_secs(180),
        });
        let Verdict::Refuse { reason, .. } = plan.verdict else {
            panic!("expected a refusal")
        };
        assert!(
            reason.contains("c-0.c.db.svc.cluster.local (SERVFAIL)"),
            "{reason}"
        );
        assert!(reason.contains("publishNotReadyAddresses"), "{reason}");
    }

    #[test]
    fn the_wait_report_says_what_is_awaited_and_what_was_seen() {
        let waited = Duration::from_secs(90);
        let candidates = |zero: Candidate| {
            vec![
                zero,
                pod(1, Lookup::Absent),
                pod(2, Lookup::Absent),
                silent(3, "10.0.0.4"),
            ]
        };
        let facts = |cs: &[Candidate], wait_over| {
            plan(&Facts {
                own_ordinal: 1,
                pod_ip: ip(ME),
                data: Empty,
                candidates: cs,
                wait_over,
                cluster_name: Some("c"),
                replace_address: None,
                record: None,
                saved_peers: &[],
                recorded: &Recorded::Unknown,
                previous: None,
                others_previous: &[],
                previous_down_for: Duration::from_secs(3600),
                replace_after_down: Duration::from_secs(180),
            })
        };
        // Pods started at once: ordinal 0 resolves but does not answer yet.
        let all = candidates(silent(0, "10.0.0.1"));
        for wait_over in [false, true] {
            let w = facts(&all, wait_over)
                .waiting(1, waited, 7, wait_over)
                .expect("waits");
            assert!(
                w.reason.contains("needs another pod as seed"),
                "{}",
                w.reason
            );
            assert_eq!(
                w.seen,
                [
                    "c-0.c.db.svc.cluster.local: 10.0.0.1, no CQL answer",
                    "c-2.c.db.svc.cluster.local: NXDOMAIN",
                    "c-3.c.db.svc.cluster.local: 10.0.0.4, no CQL answer",
                ]
            );
            assert_eq!(
                (w.seed_wait_over, w.waited, w.rounds),
                (wait_over, waited, 7)
            );
        }
        // A member that sees another node joining.
        let moving = candidates(Candidate {
            cql: member("c", &["10.0.0.4"], &["10.0.0.1", "10.0.0.4"]),
            ..up(0, "10.0.0.1")
        });
        let w = facts(&moving, true).waiting(1, waited, 9, true).unwrap();
        assert_eq!(
            w.seen[0],
            "c-0.c.db.svc.cluster.local: 10.0.0.1, member of a ring of 2, moving: 10.0.0.4"
        );
        // Decided, or refused for a person: nothing to wait for.
        let joined = candidates(up(0, "10.0.0.1"));
        assert_eq!(facts(&joined, false).waiting(1, waited, 1, false), None);
        let foreign = candidates(Candidate {
            cql: member("other", &[], &[]),
            ..up(0, "10.0.0.1")
        });
        assert_eq!(facts(&foreign, true).waiting(1, waited, 1, true), None);
    }

    /// A member of cluster "c" whose ring lists `(address, host ID)`, with `down` down and
    /// `gone` removed or left in its gossip.
    fn member_ids(ring: &[(&str, &str)], down: &[&str], gone: &[&str]) -> Cql {
        Cql::Member {
            cluster_name: Some("c".into()),
            host_id: None,
            movements: Vec::new(),
            ring: ring
                .iter()
                .map(|(a, h)| RingMember {
                    address: ip(a),
                    host_id: Some((*h).into()),
                })
                .collect(),
            down: down.iter().map(|a| ip(a)).collect(),
            oldest_start: None,
            gone: gone.iter().map(|h| (*h).into()).collect(),
        }
    }

    #[test]
    fn a_replace_waits_for_the_down_time_and_for_other_range_movements() {
        const H0: &str = "00000000-0000-0000-0000-000000000000";
        const H1: &str = "11111111-1111-1111-1111-111111111111";
        const H2: &str = "22222222-2222-2222-2222-222222222222";
        let ring3 = [("10.0.0.1", H0), ("10.0.0.2", H1), ("10.0.0.3", H2)];
        let member = |ordinal: u32, addr: &str, movements: &[&str]| {
            let mut cql = member_ids(&ring3, &["10.0.0.2"], &[]);
            if let Cql::Member { movements: m, .. } = &mut cql {
                *m = movements.iter().map(|a| ip(a)).collect();
            }
            Candidate {
                cql,
                ..pod(ordinal, at(&[addr]))
            }
        };
        let exists = Recorded::Exists {
            pods: vec!["c-0".into(), "c-1".into(), "c-2".into()],
        };
        let was_h1 = PreviousSelf {
            host_id: H1.into(),
            address: ip("10.0.0.2"),
        };
        let run_as = |own: u32,
                      previous: &PreviousSelf,
                      others: &[(u32, PreviousSelf)],
                      candidates: Vec<Candidate>,
                      down_for: u64| {
            plan(&Facts {
                own_ordinal: own,
                pod_ip: ip(ME),
                data: DataState::Empty,
                candidates: &candidates,
                wait_over: true,
                cluster_name: Some("c"),
                replace_address: None,
                record: None,
                saved_peers: &[],
                recorded: &exists,
                previous: Some(previous),
                others_previous: others,
                previous_down_for: Duration::from_secs(down_for),
                replace_after_down: Duration::from_secs(180),
            })
        };
        let run = |candidates: Vec<Candidate>, down_for: u64| {
            run_as(1, &was_h1, &[], candidates, down_for)
        };
        let quiet = || vec![member(0, "10.0.0.1", &[]), member(2, "10.0.0.3", &[])];
        // Seen down, but not for long enough: wait, and the edge keeps counting.
        for down_for in [0, 179] {
            let p = run(quiet(), down_for);
            assert!(
                matches!(&p.record, Some(RecordUse::ReplaceNotYet { awaiting_down_time: true, why, .. }) if why.contains("180s")),
                "{down_for}: {:?}",
                p.record
            );
            assert!(
                !matches!(p.verdict, Verdict::Seeds { .. }),
                "never a plain join beside the down node: {:?}",
                p.verdict
            );
        }
        // Long enough: replace.
        let p = run(quiet(), 180);
        assert!(
            matches!(
                p.verdict,
                Verdict::Seeds {
                    mode: BootMode::Replace { .. },
                    ..
                }
            ),
            "{:?}",
            p.verdict
        );
        // Two lost disks at once: ordinal 0's recorded node is down too, so ordinal 1 waits
        // for it (and ordinal 0, seeing ordinal 1's node down, goes first).
        let h0 = PreviousSelf {
            host_id: H0.into(),
            address: ip("10.0.0.1"),
        };
        let both_down = || {
            let cql = member_ids(&ring3, &["10.0.0.1", "10.0.0.2"], &[]);
            vec![Candidate {
                cql,
                ..pod(2, at(&["10.0.0.3"]))
            }]
        };
        let p = run_as(1, &was_h1, &[(0, h0.clone())], both_down(), 3600);
        assert!(
            matches!(&p.record, Some(RecordUse::ReplaceNotYet { why, .. }) if why.contains("waiting for ordinal 0")),
            "{:?}",
            p.record
        );
        let p = run_as(0, &h0, &[(1, was_h1.clone())], both_down(), 3600);
        assert!(
            matches!(
                p.verdict,
                Verdict::Seeds {
                    mode: BootMode::Replace { .. },
                    ..
                }
            ),
            "the lowest ordinal goes first: {:?} {:?}",
            p.verdict,
            p.record
        );
        // Another node joining (or replacing, leaving, moving): wait, and the count starts
        // again (not awaiting the time).
        let busy = vec![
            member(0, "10.0.0.1", &["10.0.0.9"]),
            member(2, "10.0.0.3", &[]),
        ];
        let p = run(busy, 3600);
        assert!(
            matches!(&p.record, Some(RecordUse::ReplaceNotYet { awaiting_down_time: false, why, .. }) if why.contains("10.0.0.9")),
            "{:?}",
            p.record
        );
        assert!(
            !matches!(p.verdict, Verdict::Seeds { .. }),
            "{:?}",
            p.verdict
        );
    }

    #[test]
    fn identity_record_table() {
        const H0: &str = "00000000-0000-0000-0000-000000000000";
        const H1: &str = "11111111-1111-1111-1111-111111111111";
        const H2: &str = "22222222-2222-2222-2222-222222222222";
        let ring3 = [("10.0.0.1", H0), ("10.0.0.2", H1), ("10.0.0.3", H2)];
        let ring3_without = [("10.0.0.1", H0), ("10.0.0.3", H2)];
        let at_member = |ordinal: u32, addr: &str, cql: Cql| Candidate {
            cql,
            ..pod(ordinal, at(&[addr]))
        };
        let h1_down = || member_ids(&ring3, &["10.0.0.2"], &[]);
        let exists = Recorded::Exists {
            pods: vec!["c-0".into(), "c-1".into(), "c-2".into()],
        };
        let previous = |h: &str, a: &str| PreviousSelf {
            host_id: h.into(),
            address: ip(a),
        };
        let was_h1 = previous(H1, "10.0.0.2");
        let was_h0 = previous(H0, "10.0.0.1");
        let was_me = previous(H1, ME);
        let was_h2 = previous(H2, "10.0.0.3");
        let unknown = Recorded::Unknown;
        let absent = Recorded::Absent;
        let unusable = Recorded::Unusable {
            entries: vec!["c-1: entry format 9 is newer than this version reads (1)".into()],
        };
        let h1_at_me = [("10.0.0.1", H0), (ME, H1), ("10.0.0.3", H2)];
        type Row<'a> = (
            &'static str,
            u32,
            DataState,
            Api<'a>,
            Vec<Candidate>,
            bool,
            Option<&'static str>,
            Want,
            Option<&'static str>,
        );
        use DataState::{Empty, Present};
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            // Automatic replace: every member asked confirms the previous node down.
            ("both members see the previous node down: replace it", 1, Empty, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", h1_down()), pod(1, Lookup::Absent), at_member(2, "10.0.0.3", h1_down())],
             false, None, Want::Seeds(BootMode::Replace { address: ip("10.0.0.2") }, &["10.0.0.1", "10.0.0.3"]), Some("replace")),
            ("one member sees it alive: never replace a live node", 1, Empty, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", member_ids(&ring3, &[], &[]))],
             false, None, Want::Wait, Some("replace_not_yet")),
            ("... and after the wait: wait on", 1, Empty, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", member_ids(&ring3, &[], &[]))],
             true, None, WAITS, Some("replace_not_yet")),
            ("one member of two answers: not enough to agree", 1, Empty, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", h1_down()), silent(2, "10.0.0.3")],
             false, None, Want::Wait, Some("replace_not_yet")),
            ("a ring of two: the one other member suffices", 1, Empty, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", member_ids(&[("10.0.0.1", H0), ("10.0.0.2", H1)], &["10.0.0.2"], &[]))],
             false, None, Want::Seeds(BootMode::Replace { address: ip("10.0.0.2") }, &["10.0.0.1"]), Some("replace")),
            ("members disagree whether it is in the ring: wait", 1, Empty, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", member_ids(&ring3_without, &[], &[]))],
             false, None, Want::Wait, Some("replace_not_yet")),
            ("no member lists it: the record is stale, join as a new node", 1, Empty, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", member_ids(&ring3_without, &[], &[])), at_member(2, "10.0.0.3", member_ids(&ring3_without, &[], &[]))],
             false, None, Want::Seeds(BootMode::Join, &["10.0.0.1", "10.0.0.3"]), Some("not_acted_on")),
            ("gossip shows it removed: not acted on", 1, Empty, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", member_ids(&ring3_without, &[], &[H1]))],
             false, None, Want::Seeds(BootMode::Join, &["10.0.0.1"]), Some("not_acted_on")),
            ("--replace-address wins over the record", 1, Empty, (&exists, Some(&was_h2)),
             vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", h1_down())],
             false, Some("10.0.0.2"), Want::Seeds(BootMode::Replace { address: ip("10.0.0.2") }, &["10.0.0.1", "10.0.0.3"]), None),
            ("with data the record is not used: restart", 1, Present, (&exists, Some(&was_h1)),
             vec![at_member(0, "10.0.0.1", h1_down()), pod(1, at(&[ME])), at_member(2, "10.0.0.3", h1_down())],
             false, None, Want::Seeds(BootMode::Restart, &["10.0.0.1", ME, "10.0.0.3"]), None),
            ("back on its old address: replace at the same address", 1, Empty, (&exists, Some(&was_me)),
             vec![at_member(0, "10.0.0.1", member_ids(&h1_at_me, &[ME], &[])), at_member(2, "10.0.0.3", member_ids(&h1_at_me, &[ME], &[]))],
             false, None, Want::Seeds(BootMode::Replace { address: ip(ME) }, &["10.0.0.1", "10.0.0.3"]), Some("replace")),
            ("without the record, the same ring cannot be joined (a down member)", 1, Empty, (&unknown, None),
             vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", h1_down())],
             false, None, Want::Wait, None),
            // The cluster remembers it exists.
            ("ordinal 0, no data, others silent, the cluster exists: never found", 0, Empty, (&exists, None),
             vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")],
             false, None, Want::Wait, Some("founding_refused")),
            ("... not after the wait either", 0, Empty, (&exists, None),
             vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")],
             true, None, WAITS, Some("founding_refused")),
            ("... nor with every other name absent", 0, Empty, (&exists, None),
             vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent), pod(2, Lookup::Absent)],
             true, None, WAITS, Some("founding_refused")),
            ("ordinal 0 that lost its disk replaces itself once members answer", 0, Empty, (&exists, Some(&was_h0)),
             vec![pod(0, Lookup::Absent), at_member(1, "10.0.0.2", member_ids(&ring3, &["10.0.0.1"], &[])), at_member(2, "10.0.0.3", member_ids(&ring3, &["10.0.0.1"], &[]))],
             false, None, Want::Seeds(BootMode::Replace { address: ip("10.0.0.1") }, &["10.0.0.2", "10.0.0.3"]), Some("replace")),
            ("no record of the cluster: found at once beside pods that resolve", 0, Empty, (&absent, None),
             vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")],
             false, None, Want::Seeds(BootMode::Found, &[ME]), Some("founding_early")),
            ("no record, every other name absent: found as before", 0, Empty, (&absent, None),
             vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
             false, None, Want::Seeds(BootMode::Found, &[ME]), None),
            ("no record but a DNS error: wait", 0, Empty, (&absent, None),
             vec![pod(0, Lookup::Absent), pod(1, servfail()), silent(2, "10.0.0.3")],
             false, None, Want::Wait, None),
            ("no record, but a member answers: join it", 0, Empty, (&absent, None),
             vec![pod(0, Lookup::Absent), up(1, "10.0.0.2")],
             false, None, Want::Seeds(BootMode::Join, &["10.0.0.2"]), None),
            ("record unusable, every other name absent: no founding at once", 0, Empty, (&unusable, None),
             vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
             false, None, Want::Wait, None),
            ("record unusable, pods that resolve: wait out --seed-wait", 0, Empty, (&unusable, None),
             vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2")],
             false, None, Want::Wait, None),
            ("record unusable, every other name absent: wait out --seed-wait", 0, Empty, (&unusable, None),
             vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
             true, None, Want::Seeds(BootMode::Found, &[ME]), None),
            ("record unknown: wait out --seed-wait as before", 0, Empty, (&unknown, None),
             vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2")],
             false, None, Want::Wait, None),
            ("the record does not keep ordinal 1 from joining", 1, Empty, (&exists, None),
             vec![up(0, "10.0.0.1"), pod(1, Lookup::Absent)],
             false, None, Want::Seeds(BootMode::Join, &["10.0.0.1"]), None),
        ];
        for (name, own, data, api, candidates, wait_over, replace, want, used) in rows {
            let plan = check_full(
                name,
                own,
                data,
                None,
                &[],
                api,
                candidates,
                wait_over,
                replace,
                want,
            );
            let got = plan.record.as_ref().map(|u| {
                serde_json::to_value(u).unwrap()["decision"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            });
            assert_eq!(got.as_deref(), used, "{name}: {:?}", plan.record);
        }
    }
}
