//! Pure. Whether the entrypoint, asked to restore a backup, fills this pod's volume from it
//! before Cassandra starts, leaves the volume as it is, or refuses (Cassandra not started,
//! the volume untouched).
//!
//! A restore only ever fills an empty volume: once restored (or whenever the volume holds a
//! node's state), every later start of the pod is an ordinary start, so the flag can stay
//! in the manifest.

use std::path::Path;

use super::catalog::Backup;
use super::manifest::{FORMAT, Manifest};
use crate::decide::data::{DataState, JoinRecord, RECORD_FORMAT};

/// What the entrypoint knows when asked to restore.
#[derive(Debug, Clone)]
pub struct Asked<'a> {
    /// The backup's name.
    pub backup: &'a str,
    /// This pod.
    pub pod: &'a str,
    /// The set's size, when known (flag or API).
    pub replicas: Option<u32>,
    /// The cluster name the configuration expects, when set.
    pub cluster: Option<&'a str>,
    /// What the volume holds.
    pub data: DataState,
    /// The data directories, relative to the volume (`data`), where the files must land.
    pub data_dirs: Vec<String>,
    /// The host ID the identity record holds for this pod, when it holds one: the pod ran
    /// as a ring member of this set since the record was made.
    pub recorded_self: Option<&'a str>,
    /// Why the identity record could not be read, when the API was asked and did not
    /// answer it (denied, late, failed): then a lost disk cannot be told from a set being
    /// restored.
    pub record_unread: Option<&'a str>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Fill the volume from this pod's part.
    Restore,
    /// Start as usual: the volume holds a node's state already (restored before, or never
    /// lost). Why, for the log.
    Skip(String),
    /// Do not start Cassandra: what is wrong and what to do.
    Refuse(String),
}

