//! Asked to restore a backup (`--restore-backup`), before anything else judges the volume:
//! an empty volume is filled from this pod's part of the backup, every file downloaded
//! into a staging directory on the volume and checked (size and SHA-256) before any is
//! put in place, so a missing or corrupt object refuses the start and leaves the volume
//! as it was. The files then move into place (renames on the same volume), and the join
//! record comes back with them: the node starts as the ring member it was.
//!
//! A restore cut short while files move is finished at the next start: the marker written
//! before the first move holds the join record to write after the last.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use tracing::{info, warn};

use super::shutdown::refuse;
use crate::config::{Identity, StoreUrl};
use crate::decide::api_facts::{Access, ApiFacts, Fact};
use crate::decide::backup::layout;
use crate::decide::backup::manifest::Manifest;
use crate::decide::backup::restore::{self, Asked, Plan};
use crate::decide::backup::verify;
use crate::decide::cluster_record;
use crate::decide::data::{DataState, JoinRecord, classify};
use crate::decide::events;
use crate::edge::kube::Events;
use crate::edge::{datadir, store};
use crate::exit::Outcome;
use crate::render::DataDirs;

/// Where the files are downloaded and checked, on the volume itself (so they move into
/// place by rename).
const STAGING: &str = ".ringkeeper-restore";
/// Written before the first file moves into place, removed after the join record is
/// written: holds that record.
const MOVING: &str = "ringkeeper-restoring";

/// Restores into an empty volume when asked; `Break` with the refusal otherwise.
pub(super) async fn if_asked(
    asked: Option<&(StoreUrl, String)>,
    events: &Events,
    identity: &Identity,
    dirs: &DataDirs,
    cluster: Option<&str>,
    replicas: Option<u32>,
    facts: &ApiFacts,
) -> anyhow::Result<ControlFlow<Outcome>> {
    let volume = identity.data_dir.as_path();
    // First, and whether a restore is asked or not (the flag may be gone since): a volume
    // half moved into place must never start as it is.
    if finish_moving(volume)? {
        info!("a restore cut short while its files moved was finished");
    }
    let Some((url, name)) = asked else {
        return Ok(ControlFlow::Continue(()));
    };
    let data = classify(&datadir::list(dirs, volume)?);
    let pod = identity.pod.to_string();
    let data_dirs = dirs
        .data
        .iter()
        .chain(&dirs.local_system)
        .filter_map(|d| d.strip_prefix(volume).ok())
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    // Unread only when the API was there to ask: without API access (turned off, not in a
    // pod) there is no record to read, and the rules without it apply (the README says to
    // remove the flag after a restore then).
    let unread = match (&facts.access, &facts.record) {
        (Access::Connected, Fact::Unknown(why)) => Some(why.to_string()),
        _ => None,
    };
    let record = cluster_record::facts(&facts.record, &pod, cluster);
    let asked = Asked {
        backup: name,
        pod: &pod,
        replicas,
        cluster,
        data,
        data_dirs,
        recorded_self: record.previous.as_ref().map(|p| p.host_id.as_str()),
        record_unread: unread.as_deref(),
    };
    // The usual case on every start after the first, and a lost disk: decided without the
    // store.
    if data != DataState::Empty || asked.recorded_self.is_some() || asked.record_unread.is_some() {
        match restore::plan(&asked, None, None) {
            Plan::Refuse(why) => {
                return Ok(refused(events, format!("restore refused: {why}")).await);
            }
            // Not restoring into an empty volume is worth a warning: the person who set
            // the flag may expect a restore.
            Plan::Skip(why) if data == DataState::Empty => {
                warn!(backup = %name, "{why}");
                return Ok(ControlFlow::Continue(()));
            }
            Plan::Skip(why) => {
                info!(backup = %name, "{why}");
                return Ok(ControlFlow::Continue(()));
            }
            Plan::Restore => {}
        }
    }
    let store = store::open(url)?;
    let backup = store::backups(&store, &layout::backup_prefix(name))
        .await?
        .into_iter()
        .find(|b| b.name == *name);
    let manifest: Option<Manifest> = match store.read(&layout::member_key(name, &pod)).await? {
        Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!("backup {name}'s manifest for {pod} cannot be read: {e}")
        })?),
        None => None,
    };
    match restore::plan(&asked, backup.as_ref(), manifest.as_ref()) {
        Plan::Skip(why) => {
            info!(backup = %name, "{why}");
            return Ok(ControlFlow::Continue(()));
        }
        Plan::Refuse(why) => return Ok(refused(events, format!("restore refused: {why}")).await),
        Plan::Restore => {}
    }
    let manifest = manifest.expect("a restore is planned only with a manifest");
    let total = manifest.total();
    info!(backup = %name, files = total.files, bytes = total.bytes, "restoring this pod's part");
    let staging = volume.join(STAGING);
    let started = std::time::Instant::now();
    if let Err(why) = download(&store, &manifest, &staging).await {
        let _ = std::fs::remove_dir_all(&staging);
        let reason = format!(
            "restore refused: backup {name} cannot be restored, the volume is left as it was: {why}"
        );
        return Ok(refused(events, reason).await);
    }
    let record = restore::join_record(&manifest);
    std::fs::write(volume.join(MOVING), record.render())?;
    finish_moving(volume)?;
    let seconds = started.elapsed().as_secs_f64();
    info!(
        backup = %name,
        host_id = %manifest.node.host_id,
        seconds,
        "restored: the node starts as the ring member it was"
    );
    let _ = events.spawn(events::restored(
        name,
        &manifest.node.host_id,
        total.files,
        total.bytes,
        seconds,
    ));
    Ok(ControlFlow::Continue(()))
}

