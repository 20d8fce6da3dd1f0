//! Pure. Which files of a snapshot must be read to know their hash, and which blobs the
//! store lacks.

use std::collections::{BTreeMap, BTreeSet};

use super::manifest::{FileEntry, Manifest};

/// A file of the snapshot as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// Its path under the data volume once restored (`FileEntry::path`).
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

/// Which files need hashing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HashPlan {
    /// Known from the node's previous manifest: same host ID, path, size and modification
    /// time (an SSTable file never changes once written; a rewritten file has a new
    /// modification time, and a node with a new host ID has new files).
    pub known: Vec<FileEntry>,
    /// To be read and hashed.
    pub to_hash: Vec<SnapshotFile>,
}

/// Splits the snapshot's files into those whose hash the previous manifest of the same
/// node already gives and those to read. `previous` is trusted only when its host ID is
/// `host_id`.
pub fn hash_plan(files: &[SnapshotFile], previous: Option<&Manifest>, host_id: &str) -> HashPlan {
    let earlier: BTreeMap<&str, &FileEntry> = previous
        .filter(|m| m.node.host_id == host_id && !host_id.is_empty())
        .map(|m| m.files.iter().map(|f| (f.path.as_str(), f)).collect())
        .unwrap_or_default();
    let mut plan = HashPlan::default();
    for file in files {
        match earlier.get(file.path.as_str()) {
            Some(e) if e.size == file.size && e.mtime_ns == file.mtime_ns => {
                plan.known.push((*e).clone())
            }
            _ => plan.to_hash.push(file.clone()),
        }
    }
    plan
}

/// The files whose contents the store lacks, each blob once (two files with the same
/// contents upload once). A blob of another size than the file's counts as lacking (an
/// upload cut short by a store without atomic writes, a damaged object): uploaded again.
pub fn to_upload<'a>(files: &'a [FileEntry], stored: &BTreeMap<String, u64>) -> Vec<&'a FileEntry> {
    let mut seen = BTreeSet::new();
    files
        .iter()
        .filter(|f| stored.get(&f.sha256) != Some(&f.size) && seen.insert(f.sha256.as_str()))
        .collect()
}

/// How long an upload that has sent `sent` bytes in `elapsed` pauses to keep to `rate`
/// bytes a second (`None`: no limit).
pub fn pause(sent: u64, elapsed: std::time::Duration, rate: Option<u64>) -> std::time::Duration {
    match rate {
        Some(rate) if rate > 0 => {
            let due = std::time::Duration::from_secs_f64(sent as f64 / rate as f64);
            due.saturating_sub(elapsed)
        }
        _ => std::time::Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{NodeIdentity, Transfer};
    use super::*;

    fn file(path: &str, size: u64, mtime: i64) -> SnapshotFile {
        SnapshotFile {
            path: path.into(),
            size,
            mtime_ns: mtime,
        }
    }

    fn entry(path: &str, size: u64, mtime: i64, hash: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            size,
            sha256: hash.into(),
            mtime_ns: mtime,
        }
    }

    fn manifest(host: &str, files: Vec<FileEntry>) -> Manifest {
        Manifest {
            format: 1,
            backup: "b0".into(),
            pod: "cassandra-0".into(),
            node: NodeIdentity {
                host_id: host.into(),
                ..NodeIdentity::default()
            },
            snapshot_at: 0,
            duration_ms: 0,
            schema_cql: String::new(),
            files,
            transfer: Transfer::default(),
            join_record: None,
        }
    }

    #[test]
    fn a_hash_is_reused_only_for_the_same_file_of_the_same_node() {
        let earlier = vec![entry("data/ks/t/nb-1-big-Data.db", 10, 5, "aa")];
        // (previous manifest's host ID or none, this node's host ID, file found, reused)
        let cases = [
            (
                Some("h1"),
                "h1",
                file("data/ks/t/nb-1-big-Data.db", 10, 5),
                true,
            ),
            (None, "h1", file("data/ks/t/nb-1-big-Data.db", 10, 5), false),
            // Another node's manifest (a replaced node's generations start again).
            (
                Some("h1"),
                "h2",
                file("data/ks/t/nb-1-big-Data.db", 10, 5),
                false,
            ),
            // Rewritten: same name, another size or time; or another file.
            (
                Some("h1"),
                "h1",
                file("data/ks/t/nb-1-big-Data.db", 11, 5),
                false,
            ),
            (
                Some("h1"),
                "h1",
                file("data/ks/t/nb-1-big-Data.db", 10, 6),
                false,
            ),
            (
                Some("h1"),
                "h1",
                file("data/ks/t/nb-2-big-Data.db", 10, 5),
                false,
            ),
            // No host ID known: nothing is trusted.
            (
                Some(""),
                "",
                file("data/ks/t/nb-1-big-Data.db", 10, 5),
                false,
            ),
        ];
        for (previous_host, host, found, reused) in cases {
            let previous = previous_host.map(|h| manifest(h, earlier.clone()));
            let plan = hash_plan(std::slice::from_ref(&found), previous.as_ref(), host);
            let case = format!("{previous_host:?} {host} {found:?}");
            assert_eq!(plan.known.len(), usize::from(reused), "{case}");
            assert_eq!(plan.to_hash.len(), usize::from(!reused), "{case}");
            if reused {
                assert_eq!(plan.known[0].sha256, "aa");
            }
        }
    }

    #[test]
    fn uploads_keep_to_the_rate() {
        use std::time::Duration;
        let s = Duration::from_secs;
        // (sent, elapsed, rate, pause)
        let cases = [
            (100, s(0), Some(100), s(1)),
            (100, s(1), Some(100), s(0)),
            (100, s(2), Some(100), s(0)),
            (300, s(1), Some(100), s(2)),
            (300, s(0), None, s(0)),
            (300, s(0), Some(0), s(0)),
        ];
        for (sent, elapsed, rate, want) in cases {
            assert_eq!(
                pause(sent, elapsed, rate),
                want,
                "{sent} {elapsed:?} {rate:?}"
            );
        }
    }

    #[test]
    fn each_missing_blob_uploads_once() {
        let files = [
            entry("a", 1, 0, "h1"),
            entry("b", 1, 0, "h2"),
            entry("c", 1, 0, "h1"),
            entry("d", 1, 0, "h3"),
            entry("e", 5, 0, "h4"),
        ];
        // h4 is stored short.
        let stored = BTreeMap::from([("h2".to_owned(), 1), ("h4".to_owned(), 3)]);
        let paths: Vec<&str> = to_upload(&files, &stored)
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(paths, ["a", "d", "e"]);
    }
}
