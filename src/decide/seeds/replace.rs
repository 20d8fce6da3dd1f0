//! Replace from the identity record: whether the ring confirms this pod's previous node
//! down, a token owner, long enough, with no other range movement, and its turn.

use super::*;

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
pub(super) fn previous_in_ring(facts: &Facts<'_>) -> Option<RecordUse> {
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
pub(super) struct Asked<'a> {
    pub(super) name: &'a str,
    pub(super) ring: &'a [RingMember],
    pub(super) down: &'a [IpAddr],
    pub(super) gone: &'a [String],
    pub(super) movements: &'a [IpAddr],
}

pub(super) fn names(members: &[&Asked]) -> String {
    members
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}
