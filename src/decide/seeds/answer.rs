//! Pure. What a candidate's answer says, from the rows it returned: `system.local`,
//! `system.peers_v2` and `system_views.gossip_info`, whichever client read them (the
//! driver for the pods DNS names; the size-bounded `edge::cql_probe` for saved addresses).

use crate::decide::ring::{GossipRow, Liveness, LocalRow, PeerRow, Status, view};

use super::{Cql, RingMember};

/// The answer of a candidate that answered: its cluster, its ring (token owners only),
/// who moves ranges, who is down (only with two gossip reads a heartbeat apart: `again`),
/// when its ring's oldest member started, and who gossip shows as gone.
pub fn member_answer(
    local: LocalRow,
    peers: &[PeerRow],
    gossip: Option<Vec<GossipRow>>,
    again: Option<Vec<GossipRow>>,
) -> Cql {
    let down = match (&gossip, &again) {
        (Some(first), Some(second)) => view(&local, peers, Some((first, second)))
            .members
            .into_iter()
            .filter(|m| m.liveness == Liveness::Down)
            .map(|m| m.address)
            .collect(),
        _ => Vec::new(),
    };
    let gossip = again.or(gossip).unwrap_or_default();
    // Token owners only (system.local + system.peers_v2: NORMAL members, live or down),
    // not every gossip endpoint: a bootstrap that crashed leaves its address in gossip,
    // and must be able to retry.
    let mut ring: Vec<RingMember> = local
        .broadcast_address
        .map(|address| RingMember {
            address,
            host_id: local.host_id.clone(),
        })
        .into_iter()
        .collect();
    // Every (address, host ID) pair, even two at one address: a peers row left at an
    // address the node itself now holds (a cold restart that swapped addresses) still
    // names a member of this ring.
    for p in peers {
        if let Some(address) = p.address {
            let member = RingMember {
                address,
                host_id: p.host_id.clone(),
            };
            if !ring.contains(&member) {
                ring.push(member);
            }
        }
    }
    let movements = gossip
        .iter()
        .filter(|g| Status::parse(g.status.as_deref()).is_range_movement())
        .filter_map(|g| g.address)
        .collect();
    // The generation is the time (Unix seconds) a node last started.
    let oldest_start = gossip
        .iter()
        .filter(|g| {
            g.address
                .is_some_and(|a| ring.iter().any(|m| m.address == a))
        })
        .filter_map(|g| g.generation)
        .min()
        .map(i64::from);
    // Members gossip shows as removed or left: `removed,<host id>,<expiry>` names the
    // host in its status too.
    let mut gone: Vec<String> = Vec::new();
    for g in &gossip {
        if matches!(
            Status::parse(g.status.as_deref()),
            Status::Left | Status::Removing
        ) {
            gone.extend(g.host_id.clone().filter(|h| !h.is_empty()));
            if let Some(status) = &g.status {
                gone.extend(
                    status
                        .split(',')
                        .filter(|part| crate::decide::data::is_uuid(part))
                        .map(str::to_owned),
                );
            }
        }
    }
    gone.sort();
    gone.dedup();
    Cql::Member {
        cluster_name: local.cluster_name,
        host_id: local.host_id,
        movements,
        ring,
        down,
        oldest_start,
        gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "11111111-1111-1111-1111-111111111111";
    const B: &str = "22222222-2222-2222-2222-222222222222";
    const C: &str = "33333333-3333-3333-3333-333333333333";

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    fn gossip(address: &str, host_id: &str, status: &str, generation: i32) -> GossipRow {
        GossipRow {
            address: Some(ip(address)),
            host_id: Some(host_id.into()),
            status: Some(status.into()),
            generation: Some(generation),
            ..GossipRow::default()
        }
    }

    /// What one read of a node's rows says: the ring from `system.local` and every
    /// `(address, host ID)` pair of the peers, movements and departures from gossip, the
    /// oldest start among token owners only; nobody down without a second read.
    #[test]
    fn one_read() {
        let local = LocalRow {
            cluster_name: Some("ring".into()),
            host_id: Some(A.into()),
            broadcast_address: Some(ip("10.0.0.1")),
            ..LocalRow::default()
        };
        let peer = |address: &str, host_id: &str| PeerRow {
            address: Some(ip(address)),
            host_id: Some(host_id.into()),
            ..PeerRow::default()
        };
        // A stale row at the node's own address still names a member; a duplicate row
        // is one member.
        let peers = [
            peer("10.0.0.2", B),
            peer("10.0.0.2", B),
            peer("10.0.0.1", C),
        ];
        let rows = vec![
            gossip("10.0.0.1", A, "NORMAL,1", 300),
            gossip("10.0.0.2", B, "LEAVING,1", 200),
            // A bootstrap that is no token owner: moves ranges, but its start is not
            // the ring's.
            gossip("10.0.0.3", "", "BOOT,1", 100),
            gossip("10.0.0.4", "", &format!("removed,{C},1700000000"), 50),
        ];
        let answer = member_answer(local, &peers, Some(rows), None);
        let member = |address: &str, host_id: &str| RingMember {
            address: ip(address),
            host_id: Some(host_id.into()),
        };
        assert_eq!(
            answer,
            Cql::Member {
                cluster_name: Some("ring".into()),
                host_id: Some(A.into()),
                movements: vec![ip("10.0.0.2"), ip("10.0.0.3")],
                ring: vec![
                    member("10.0.0.1", A),
                    member("10.0.0.2", B),
                    member("10.0.0.1", C),
                ],
                down: vec![],
                oldest_start: Some(200),
                gone: vec![C.into()],
            }
        );
        // Without a gossip view: the ring alone.
        let bare = member_answer(LocalRow::default(), &[peer("10.0.0.2", B)], None, None);
        assert!(
            matches!(bare, Cql::Member { ref movements, oldest_start: None, ref gone, .. }
            if movements.is_empty() && gone.is_empty())
        );
    }
}
