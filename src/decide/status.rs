//! Pure. The StatefulSet's pods side by side with the ring: which pod is which member,
//! in what state, and which members match no pod (ghosts left by a lost disk or a
//! scale-down).

use std::net::IpAddr;

use serde::Serialize;

use super::api_facts::PodObject;
use super::ring::{Liveness, Member, RingView, Status};

/// An expected pod and the address DNS gives for it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedPod {
    /// Pod name.
    pub name: String,
    /// Address, if its name resolves.
    pub address: Option<IpAddr>,
    /// Its Pod object's phase and readiness, from the Kubernetes API (shown beside the
    /// ring; health is judged from the ring alone).
    pub object: PodObject,
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
    /// The Pod object: `object` (found, absent, unknown), and when found its `phase`,
    /// `ready` and `terminating`.
    #[serde(flatten)]
    pub object: PodObject,
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
    /// Every node that answered, with what it sees (compared by `compare`).
    pub views: Vec<ViewSummary>,
    /// Where the nodes' views disagree.
    pub splits: Vec<Split>,
    /// True when every pod is UN, there are no ghosts, one schema version, and every node
    /// that answered sees the same ring.
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
                object: pod.object.clone(),
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
        views: Vec::new(),
        splits: Vec::new(),
        schema_versions: versions.len(),
        pods,
        ghosts,
        problems,
    }
}

/// How the views of two or more nodes disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// Nodes list different token owners (host IDs): they are not one ring.
    MembersDiffer,
    /// A pod's host ID is not the one the other nodes know it by, or none of them knows
    /// it: a new node took its place without a replace (a lost disk?).
    HostIdChanged,
    /// A node sees itself as the only token owner (every token is its) while other
    /// pods exist: a ring of its own, founded beside the others.
    OwnsEveryToken,
}

/// One disagreement between nodes' views of the ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// What kind.
    pub kind: SplitKind,
    /// The pods (or addresses) whose view or identity is out of line.
    pub pods: Vec<String>,
    /// What each side sees.
    pub detail: String,
}

/// One node's own view, summarised for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewSummary {
    /// The pod at the node's address, or the address.
    pub pod: String,
    /// Its address.
    pub address: IpAddr,
    /// Its host ID.
    pub host_id: Option<String>,
    /// Token owners it lists (itself included).
    pub members: usize,
}

fn label(expected: &[ExpectedPod], address: IpAddr) -> String {
    expected
        .iter()
        .find(|p| p.address == Some(address))
        .map_or_else(|| address.to_string(), |p| p.name.clone())
}

fn observer(view: &RingView) -> Option<&Member> {
    view.members.iter().find(|m| m.observer)
}

