//! Pure. Whether a pod's preStop drain is a scale-down that should take the node out of
//! the ring (`nodetool decommission`) instead of leaving it there as a down ghost that
//! still owns its tokens, and whether that is safe now.
//!
//! Two steps, so that the costly observations are made only when they matter:
//!
//! 1. [`intent`]: from this pod's ordinal and the StatefulSet (Kubernetes API) alone. A pod
//!    whose ordinal is below `spec.replicas` is restarted, evicted or rolled: it drains. So
//!    does every pod of a set that is deleted or stopped (`replicas: 0`), and every pod when
//!    the API could not say (the protection is off, and the log says so once).
//! 2. [`decide`]: for a pod that is scaled away, from the ring as this node sees it (CQL:
//!    members, their DC, status and liveness), every keyspace's replication, this node's
//!    load and Cassandra's ring delay, and the time left before the drain's deadline.
//!
//! Members are matched to pods by address: a member's broadcast address is its pod's IP
//! (the entrypoint renders `broadcast_address` from `POD_IP`), and the pods' IPs come from
//! the same API that gave `spec.replicas` (`get pods/<set>-<n>`, which the Role grants).
//! This is chosen over resolving the pods' DNS names because it needs no further flags
//! (Service, cluster domain) and no second source that could lag (DNS caches); a pod that
//! is already gone has no IP, and its member, if it still is one, matches no pod and stays
//! counted, as a remaining member must.
//!
//! The marker a decommissioned node leaves on its volume, and what a later start does
//! with it, are in `decide::decommissioned`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::api_facts::{Fact, Gap, NO_REPLICAS, SetFacts};
use super::ring::{Liveness, Member, Status};
use super::room::{self, Room};

/// The rate at which the decommission is assumed to stream this node's data away:
/// 10 MiB/s. Cassandra throttles outbound streaming per node at
/// `stream_throughput_outbound` (24 MiB/s by default in 4.1 and 5.0; 200 Mbit/s, about the
/// same, in 4.0), and a decommission streams only outbound, so it never goes faster than
/// that unless an operator raised it. Under client load, with compaction on the receivers
/// and disks shared with the running node, streams reach well under the cap; assuming less
/// than half of it keeps the estimate on the safe side: a decommission the deadline cuts
/// short leaves the node LEAVING, worse than a drain.
pub const STREAM_RATE_BYTES_PER_S: u64 = 10 * 1024 * 1024;

/// Cassandra's `RING_DELAY` when `cassandra.ring_delay_ms` is not set: a decommission
/// sleeps it twice (after gossiping LEAVING, and after LEFT).
pub const DEFAULT_RING_DELAY: Duration = Duration::from_secs(30);

/// What a decommission costs besides the two ring delays and streaming: starting
/// nodetool's JVM (1 s idle, 5-7 s on a busy 2-core node), replaying the batchlog and
/// streaming hints, the end of the decommission (the gossip shutdown announcement, 2 s;
/// 5.0 waits up to `native_transport_timeout`, 12 s, for requests in flight), and the
/// nodetool run that verifies the mode.
pub const DECOMMISSION_OVERHEAD: Duration = Duration::from_secs(30);

/// The most ordinals above `spec.replicas` looked at: far beyond any real scale-down, and
/// a bound on the API requests a nonsensical `status.replicas` could cause.
pub const MAX_CONDEMNED: u32 = 256;

/// What the drain goes without when the StatefulSet is not known (the gap's log line).
pub const NO_SCALE_DOWN: &str = "no decommission on scale-down (a pod scaled away drains and stays in the ring as a down member)";

/// The first step: is this a scale-down at all?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Not a scale-down (or it cannot be told): drain.
    Drain {
        /// Why, for the log and the summary.
        why: String,
        /// The API could not say: the decommission protection is off (logged once, with
        /// the API gap).
        protection_off: bool,
    },
    /// This pod is being scaled away: look at the ring.
    ScaleDown(ScaleDown),
}

/// A scale-down this pod is part of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleDown {
    /// This pod's ordinal.
    pub ordinal: u32,
    /// `spec.replicas`: the pods that remain are `0..replicas`.
    pub replicas: u32,
    /// The other ordinals scaled away (`replicas..`, not this one), lowest first: their
    /// pods' addresses tell which members leave too.
    pub others: Vec<u32>,
    /// `whenScaled` of the PVC retention policy (`Retain` when unset).
    pub pvc_when_scaled: String,
}