/// A refused restore, also as a `Refused` Event on the pod: a person who asked a whole set
/// to restore looks at its Events first, and the pods only restart with the same refusal.
async fn refused(events: &Events, reason: String) -> ControlFlow<Outcome> {
    events.publish(&events::refused(&reason)).await;
    refuse(reason)
}

/// Downloads every file of the part into `staging`, each blob once; Err names every
/// missing or corrupt object.
async fn download(store: &store::Store, manifest: &Manifest, staging: &Path) -> anyhow::Result<()> {
    if staging.exists() {
        std::fs::remove_dir_all(staging)?;
    }
    let mut found = BTreeMap::new();
    let mut first: BTreeMap<&str, PathBuf> = BTreeMap::new();
    for file in &manifest.files {
        let target = staging.join(&file.path);
        if let Some(copy_of) = first.get(file.sha256.as_str()) {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::copy(copy_of, &target)?;
            continue;
        }
        let got = store
            .download(&layout::blob_key(&file.sha256), &target)
            .await?;
        found.insert(file.sha256.clone(), got);
        first.insert(&file.sha256, target);
    }
    let problems = verify::check(&manifest.pod, &manifest.files, &found);
    if problems.is_empty() {
        Ok(())
    } else {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::bail!("{}", list.join("; "))
    }
}

/// Moves what the staging directory holds into place and writes the join record the
/// moving marker holds; false when there was nothing to finish.
fn finish_moving(volume: &Path) -> anyhow::Result<bool> {
    let marker = volume.join(MOVING);
    let text = match std::fs::read_to_string(&marker) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let record: JoinRecord = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a join record: {e}", marker.display()))?;
    let staging = volume.join(STAGING);
    if staging.exists() {
        move_into(&staging, volume)?;
        std::fs::remove_dir_all(&staging)?;
    }
    datadir::write_record(volume, &record)?;
    std::fs::remove_file(&marker)?;
    Ok(true)
}

/// Renames each entry of `from` into `to`: a directory that exists already is entered
/// (Cassandra's empty directories), anything else is renamed whole.
fn move_into(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() && target.is_dir() {
            move_into(&entry.path(), &target)?;
        } else {
            if target.exists() {
                warn!(file = %target.display(), "replaced by the backup's file");
            }
            std::fs::rename(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::data::RECORD_FORMAT;

    #[test]
    fn a_restore_cut_short_while_moving_is_finished() {
        let vol = tempfile::tempdir().unwrap();
        let v = vol.path();
        // Moved already: the table's directory exists (empty, as Cassandra leaves it) and
        // one file is in place; the rest still in the staging directory.
        std::fs::create_dir_all(v.join("data/ks/t-1")).unwrap();
        std::fs::write(v.join("data/ks/t-1/nb-1-big-TOC.txt"), "toc").unwrap();
        std::fs::create_dir_all(v.join(STAGING).join("data/ks/t-1")).unwrap();
        std::fs::create_dir_all(v.join(STAGING).join("data/system/local-2")).unwrap();
        std::fs::write(v.join(STAGING).join("data/ks/t-1/nb-1-big-Data.db"), "d").unwrap();
        std::fs::write(
            v.join(STAGING).join("data/system/local-2/nb-1-big-Data.db"),
            "l",
        )
        .unwrap();
        let record = JoinRecord {
            format: RECORD_FORMAT,
            host_id: "6f1c2a3b-0000-4000-8000-000000000001".into(),
            cluster_name: Some("ring".into()),
            address: None,
            peers: None,
            recorded_at: None,
            dc: None,
            rack: None,
        };
        std::fs::write(v.join(MOVING), record.render()).unwrap();

        assert!(finish_moving(v).unwrap());
        for f in [
            "data/ks/t-1/nb-1-big-TOC.txt",
            "data/ks/t-1/nb-1-big-Data.db",
            "data/system/local-2/nb-1-big-Data.db",
        ] {
            assert!(v.join(f).is_file(), "{f}");
        }
        assert!(!v.join(STAGING).exists() && !v.join(MOVING).exists());
        assert_eq!(datadir::read_record(v).unwrap().record(), Some(&record));
        // Nothing to finish the second time.
        assert!(!finish_moving(v).unwrap());
    }
}
