//! Pure. A volume that held a node ringkeeper saw decommissioned, and what a later start
//! of that pod does with it.
//!
//! The drain writes the marker ([`DECOMMISSIONED_MARKER`]) only after it saw the node
//! DECOMMISSIONED: the node left the ring, its live data was streamed to the nodes that
//! stay, and Cassandra never lets that host ID rejoin. A later scale-up of the ordinal
//! (the manifests keep volumes on scale-down) finds the marker. Started on as it is, the
//! node would either refuse forever (its `system.local` says DECOMMISSIONED) or, after a
//! partial wipe or with `override_decommission`, join with stale data. So the volume is
//! cleared and the pod joins as a new node, but only when every piece of evidence agrees
//! ([`boot_check`], then [`left`]):
//!
//! * the marker can be read, names this cluster and a host ID (a UUID);
//! * the volume's join record, if one is left, names the same host (a record of another
//!   host means the marker was copied onto a live member's volume);
//! * a member of this set that answers over CQL lists that host as LEFT, or no longer lists
//!   it at all; and no member that answers lists it as a ring member. A ring that cannot be
//!   asked means wait (not ready), never clear: a marker on the volume of a node that is
//!   still a member (copied, or restored from a backup) must never cost its data.
//!
//! What a person would keep is never deleted: every table's `snapshots/` (made by
//! `nodetool snapshot`, and by Cassandra itself on DROP TABLE and TRUNCATE with
//! `auto_snapshot`) and `backups/` (incremental backups). A decommission streams live data
//! only, so after a DROP TABLE these may be the only copy left. They are moved (renamed,
//! never copied across filesystems) into [`KEPT_DIR`] at the volume's root, under a folder
//! named for the node that left ([`kept_folder`]), keeping their paths below the volume.

use std::net::IpAddr;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use super::data::is_uuid;
use super::seeds::{Candidate, Cql};

/// The file a decommissioned node leaves in `--data-dir`.
pub const DECOMMISSIONED_MARKER: &str = "ringkeeper-decommissioned";

/// The folder at the volume's root where the snapshots and incremental backups of a
/// cleared node are kept. Never cleared by ringkeeper; a person removes it.
pub const KEPT_DIR: &str = "ringkeeper-kept";

/// The names of the directories, below a table's directory, that are kept.
pub const KEPT_NAMES: [&str; 2] = ["snapshots", "backups"];

/// What the marker says about the node that left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decommissioned {
    /// Its host ID.
    pub host_id: Option<String>,
    /// Its cluster.
    pub cluster_name: Option<String>,
    /// Its address.
    pub address: Option<IpAddr>,
    /// When it left, Unix seconds.
    pub decommissioned_at: u64,
}

/// What the entrypoint does with its volume at boot ([`boot_check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeCheck {
    /// No marker: the volume is used as it is.
    Use,
    /// The marker is this cluster's and names a host: ask the ring whether that host left
    /// ([`left`]); clear only when it confirms.
    ConfirmLeft {
        /// The node that left, in words, for the log and the Event.
        what: String,
        /// Its host ID.
        host_id: String,
        /// The kept folder's name for its snapshots ([`kept_folder`]).
        kept: String,
    },
    /// Cassandra must not start on this volume: a person must act.
    Refuse(String),
}

/// The boot check over the decommission marker (`marker`: its contents, or why they could
/// not be read; `None`: no marker), the cluster this node runs in, and the host ID of the
/// join record still on the volume, if any.
pub fn boot_check(
    marker: Option<&Result<Decommissioned, String>>,
    cluster: &str,
    joined_host: Option<&str>,
) -> VolumeCheck {
    let Some(marker) = marker else {
        return VolumeCheck::Use;
    };
    let refuse = |what: String| {
        VolumeCheck::Refuse(format!(
            "a person must act: this volume holds a node that was decommissioned ({what}; see \
             {DECOMMISSIONED_MARKER} in the data directory). To run this pod as a new node, \
             delete its PersistentVolumeClaim (and the pod, so the StatefulSet makes both \
             anew) or wipe the data directory, after keeping any snapshots/ and backups/ \
             you need; cassandra was not started and nothing was deleted"
        ))
    };
    let m = match marker {
        Ok(m) => m,
        Err(why) => return refuse(format!("its marker is unreadable: {why}")),
    };
    let what = describe(m);
    let Some(was) = m.cluster_name.as_deref() else {
        return refuse(format!(
            "{what}; the marker names no cluster, so it cannot be told to be this set's"
        ));
    };
    if was != cluster {
        return refuse(format!(
            "{what}; this node runs in cluster {cluster}, so the volume may not be this set's"
        ));
    }
    let host_id = match m.host_id.as_deref() {
        Some(h) if is_uuid(h) => h.to_owned(),
        Some(h) => {
            return refuse(format!(
                "{what}; the host ID {h:?} is no UUID, so the ring cannot confirm that it left"
            ));
        }
        None => {
            return refuse(format!(
                "{what}; the marker names no host ID, so the ring cannot confirm that it left"
            ));
        }
    };
    if let Some(joined) = joined_host.filter(|j| !j.eq_ignore_ascii_case(&host_id)) {
        return refuse(format!(
            "{what}; but the volume's join record names another node, {joined}: the marker \
             does not belong to the data on this volume"
        ));
    }
    VolumeCheck::ConfirmLeft {
        kept: kept_folder(&host_id, m.decommissioned_at),
        what,
        host_id,
    }
}

