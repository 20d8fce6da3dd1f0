//! Pure. The StatefulSet's pods side by side with the ring: which pod is which member,
//! in what state, and which members match no pod (ghosts left by a lost disk or a
//! scale-down).

use std::net::IpAddr;

use serde::Serialize;

use super::ring::{Liveness, Member, RingView, Status};

/// An expected pod and the address DNS gives for it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedPod {
    /// Pod name.
    pub name: String,
    /// Address, if its name resolves.
    pub address: Option<IpAddr>,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodLine {
    /// Pod name.
    pub pod: String,
    /// Its address, if known.
    pub address: Option<IpAddr>,
    /// nodetool-style state (UN, DN, UJ, ...), or `-` when not in the ring.
    pub state: String,
    /// The ring member at that address, if any.
    pub member: Option<Member>,
}

/// A ring member that matches no expected pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ghost {
    /// The member.
    pub member: Member,
    /// nodetool-style state.
    pub state: String,
    /// What clears it, when it is down (never suggested for a live member).
    pub remedy: Option<String>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// Cluster name, as the observer reports it.
    pub cluster_name: Option<String>,
    /// False when liveness and states come from membership only (no gossip_info).
    pub gossip: bool,
    /// One line per expected pod.
    pub pods: Vec<PodLine>,
    /// Members that match no pod.
    pub ghosts: Vec<Ghost>,
    /// Number of distinct schema versions among members.
    pub schema_versions: usize,
    /// True when every pod is UN, there are no ghosts and one schema version.
    pub healthy: bool,
    /// Why not healthy, one line each.
    pub problems: Vec<String>,
}

/// Builds the report.
pub fn assess(expected: &[ExpectedPod], view: &RingView) -> StatusReport {
    let mut problems = Vec::new();
    let pods: Vec<PodLine> = expected
        .iter()
        .map(|pod| {
            let member = pod
                .address
                .and_then(|ip| view.members.iter().find(|m| m.address == ip))
                .cloned();
            let state = member
                .as_ref()
                .map_or_else(|| "-".to_owned(), Member::state);
            match (&pod.address, &member) {
                (None, _) => problems.push(format!("{} has no address in DNS", pod.name)),
                (Some(ip), None) => {
                    problems.push(format!("{} ({ip}) is not in the ring", pod.name))
                }
                (Some(_), Some(m))
                    if !(m.liveness == Liveness::Up && m.status == Status::Normal) =>
                {
                    problems.push(format!("{} is {state}", pod.name))
                }
                _ => {}
            }
            PodLine {
                pod: pod.name.clone(),
                address: pod.address,
                state,
                member,
            }
        })
        .collect();
    let ghosts: Vec<Ghost> = view
        .members
        .iter()
        .filter(|m| !expected.iter().any(|p| p.address == Some(m.address)))
        .map(|m| {
            let down = m.liveness == Liveness::Down;
            problems.push(format!(
                "ring member {} ({}) matches no pod",
                m.address,
                m.state()
            ));
            Ghost {
                member: m.clone(),
                state: m.state(),
                remedy: match (&m.host_id, down) {
                    (Some(id), true) => Some(format!("nodetool removenode {id}")),
                    _ => None,
                },
            }
        })
        .collect();
    let mut versions: Vec<&str> = view
        .members
        .iter()
        .filter(|m| m.liveness != Liveness::Down)
        .filter_map(|m| m.schema_version.as_deref())
        .collect();
    versions.sort_unstable();
    versions.dedup();
    if versions.len() > 1 {
        problems.push(format!(
            "{} schema versions among live members",
            versions.len()
        ));
    }
    if !view.gossip {
        problems.push(
            "no gossip view (Cassandra before 4.1, or no SELECT on system_views): liveness unknown"
                .into(),
        );
    }
    StatusReport {
        cluster_name: view.cluster_name.clone(),
        gossip: view.gossip,
        healthy: problems.is_empty(),
        schema_versions: versions.len(),
        pods,
        ghosts,
        problems,
    }
}

