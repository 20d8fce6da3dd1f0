//! The second step: whether a pod scaled away decommissions now, waits for its turn, or
//! drains instead, from the ring, the keyspaces, its load and the room where the data goes.

use super::*;

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
pub(super) enum Needs {
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
pub(super) fn factor(text: &str) -> Option<u32> {
    text.split('/').next()?.trim().parse().ok()
}

pub(super) fn needs(ks: &Keyspace, dc: &str) -> Needs {
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
    /// The free space each pod of the set reported in the identity record (`decide::scale_down::room`):
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

pub(super) fn who(m: &Member) -> String {
    match &m.host_id {
        Some(id) => format!("{} (host ID {id})", m.address),
        None => m.address.to_string(),
    }
}

pub(super) fn list(items: &[String]) -> String {
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