fn describe(m: &Decommissioned) -> String {
    format!(
        "host ID {}, cluster {}, address {}, decommissioned at {} (Unix time)",
        m.host_id.as_deref().unwrap_or("unknown"),
        m.cluster_name.as_deref().unwrap_or("unknown"),
        m.address.map_or("unknown".to_owned(), |a| a.to_string()),
        m.decommissioned_at
    )
}

/// The folder under [`KEPT_DIR`] that holds a cleared node's snapshots and backups.
pub fn kept_folder(host_id: &str, decommissioned_at: u64) -> String {
    format!("{host_id}-{decommissioned_at}")
}

/// Whether a directory found while clearing a data directory is kept: a `snapshots/` or
/// `backups/` below a table's directory (`<keyspace>/<table>/snapshots`, or a secondary
/// index's `<keyspace>/<table>/.<index>/backups`). `relative` is its path below the data
/// directory.
pub fn is_kept(relative: &Path) -> bool {
    let parts: Vec<_> = relative.components().collect();
    parts.len() >= 3
        && parts
            .last()
            .is_some_and(|c| KEPT_NAMES.iter().any(|k| c.as_os_str() == *k))
}

/// Whether a path is absolute and has no `.` or `..` in it (a path that must lie below
/// another is then judged by its real path, not by its spelling).
pub fn is_plain_absolute(path: &Path) -> bool {
    path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// What the ring says about the host a marker names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftCheck {
    /// It left: the members named confirm it (LEFT in their gossip, or not listed).
    Left {
        /// Each confirming member and what it showed.
        by: Vec<String>,
    },
    /// Not confirmed: wait, not ready, and never clear.
    Wait {
        /// Why, for the log and the Event.
        reason: String,
    },
}