/// Decides from this pod's ordinal and the StatefulSet whether it is scaled away.
pub fn intent(ordinal: u32, set: &Fact<SetFacts>) -> Intent {
    let drain = |why: String| Intent::Drain {
        why,
        protection_off: false,
    };
    let off = |why: String| Intent::Drain {
        why: format!("{why}: drained as for a restart, no decommission on scale-down"),
        protection_off: true,
    };
    let set = match set {
        Fact::Known(set) => set,
        // The reason is in the drain's one log line about the API; not repeated here.
        Fact::Unknown(_) => return off("the StatefulSet is not known (see the log)".into()),
        Fact::NotAsked => {
            return off("the pod name is not <statefulset>-<ordinal>, so no set was asked".into());
        }
    };
    if set.deleting {
        return drain(format!(
            "the StatefulSet {} is being deleted: its pods stop, the ring is not shrunk",
            set.name
        ));
    }
    if let Some(start) = set.ordinals_start.filter(|s| *s != 0) {
        return off(format!(
            "statefulsets/{} numbers its pods from {start} (spec.ordinals.start); ringkeeper \
             numbers them from 0",
            set.name
        ));
    }
    let replicas = match set.spec_replicas {
        Some(r) if r >= 0 => r.unsigned_abs(),
        other => {
            return off(format!(
                "statefulsets/{} has spec.replicas {other:?}, which is no pod count",
                set.name
            ));
        }
    };
    if replicas == 0 {
        return drain(
            "spec.replicas is 0: the set is being stopped, not shrunk (the ring keeps every \
             member for when it starts again)"
                .into(),
        );
    }
    if ordinal < replicas {
        return drain(format!(
            "ordinal {ordinal} < spec.replicas {replicas}: the pod stops and comes back \
             (a restart, an eviction, a rolling update)"
        ));
    }
    // Pods that exist: during a scale-down `status.replicas` still counts those not gone.
    let existing = set
        .status_replicas
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(0);
    let upper = existing
        .max(ordinal.saturating_add(1))
        .min(replicas.saturating_add(MAX_CONDEMNED));
    Intent::ScaleDown(ScaleDown {
        ordinal,
        replicas,
        others: (replicas..upper).filter(|o| *o != ordinal).collect(),
        pvc_when_scaled: set
            .pvc_when_scaled
            .clone()
            .unwrap_or_else(|| "Retain".into()),
    })
}

/// The settle delay actually waited: the configured one, but at most a quarter of the time
/// the drain has, so that it never eats the time a decommission needs.
pub fn settle_delay(configured: Duration, left: Duration) -> Duration {
    configured.min(left / 4)
}

/// Whether a pod found scaled away is still scaled away when the StatefulSet is read
/// again (`when`: after the settle delay, right before the decommission starts). `None`:
/// go on. A count that no longer scales this pod away (a typo corrected, a re-apply that
/// restores it, the set being deleted) drains; a set that cannot be read again is no
/// confirmation, so nothing is decommissioned on it.
pub fn recheck(ordinal: u32, set: &Fact<SetFacts>, when: &str) -> Option<Decision> {
    match intent(ordinal, set) {
        Intent::ScaleDown(_) => None,
        Intent::Drain {
            why,
            protection_off: false,
        } => Some(Decision::Drain {
            why: format!("{when}, the StatefulSet no longer scales this pod away: {why}"),
        }),
        Intent::Drain {
            why,
            protection_off: true,
        } => Some(Decision::RefuseDecommission {
            why: format!(
                "{when}, the StatefulSet could not be read again ({why}); no decommission on a \
                 count that was not confirmed"
            ),
        }),
    }
}

/// The drain's API gaps as one log line says them: without the StatefulSet, what the
/// drain loses is the decommission on scale-down (not an ordinal bound, as for `seeds`).
pub fn drain_gaps(gaps: Vec<Gap>) -> Vec<Gap> {
    gaps.into_iter()
        .map(|mut g| {
            for w in &mut g.without {
                if *w == NO_REPLICAS {
                    *w = NO_SCALE_DOWN;
                }
            }
            g
        })
        .collect()
}

/// One keyspace's replication, as `system_schema.keyspaces.replication` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyspace {
    /// `keyspace_name`.
    pub name: String,
    /// `replication`: `class` and the factors (`replication_factor`, or one per DC).
    pub replication: BTreeMap<String, String>,
}

/// How many replicas a keyspace needs, counted as Cassandra's decommission counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Needs {
    /// Nothing (LocalStrategy, EverywhereStrategy, or no replicas in this DC).
    Nothing,
    /// This many nodes in this DC (NetworkTopologyStrategy).
    InDc(u32),
    /// This many nodes in the whole ring (SimpleStrategy and the others).
    InRing(u32),
    /// The replication cannot be read: the text says what it is.
    Unreadable(String),
}

/// `3` or, with transient replication, `3/1` (3 replicas, 1 of them transient): all count.
fn factor(text: &str) -> Option<u32> {
    text.split('/').next()?.trim().parse().ok()
}

fn needs(ks: &Keyspace, dc: &str) -> Needs {
    let class = ks.replication.get("class").map_or("", String::as_str);
    let short = class.rsplit('.').next().unwrap_or(class);
    match short {
        "LocalStrategy" | "EverywhereStrategy" => Needs::Nothing,
        "NetworkTopologyStrategy" => match ks.replication.get(dc) {
            None => Needs::Nothing,
            Some(text) => match factor(text) {
                Some(0) => Needs::Nothing,
                Some(rf) => Needs::InDc(rf),
                None => Needs::Unreadable(format!("'{dc}': {text:?}")),
            },
        },
        _ => match ks
            .replication
            .get("replication_factor")
            .map(|t| (t, factor(t)))
        {
            Some((_, Some(0))) => Needs::Nothing,
            Some((_, Some(rf))) => Needs::InRing(rf),
            Some((text, None)) => Needs::Unreadable(format!("replication_factor {text:?}")),
            None => Needs::Unreadable(format!("class {class:?} without replication_factor")),
        },
    }
}

