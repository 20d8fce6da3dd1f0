//! This node's part of a backup: refuse unless the node is joined and its volume has room
//! for a snapshot; snapshot (Cassandra flushes first, so every write it acknowledged is in
//! the files); hash what the node's previous manifest does not vouch for; write the
//! pending marker; upload what the store lacks; write the manifest last; remove the
//! marker; clear the snapshot, whatever happened.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use tracing::{info, warn};

use super::unix_now;
use crate::config::BackupCreateConfig;
use crate::decide::backup::layout::{self, Key};
use crate::decide::backup::manifest::{
    Count, FORMAT, FileEntry, Manifest, NodeIdentity, Pending, Transfer,
};
use crate::decide::backup::{room, upload};
use crate::edge::store::{self, Store};
use crate::edge::{cql, nodetool, snapshot};
use crate::exit::Outcome;

/// Bound on connecting to the local node and on each CQL request.
const CQL_LOOK: Duration = Duration::from_secs(10);
/// Bound on `nodetool snapshot` (a flush of every table first) and `clearsnapshot`.
const NODETOOL_LIMIT: Duration = Duration::from_secs(600);

pub(super) async fn run(store: &Store, cfg: &BackupCreateConfig) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let settings = cql::load_settings(cfg.node.cql.port, CQL_LOOK, CQL_LOOK, &cfg.node.cql.access)?;
    let node = match cql::connect(cfg.node.host, &settings).await {
        Ok(node) => node,
        Err(e) => return Ok(refused(cfg, format!("the local node does not answer: {e}"))),
    };
    let local = node.local().await?;
    if local.bootstrapped.as_deref() != Some("COMPLETED") {
        return Ok(refused(
            cfg,
            format!(
                "the local node is not joined (bootstrapped = {:?}): a backup of it would miss data",
                local.bootstrapped
            ),
        ));
    }
    let identity = NodeIdentity {
        cluster_name: local.cluster_name.unwrap_or_default(),
        host_id: local.host_id.unwrap_or_default(),
        dc: local.dc.unwrap_or_default(),
        rack: local.rack.unwrap_or_default(),
        tokens: node.local_tokens().await?,
        cassandra_version: local.release_version.unwrap_or_default(),
    };
    let schema_cql = node.describe_schema().await?;
    drop(node);

    if store
        .read(&layout::member_key(&cfg.name, &cfg.node.pod))
        .await?
        .is_some()
    {
        return Ok(refused(
            cfg,
            format!(
                "backup {} already has {}'s part; give the new backup another name",
                cfg.name, cfg.node.pod
            ),
        ));
    }
    let volume = cfg.node.data_dir.clone();
    let live = tokio::task::spawn_blocking({
        let v = volume.clone();
        move || snapshot::live_bytes(&v)
    })
    .await??;
    let free =
        nix::sys::statvfs::statvfs(&volume).map(|s| s.blocks_available() * s.fragment_size())?;
    if let Err(why) = room::for_snapshot(free, live) {
        return Ok(refused(cfg, why));
    }
    let previous = previous_manifest(store, &cfg.node.pod, &identity.host_id).await;

    let tag = layout::snapshot_tag(&cfg.name);
    let snapshot_at = unix_now();
    nodetool::run(&cfg.node.jmx, &["snapshot", "-t", &tag], NODETOOL_LIMIT).await?;
    info!(backup = %cfg.name, %tag, "snapshot taken");
    let result = upload_part(
        store,
        cfg,
        &tag,
        identity,
        schema_cql,
        previous,
        snapshot_at,
        started,
    )
    .await;
    // Whatever happened: a snapshot kept would pin files compaction has replaced.
    if let Err(e) = nodetool::run(
        &cfg.node.jmx,
        &["clearsnapshot", "-t", &tag],
        NODETOOL_LIMIT,
    )
    .await
    {
        warn!(%tag, error = %e, "the snapshot could not be cleared; the entrypoint removes it at the next start");
    }
    let manifest = result?;
    let total = manifest.total();
    let summary = json!({
        "backup": manifest.backup,
        "pod": manifest.pod,
        "host_id": manifest.node.host_id,
        "files": total.files,
        "bytes": total.bytes,
        "uploaded": manifest.transfer.uploaded,
        "already_stored": manifest.transfer.already_stored,
        "hashes_reused": manifest.transfer.hashes_reused,
        "duration_ms": manifest.duration_ms,
    });
    Ok(Outcome::Answer(serde_json::to_string(&summary)?))
}

/// A refusal, also as JSON on stdout: the entrypoint that ran this for a requested backup
/// reads it there and posts it as a `BackupRefused` Event.
fn refused(cfg: &BackupCreateConfig, reason: String) -> Outcome {
    let answer = json!({"backup": cfg.name, "pod": cfg.node.pod, "refused": reason});
    Outcome::Refused {
        stdout: Some(answer.to_string()),
        reason: format!("backup refused: {reason}"),
    }
}