/// Decides from the volume, the backup as the store lists it, and this pod's manifest.
pub fn plan(asked: &Asked, backup: Option<&Backup>, manifest: Option<&Manifest>) -> Plan {
    let name = asked.backup;
    match asked.data {
        DataState::Present | DataState::Unconfirmed => {
            return Plan::Skip(format!(
                "the volume holds a node's state (restored before, or never lost): backup \
                 {name} is restored only into an empty volume"
            ));
        }
        DataState::Partial => {
            return Plan::Refuse(format!(
                "asked to restore backup {name}, but the volume holds files of a node that never \
                 finished its first start: a restore would mix them with the backup's; empty the \
                 volume (or remove --restore-backup to start as it is)"
            ));
        }
        DataState::Empty => {}
    }
    // An empty volume of a pod the identity record lists is a lost disk, not a set being
    // restored (a whole set comes back into a new record): restoring would bring back an
    // old copy of a member the ring has moved past (writes since missing, deletes
    // resurrected), so the volume is left to the boot plan, which replaces the lost node.
    // This is what makes leaving --restore-backup set after a restore harmless.
    if let Some(why) = asked.record_unread {
        return Plan::Refuse(format!(
            "asked to restore backup {name} into an empty volume, but the identity record \
             could not be read ({why}): without it a pod that lost its disk cannot be told \
             from a set being restored; the next start asks again"
        ));
    }
    if let Some(host_id) = asked.recorded_self {
        return Plan::Skip(format!(
            "the identity record lists this pod as ring member {host_id}: its volume was lost \
             after it ran, and the ring replaces it; backup {name} is not restored (it would \
             bring back an old copy of a member the ring has moved past). To restore the whole \
             set, delete the set, its volumes and its identity record first"
        ));
    }
    let Some(backup) = backup else {
        return Plan::Refuse(format!(
            "backup {name} is not in the store (`ringkeeper backup list` shows the ones there)"
        ));
    };
    if !backup.complete() {
        return Plan::Refuse(format!(
            "backup {name} is incomplete (a part has no manifest): it is never restored; \
             choose a complete one"
        ));
    }
    let parts = backup.parts.len();
    if let Some(replicas) = asked.replicas
        && replicas as usize != parts
    {
        return Plan::Refuse(format!(
            "backup {name} has {parts} parts ({}) and the set has {replicas} pods: restore it \
             into a set of the same size, so that every node comes back",
            backup.parts.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let Some(manifest) = manifest else {
        return Plan::Refuse(format!(
            "backup {name} has no part for pod {} (its parts: {}): restore it into a set of \
             the same name",
            asked.pod,
            backup.parts.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    };
    if manifest.format != FORMAT {
        return Plan::Refuse(format!(
            "backup {name}'s manifest for {} has format {}, this ringkeeper reads {FORMAT}",
            asked.pod, manifest.format
        ));
    }
    if let Some(cluster) = asked.cluster
        && cluster != manifest.node.cluster_name
    {
        return Plan::Refuse(format!(
            "backup {name} is of cluster {:?}, this set's is {cluster:?}: a node restored into \
             another cluster would not join it",
            manifest.node.cluster_name
        ));
    }
    if let Some(file) = manifest
        .files
        .iter()
        .find(|f| !lands_in(&f.path, &asked.data_dirs))
    {
        return Plan::Refuse(format!(
            "backup {name}'s file {} would land outside this configuration's \
             data_file_directories ({}): Cassandra would not find it; restore with the \
             configuration the backup was taken with",
            file.path,
            asked.data_dirs.join(", ")
        ));
    }
    Plan::Restore
}

/// Whether `path` (relative to the volume) is a plain relative path under one of `dirs`.
fn lands_in(path: &str, dirs: &[String]) -> bool {
    let p = Path::new(path);
    let plain = p
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    plain && dirs.iter().any(|d| p.starts_with(d) && p != Path::new(d))
}

/// The join record a restored volume gets: the one the backup kept, or one written from the
/// node's identity (its peers unknown: only the host ID can be checked, as with a record
/// from before ringkeeper kept peers).
pub fn join_record(manifest: &Manifest) -> JoinRecord {
    manifest.join_record.clone().unwrap_or_else(|| JoinRecord {
        format: RECORD_FORMAT,
        host_id: manifest.node.host_id.clone(),
        cluster_name: Some(manifest.node.cluster_name.clone()),
        address: None,
        peers: None,
        recorded_at: Some(manifest.snapshot_at.max(0) as u64),
        dc: Some(manifest.node.dc.clone()),
        rack: Some(manifest.node.rack.clone()),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::catalog::PartState;
    use super::super::manifest::{FileEntry, NodeIdentity, Transfer};
    use super::*;

    fn manifest(pod: &str, cluster: &str, path: &str) -> Manifest {
        Manifest {
            format: FORMAT,
            backup: "b".into(),
            pod: pod.into(),
            node: NodeIdentity {
                cluster_name: cluster.into(),
                host_id: "h0".into(),
                ..NodeIdentity::default()
            },
            snapshot_at: 0,
            duration_ms: 0,
            schema_cql: String::new(),
            files: vec![FileEntry {
                path: path.into(),
                size: 1,
                sha256: "x".into(),
                mtime_ns: 0,
            }],
            transfer: Transfer::default(),
            join_record: None,
        }
    }

    fn backup(parts: &[(&str, PartState)]) -> Backup {
        Backup {
            name: "b".into(),
            parts: parts
                .iter()
                .map(|(p, s)| ((*p).to_owned(), *s))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn a_restore_fills_only_an_empty_volume_from_a_matching_backup() {
        use PartState::*;
        let three = backup(&[("c-0", Complete), ("c-1", Complete), ("c-2", Complete)]);
        let gap = backup(&[("c-0", Complete), ("c-1", Incomplete), ("c-2", Complete)]);
        let good = manifest("c-0", "ring", "data/ks/t-1/nb-1-big-Data.db");
        let other_cluster = manifest("c-0", "other", "data/ks/t-1/nb-1-big-Data.db");
        let elsewhere = manifest("c-0", "ring", "disk2/ks/t-1/nb-1-big-Data.db");
        let climbing = manifest("c-0", "ring", "data/../etc/passwd");
        let mut old = good.clone();
        old.format = 9;
        // (volume, replicas, cluster, backup listed, manifest, answer starts with)
        type Case<'a> = (
            DataState,
            Option<u32>,
            Option<&'a str>,
            Option<&'a Backup>,
            Option<&'a Manifest>,
            &'a str,
        );
        let cases: Vec<Case> = vec![
            (
                DataState::Empty,
                Some(3),
                Some("ring"),
                Some(&three),
                Some(&good),
                "restore",
            ),
            (
                DataState::Empty,
                None,
                None,
                Some(&three),
                Some(&good),
                "restore",
            ),
            (
                DataState::Present,
                Some(3),
                Some("ring"),
                Some(&three),
                Some(&good),
                "skip: the volume holds",
            ),
            (
                DataState::Unconfirmed,
                Some(3),
                None,
                None,
                None,
                "skip: the volume holds",
            ),
            (
                DataState::Partial,
                Some(3),
                None,
                Some(&three),
                Some(&good),
                "refuse: asked to restore backup b, but the volume holds files",
            ),
            (
                DataState::Empty,
                Some(3),
                None,
                None,
                None,
                "refuse: backup b is not in the store",
            ),
            (
                DataState::Empty,
                Some(3),
                None,
                Some(&gap),
                Some(&good),
                "refuse: backup b is incomplete",
            ),
            (
                DataState::Empty,
                Some(4),
                None,
                Some(&three),
                Some(&good),
                "refuse: backup b has 3 parts (c-0, c-1, c-2) and the set has 4 pods",
            ),
            (
                DataState::Empty,
                Some(3),
                None,
                Some(&three),
                None,
                "refuse: backup b has no part for pod c-0",
            ),
            (
                DataState::Empty,
                Some(3),
                Some("ring"),
                Some(&three),
                Some(&other_cluster),
                "refuse: backup b is of cluster \"other\"",
            ),
            (
                DataState::Empty,
                Some(3),
                None,
                Some(&three),
                Some(&elsewhere),
                "refuse: backup b's file disk2/",
            ),
            (
                DataState::Empty,
                Some(3),
                None,
                Some(&three),
                Some(&climbing),
                "refuse: backup b's file data/../etc/passwd",
            ),
            (
                DataState::Empty,
                Some(3),
                None,
                Some(&three),
                Some(&old),
                "refuse: backup b's manifest for c-0 has format 9",
            ),
        ];
        for (data, replicas, cluster, listed, m, want) in cases {
            let asked = Asked {
                backup: "b",
                pod: "c-0",
                replicas,
                cluster,
                data,
                data_dirs: vec!["data".into()],
                recorded_self: None,
                record_unread: None,
            };
            let got = match plan(&asked, listed, m) {
                Plan::Restore => "restore".to_owned(),
                Plan::Skip(why) => format!("skip: {why}"),
                Plan::Refuse(why) => format!("refuse: {why}"),
            };
            assert!(
                got.starts_with(want),
                "{data:?} {replicas:?} {cluster:?}: {got}"
            );
        }
    }

    /// A pod the identity record lists lost its volume after it ran: never restored, even
    /// from a good backup; the boot plan replaces it.
    #[test]
    fn a_pod_the_identity_record_lists_is_not_restored() {
        use PartState::*;
        let good = manifest("c-0", "ring", "data/ks/t-1/nb-1-big-Data.db");
        let three = backup(&[("c-0", Complete), ("c-1", Complete), ("c-2", Complete)]);
        let asked = |recorded_self| Asked {
            backup: "b",
            pod: "c-0",
            replicas: Some(3),
            cluster: Some("ring"),
            data: DataState::Empty,
            data_dirs: vec!["data".into()],
            recorded_self,
            record_unread: None,
        };
        assert_eq!(plan(&asked(None), Some(&three), Some(&good)), Plan::Restore);
        let Plan::Skip(why) = plan(&asked(Some("h0")), Some(&three), Some(&good)) else {
            panic!("restored a pod the record lists");
        };
        assert!(why.contains("ring member h0"), "{why}");
        // Decided without the store.
        assert!(matches!(
            plan(&asked(Some("h0")), None, None),
            Plan::Skip(_)
        ));
        // A record the API did not answer: no restore on unclear evidence.
        let unread = Asked {
            record_unread: Some("Kubernetes API denied get configmaps/c-identity"),
            ..asked(None)
        };
        let Plan::Refuse(why) = plan(&unread, Some(&three), Some(&good)) else {
            panic!("restored without the record");
        };
        assert!(why.contains("denied get configmaps"), "{why}");
        // A volume with data starts as it is, record or not.
        let present = Asked {
            data: DataState::Present,
            ..unread
        };
        assert!(matches!(plan(&present, None, None), Plan::Skip(_)));
    }

    #[test]
    fn the_record_comes_back_with_the_node() {
        let mut m = manifest("c-0", "ring", "data/x");
        let made = join_record(&m);
        assert_eq!((made.host_id.as_str(), made.peers.as_ref()), ("h0", None));
        let mut kept = made.clone();
        kept.host_id = "kept".into();
        m.join_record = Some(kept.clone());
        assert_eq!(join_record(&m), kept);
    }
}