/// What the scale-down decision sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<'a> {
    /// From [`intent`].
    pub scale_down: &'a ScaleDown,
    /// The ring as this node sees it (`ring::view`: observer first, liveness from two
    /// reads of `gossip_info`).
    pub members: &'a [Member],
    /// Each other scaled-away ordinal's pod IP: `Known(Some)` the pod exists with that
    /// IP; `Known(None)` no such pod (gone) or no IP yet; `Unknown` the API did not say.
    pub others: &'a [(u32, Fact<Option<IpAddr>>)],
    /// Every keyspace (system ones included).
    pub keyspaces: &'a [Keyspace],
    /// This node's load in bytes (gossip's LOAD, or `nodetool info`), when known.
    pub load_bytes: Option<u64>,
    /// Cassandra's ring delay (`cassandra.ring_delay_ms`).
    pub ring_delay: Duration,
    /// Time left before the drain's deadline.
    pub left: Duration,
    /// The free space each pod of the set reported in the identity record (`decide::room`):
    /// `Unknown` when the record could not be read.
    pub rooms: &'a Fact<Vec<Room>>,
    /// Now, Unix seconds (the reports' age).
    pub now: u64,
}

/// What the drain does about a scale-down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Drain only (not a scale-down).
    Drain {
        /// Why.
        why: String,
    },
    /// Decommission now.
    Decommission {
        /// What was checked.
        why: String,
        /// How long it is expected to take at most.
        estimate: Duration,
    },
    /// Pods with higher ordinals leave first (Cassandra moves one range at a time): look
    /// again shortly, within the deadline.
    WaitForTurn {
        /// Whom it waits for.
        why: String,
    },
    /// Not safe (or not possible) now: drain instead. The reason names what to change.
    RefuseDecommission {
        /// Why, and what to do.
        why: String,
    },
}

impl Decision {
    /// The word the summary uses.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Drain { .. } => "drain",
            Decision::Decommission { .. } => "decommission",
            Decision::WaitForTurn { .. } => "wait_for_turn",
            Decision::RefuseDecommission { .. } => "refused",
        }
    }

    /// The reason.
    pub fn why(&self) -> &str {
        match self {
            Decision::Drain { why }
            | Decision::Decommission { why, .. }
            | Decision::WaitForTurn { why }
            | Decision::RefuseDecommission { why } => why,
        }
    }
}

/// How long a decommission of `load_bytes` takes at most: two ring delays, streaming at
/// `STREAM_RATE_BYTES_PER_S`, and `DECOMMISSION_OVERHEAD`.
pub fn estimate(load_bytes: u64, ring_delay: Duration) -> Duration {
    let streaming = Duration::from_secs(load_bytes.div_ceil(STREAM_RATE_BYTES_PER_S));
    ring_delay * 2 + streaming + DECOMMISSION_OVERHEAD
}

