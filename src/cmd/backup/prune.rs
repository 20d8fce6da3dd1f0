//! `backup prune`: the backups the rules do not keep deleted, then every blob no kept
//! backup and no part being taken references (`decide::backup::prune`).
//!
//! Safe while a backup runs: its pending marker (written before its first upload) lists
//! every blob it will reference, the markers are read again before each batch of deletes,
//! and a backup checks, after its uploads and before its manifest, that every blob it
//! references is still there (uploading again what a prune removed meanwhile).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use tracing::info;

use super::unix_now;
use crate::config::PruneRules;
use crate::decide::backup::catalog::PartState;
use crate::decide::backup::layout::{self, Key};
use crate::decide::backup::manifest::{Manifest, Pending, Request};
use crate::decide::backup::prune::{self, Seen};
use crate::edge::store::Store;
use crate::exit::Outcome;

/// Blobs deleted between two reads of the pending markers.
const BATCH: usize = 100;

pub(super) async fn run(store: &Store, rules: &PruneRules) -> anyhow::Result<Outcome> {
    let now = unix_now();
    let keys = store.keys(layout::BACKUPS).await?;
    let backups = crate::edge::store::backups(store, layout::BACKUPS).await?;
    let mut seen = Vec::new();
    let mut blobs_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for b in &backups {
        let mut taken_at = None;
        let mut pending_since = Vec::new();
        let refs = blobs_of.entry(b.name.clone()).or_default();
        for (pod, state) in &b.parts {
            match state {
                PartState::Complete => {
                    let m: Manifest = read_json(store, &layout::member_key(&b.name, pod)).await?;
                    taken_at = taken_at.max(Some(m.snapshot_at));
                    refs.extend(m.files.into_iter().map(|f| f.sha256));
                }
                PartState::Incomplete => {
                    let p: Pending = read_json(store, &layout::pending_key(&b.name, pod)).await?;
                    pending_since.push(p.started_at);
                    refs.extend(p.blobs);
                }
                // A request's parts not started yet: live like a pending marker from the
                // time of the request.
                PartState::NotStarted => {
                    let r: Request = read_json(store, &layout::request_key(&b.name)).await?;
                    pending_since.push(r.requested_at);
                }
            }
        }
        seen.push(Seen {
            name: b.name.clone(),
            complete: b.complete(),
            taken_at,
            pending_since,
        });
    }
    let plan = prune::plan(&seen, rules.rules, now);
    let referenced: BTreeSet<String> = plan
        .keep
        .iter()
        .flat_map(|name| blobs_of[name].iter().cloned())
        .collect();
    let blobs = crate::edge::store::blobs(store).await?;
    let stored: BTreeSet<String> = blobs.keys().cloned().collect();
    let mut candidates = prune::unreferenced(&stored, &referenced);
    let (mut deleted, mut freed) = (0u64, 0u64);
    if !rules.dry_run {
        for name in &plan.delete {
            for (key, _) in keys
                .iter()
                .filter(|(k, _)| k.starts_with(&layout::backup_prefix(name)))
            {
                store.delete(key).await?;
            }
            info!(backup = %name, "backup deleted");
        }
        while !candidates.is_empty() {
            // Read again: a backup that started since keeps what it will reference.
            let live = live_pending_blobs(store, rules.rules.stale_after, now).await?;
            candidates.retain(|b| !live.contains(b));
            let batch: Vec<String> = candidates.drain(..candidates.len().min(BATCH)).collect();
            for sha256 in batch {
                store.delete(&layout::blob_key(&sha256)).await?;
                deleted += 1;
                freed += blobs.get(&sha256).copied().unwrap_or(0);
            }
        }
    } else {
        deleted = candidates.len() as u64;
        freed = candidates
            .iter()
            .map(|b| blobs.get(b).copied().unwrap_or(0))
            .sum();
    }
    let summary = json!({
        "dry_run": rules.dry_run,
        "kept": plan.keep,
        "deleted_backups": plan.delete,
        "deleted_blobs": deleted,
        "freed_bytes": freed,
    });
    Ok(Outcome::Answer(serde_json::to_string(&summary)?))
}

/// The blobs every live pending marker lists.
async fn live_pending_blobs(
    store: &Store,
    stale_after: std::time::Duration,
    now: i64,
) -> anyhow::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for (key, _) in store.keys(layout::BACKUPS).await? {
        if let Key::Pending { .. } = layout::parse(&key) {
            // A marker removed since the listing: its part completed (its manifest counts
            // from the next prune on) or stopped.
            let Some(bytes) = store.read(&key).await? else {
                continue;
            };
            let p: Pending = serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("{key} is not a pending marker: {e}"))?;
            if now.saturating_sub(p.started_at) < stale_after.as_secs() as i64 {
                out.extend(p.blobs);
            }
        }
    }
    Ok(out)
}

async fn read_json<T: serde::de::DeserializeOwned>(store: &Store, key: &str) -> anyhow::Result<T> {
    let bytes = store.read(key).await?.ok_or_else(|| {
        anyhow::anyhow!("{key} vanished while the store was read; run the prune again")
    })?;
    serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("{key} cannot be read: {e}"))
}
