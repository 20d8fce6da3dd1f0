//! Pure. What a live node says about the ring, merged from `system.local`,
//! `system.peers_v2` and (4.1+) `system_views.gossip_info`, and the judgements made from
//! it: is this node ready, and what state is each member in.
//!
//! Liveness is not in any table: a member counts as up when its gossip heartbeat advanced
//! between two reads of `gossip_info`. Without `gossip_info` (Cassandra 4.0) liveness is
//! unknown, and the view says so.

use std::net::IpAddr;

use serde::Serialize;

/// `system.local.bootstrapped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Bootstrapped {
    /// `NEEDS_BOOTSTRAP` (or absent).
    NeedsBootstrap,
    /// `IN_PROGRESS`.
    InProgress,
    /// `COMPLETED`: the node joined the ring.
    Completed,
    /// `DECOMMISSIONED`.
    Decommissioned,
    /// Anything else, as written.
    Other(String),
}

impl Bootstrapped {
    /// Parses the column value.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            None | Some("NEEDS_BOOTSTRAP") => Bootstrapped::NeedsBootstrap,
            Some("IN_PROGRESS") => Bootstrapped::InProgress,
            Some("COMPLETED") => Bootstrapped::Completed,
            Some("DECOMMISSIONED") => Bootstrapped::Decommissioned,
            Some(other) => Bootstrapped::Other(other.to_owned()),
        }
    }
}

/// A member's gossip status (`status_with_port`, falling back to `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `NORMAL`: a ring member.
    Normal,
    /// `BOOT`: bootstrapping.
    Boot,
    /// `BOOT_REPLACE`: replacing another node.
    BootReplace,
    /// `LEAVING`: decommissioning.
    Leaving,
    /// `LEFT`: has left.
    Left,
    /// `MOVING`.
    Moving,
    /// `removing` / `removed`.
    Removing,
    /// `hibernate`: same-address replace, or `join_ring=false`.
    Hibernate,
    /// `shutdown`: drained or stopped.
    Shutdown,
    /// Not known (no gossip view, or an empty value).
    Unknown,
}

impl Status {
    /// Parses a gossip status value such as `NORMAL,-9223...` or `shutdown,true`.
    pub fn parse(value: Option<&str>) -> Self {
        let head = value.and_then(|v| v.split(',').next()).unwrap_or("");
        match head {
            "NORMAL" => Status::Normal,
            "BOOT" => Status::Boot,
            "BOOT_REPLACE" => Status::BootReplace,
            "LEAVING" => Status::Leaving,
            "LEFT" => Status::Left,
            "MOVING" => Status::Moving,
            "removing" | "removed" => Status::Removing,
            "hibernate" => Status::Hibernate,
            "shutdown" => Status::Shutdown,
            _ => Status::Unknown,
        }
    }

    /// True while the member moves token ranges (Cassandra allows one at a time).
    pub fn is_range_movement(&self) -> bool {
        matches!(
            self,
            Status::Boot | Status::BootReplace | Status::Leaving | Status::Moving
        )
    }
}

/// Whether a member is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// Heartbeat advanced between two reads (or it is the observer itself).
    Up,
    /// Heartbeat did not advance, or gossip marks it shut down.
    Down,
    /// No gossip view to tell.
    Unknown,
}

/// `system.local` of the observed node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalRow {
    /// `cluster_name`.
    pub cluster_name: Option<String>,
    /// `host_id`.
    pub host_id: Option<String>,
    /// `data_center`.
    pub dc: Option<String>,
    /// `rack`.
    pub rack: Option<String>,
    /// `bootstrapped`.
    pub bootstrapped: Option<String>,
    /// Number of tokens.
    pub tokens: usize,
    /// `release_version`.
    pub release_version: Option<String>,
    /// `broadcast_address`.
    pub broadcast_address: Option<IpAddr>,
    /// `schema_version`.
    pub schema_version: Option<String>,
}

/// One row of `system.peers_v2` (or `system.peers`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerRow {
    /// `peer`.
    pub address: Option<IpAddr>,
    /// `host_id`.
    pub host_id: Option<String>,
    /// `data_center`.
    pub dc: Option<String>,
    /// `rack`.
    pub rack: Option<String>,
    /// Number of tokens.
    pub tokens: usize,
    /// `release_version`.
    pub release_version: Option<String>,
    /// `schema_version`.
    pub schema_version: Option<String>,
}

/// One row of `system_views.gossip_info`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GossipRow {
    /// `address`.
    pub address: Option<IpAddr>,
    /// `host_id`.
    pub host_id: Option<String>,
    /// `status_with_port`, or `status`.
    pub status: Option<String>,
    /// `heartbeat`.
    pub heartbeat: Option<i32>,
    /// `generation`.
    pub generation: Option<i32>,
    /// `dc`.
    pub dc: Option<String>,
    /// `rack`.
    pub rack: Option<String>,
    /// `schema`.
    pub schema: Option<String>,
}