/// Renders the report as a table.
pub fn table(report: &StatusReport) -> String {
    let mut rows = vec![[
        "POD".to_owned(),
        "ADDRESS".into(),
        "STATE".into(),
        "HOST ID".into(),
        "DC".into(),
        "RACK".into(),
        "TOKENS".into(),
        "SCHEMA".into(),
    ]];
    let dash = || "-".to_owned();
    let line = |name: String, address: Option<IpAddr>, state: String, m: Option<&Member>| {
        [
            name,
            address.map_or_else(dash, |a| a.to_string()),
            state,
            m.and_then(|m| m.host_id.clone()).unwrap_or_else(dash),
            m.and_then(|m| m.dc.clone()).unwrap_or_else(dash),
            m.and_then(|m| m.rack.clone()).unwrap_or_else(dash),
            m.map_or_else(dash, |m| m.tokens.to_string()),
            m.and_then(|m| {
                m.schema_version
                    .as_deref()
                    .map(|s| s.chars().take(8).collect())
            })
            .unwrap_or_else(dash),
        ]
    };
    for p in &report.pods {
        rows.push(line(
            p.pod.clone(),
            p.address,
            p.state.clone(),
            p.member.as_ref(),
        ));
    }
    for g in &report.ghosts {
        rows.push(line(
            "(no pod)".into(),
            Some(g.member.address),
            g.state.clone(),
            Some(&g.member),
        ));
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "cluster {}: {}\n",
        report.cluster_name.as_deref().unwrap_or("?"),
        if report.healthy {
            "healthy"
        } else {
            "NOT healthy"
        }
    );
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    for g in &report.ghosts {
        if let Some(remedy) = &g.remedy {
            out.push_str(&format!(
                "ghost {} is down and matches no pod; to remove it: {remedy}\n",
                g.member.address
            ));
        }
    }
    for p in &report.problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::ring::{GossipRow, LocalRow, PeerRow, view};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ring(alive: &[(&str, bool)]) -> RingView {
        let local = LocalRow {
            cluster_name: Some("c".into()),
            host_id: Some("h-10.0.0.1".into()),
            broadcast_address: Some(ip("10.0.0.1")),
            schema_version: Some("s1".into()),
            tokens: 8,
            ..LocalRow::default()
        };
        let peers: Vec<PeerRow> = alive
            .iter()
            .map(|(a, _)| PeerRow {
                address: Some(ip(a)),
                host_id: Some(format!("h-{a}")),
                schema_version: Some("s1".into()),
                tokens: 8,
                ..PeerRow::default()
            })
            .collect();
        let g = |a: &str, hb| GossipRow {
            address: Some(ip(a)),
            status: Some("NORMAL,1".into()),
            heartbeat: Some(hb),
            generation: Some(1),
            ..GossipRow::default()
        };
        let first: Vec<GossipRow> = std::iter::once(g("10.0.0.1", 1))
            .chain(alive.iter().map(|(a, _)| g(a, 1)))
            .collect();
        let second: Vec<GossipRow> = std::iter::once(g("10.0.0.1", 2))
            .chain(alive.iter().map(|(a, up)| g(a, if *up { 2 } else { 1 })))
            .collect();
        view(&local, &peers, Some((&first, &second)))
    }

    fn pods(addrs: &[Option<&str>]) -> Vec<ExpectedPod> {
        addrs
            .iter()
            .enumerate()
            .map(|(i, a)| ExpectedPod {
                name: format!("c-{i}"),
                address: a.map(ip),
            })
            .collect()
    }

    #[test]
    fn healthy_ring() {
        let r = assess(
            &pods(&[Some("10.0.0.1"), Some("10.0.0.2"), Some("10.0.0.3")]),
            &ring(&[("10.0.0.2", true), ("10.0.0.3", true)]),
        );
        assert!(r.healthy, "{:?}", r.problems);
        assert_eq!(
            r.pods.iter().map(|p| p.state.as_str()).collect::<Vec<_>>(),
            ["UN", "UN", "UN"]
        );
        assert!(table(&r).contains("healthy"));
    }

    #[test]
    fn down_pod_and_ghost() {
        // Pod 0 came back on a new IP without its data; its old identity is a DN ghost.
        let r = assess(
            &pods(&[Some("10.0.0.9"), Some("10.0.0.1"), Some("10.0.0.3")]),
            &ring(&[("10.0.0.2", false), ("10.0.0.3", false)]),
        );
        assert!(!r.healthy);
        assert_eq!(r.pods[0].state, "-");
        assert_eq!(r.pods[2].state, "DN");
        assert_eq!(r.ghosts.len(), 1);
        assert_eq!(
            r.ghosts[0].remedy.as_deref(),
            Some("nodetool removenode h-10.0.0.2")
        );
        let t = table(&r);
        assert!(
            t.contains("NOT healthy") && t.contains("nodetool removenode h-10.0.0.2"),
            "{t}"
        );
        assert!(
            r.problems
                .iter()
                .any(|p| p.contains("c-0 (10.0.0.9) is not in the ring"))
        );
    }

    #[test]
    fn live_ghost_gets_no_removenode_advice() {
        let r = assess(&pods(&[Some("10.0.0.1")]), &ring(&[("10.0.0.2", true)]));
        assert_eq!(r.ghosts.len(), 1);
        assert_eq!(r.ghosts[0].remedy, None);
    }
}
