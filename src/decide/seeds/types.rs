//! The boot plan's vocabulary: what was looked up and asked (`Candidate`, `Lookup`, `Cql`,
//! `Kin`), what the plan decides (`Plan`, `Verdict`, `BootMode`, `Use`, `Refusal`) and what
//! the identity record made of it (`RecordUse`).

use super::*;

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