fn who(m: &Member) -> String {
    match &m.host_id {
        Some(id) => format!("{} (host ID {id})", m.address),
        None => m.address.to_string(),
    }
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

/// Decides what a pod that is scaled away does.
pub fn decide(f: &Facts<'_>) -> Decision {
    let refuse = |why: String| Decision::RefuseDecommission { why };
    let sd = f.scale_down;
    // A member whose status is LEFT has left: its ranges are handed over, and peers keep
    // it in their tables and gossip only for a while (the pod removed together with this
    // one that decommissioned a moment ago). It is no replica, no member to wait for and
    // none that "will not leave".
    let members: Vec<&Member> = f
        .members
        .iter()
        .filter(|m| m.status != Status::Left)
        .collect();
    let Some(me) = members.iter().find(|m| m.observer) else {
        return refuse("this node does not see itself in the ring".into());
    };
    let Some(dc) = me.dc.as_deref() else {
        return refuse("this node's datacenter is not known (system.local.data_center)".into());
    };
    if members.iter().any(|m| m.liveness == Liveness::Unknown) {
        return refuse(
            "the members' liveness and status are not known (no system_views.gossip_info: \
             Cassandra 4.0, or a role that may not read system_views): a decommission \
             needs every remaining member up; decommission by hand (nodetool decommission)"
                .into(),
        );
    }
    if me.status != Status::Normal {
        return refuse(format!(
            "this node's gossip status is {:?}, not NORMAL",
            me.status
        ));
    }
    // Which members leave with this scale-down, by their pods' addresses.
    let mut leaving: Vec<(u32, &Member)> = Vec::new();
    for (ordinal, ip) in f.others {
        match ip {
            Fact::Known(Some(ip)) => {
                if let Some(m) = members.iter().find(|m| m.address == *ip && !m.observer) {
                    leaving.push((*ordinal, m));
                }
            }
            Fact::Known(None) => {}
            Fact::Unknown(why) => {
                return refuse(format!(
                    "the address of pod ordinal {ordinal}, also scaled away, is not known \
                     ({why}): the members that remain cannot be told"
                ));
            }
            Fact::NotAsked => {
                return refuse(format!(
                    "the address of pod ordinal {ordinal}, also scaled away, was not asked"
                ));
            }
        }
    }
    let is_leaving = |m: &Member| leaving.iter().any(|(_, l)| l.address == m.address);
    let remaining: Vec<&Member> = members
        .iter()
        .copied()
        .filter(|m| !m.observer && !is_leaving(m))
        .collect();
    let in_dc = remaining
        .iter()
        .filter(|m| m.dc.as_deref() == Some(dc))
        .count();
    let in_ring = remaining.len();

    // Replication: every keyspace Cassandra counts (system ones too).
    let mut short: Vec<String> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
    let mut need_dc = 0u32;
    let mut need_ring = 0u32;
    let mut ring_wide = false;
    for ks in f.keyspaces {
        match needs(ks, dc) {
            Needs::Nothing => {}
            Needs::InDc(rf) => {
                if (in_dc as u64) < u64::from(rf) {
                    short.push(format!(
                        "{} (NetworkTopologyStrategy, '{dc}': {rf})",
                        ks.name
                    ));
                    need_dc = need_dc.max(rf);
                }
            }
            Needs::InRing(rf) => {
                ring_wide = true;
                if (in_ring as u64) < u64::from(rf) {
                    short.push(format!(
                        "{} (SimpleStrategy, replication_factor {rf})",
                        ks.name
                    ));
                    need_ring = need_ring.max(rf);
                }
            }
            Needs::Unreadable(what) => unreadable.push(format!("{} ({what})", ks.name)),
        }
    }
    if !unreadable.is_empty() {
        return refuse(format!(
            "the replication of keyspace(s) {} cannot be read, so the replicas they need \
             cannot be counted",
            list(&unreadable)
        ));
    }
    if !short.is_empty() {
        let extra = u64::from(need_dc)
            .saturating_sub(in_dc as u64)
            .max(u64::from(need_ring).saturating_sub(in_ring as u64));
        let mut lower = Vec::new();
        if need_dc > 0 {
            lower.push(format!("'{dc}': {in_dc} (NetworkTopologyStrategy)"));
        }
        if need_ring > 0 {
            lower.push(format!("replication_factor {in_ring} (SimpleStrategy)"));
        }
        return refuse(format!(
            "after this scale-down {in_dc} node(s) remain in {dc} ({in_ring} in the ring), fewer \
             than the replicas of keyspace(s) {}. Lower their replication to at most {} \
             (ALTER KEYSPACE <name> WITH replication = ..., then nodetool repair), or scale \
             back to {} replicas; until then the node drains and stays in the ring as a down \
             member",
            list(&short),
            lower.join(" and "),
            u64::from(sd.replicas) + extra
        ));
    }

    // Streaming needs every remaining member that may receive ranges: those of this DC,
    // and with SimpleStrategy keyspaces every member.
    let receivers: Vec<&Member> = remaining
        .iter()
        .copied()
        .filter(|m| ring_wide || m.dc.as_deref() == Some(dc))
        .collect();
    let down: Vec<String> = receivers
        .iter()
        .filter(|m| m.liveness != Liveness::Up || m.status == Status::Shutdown)
        .map(|m| who(m))
        .collect();
    if !down.is_empty() {
        return refuse(format!(
            "remaining member(s) {} are down: a decommission streams to the members that \
             remain. Bring them back, or remove the dead ones (nodetool removenode <host ID>), \
             then scale down again",
            list(&down)
        ));
    }

    // Cassandra moves one range at a time: the highest ordinal first.
    let mut first: Vec<String> = Vec::new();
    let mut stuck: Vec<String> = Vec::new();
    for (ordinal, m) in &leaving {
        if *ordinal < sd.ordinal {
            continue;
        }
        let up = m.liveness == Liveness::Up && m.status != Status::Shutdown;
        match (&m.status, up) {
            (Status::Leaving, _) | (Status::Normal, true) => {
                first.push(format!("ordinal {ordinal} at {}", who(m)));
            }
            _ => stuck.push(format!(
                "ordinal {ordinal} at {} ({}, status {:?})",
                who(m),
                if up { "up" } else { "down" },
                m.status
            )),
        }
    }
    if !stuck.is_empty() {
        return refuse(format!(
            "pod(s) with a higher ordinal, scaled away too, are still ring members but will \
             not leave: {}. Remove them first (nodetool removenode <host ID>), then scale down \
             again",
            list(&stuck)
        ));
    }
    let movements: Vec<String> = members
        .iter()
        .filter(|m| !m.observer && m.status.is_range_movement())
        .filter(|m| {
            !leaving
                .iter()
                .any(|(o, l)| *o > sd.ordinal && l.address == m.address)
        })
        .map(|m| format!("{} ({:?})", who(m), m.status))
        .collect();
    if !movements.is_empty() {
        return refuse(format!(
            "another range movement is under way ({}): Cassandra allows one at a time; \
             scale down again once it ended",
            list(&movements)
        ));
    }

    let Some(load) = f.load_bytes else {
        return refuse(
            "this node's load is not known (neither gossip nor nodetool info said), so the \
             time a decommission takes cannot be estimated"
                .into(),
        );
    };
    let needed = estimate(load, f.ring_delay);
    if f.left < needed {
        return refuse(format!(
            "a decommission of this node ({} of data at an assumed {} MiB/s, two ring delays \
             of {}s and {}s of overhead) needs about {}s, but only {}s are left before the \
             deadline. Raise terminationGracePeriodSeconds and RINGKEEPER_GRACE_PERIOD (they \
             must be equal), then scale down again",
            bytes_text(load),
            STREAM_RATE_BYTES_PER_S / (1024 * 1024),
            f.ring_delay.as_secs(),
            DECOMMISSION_OVERHEAD.as_secs(),
            needed.as_secs(),
            f.left.as_secs()
        ));
    }
    let room = match f.rooms {
        Fact::Known(rooms) => room::check(load, &receivers, rooms, f.now),
        Fact::Unknown(why) => Err(format!(
            "the identity record cannot be read ({why}), so the free space of the members \
             that remain is not known"
        )),
        Fact::NotAsked => Err(
            "the identity record was not read, so the free space of the \
                               members that remain is not known"
                .into(),
        ),
    };
    let room = match room {
        Ok(summary) => summary,
        Err(why) => return refuse(why),
    };
    if !first.is_empty() {
        return Decision::WaitForTurn {
            why: format!(
                "pod(s) with a higher ordinal leave first (one range movement at a time): {}",
                list(&first)
            ),
        };
    }
    Decision::Decommission {
        why: format!(
            "ordinal {} >= spec.replicas {}: {in_dc} member(s) remain in {dc} ({in_ring} in the \
             ring), all up, enough for every keyspace's replication; {} to stream, about {}s \
             at most of {}s left; {room}",
            sd.ordinal,
            sd.replicas,
            bytes_text(load),
            needed.as_secs(),
            f.left.as_secs()
        ),
        estimate: needed,
    }
}

/// Bytes for people: `1.5 GiB`.
pub fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The load gossip carries (`system_views.gossip_info.load`: bytes, as a decimal number).
pub fn gossip_load(value: Option<&str>) -> Option<u64> {
    let v: f64 = value?.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v as u64)
}