/// A gossip row's status: `status_with_port` (4.0+ gossips the status with the port),
/// falling back to `status` when that is null or empty.
pub fn gossip_status(with_port: Option<String>, status: Option<String>) -> Option<String> {
    with_port.filter(|s| !s.is_empty()).or(status)
}

/// One member of the ring as the observer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Broadcast address.
    pub address: IpAddr,
    /// Host ID.
    pub host_id: Option<String>,
    /// Datacenter.
    pub dc: Option<String>,
    /// Rack.
    pub rack: Option<String>,
    /// Gossip status.
    pub status: Status,
    /// Up or down.
    pub liveness: Liveness,
    /// Number of tokens.
    pub tokens: usize,
    /// Schema version.
    pub schema_version: Option<String>,
    /// Cassandra version.
    pub release_version: Option<String>,
    /// True for the node that was asked.
    pub observer: bool,
}

impl Member {
    /// nodetool-style two-letter state: U/D then N/J/L/M (`?` when unknown).
    pub fn state(&self) -> String {
        let ud = match self.liveness {
            Liveness::Up => 'U',
            Liveness::Down => 'D',
            Liveness::Unknown => '?',
        };
        let s = match self.status {
            Status::Normal | Status::Shutdown => 'N',
            Status::Boot | Status::BootReplace | Status::Hibernate => 'J',
            Status::Leaving | Status::Left | Status::Removing => 'L',
            Status::Moving => 'M',
            Status::Unknown => '?',
        };
        format!("{ud}{s}")
    }
}

/// The ring as one live node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RingView {
    /// The observer's cluster name.
    pub cluster_name: Option<String>,
    /// Whether `gossip_info` was available (4.1+); without it, statuses and liveness of
    /// peers are unknown and only ring membership (peers table) is known.
    pub gossip: bool,
    /// Members, observer first, then by address.
    pub members: Vec<Member>,
}

/// Whether two reads of `gossip_info` tell the liveness of every member in `watch`:
/// each one's heartbeat (or generation) advanced, or gossip says it is shut down. A
/// member's heartbeat advances every second at home but reaches the observer only through
/// gossip rounds, so one read a second later can miss it: the caller reads again until
/// this holds or its window ends, and what has not advanced by then is down.
pub fn liveness_settled(first: &[GossipRow], latest: &[GossipRow], watch: &[IpAddr]) -> bool {
    fn find(rows: &[GossipRow], ip: IpAddr) -> Option<&GossipRow> {
        rows.iter().find(|g| g.address == Some(ip))
    }
    watch
        .iter()
        .all(|&ip| match (find(first, ip), find(latest, ip)) {
            (_, Some(b)) if Status::parse(b.status.as_deref()) == Status::Shutdown => true,
            (Some(a), Some(b)) => (b.generation, b.heartbeat) > (a.generation, a.heartbeat),
            _ => false,
        })
}

/// Merges what was read from one node. `gossip` holds a first and a latest read of
/// `gossip_info` (see `liveness_settled`), or `None` without it.
pub fn view(
    local: &LocalRow,
    peers: &[PeerRow],
    gossip: Option<(&[GossipRow], &[GossipRow])>,
) -> RingView {
    let mut members = Vec::new();
    let find =
        |rows: &[GossipRow], ip: IpAddr| rows.iter().find(|g| g.address == Some(ip)).cloned();
    let judge = |ip: IpAddr, observer: bool| -> (Status, Liveness) {
        match gossip {
            None => (
                Status::Unknown,
                if observer {
                    Liveness::Up
                } else {
                    Liveness::Unknown
                },
            ),
            Some((first, second)) => {
                let (a, b) = (find(first, ip), find(second, ip));
                let status =
                    Status::parse(b.as_ref().or(a.as_ref()).and_then(|g| g.status.as_deref()));
                let liveness = if observer {
                    Liveness::Up
                } else if status == Status::Shutdown {
                    Liveness::Down
                } else {
                    match (a, b) {
                        (Some(a), Some(b))
                            if (b.generation, b.heartbeat) > (a.generation, a.heartbeat) =>
                        {
                            Liveness::Up
                        }
                        (Some(_), Some(_)) => Liveness::Down,
                        _ => Liveness::Down,
                    }
                };
                (status, liveness)
            }
        }
    };
    if let Some(ip) = local.broadcast_address {
        let (status, liveness) = judge(ip, true);
        members.push(Member {
            address: ip,
            host_id: local.host_id.clone(),
            dc: local.dc.clone(),
            rack: local.rack.clone(),
            status,
            liveness,
            tokens: local.tokens,
            schema_version: local.schema_version.clone(),
            release_version: local.release_version.clone(),
            observer: true,
        });
    }
    let mut others: Vec<Member> = peers
        .iter()
        .filter_map(|p| {
            let ip = p.address?;
            let (status, liveness) = judge(ip, false);
            Some(Member {
                address: ip,
                host_id: p.host_id.clone(),
                dc: p.dc.clone(),
                rack: p.rack.clone(),
                status,
                liveness,
                tokens: p.tokens,
                schema_version: p.schema_version.clone(),
                release_version: p.release_version.clone(),
                observer: false,
            })
        })
        .collect();
    // Joining nodes are in gossip but not yet in the peers table: add them.
    if let Some((_, second)) = gossip {
        for g in second {
            let Some(ip) = g.address else { continue };
            if Some(ip) == local.broadcast_address || others.iter().any(|m| m.address == ip) {
                continue;
            }
            let (status, liveness) = judge(ip, false);
            if matches!(
                status,
                Status::Boot | Status::BootReplace | Status::Hibernate
            ) {
                others.push(Member {
                    address: ip,
                    host_id: g.host_id.clone(),
                    dc: g.dc.clone(),
                    rack: g.rack.clone(),
                    status,
                    liveness,
                    tokens: 0,
                    schema_version: g.schema.clone(),
                    release_version: None,
                    observer: false,
                });
            }
        }
    }
    others.sort_by_key(|m| m.address);
    members.extend(others);
    RingView {
        cluster_name: local.cluster_name.clone(),
        gossip: gossip.is_some(),
        members,
    }
}