/// Token owners of a view: host IDs (or addresses, without one) of members with tokens.
fn owners(view: &RingView) -> Vec<String> {
    let mut ids: Vec<String> = view
        .members
        .iter()
        .filter(|m| m.tokens > 0)
        .map(|m| m.host_id.clone().unwrap_or_else(|| m.address.to_string()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Compares the views read from every node that answered (each from its own
/// `system.local` and `system.peers_v2`). Gossip carries membership changes within a
/// round or two, so a caller reads again before it believes a disagreement.
pub fn compare(expected: &[ExpectedPod], views: &[RingView]) -> (Vec<ViewSummary>, Vec<Split>) {
    let summaries: Vec<ViewSummary> = views
        .iter()
        .filter_map(|v| {
            let me = observer(v)?;
            Some(ViewSummary {
                pod: label(expected, me.address),
                address: me.address,
                host_id: me.host_id.clone(),
                members: owners(v).len(),
            })
        })
        .collect();
    let mut splits = Vec::new();
    let name_of = |v: &RingView| observer(v).map(|m| label(expected, m.address));

    // Views grouped by the token owners they list; the largest group first.
    let mut groups: Vec<(Vec<String>, Vec<&RingView>)> = Vec::new();
    for v in views.iter().filter(|v| observer(v).is_some()) {
        let set = owners(v);
        match groups.iter_mut().find(|(s, _)| *s == set) {
            Some((_, vs)) => vs.push(v),
            None => groups.push((set, vec![v])),
        }
    }
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(b.0.len().cmp(&a.0.len())));
    if groups.len() > 1 {
        let describe = |(set, vs): &(Vec<String>, Vec<&RingView>)| {
            let names: Vec<String> = vs.iter().filter_map(|v| name_of(v)).collect();
            let members: Vec<&str> = set.iter().map(String::as_str).collect();
            format!(
                "{} see(s) {} token owner(s) [{}]",
                names.join(", "),
                set.len(),
                members.join(", ")
            )
        };
        let pods: Vec<String> = groups[1..]
            .iter()
            .flat_map(|(_, vs)| vs.iter().filter_map(|v| name_of(v)))
            .collect();
        splits.push(Split {
            kind: SplitKind::MembersDiffer,
            pods,
            detail: groups.iter().map(describe).collect::<Vec<_>>().join("; "),
        });
    }

    for v in views {
        let Some(me) = observer(v) else { continue };
        let others: Vec<&RingView> = views
            .iter()
            .filter(|o| observer(o).is_some_and(|m| m.address != me.address))
            .collect();
        let name = label(expected, me.address);
        // A lone token owner while other pods exist (resolve) or answer, and are not
        // joining it (a joining node shows in gossip, without tokens).
        let strangers: Vec<String> = expected
            .iter()
            .filter(|p| {
                p.address
                    .is_some_and(|a| a != me.address && !v.members.iter().any(|m| m.address == a))
            })
            .map(|p| p.name.clone())
            .collect();
        if owners(v).len() == 1 && me.tokens > 0 && (!strangers.is_empty() || !others.is_empty()) {
            let bigger: Vec<String> = others
                .iter()
                .filter(|o| owners(o).len() > 1)
                .filter_map(|o| name_of(o))
                .collect();
            splits.push(Split {
                kind: SplitKind::OwnsEveryToken,
                pods: vec![name.clone()],
                detail: format!(
                    "{name} sees itself as the only token owner (it owns every token) while other \
                     pods exist and are not joining it ({}){}: it may have founded a cluster of its \
                     own (a pod that lost its disk?)",
                    strangers.join(", "),
                    if bigger.is_empty() {
                        String::new()
                    } else {
                        format!(" and {} see(s) a larger ring", bigger.join(", "))
                    }
                ),
            });
        }
        // Its host ID as the others know the member at its address, or at all.
        let Some(id) = me.host_id.as_deref() else {
            continue;
        };
        let mut at_address: Vec<String> = Vec::new();
        for o in &others {
            if let Some(m) = o.members.iter().find(|m| m.address == me.address)
                && let Some(theirs) = m.host_id.as_deref()
                && theirs != id
            {
                at_address.push(format!(
                    "{} knows {} as {}",
                    name_of(o).unwrap_or_default(),
                    me.address,
                    theirs
                ));
            }
        }
        let knowing: Vec<&RingView> = others
            .iter()
            .copied()
            .filter(|o| o.members.iter().any(|m| m.host_id.as_deref() == Some(id)))
            .collect();
        if !at_address.is_empty() {
            splits.push(Split {
                kind: SplitKind::HostIdChanged,
                pods: vec![name.clone()],
                detail: format!(
                    "{name} at {} is host {}, but {}: a new node took that address without a \
                     replace (a lost disk?)",
                    me.address,
                    id,
                    at_address.join(", ")
                ),
            });
        } else if !others.is_empty() && knowing.is_empty() {
            let ghosts: Vec<String> = others
                .iter()
                .flat_map(|o| o.members.iter())
                .filter(|m| m.liveness != Liveness::Up && !m.observer)
                .filter(|m| !expected.iter().any(|p| p.address == Some(m.address)))
                .map(|m| format!("{}@{}", m.host_id.as_deref().unwrap_or("?"), m.address))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let names: Vec<String> = others.iter().filter_map(|o| name_of(o)).collect();
            splits.push(Split {
                kind: SplitKind::HostIdChanged,
                pods: vec![name.clone()],
                detail: format!(
                    "{name} is host {}, which {} do(es) not know{}",
                    id,
                    names.join(", "),
                    if ghosts.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; they list member(s) that match no pod ({}): {name} may be a new \
                             node that took the place of one of them without a replace (a lost disk?)",
                            ghosts.join(", ")
                        )
                    }
                ),
            });
        }
    }
    (summaries, splits)
}

/// Adds the comparison of every node's view to the report: each disagreement is a problem.
pub fn with_views(
    mut report: StatusReport,
    views: Vec<ViewSummary>,
    splits: Vec<Split>,
) -> StatusReport {
    for s in &splits {
        report
            .problems
            .push(format!("split view ({:?}): {}", s.kind, s.detail));
    }
    report.healthy = report.problems.is_empty();
    report.views = views;
    report.splits = splits;
    report
}

/// The PHASE and READY cells of a pod's object.
fn object_cells(object: &PodObject) -> [String; 2] {
    match object {
        PodObject::Found {
            phase,
            ready,
            terminating,
        } => [
            if *terminating {
                "Terminating".to_owned()
            } else {
                phase.clone().unwrap_or_else(|| "-".to_owned())
            },
            match ready {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            }
            .to_owned(),
        ],
        PodObject::Absent => ["absent".to_owned(), "-".to_owned()],
        PodObject::Unknown => ["?".to_owned(), "?".to_owned()],
    }
}

/// Renders the report as a table. The PHASE and READY columns (the Pod objects, from the
/// Kubernetes API) appear when at least one pod's object is known.
pub fn table(report: &StatusReport) -> String {
    let with_objects = report.pods.iter().any(|p| p.object != PodObject::Unknown);
    let mut header = vec![
        "POD".to_owned(),
        "ADDRESS".into(),
        "STATE".into(),
        "HOST ID".into(),
        "DC".into(),
        "RACK".into(),
        "TOKENS".into(),
        "SCHEMA".into(),
    ];
    if with_objects {
        header.extend(["PHASE".to_owned(), "READY".to_owned()]);
    }
    let mut rows = vec![header];
    let dash = || "-".to_owned();
    let line = |name: String,
                address: Option<IpAddr>,
                state: String,
                m: Option<&Member>,
                object: Option<&PodObject>| {
        let mut cells = vec![
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
        ];
        if with_objects {
            cells.extend(object.map_or_else(|| [dash(), dash()], object_cells));
        }
        cells
    };
    for p in &report.pods {
        rows.push(line(
            p.pod.clone(),
            p.address,
            p.state.clone(),
            p.member.as_ref(),
            Some(&p.object),
        ));
    }
    for g in &report.ghosts {
        rows.push(line(
            "(no pod)".into(),
            Some(g.member.address),
            g.state.clone(),
            Some(&g.member),
            None,
        ));
    }
    let widths: Vec<usize> = (0..rows[0].len())
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
    if !report.splits.is_empty() {
        for v in &report.views {
            out.push_str(&format!(
                "view from {} ({}): host {}, {} token owner(s)\n",
                v.pod,
                v.address,
                v.host_id.as_deref().unwrap_or("?"),
                v.members
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
                object: PodObject::Unknown,
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

    /// The view a node at `me` (host, address) reads from its own tables (no gossip).
    fn own_view(me: (&str, &str), peers: &[(&str, &str)]) -> RingView {
        let local = LocalRow {
            cluster_name: Some("c".into()),
            host_id: Some(me.0.into()),
            broadcast_address: Some(ip(me.1)),
            tokens: 8,
            ..LocalRow::default()
        };
        let peers: Vec<PeerRow> = peers
            .iter()
            .map(|(h, a)| PeerRow {
                address: Some(ip(a)),
                host_id: Some((*h).into()),
                tokens: 8,
                ..PeerRow::default()
            })
            .collect();
        view(&local, &peers, None)
    }

    /// `v` with a member joining at `addr` (seen in gossip, no tokens yet).
    fn joining(mut v: RingView, addr: &str) -> RingView {
        let mut m = v.members[0].clone();
        m.address = ip(addr);
        m.host_id = Some("h-joining".into());
        m.tokens = 0;
        m.observer = false;
        m.status = Status::Boot;
        v.members.push(m);
        v
    }

    #[test]
    fn split_views_table() {
        let (h0, h1, h2, new) = ("h0", "h1", "h2", "h0-new");
        let (a0, a1, a2, a0new) = ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.21");
        let ring3 = |me: (&'static str, &'static str)| {
            let all = [(h0, a0), (h1, a1), (h2, a2)];
            let peers: Vec<(&str, &str)> = all.iter().copied().filter(|p| *p != me).collect();
            own_view(me, &peers)
        };
        type Row = (
            &'static str,
            Vec<Option<&'static str>>,
            Vec<RingView>,
            Vec<(SplitKind, &'static str)>,
        );
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("one ring, seen alike from every node", vec![Some(a0), Some(a1), Some(a2)],
             vec![ring3((h0, a0)), ring3((h1, a1)), ring3((h2, a2))], vec![]),
            ("pod 0 lost its disk and founded anew on a new IP", vec![Some(a0new), Some(a1), Some(a2)],
             vec![own_view((new, a0new), &[]), ring3((h1, a1)), ring3((h2, a2))],
             vec![(SplitKind::MembersDiffer, "c-0"), (SplitKind::OwnsEveryToken, "c-0"), (SplitKind::HostIdChanged, "c-0")]),
            ("pod 0 founded anew on its old IP and the rings merged", vec![Some(a0), Some(a1), Some(a2)],
             vec![own_view((new, a0), &[(h1, a1), (h2, a2)]), ring3((h1, a1)), ring3((h2, a2))],
             vec![(SplitKind::MembersDiffer, "c-0"), (SplitKind::HostIdChanged, "c-0")]),
            ("pod 0 alone while the others refuse to start: it owns every token", vec![Some(a0), Some(a1), Some(a2)],
             vec![own_view((new, a0), &[])],
             vec![(SplitKind::OwnsEveryToken, "c-0")]),
            ("a single-node cluster is no split", vec![Some(a0)],
             vec![own_view((h0, a0), &[])], vec![]),
            ("the first pod while the second joins it (in its gossip) is no split", vec![Some(a0), Some(a1)],
             vec![joining(own_view((h0, a0), &[]), a1)], vec![]),
            ("a node restarted on a new IP: the same host IDs", vec![Some(a0), Some(a1), Some(a2)],
             vec![ring3((h0, a0)), own_view((h1, a1), &[(h0, "10.0.0.9"), (h2, a2)])], vec![]),
        ];
        for (name, addrs, views, want) in rows {
            let (summaries, splits) = compare(&pods(&addrs), &views);
            assert_eq!(summaries.len(), views.len(), "{name}");
            let got: Vec<(SplitKind, String)> =
                splits.iter().map(|s| (s.kind, s.pods.join(","))).collect();
            let want: Vec<(SplitKind, String)> =
                want.into_iter().map(|(k, p)| (k, p.to_owned())).collect();
            assert_eq!(got, want, "{name}: {splits:#?}");
        }
    }

    #[test]
    fn splits_make_the_report_unhealthy_and_say_how() {
        let expected = pods(&[Some("10.0.0.21"), Some("10.0.0.2")]);
        let healthy = assess(&expected, &own_view(("h1", "10.0.0.2"), &[]));
        let views = vec![
            own_view(("h0-new", "10.0.0.21"), &[]),
            own_view(("h1", "10.0.0.2"), &[("h0", "10.0.0.1")]),
        ];
        let (summaries, splits) = compare(&expected, &views);
        let r = with_views(healthy, summaries, splits);
        assert!(!r.healthy);
        let t = table(&r);
        assert!(
            t.contains("view from c-0 (10.0.0.21): host h0-new, 1 token owner(s)"),
            "{t}"
        );
        assert!(
            t.contains("c-0 is host h0-new, which c-1 do(es) not know"),
            "{t}"
        );
        assert!(t.contains("h0@10.0.0.1"), "{t}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["splits"][0]["kind"], "members_differ");
        assert_eq!(json["views"][0]["pod"], "c-0");
    }

    #[test]
    fn pod_objects_beside_the_ring() {
        let found = |phase: &str, ready, terminating| PodObject::Found {
            phase: Some(phase.into()),
            ready,
            terminating,
        };
        let mut expected = pods(&[Some("10.0.0.1"), Some("10.0.0.2"), None, Some("10.0.0.4")]);
        let objects = [
            found("Running", Some(true), false),
            found("Running", Some(false), true),
            PodObject::Absent,
            PodObject::Unknown,
        ];
        for (p, o) in expected.iter_mut().zip(objects) {
            p.object = o;
        }
        let r = assess(&expected, &ring(&[("10.0.0.2", true), ("10.0.0.4", true)]));
        let t = table(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].ends_with("PHASE        READY"), "{t}");
        assert!(
            lines[2].starts_with("c-0") && lines[2].ends_with("Running      yes"),
            "{t}"
        );
        assert!(lines[3].ends_with("Terminating  no"), "{t}");
        assert!(lines[4].ends_with("absent       -"), "{t}");
        assert!(lines[5].ends_with("?            ?"), "{t}");
        // The objects do not change the health: the ring does.
        assert!(!r.healthy);
        assert!(!r.problems.iter().any(|p| p.contains("Terminating")));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["pods"][0]["object"], "found");
        assert_eq!(json["pods"][0]["phase"], "Running");
        assert_eq!(json["pods"][0]["ready"], true);
        assert_eq!(json["pods"][1]["terminating"], true);
        assert_eq!(json["pods"][2]["object"], "absent");
        assert_eq!(json["pods"][3]["object"], "unknown");
        // Without any object known, the table keeps its columns.
        let plain = table(&assess(&pods(&[Some("10.0.0.1")]), &ring(&[])));
        assert!(!plain.contains("PHASE"), "{plain}");
    }

    #[test]
    fn live_ghost_gets_no_removenode_advice() {
        let r = assess(&pods(&[Some("10.0.0.1")]), &ring(&[("10.0.0.2", true)]));
        assert_eq!(r.ghosts.len(), 1);
        assert_eq!(r.ghosts[0].remedy, None);
    }
}