/// Whether the ring confirms that `host_id` left: at least one member of this set (another
/// pod that answers over CQL as a member of `cluster`) lists it as LEFT or removed, or no
/// longer lists it while listing itself; and no member that answers still lists it as a
/// token owner (live or down: a down member has not left). Anything less waits.
pub fn left(host_id: &str, cluster: &str, own_ordinal: u32, candidates: &[Candidate]) -> LeftCheck {
    let mut confirm = Vec::new();
    let mut member = Vec::new();
    let mut other = Vec::new();
    for c in candidates {
        if c.ordinal.is_none_or(|o| o == own_ordinal) {
            continue;
        }
        match &c.cql {
            Cql::Member {
                cluster_name,
                ring,
                gone,
                ..
            } => {
                if cluster_name.as_deref() != Some(cluster) {
                    other.push(format!(
                        "{}: cluster {}",
                        c.name,
                        cluster_name.as_deref().unwrap_or("unknown")
                    ));
                } else if gone.iter().any(|g| g.eq_ignore_ascii_case(host_id)) {
                    confirm.push(format!("{}: LEFT", c.name));
                } else if ring.iter().any(|m| {
                    m.host_id
                        .as_deref()
                        .is_some_and(|h| h.eq_ignore_ascii_case(host_id))
                }) {
                    member.push(c.name.clone());
                } else if ring.is_empty() {
                    other.push(format!("{}: lists no members", c.name));
                } else {
                    confirm.push(format!("{}: not listed", c.name));
                }
            }
            Cql::NoAnswer { .. } | Cql::NotAsked => {}
        }
    }
    if !member.is_empty() {
        return LeftCheck::Wait {
            reason: format!(
                "the volume is marked as holding {host_id}, decommissioned, but {} still \
                 list{} it as a ring member: the volume is not cleared while the ring says \
                 that node is in it",
                member.join(", "),
                if member.len() == 1 { "s" } else { "" }
            ),
        };
    }
    if confirm.is_empty() {
        let seen = if other.is_empty() {
            String::new()
        } else {
            format!(" ({})", other.join("; "))
        };
        return LeftCheck::Wait {
            reason: format!(
                "the volume is marked as holding {host_id}, decommissioned; no other member \
                 of this set answers over CQL to confirm that it left{seen}: the volume is \
                 not cleared until one does"
            ),
        };
    }
    LeftCheck::Left { by: confirm }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::seeds::{Lookup, RingMember};

    const H1: &str = "6f1c2f4e-0000-4000-8000-000000000001";
    const H2: &str = "6f1c2f4e-0000-4000-8000-000000000002";
    const H3: &str = "6f1c2f4e-0000-4000-8000-000000000003";

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    fn marker(host: Option<&str>, cluster: Option<&str>) -> Decommissioned {
        Decommissioned {
            host_id: host.map(str::to_owned),
            cluster_name: cluster.map(str::to_owned),
            address: Some(ip(3)),
            decommissioned_at: 1_700_000_000,
        }
    }

    #[test]
    fn a_decommissioned_volume_never_boots_as_it_is() {
        type Case<'a> = (
            &'a str,
            Option<Result<Decommissioned, String>>,
            Option<&'a str>,
            // None: Use; Some(true): ConfirmLeft; Some(false): Refuse. Then what the
            // text must name.
            Option<bool>,
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            ("no marker: the volume is used", None, None, None, &[]),
            (
                "this cluster's node: asked of the ring",
                Some(Ok(marker(Some(H1), Some("c")))),
                None,
                Some(true),
                &[H1, "10.0.0.3", "1700000000"],
            ),
            (
                "the join record of the same node (a crash between marker and record)",
                Some(Ok(marker(Some(H1), Some("c")))),
                Some(H1),
                Some(true),
                &[H1],
            ),
            (
                "a marker without a cluster name: refused",
                Some(Ok(marker(Some(H1), None))),
                None,
                Some(false),
                &[
                    "a person must act:",
                    "names no cluster",
                    "nothing was deleted",
                ],
            ),
            (
                "a marker without a host ID: refused",
                Some(Ok(marker(None, Some("c")))),
                None,
                Some(false),
                &["names no host ID"],
            ),
            (
                "a host ID that is no UUID: refused",
                Some(Ok(marker(Some("h1"), Some("c")))),
                None,
                Some(false),
                &["\"h1\" is no UUID"],
            ),
            (
                "another cluster's volume: refused",
                Some(Ok(marker(Some(H1), Some("other")))),
                None,
                Some(false),
                &["a person must act:", H1, "other", "PersistentVolumeClaim"],
            ),
            (
                "a marker copied onto another node's volume: refused",
                Some(Ok(marker(Some(H1), Some("c")))),
                Some(H2),
                Some(false),
                &["join record names another node", H2],
            ),
            (
                "an unreadable marker: refused",
                Some(Err("not JSON".into())),
                None,
                Some(false),
                &["a person must act:", "not JSON", "wipe the data directory"],
            ),
        ];
        for (name, marker, joined, want, texts) in cases {
            let got = boot_check(marker.as_ref(), "c", *joined);
            let text = match (&got, want) {
                (VolumeCheck::Use, None) => String::new(),
                (
                    VolumeCheck::ConfirmLeft {
                        what,
                        host_id,
                        kept,
                    },
                    Some(true),
                ) => {
                    assert_eq!(host_id, H1, "{name}");
                    assert_eq!(kept, &format!("{H1}-1700000000"), "{name}");
                    what.clone()
                }
                (VolumeCheck::Refuse(why), Some(false)) => why.clone(),
                _ => panic!("{name}: {got:?}"),
            };
            for t in *texts {
                assert!(text.contains(t), "{name}: {t} not in {text}");
            }
        }
        let m = marker(Some(H1), Some("c"));
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Decommissioned>(&text).unwrap(), m);
    }

    fn pod(ordinal: u32, cql: Cql) -> Candidate {
        Candidate {
            name: format!("cassandra-{ordinal}"),
            ordinal: Some(ordinal),
            lookup: Lookup::Resolved {
                addresses: vec![ip(ordinal as u8 + 1)],
            },
            cql,
        }
    }

    fn member(cluster: &str, ring: &[&str], gone: &[&str]) -> Cql {
        Cql::Member {
            cluster_name: Some(cluster.into()),
            host_id: ring.first().map(|h| (*h).to_owned()),
            movements: vec![],
            ring: ring
                .iter()
                .enumerate()
                .map(|(i, h)| RingMember {
                    address: ip(i as u8 + 1),
                    host_id: Some((*h).to_owned()),
                })
                .collect(),
            down: vec![],
            oldest_start: None,
            gone: gone.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    fn silent() -> Cql {
        Cql::NoAnswer {
            detail: "connection refused".into(),
        }
    }

    #[test]
    fn the_ring_must_confirm_the_node_left() {
        // This pod is ordinal 2; the marker names H3.
        // Ok: confirmed, by these; Err: a wait whose reason names these.
        type Case<'a> = (
            &'a str,
            Vec<Candidate>,
            Result<&'a [&'a str], &'a [&'a str]>,
        );
        let cases: &[Case] = &[
            (
                "both others answer and list H3 as LEFT",
                vec![
                    pod(0, member("c", &[H1, H2], &[H3])),
                    pod(1, member("c", &[H2, H1], &[H3])),
                ],
                Ok(&["cassandra-0: LEFT", "cassandra-1: LEFT"]),
            ),
            (
                "one answers and no longer lists H3 (gossip forgot it)",
                vec![pod(0, member("c", &[H1, H2], &[])), pod(1, silent())],
                Ok(&["cassandra-0: not listed"]),
            ),
            (
                "no member answers: wait",
                vec![pod(0, silent()), pod(1, silent())],
                Err(&["no other member of this set answers"]),
            ),
            (
                "this pod's own name is never asked",
                vec![pod(2, member("c", &[H1], &[H3]))],
                Err(&["no other member"]),
            ),
            (
                "a member still lists H3 (a marker on a live member's volume): wait",
                vec![
                    pod(0, member("c", &[H1, H2, H3], &[])),
                    pod(1, member("c", &[H2, H1], &[H3])),
                ],
                Err(&["cassandra-0 still lists it as a ring member"]),
            ),
            (
                "another cluster answers: not evidence",
                vec![pod(0, member("other", &[H1], &[])), pod(1, silent())],
                Err(&["no other member", "cassandra-0: cluster other"]),
            ),
            (
                "a member that lists nobody: not evidence",
                vec![pod(0, member("c", &[], &[]))],
                Err(&["lists no members"]),
            ),
        ];
        for (name, candidates, want) in cases {
            let got = left(H3, "c", 2, candidates);
            match (&got, want) {
                (LeftCheck::Left { by }, Ok(texts)) => {
                    assert_eq!(by, &texts.to_vec(), "{name}")
                }
                (LeftCheck::Wait { reason }, Err(texts)) => {
                    for t in *texts {
                        assert!(reason.contains(t), "{name}: {t} not in {reason}");
                    }
                }
                _ => panic!("{name}: {got:?}"),
            }
        }
        // Extra seeds (no ordinal) are never evidence.
        let mut extra = pod(0, member("c", &[H1], &[H3]));
        extra.ordinal = None;
        assert!(matches!(left(H3, "c", 2, &[extra]), LeftCheck::Wait { .. }));
    }

    #[test]
    fn what_is_kept_and_which_paths_are_plain() {
        for (path, kept) in [
            ("app/kv-1a2b/snapshots", true),
            ("app/kv-1a2b/backups", true),
            ("app/kv-1a2b/.kv_idx/backups", true),
            ("app/kv-1a2b/nb-1-big-Data.db", false),
            ("app/snapshots", false),
            ("snapshots", false),
            ("app/kv-1a2b/snapshots-not", false),
        ] {
            assert_eq!(is_kept(Path::new(path)), kept, "{path}");
        }
        for (path, plain) in [
            ("/var/lib/cassandra/data", true),
            ("/var/lib/cassandra/../etc", false),
            ("/var/lib/cassandra/./data", true), // `Path` drops interior `.`
            ("relative/data", false),
            ("/", true),
        ] {
            assert_eq!(is_plain_absolute(Path::new(path)), plain, "{path}");
        }
    }
}