/// The readiness verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Ready to serve clients.
    Ready,
    /// Not ready, with a one-line reason.
    NotReady(String),
}

/// Readiness of the node that answered: it answered CQL (the caller got here), it has
/// completed bootstrap, and (with a gossip view) its own status is NORMAL. Peers' state
/// does not matter: a node whose peers are all down but which is itself NORMAL is ready,
/// so a cold restart can progress pod by pod.
pub fn readiness(local: &LocalRow, own_gossip: Option<Option<&GossipRow>>) -> Readiness {
    let bootstrapped = Bootstrapped::parse(local.bootstrapped.as_deref());
    if bootstrapped != Bootstrapped::Completed {
        return Readiness::NotReady(format!(
            "bootstrap is not complete (system.local.bootstrapped = {bootstrapped:?})"
        ));
    }
    match own_gossip {
        None => Readiness::Ready, // Cassandra 4.0: no gossip view; CQL up and bootstrapped.
        Some(None) => Readiness::NotReady("this node is not in its own gossip state yet".into()),
        Some(Some(row)) => match Status::parse(row.status.as_deref()) {
            Status::Normal => Readiness::Ready,
            other => Readiness::NotReady(format!(
                "gossip status is {} ({other:?}), not NORMAL",
                row.status.as_deref().unwrap_or("empty")
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn local(bootstrapped: &str) -> LocalRow {
        LocalRow {
            cluster_name: Some("c".into()),
            host_id: Some("h1".into()),
            bootstrapped: Some(bootstrapped.into()),
            broadcast_address: Some(ip("10.0.0.1")),
            tokens: 8,
            ..LocalRow::default()
        }
    }

    fn g(addr: &str, status: &str, heartbeat: i32) -> GossipRow {
        GossipRow {
            address: Some(ip(addr)),
            status: Some(status.into()),
            heartbeat: Some(heartbeat),
            generation: Some(1),
            ..GossipRow::default()
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(
            Status::parse(Some("NORMAL,-9223372036854775808")),
            Status::Normal
        );
        assert_eq!(Status::parse(Some("BOOT,123")), Status::Boot);
        assert_eq!(
            Status::parse(Some("BOOT_REPLACE,10.0.0.1:7000")),
            Status::BootReplace
        );
        assert_eq!(Status::parse(Some("LEFT,1,2")), Status::Left);
        assert_eq!(Status::parse(Some("shutdown,true")), Status::Shutdown);
        assert_eq!(Status::parse(Some("hibernate,true")), Status::Hibernate);
        assert_eq!(Status::parse(Some("removed,abc,1")), Status::Removing);
        assert_eq!(Status::parse(Some("")), Status::Unknown);
        assert_eq!(Status::parse(None), Status::Unknown);
        assert!(Status::Leaving.is_range_movement() && !Status::Normal.is_range_movement());
    }

    #[test]
    fn readiness_table() {
        let normal = g("10.0.0.1", "NORMAL,1", 5);
        let leaving = g("10.0.0.1", "LEAVING,1", 5);
        let shutdown = g("10.0.0.1", "shutdown,true", 5);
        type Case<'a> = (&'a str, LocalRow, Option<Option<&'a GossipRow>>, bool);
        let cases: Vec<Case> = vec![
            (
                "joined and NORMAL",
                local("COMPLETED"),
                Some(Some(&normal)),
                true,
            ),
            ("4.0 without gossip view", local("COMPLETED"), None, true),
            (
                "bootstrap in progress",
                local("IN_PROGRESS"),
                Some(Some(&normal)),
                false,
            ),
            (
                "never bootstrapped",
                LocalRow {
                    bootstrapped: None,
                    ..local("")
                },
                None,
                false,
            ),
            ("decommissioned", local("DECOMMISSIONED"), None, false),
            ("leaving", local("COMPLETED"), Some(Some(&leaving)), false),
            (
                "shut down (drained)",
                local("COMPLETED"),
                Some(Some(&shutdown)),
                false,
            ),
            (
                "not in its own gossip",
                local("COMPLETED"),
                Some(None),
                false,
            ),
        ];
        for (name, local, own, want) in cases {
            assert_eq!(readiness(&local, own) == Readiness::Ready, want, "{name}");
        }
    }

    #[test]
    fn view_merges_and_judges_liveness() {
        let peers = vec![
            PeerRow {
                address: Some(ip("10.0.0.2")),
                host_id: Some("h2".into()),
                tokens: 8,
                ..PeerRow::default()
            },
            PeerRow {
                address: Some(ip("10.0.0.3")),
                host_id: Some("h3".into()),
                tokens: 8,
                ..PeerRow::default()
            },
            PeerRow {
                address: Some(ip("10.0.0.4")),
                host_id: Some("h4".into()),
                tokens: 8,
                ..PeerRow::default()
            },
        ];
        let first = vec![
            g("10.0.0.1", "NORMAL,1", 10),
            g("10.0.0.2", "NORMAL,1", 10),
            g("10.0.0.3", "NORMAL,1", 10),
            g("10.0.0.4", "shutdown,true", 10),
            g("10.0.0.5", "BOOT,1", 3),
        ];
        let second = vec![
            g("10.0.0.1", "NORMAL,1", 11),
            g("10.0.0.2", "NORMAL,1", 12),
            g("10.0.0.3", "NORMAL,1", 10),
            g("10.0.0.4", "shutdown,true", 10),
            g("10.0.0.5", "BOOT,1", 4),
        ];
        let v = view(&local("COMPLETED"), &peers, Some((&first, &second)));
        let states: Vec<(String, String)> = v
            .members
            .iter()
            .map(|m| (m.address.to_string(), m.state()))
            .collect();
        assert_eq!(
            states,
            [
                ("10.0.0.1".into(), "UN".into()),
                ("10.0.0.2".into(), "UN".into()),
                ("10.0.0.3".into(), "DN".into()),
                ("10.0.0.4".into(), "DN".into()),
                ("10.0.0.5".into(), "UJ".into()),
            ]
        );
        assert!(v.members[0].observer && v.gossip);
        // Without gossip_info: membership only.
        let v = view(&local("COMPLETED"), &peers, None);
        assert_eq!(v.members.len(), 4);
        assert_eq!(v.members[1].state(), "??");
        assert!(!v.gossip);
    }

    #[test]
    fn liveness_settles_when_every_watched_member_advanced_or_shut_down() {
        let first = [
            g("10.0.0.2", "NORMAL,1", 10),
            g("10.0.0.3", "NORMAL,1", 10),
            g("10.0.0.4", "NORMAL,1", 10),
        ];
        let watch = [ip("10.0.0.2"), ip("10.0.0.3")];
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<GossipRow>, &[IpAddr], bool)> = vec![
            ("both advanced", vec![g("10.0.0.2", "NORMAL,1", 11), g("10.0.0.3", "NORMAL,1", 12)], &watch, true),
            ("one still", vec![g("10.0.0.2", "NORMAL,1", 11), g("10.0.0.3", "NORMAL,1", 10)], &watch, false),
            ("a still one shut down", vec![g("10.0.0.2", "NORMAL,1", 11), g("10.0.0.3", "shutdown,true", 10)], &watch, true),
            ("an unwatched endpoint does not matter", vec![g("10.0.0.2", "NORMAL,1", 11), g("10.0.0.3", "NORMAL,1", 11), g("10.0.0.4", "NORMAL,1", 10)], &watch, true),
            ("a watched member missing from gossip", vec![g("10.0.0.2", "NORMAL,1", 11)], &watch, false),
            ("nothing to watch", vec![], &[], true),
            ("a restart (new generation) counts", vec![GossipRow { generation: Some(2), ..g("10.0.0.2", "NORMAL,1", 1) }, g("10.0.0.3", "NORMAL,1", 11)], &watch, true),
        ];
        for (name, latest, watch, want) in cases {
            assert_eq!(liveness_settled(&first, &latest, watch), want, "{name}");
        }
    }
}