/// The newest complete manifest of this pod with the same host ID, if any (a store it
/// cannot be read from only costs hashing every file again).
async fn previous_manifest(store: &Store, pod: &str, host_id: &str) -> Option<Manifest> {
    let keys = store.keys(layout::BACKUPS).await.ok()?;
    let mut newest: Option<Manifest> = None;
    for (key, _) in keys {
        let Key::Member { pod: p, .. } = layout::parse(&key) else {
            continue;
        };
        if p != pod {
            continue;
        }
        let Ok(Some(bytes)) = store.read(&key).await else {
            continue;
        };
        let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) else {
            continue;
        };
        if m.node.host_id == host_id
            && newest
                .as_ref()
                .is_none_or(|n| m.snapshot_at > n.snapshot_at)
        {
            newest = Some(m);
        }
    }
    newest
}

#[allow(clippy::too_many_arguments)]
async fn upload_part(
    store: &Store,
    cfg: &BackupCreateConfig,
    tag: &str,
    node: NodeIdentity,
    schema_cql: String,
    previous: Option<Manifest>,
    snapshot_at: i64,
    started: Instant,
) -> anyhow::Result<Manifest> {
    let found = tokio::task::spawn_blocking({
        let (v, t) = (cfg.node.data_dir.clone(), tag.to_owned());
        move || snapshot::files(&v, &t)
    })
    .await??;
    if found.is_empty() {
        anyhow::bail!(
            "the snapshot {tag} has no files under {}: is --data-dir the volume Cassandra's data is on?",
            cfg.node.data_dir.display()
        );
    }
    let on_disk: std::collections::BTreeMap<&str, &std::path::Path> = found
        .iter()
        .map(|f| (f.file.path.as_str(), f.on_disk.as_path()))
        .collect();
    let snapshot_files: Vec<_> = found.iter().map(|f| f.file.clone()).collect();
    let plan = upload::hash_plan(&snapshot_files, previous.as_ref(), &node.host_id);
    let hashes_reused = plan.known.len() as u64;
    let mut files = plan.known;
    for file in plan.to_hash {
        let sha256 = store::hash_file(on_disk[file.path.as_str()]).await?;
        files.push(FileEntry {
            path: file.path,
            size: file.size,
            sha256,
            mtime_ns: file.mtime_ns,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let pending_key = layout::pending_key(&cfg.name, &cfg.node.pod);
    let pending = Pending {
        backup: cfg.name.clone(),
        pod: cfg.node.pod.clone(),
        host_id: node.host_id.clone(),
        started_at: snapshot_at,
        blobs: files
            .iter()
            .map(|f| f.sha256.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    store
        .write(&pending_key, serde_json::to_vec(&pending)?)
        .await?;

    let mut uploaded = Count::default();
    let mut pace = store::Pace::new(cfg.max_rate);
    // Twice: the second time only what a prune running meanwhile removed after this part
    // found it stored (a blob it listed in its marker before the prune read the markers
    // is kept; one found before the marker was written is not, and is uploaded again).
    for round in 0..2 {
        let stored = store::blobs(store).await?;
        for file in upload::to_upload(&files, &stored) {
            if round > 0 {
                warn!(sha256 = %file.sha256, "a stored blob vanished during the backup: uploaded again");
            }
            store
                .upload(
                    on_disk[file.path.as_str()],
                    &layout::blob_key(&file.sha256),
                    &mut pace,
                )
                .await?;
            uploaded.files += 1;
            uploaded.bytes += file.size;
        }
    }
    let total_bytes: u64 = files.iter().map(|f| f.size).sum();
    let manifest = Manifest {
        format: FORMAT,
        backup: cfg.name.clone(),
        pod: cfg.node.pod.clone(),
        node,
        snapshot_at,
        duration_ms: started.elapsed().as_millis() as u64,
        schema_cql,
        transfer: Transfer {
            uploaded,
            already_stored: Count {
                files: files.len() as u64 - uploaded.files,
                bytes: total_bytes - uploaded.bytes,
            },
            hashes_reused,
        },
        files,
        join_record: crate::edge::datadir::read_record(&cfg.node.data_dir)?
            .record()
            .cloned(),
    };
    // Last: the manifest is what makes the part exist.
    store
        .write(
            &layout::member_key(&cfg.name, &cfg.node.pod),
            serde_json::to_vec_pretty(&manifest)?,
        )
        .await?;
    if let Err(e) = store.delete(&pending_key).await {
        warn!(error = %e, "the pending marker stays beside the manifest (the part is complete)");
    }
    info!(backup = %cfg.name, files = manifest.files.len(), uploaded = uploaded.files, "backup part complete");
    Ok(manifest)
}
