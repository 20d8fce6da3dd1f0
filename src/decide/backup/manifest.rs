//! Pure. A node's part of a backup, as the store keeps it: who the node was (so a restore
//! can bring back the same ring member), the schema at the time, and every file with its
//! size and hash. And the pending marker that stands for a part being taken.

use serde::{Deserialize, Serialize};

use crate::decide::data::JoinRecord;

/// The manifest format this build writes and reads.
pub const FORMAT: u32 = 1;

/// One node's part of a backup. Written last: it is what makes the part exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `FORMAT` when written.
    pub format: u32,
    /// The backup's name.
    pub backup: String,
    /// The pod the node ran in.
    pub pod: String,
    /// Who the node was in the ring.
    pub node: NodeIdentity,
    /// When the snapshot was taken, Unix seconds (writes acknowledged before it are in
    /// the files: the snapshot flushes memtables first).
    pub snapshot_at: i64,
    /// How long the part took, snapshot to manifest, in milliseconds.
    pub duration_ms: u64,
    /// The schema at the time: every keyspace, type and table, as `DESCRIBE SCHEMA` gives
    /// it.
    pub schema_cql: String,
    /// Every file of the snapshot, by its path under the data volume.
    pub files: Vec<FileEntry>,
    /// What this part uploaded and what it found in the store already.
    pub transfer: Transfer,
    /// The entrypoint's join record on the volume at the time (`decide::data`): restored
    /// with the files, so the node comes back as the ring member it was. `None` when the
    /// volume had none (a restore writes one from `node`).
    #[serde(default)]
    pub join_record: Option<JoinRecord>,
}

/// Who a node was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NodeIdentity {
    /// `cluster_name`.
    pub cluster_name: String,
    /// `host_id`.
    pub host_id: String,
    /// `data_center`.
    pub dc: String,
    /// `rack`.
    pub rack: String,
    /// Its tokens.
    pub tokens: Vec<String>,
    /// `release_version`.
    pub cassandra_version: String,
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Where it lives under the data volume when restored (`data/<ks>/<table-id>/<file>`:
    /// the snapshot's own directory left out).
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of its contents, hex: the blob it is stored as.
    pub sha256: String,
    /// Its modification time, nanoseconds since the epoch: with the host ID, path and
    /// size, what lets the next backup of the same node trust this hash without reading
    /// the file again.
    pub mtime_ns: i64,
}

/// Files and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Count {
    /// Files.
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
}

/// What a part moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Transfer {
    /// Uploaded by this part.
    pub uploaded: Count,
    /// Not uploaded: in the store already (from an earlier backup), or the same contents
    /// as another file of this part (uploaded once).
    pub already_stored: Count,
    /// Files whose hash came from the node's previous manifest instead of being read.
    pub hashes_reused: u64,
}

impl Manifest {
    /// The bytes of every file.
    pub fn total(&self) -> Count {
        Count {
            files: self.files.len() as u64,
            bytes: self.files.iter().map(|f| f.size).sum(),
        }
    }
}

/// A part being taken: written before the first upload, removed after the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The backup.
    pub backup: String,
    /// The pod.
    pub pod: String,
    /// The node's host ID.
    pub host_id: String,
    /// When the part started, Unix seconds.
    pub started_at: i64,
    /// The blobs the manifest will reference: a prune keeps them.
    pub blobs: Vec<String>,
}

/// A backup of the set asked for: every pod of the set takes its part (the entrypoint
/// reads the requests), and the backup is complete once each has its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The backup.
    pub backup: String,
    /// When it was asked for, Unix seconds: a pod takes its part only within
    /// `TAKE_WITHIN` of it, so the parts' snapshots stay close together.
    pub requested_at: i64,
    /// The pods that take a part.
    pub pods: Vec<String>,
}

/// How long after a request a pod still takes its part (a pod down longer leaves its part
/// missing: the backup stays incomplete rather than mixing a snapshot from much later).
pub const TAKE_WITHIN: std::time::Duration = std::time::Duration::from_secs(3600);