/// The `Load : 1.5 MiB` line of `nodetool info`.
pub fn nodetool_load(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        (key.trim() == "Load").then_some(value.trim())
    })?;
    let mut words = line.split_whitespace();
    let number: f64 = words.next()?.parse().ok()?;
    let scale: f64 = match words.next().unwrap_or("bytes") {
        "bytes" | "B" => 1.0,
        "KiB" | "KB" => 1024.0,
        "MiB" | "MB" => 1024.0 * 1024.0,
        "GiB" | "GB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" | "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * scale;
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

/// Cassandra's ring delay from `system_views.system_properties`'
/// `cassandra.ring_delay_ms` (unset: the default).
pub fn ring_delay(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RING_DELAY, Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(replicas: Option<i32>, status: Option<i32>) -> SetFacts {
        SetFacts {
            name: "cassandra".into(),
            spec_replicas: replicas,
            status_replicas: status,
            ..SetFacts::default()
        }
    }

    #[test]
    fn intent_table() {
        let known = Fact::Known;
        let sd = |ordinal: u32, replicas: u32, others: &[u32]| {
            Intent::ScaleDown(ScaleDown {
                ordinal,
                replicas,
                others: others.to_vec(),
                pvc_when_scaled: "Retain".into(),
            })
        };
        let deleting = SetFacts {
            deleting: true,
            ..set(Some(2), Some(3))
        };
        let started = SetFacts {
            ordinals_start: Some(1),
            ..set(Some(2), Some(3))
        };
        // (name, ordinal, set, Some(want) for a scale-down, else (drain, protection off))
        type Case = (&'static str, u32, Fact<SetFacts>, Result<Intent, bool>);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("restart of a remaining pod", 1, known(set(Some(3), Some(3))), Err(false)),
            ("the last pod of 3 -> 2", 2, known(set(Some(2), Some(3))), Ok(sd(2, 2, &[]))),
            ("5 -> 2, the top pod", 4, known(set(Some(2), Some(5))), Ok(sd(4, 2, &[2, 3]))),
            ("5 -> 2, a middle pod", 3, known(set(Some(2), Some(5))), Ok(sd(3, 2, &[2, 4]))),
            ("status lagging behind", 4, known(set(Some(2), Some(3))), Ok(sd(4, 2, &[2, 3]))),
            ("no status", 2, known(set(Some(2), None)), Ok(sd(2, 2, &[]))),
            ("stopped, not shrunk", 2, known(set(Some(0), Some(3))), Err(false)),
            ("set deleted", 2, known(deleting), Err(false)),
            ("ordinals from 1", 2, known(started), Err(true)),
            ("no replicas", 2, known(set(None, Some(3))), Err(true)),
            ("negative replicas", 2, known(set(Some(-1), Some(3))), Err(true)),
            ("API denied", 2, Fact::Unknown("Kubernetes API denied get statefulsets/cassandra".into()), Err(true)),
            ("not asked", 2, Fact::NotAsked, Err(true)),
        ];
        for (name, ordinal, facts, want) in cases {
            let got = intent(ordinal, &facts);
            match (want, &got) {
                (Ok(want), got) => assert_eq!(got, &want, "{name}"),
                (
                    Err(off),
                    Intent::Drain {
                        protection_off,
                        why,
                    },
                ) => {
                    assert_eq!(*protection_off, off, "{name}: {why}");
                }
                (Err(_), got) => panic!("{name}: {got:?}"),
            }
        }
        let huge = intent(3, &known(set(Some(2), Some(i32::MAX))));
        let Intent::ScaleDown(s) = huge else { panic!() };
        assert_eq!(s.others.len() as u32, MAX_CONDEMNED - 1);
        let Intent::Drain { why, .. } = intent(2, &known(set(Some(0), Some(3)))) else {
            panic!()
        };
        assert!(why.contains("stopped, not shrunk"), "{why}");
    }

    #[test]
    fn the_drain_says_what_it_goes_without() {
        let gaps = vec![Gap {
            why: "Kubernetes API denied get statefulsets/cassandra".into(),
            without: vec!["no Events", NO_REPLICAS],
            expected: false,
        }];
        assert_eq!(drain_gaps(gaps)[0].without, ["no Events", NO_SCALE_DOWN]);
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    fn member(n: u8, dc: &str, status: Status, liveness: Liveness) -> Member {
        Member {
            address: ip(n),
            host_id: Some(format!("00000000-0000-0000-0000-00000000000{n}")),
            dc: Some(dc.into()),
            rack: Some("r1".into()),
            status,
            liveness,
            tokens: 16,
            schema_version: None,
            release_version: None,
            observer: false,
        }
    }

    fn un(n: u8) -> Member {
        member(n, "dc1", Status::Normal, Liveness::Up)
    }

    fn me(n: u8) -> Member {
        Member {
            observer: true,
            ..un(n)
        }
    }

    fn ks(name: &str, pairs: &[(&str, &str)]) -> Keyspace {
        Keyspace {
            name: name.into(),
            replication: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    const SIMPLE: &str = "org.apache.cassandra.locator.SimpleStrategy";
    const NTS: &str = "org.apache.cassandra.locator.NetworkTopologyStrategy";

    /// Cassandra 5.0's system keyspaces after `ALTER ... RF 2`, and a user keyspace.
    fn keyspaces(system_distributed_rf: &str, user_rf: &str) -> Vec<Keyspace> {
        vec![
            ks(
                "system",
                &[("class", "org.apache.cassandra.locator.LocalStrategy")],
            ),
            ks(
                "system_schema",
                &[("class", "org.apache.cassandra.locator.LocalStrategy")],
            ),
            ks(
                "system_auth",
                &[("class", SIMPLE), ("replication_factor", "1")],
            ),
            ks(
                "system_distributed",
                &[
                    ("class", SIMPLE),
                    ("replication_factor", system_distributed_rf),
                ],
            ),
            ks(
                "system_traces",
                &[("class", SIMPLE), ("replication_factor", "2")],
            ),
            ks("app", &[("class", NTS), ("dc1", user_rf)]),
        ]
    }

    struct Case {
        name: &'static str,
        ordinal: u32,
        replicas: u32,
        members: Vec<Member>,
        others: Vec<(u32, Fact<Option<IpAddr>>)>,
        keyspaces: Vec<Keyspace>,
        load: Option<u64>,
        left: u64,
        /// `None`: every member reports plenty of room.
        rooms: Option<Fact<Vec<Room>>>,
        want: &'static str,
        says: &'static [&'static str],
    }

    fn case(name: &'static str) -> Case {
        // 3 -> 2: this is pod 2 at 10.0.0.3, every keyspace at RF <= 2.
        Case {
            name,
            ordinal: 2,
            replicas: 2,
            members: vec![me(3), un(1), un(2)],
            others: vec![],
            keyspaces: keyspaces("2", "2"),
            load: Some(100 * 1024 * 1024),
            left: 1195,
            rooms: None,
            want: "decommission",
            says: &[],
        }
    }

    const NOW: u64 = 1_800_000_000;

    fn plenty(members: &[Member]) -> Fact<Vec<Room>> {
        Fact::Known(
            members
                .iter()
                .filter_map(|m| {
                    Some(Room {
                        host_id: m.host_id.clone()?,
                        free_bytes: 500 << 30,
                        volume_bytes: 1000 << 30,
                        measured_at: NOW - 60,
                    })
                })
                .collect(),
        )
    }

    #[test]
    fn decision_table() {
        let gib = 1024 * 1024 * 1024;
        let cases: Vec<Case> = vec![
            Case {
                says: &["2 member(s) remain in dc1"],
                ..case("3 -> 2 with RF 2 everywhere")
            },
            Case {
                keyspaces: keyspaces("3", "2"),
                want: "refused",
                says: &[
                    "system_distributed (SimpleStrategy, replication_factor 3)",
                    "scale back to 3",
                ],
                ..case("system_distributed at its default RF 3")
            },
            Case {
                keyspaces: keyspaces("2", "3"),
                want: "refused",
                says: &[
                    "app (NetworkTopologyStrategy, 'dc1': 3)",
                    "at most 'dc1': 2",
                ],
                ..case("a user keyspace at RF 3")
            },
            Case {
                keyspaces: vec![ks("app", &[("class", NTS), ("dc1", "3/1")])],
                want: "refused",
                says: &["'dc1': 3"],
                ..case("transient replicas count")
            },
            Case {
                keyspaces: vec![ks("app", &[("class", NTS), ("dc2", "3")])],
                ..case("no replicas in this DC: nothing to hold")
            },
            Case {
                members: vec![
                    me(3),
                    un(1),
                    un(2),
                    member(4, "dc2", Status::Normal, Liveness::Up),
                ],
                keyspaces: vec![
                    ks("app", &[("class", NTS), ("dc1", "2"), ("dc2", "1")]),
                    ks("simple", &[("class", SIMPLE), ("replication_factor", "3")]),
                ],
                ..case("SimpleStrategy counts every DC")
            },
            Case {
                members: vec![
                    me(3),
                    un(1),
                    un(2),
                    member(4, "dc2", Status::Normal, Liveness::Up),
                ],
                keyspaces: vec![ks("app", &[("class", NTS), ("dc1", "3"), ("dc2", "1")])],
                want: "refused",
                says: &["'dc1': 3"],
                ..case("NTS counts this DC only")
            },
            Case {
                keyspaces: vec![ks("odd", &[("class", "com.example.Custom")])],
                want: "refused",
                says: &["odd (class \"com.example.Custom\" without replication_factor)"],
                ..case("an unreadable replication")
            },
            Case {
                members: vec![
                    me(3),
                    un(1),
                    member(2, "dc1", Status::Shutdown, Liveness::Down),
                ],
                want: "refused",
                says: &["10.0.0.2 (host ID", "are down", "removenode"],
                ..case("a remaining member drained")
            },
            Case {
                members: vec![
                    me(3),
                    un(1),
                    un(2),
                    member(9, "dc1", Status::Normal, Liveness::Down),
                ],
                keyspaces: keyspaces("2", "2"),
                want: "refused",
                says: &["10.0.0.9", "are down"],
                ..case("a ghost that matches no pod stays counted and is down")
            },
            Case {
                members: vec![
                    me(3),
                    un(1),
                    un(2),
                    member(4, "dc2", Status::Normal, Liveness::Down),
                ],
                keyspaces: vec![ks("app", &[("class", NTS), ("dc1", "2")])],
                ..case("a down member of another DC does not matter to NTS alone")
            },
            Case {
                members: vec![
                    me(3),
                    un(1),
                    un(2),
                    member(4, "dc1", Status::Boot, Liveness::Up),
                ],
                want: "refused",
                says: &["another range movement", "Boot"],
                ..case("a node joining")
            },
            Case {
                members: vec![
                    me(3),
                    un(1),
                    un(2),
                    member(4, "dc1", Status::Leaving, Liveness::Up),
                ],
                want: "refused",
                says: &["another range movement", "Leaving"],
                ..case("a node leaving that is not part of this scale-down")
            },
            Case {
                members: vec![
                    member(3, "dc1", Status::Unknown, Liveness::Up).observer(),
                    un(1),
                    member(2, "dc1", Status::Unknown, Liveness::Unknown),
                ],
                want: "refused",
                says: &["gossip_info"],
                ..case("Cassandra 4.0: no gossip view")
            },
            Case {
                load: Some(20 * gib),
                want: "refused",
                says: &["needs about", "Raise terminationGracePeriodSeconds"],
                ..case("not enough time")
            },
            Case {
                load: None,
                want: "refused",
                says: &["load is not known"],
                ..case("no load")
            },
            // 5 -> 2: pods 2, 3, 4 (10.0.0.3, .4, .5) leave; pods 0, 1 remain.
            Case {
                ordinal: 4,
                members: vec![me(5), un(1), un(2), un(3), un(4)],
                others: vec![(2, Fact::Known(Some(ip(3)))), (3, Fact::Known(Some(ip(4))))],
                says: &["2 member(s) remain in dc1"],
                ..case("5 -> 2, the top pod goes first")
            },
            Case {
                ordinal: 3,
                members: vec![me(4), un(1), un(2), un(3), un(5)],
                others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
                want: "wait_for_turn",
                says: &["ordinal 4 at 10.0.0.5"],
                ..case("5 -> 2, a middle pod waits for the top one")
            },
            Case {
                ordinal: 3,
                members: vec![
                    me(4),
                    un(1),
                    un(2),
                    un(3),
                    member(5, "dc1", Status::Leaving, Liveness::Up),
                ],
                others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
                want: "wait_for_turn",
                ..case("5 -> 2, a middle pod waits while the top one leaves")
            },
            Case {
                ordinal: 3,
                members: vec![me(4), un(1), un(2), un(3)],
                others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
                ..case("5 -> 2, the top one left: the middle one's turn")
            },
            Case {
                ordinal: 3,
                members: vec![me(4), un(1), un(2), un(3)],
                others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(None))],
                ..case("5 -> 2, the top pod is gone")
            },
            Case {
                ordinal: 3,
                members: vec![
                    me(4),
                    un(1),
                    un(2),
                    un(3),
                    member(5, "dc1", Status::Left, Liveness::Down),
                ],
                others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
                ..case("5 -> 2, the top one just left, still listed LEFT: the middle one's turn")
            },
            Case {
                ordinal: 2,
                members: vec![
                    me(3),
                    un(1),
                    un(2),
                    member(4, "dc1", Status::Left, Liveness::Down),
                ],
                keyspaces: keyspaces("3", "3"),
                want: "refused",
                says: &["2 node(s) remain in dc1"],
                ..case("a member listed LEFT is no replica")
            },
            Case {
                ordinal: 3,
                members: vec![
                    me(4),
                    un(1),
                    un(2),
                    un(3),
                    member(5, "dc1", Status::Shutdown, Liveness::Down),
                ],
                others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
                want: "refused",
                says: &["will not leave", "ordinal 4"],
                ..case("5 -> 2, the top one drained instead: it will never leave")
            },
            Case {
                ordinal: 4,
                members: vec![
                    me(5),
                    un(1),
                    un(2),
                    un(3),
                    member(4, "dc1", Status::Leaving, Liveness::Up),
                ],
                others: vec![(2, Fact::Known(Some(ip(3)))), (3, Fact::Known(Some(ip(4))))],
                want: "refused",
                says: &["another range movement"],
                ..case("a lower ordinal left out of turn")
            },
            Case {
                ordinal: 4,
                members: vec![me(5), un(1), un(2), un(3), un(4)],
                others: vec![
                    (2, Fact::Unknown("no answer".into())),
                    (3, Fact::Known(Some(ip(4)))),
                ],
                want: "refused",
                says: &["ordinal 2", "no answer"],
                ..case("an address not known")
            },
            Case {
                ordinal: 3,
                members: vec![me(4), un(1), un(2), un(3), un(5)],
                others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
                keyspaces: keyspaces("3", "2"),
                want: "refused",
                says: &["system_distributed"],
                ..case("a refusal is not waited for")
            },
            Case {
                rooms: Some(Fact::Known(vec![
                    Room {
                        host_id: un(1).host_id.unwrap(),
                        free_bytes: 500 << 30,
                        volume_bytes: 1000 << 30,
                        measured_at: NOW,
                    },
                    Room {
                        host_id: un(2).host_id.unwrap(),
                        free_bytes: 50 << 20,
                        volume_bytes: 1 << 30,
                        measured_at: NOW,
                    },
                ])),
                want: "refused",
                says: &["would not fit", "10.0.0.2 has 50.0 MiB free", "missing"],
                ..case("a remaining volume without room for the stream")
            },
            Case {
                rooms: Some(Fact::Unknown("forbidden".into())),
                want: "refused",
                says: &["identity record cannot be read (forbidden)"],
                ..case("the room cannot be told without the record")
            },
            Case {
                members: vec![
                    me(3),
                    un(1),
                    un(2),
                    member(4, "dc2", Status::Normal, Liveness::Up),
                ],
                keyspaces: vec![ks("app", &[("class", NTS), ("dc1", "2"), ("dc2", "1")])],
                rooms: Some(plenty(&[un(1), un(2)])),
                want: "decommission",
                says: &["to spare"],
                ..case("another DC's member receives nothing and needs no report")
            },
            Case {
                ordinal: 3,
                members: vec![me(4), un(1), un(2), un(3), un(5)],
                others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
                left: 40,
                want: "refused",
                says: &["needs about"],
                ..case("no time left to wait for a turn")
            },
        ];
        for c in cases {
            let sd = ScaleDown {
                ordinal: c.ordinal,
                replicas: c.replicas,
                others: c.others.iter().map(|(o, _)| *o).collect(),
                pvc_when_scaled: "Delete".into(),
            };
            let got = decide(&Facts {
                scale_down: &sd,
                members: &c.members,
                others: &c.others,
                keyspaces: &c.keyspaces,
                load_bytes: c.load,
                ring_delay: Duration::from_secs(3),
                left: Duration::from_secs(c.left),
                rooms: &c.rooms.clone().unwrap_or_else(|| plenty(&c.members)),
                now: NOW,
            });
            assert_eq!(got.kind(), c.want, "{}: {}", c.name, got.why());
            for s in c.says {
                assert!(
                    got.why().contains(s),
                    "{}: {:?} not in {}",
                    c.name,
                    s,
                    got.why()
                );
            }
        }
    }

    impl Member {
        fn observer(self) -> Member {
            Member {
                observer: true,
                ..self
            }
        }
    }

    #[test]
    fn estimates() {
        let rd = Duration::from_secs(30);
        assert_eq!(estimate(0, rd), Duration::from_secs(90));
        // 10 GiB at 10 MiB/s: 1024 s of streaming.
        assert_eq!(
            estimate(10 * 1024 * 1024 * 1024, rd),
            Duration::from_secs(1114)
        );
        assert_eq!(estimate(1, rd), Duration::from_secs(91));
    }

    #[test]
    fn loads_and_delays() {
        assert_eq!(gossip_load(Some("104857600.0")), Some(104_857_600));
        assert_eq!(gossip_load(Some("nonsense")), None);
        assert_eq!(gossip_load(Some("-1")), None);
        assert_eq!(gossip_load(None), None);
        let info = "ID                     : 1c2d\nGossip active          : true\nLoad                   : 1.5 MiB\nGeneration No          : 1\n";
        assert_eq!(nodetool_load(info), Some(1_572_864));
        assert_eq!(nodetool_load("Load : 12 bytes\n"), Some(12));
        assert_eq!(
            nodetool_load("Load : 2 GiB\n"),
            Some(2 * 1024 * 1024 * 1024)
        );
        assert_eq!(nodetool_load("Load : 2 parsecs\n"), None);
        assert_eq!(nodetool_load("Mode: NORMAL\n"), None);
        assert_eq!(ring_delay(Some("3000")), Duration::from_secs(3));
        assert_eq!(ring_delay(None), DEFAULT_RING_DELAY);
        assert_eq!(ring_delay(Some("x")), DEFAULT_RING_DELAY);
        assert_eq!(bytes_text(5), "5 bytes");
        assert_eq!(bytes_text(1536), "1.5 KiB");
    }

    #[test]
    fn a_scale_down_is_confirmed_before_anything_leaves() {
        let cases: &[(&str, Fact<SetFacts>, Option<&str>)] = &[
            ("still 2: go on", Fact::Known(set(Some(2), Some(3))), None),
            (
                "back to 3 within the delay (a typo corrected): drain",
                Fact::Known(set(Some(3), Some(3))),
                Some("drain"),
            ),
            (
                "now 6 (a re-apply): drain",
                Fact::Known(set(Some(6), Some(3))),
                Some("drain"),
            ),
            (
                "the set cannot be read again: refuse",
                Fact::Unknown("the Kubernetes API did not answer".into()),
                Some("refused"),
            ),
        ];
        for (name, facts, want) in cases {
            let got = recheck(2, facts, "after the 30s settle delay");
            assert_eq!(got.as_ref().map(Decision::kind), *want, "{name}: {got:?}");
            if let Some(d) = got {
                assert!(d.why().starts_with("after the 30s settle delay"), "{name}");
            }
        }
        assert_eq!(
            settle_delay(Duration::from_secs(30), Duration::from_secs(1195)),
            Duration::from_secs(30)
        );
        assert_eq!(
            settle_delay(Duration::from_secs(30), Duration::from_secs(25)),
            Duration::from_millis(6250)
        );
    }
}
