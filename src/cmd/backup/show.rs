//! What the store holds: the backups (`list`), one backup's parts (`status`), and whether
//! every object a backup references is intact (`verify`).

use std::collections::BTreeMap;

use serde_json::json;

use crate::cli::StatusFormat;
use crate::decide::backup::catalog::{Backup, PartState};
use crate::decide::backup::layout;
use crate::decide::backup::manifest::Manifest;
use crate::decide::backup::verify;
use crate::decide::time::utc;
use crate::edge::store::Store;
use crate::exit::Outcome;

pub(super) async fn list(store: &Store, format: StatusFormat) -> anyhow::Result<Outcome> {
    let backups = backups(store, layout::BACKUPS).await?;
    let text = match format {
        StatusFormat::Json => serde_json::to_string(
            &backups
                .iter()
                .map(|b| json!({"name": b.name, "complete": b.complete(), "parts": parts_json(b)}))
                .collect::<Vec<_>>(),
        )?,
        StatusFormat::Table => {
            let mut out = format!("{:<32} {:<10} PARTS", "NAME", "STATE");
            for b in &backups {
                let done = b
                    .parts
                    .values()
                    .filter(|s| **s == PartState::Complete)
                    .count();
                out.push_str(&format!(
                    "\n{:<32} {:<10} {done}/{} complete",
                    b.name,
                    if b.complete() {
                        "complete"
                    } else {
                        "incomplete"
                    },
                    b.parts.len()
                ));
            }
            out
        }
    };
    Ok(Outcome::Answer(text))
}

pub(super) async fn status(
    store: &Store,
    name: &str,
    format: StatusFormat,
) -> anyhow::Result<Outcome> {
    let backup = one(store, name).await?;
    let manifests = manifests(store, &backup).await?;
    let rows: Vec<serde_json::Value> = backup
        .parts
        .iter()
        .map(|(pod, state)| match manifests.get(pod) {
            Some(m) => {
                let total = m.total();
                json!({
                    "pod": pod,
                    "state": state.as_str(),
                    "host_id": m.node.host_id,
                    "dc": m.node.dc,
                    "rack": m.node.rack,
                    "cassandra_version": m.node.cassandra_version,
                    "snapshot_at": utc(m.snapshot_at),
                    "files": total.files,
                    "bytes": total.bytes,
                    "uploaded_bytes": m.transfer.uploaded.bytes,
                    "duration_ms": m.duration_ms,
                })
            }
            None => json!({"pod": pod, "state": state.as_str()}),
        })
        .collect();
    let text = match format {
        StatusFormat::Json => serde_json::to_string(&json!({
            "backup": name,
            "complete": backup.complete(),
            "parts": rows,
        }))?,
        StatusFormat::Table => {
            let mut out = format!(
                "{:<24} {:<10} {:>7} {:>14} {:>14} {:>9}  SNAPSHOT",
                "POD", "STATE", "FILES", "BYTES", "UPLOADED", "SECONDS"
            );
            for r in &rows {
                let n = |k: &str| r[k].as_u64().map_or("-".to_owned(), |v| v.to_string());
                let secs = r["duration_ms"]
                    .as_u64()
                    .map_or("-".to_owned(), |ms| format!("{:.1}", ms as f64 / 1000.0));
                out.push_str(&format!(
                    "\n{:<24} {:<10} {:>7} {:>14} {:>14} {:>9}  {}",
                    r["pod"].as_str().unwrap_or("?"),
                    r["state"].as_str().unwrap_or("?"),
                    n("files"),
                    n("bytes"),
                    n("uploaded_bytes"),
                    secs,
                    r["snapshot_at"].as_str().unwrap_or("-"),
                ));
            }
            out
        }
    };
    if backup.complete() {
        Ok(Outcome::Answer(text))
    } else {
        Ok(Outcome::Refused {
            stdout: Some(text),
            reason: format!(
                "backup {name} is incomplete: a part without its manifest is never restored"
            ),
        })
    }
}

pub(super) async fn verify(
    store: &Store,
    name: &str,
    format: StatusFormat,
) -> anyhow::Result<Outcome> {
    let backup = one(store, name).await?;
    let manifests = manifests(store, &backup).await?;
    let mut found = BTreeMap::new();
    let mut problems: Vec<String> = backup
        .parts
        .iter()
        .filter(|(_, s)| **s != PartState::Complete)
        .map(|(pod, s)| format!("{pod}: the part is {} (no manifest)", s.as_str()))
        .collect();
    let mut files = 0usize;
    for (pod, manifest) in &manifests {
        for file in &manifest.files {
            if !found.contains_key(&file.sha256) {
                let got = store.hash(&layout::blob_key(&file.sha256)).await?;
                found.insert(file.sha256.clone(), got);
            }
        }
        files += manifest.files.len();
        problems.extend(
            verify::check(pod, &manifest.files, &found)
                .iter()
                .map(ToString::to_string),
        );
    }
    let text = match format {
        StatusFormat::Json => serde_json::to_string(&json!({
            "backup": name,
            "files": files,
            "objects": found.len(),
            "problems": problems,
        }))?,
        StatusFormat::Table => {
            let mut out = format!(
                "backup {name}: {files} files in {} objects checked (size and SHA-256), {} problems",
                found.len(),
                problems.len()
            );
            for p in &problems {
                out.push_str(&format!("\n{p}"));
            }
            out
        }
    };
    if problems.is_empty() {
        Ok(Outcome::Answer(text))
    } else {
        Ok(Outcome::Refused {
            stdout: Some(text),
            reason: format!("backup {name} is damaged: {} problems", problems.len()),
        })
    }
}

fn parts_json(b: &Backup) -> serde_json::Value {
    b.parts
        .iter()
        .map(|(pod, s)| (pod.clone(), json!(s.as_str())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

async fn backups(store: &Store, prefix: &str) -> anyhow::Result<Vec<Backup>> {
    crate::edge::store::backups(store, prefix).await
}

/// The backup `name`, or an error (exit 2) that names it and the store.
async fn one(store: &Store, name: &str) -> anyhow::Result<Backup> {
    backups(store, &layout::backup_prefix(name))
        .await?
        .into_iter()
        .find(|b| b.name == name)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no backup named {name:?} in the store (`ringkeeper backup list` shows the ones there)"
            )
        })
}

/// The complete parts' manifests, by pod.
async fn manifests(store: &Store, backup: &Backup) -> anyhow::Result<BTreeMap<String, Manifest>> {
    let mut out = BTreeMap::new();
    for (pod, state) in &backup.parts {
        if *state != PartState::Complete {
            continue;
        }
        let key = layout::member_key(&backup.name, pod);
        let bytes = store
            .read(&key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{key} vanished while it was read"))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{key} is not a manifest this version reads: {e}"))?;
        out.insert(pod.clone(), manifest);
    }
    Ok(out)
}
