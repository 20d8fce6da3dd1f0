//! What the data volume holds before the boot plan reads it. A volume whose node was
//! decommissioned never starts Cassandra as it is, and a replace that did not finish is
//! resumed as a replace, never restarted as a plain bootstrap beside the member it should
//! have replaced; both are acted on only once the ring confirms what the volume holds
//! (`decide::decommissioned`, `decide::replacing`). Last, a join record whose state is
//! gone is removed.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use tracing::{info, warn};

use super::ring::Ring;
use super::shutdown::{self, refuse};
use crate::decide::api_facts::ApiFacts;
use crate::decide::data::{DataListing, JoinRecord};
use crate::decide::decommissioned::{self, LeftCheck, VolumeCheck};
use crate::decide::events;
use crate::decide::replacing::{self, ReplaceCheck, Unfinished};
use crate::decide::seeds::{Cql, DataState, Waiting};
use crate::edge::datadir;
use crate::edge::kube::{Events, Kube};
use crate::edge::process::Signals;
use crate::exit::Outcome;
use crate::gather::{classify_logged, report_waiting};
use crate::render::DataDirs;

/// A decommissioned node's volume, to be cleared once the ring confirms that it left
/// (`VolumeCheck::ConfirmLeft`).
pub(super) struct ToClear {
    /// The node that left, in words, for the log and the Event.
    what: String,
    /// Its host ID.
    host_id: String,
    /// The kept folder's name for its snapshots.
    kept: String,
}

/// A decommissioned node's volume that was cleared: this pod joins as a new node.
pub(super) struct Cleared {
    /// The node that left, in words, for the Event.
    pub what: String,
    /// Its host ID: the identity record's entry for it is never acted on.
    pub host_id: String,
}

/// Whether the volume holds a node that was decommissioned (`decommissioned::boot_check`),
/// read before the API and any wait: a marker only a person can resolve, or directories
/// that leave the volume, refuse at once. A volume to clear is cleared only later
/// (`clear_decommissioned`), with the API's Events at hand.
pub(super) fn decommission_check(
    data_dir: &Path,
    dirs: &DataDirs,
    cluster: Option<&str>,
) -> anyhow::Result<ControlFlow<Outcome, Option<ToClear>>> {
    let decommissioned = datadir::read_decommissioned(data_dir)?;
    let to_clear = match decommissioned::boot_check(
        decommissioned.as_ref(),
        cluster.unwrap_or_default(),
        datadir::read_record(data_dir)?
            .record()
            .map(|r| r.host_id.as_str()),
    ) {
        VolumeCheck::Use => None,
        VolumeCheck::Refuse(reason) => return Ok(refuse(reason)),
        VolumeCheck::ConfirmLeft {
            what,
            host_id,
            kept,
        } => {
            // Checked before any wait: a clear never walks a directory off the volume.
            if let Err(why) = datadir::within_volume(dirs, data_dir) {
                return Ok(refuse(format!(
                    "a person must act: this volume holds a node that was decommissioned \
                     ({what}), but {why}; cassandra was not started and nothing was deleted"
                )));
            }
            Some(ToClear {
                what,
                host_id,
                kept,
            })
        }
    };
    Ok(ControlFlow::Continue(to_clear))
}

/// Clears the decommissioned volume only once the ring confirms that its node left: its
/// snapshots and backups are kept (moved) and the rest is cleared; the pod joins as a new
/// node. A stop signal while the ring is asked ends the entrypoint with nothing deleted.
pub(super) async fn clear_decommissioned(
    ring: &Ring<'_>,
    to_clear: Option<ToClear>,
    dirs: &DataDirs,
    kube: &Kube,
    facts: &ApiFacts,
    signals: &mut Signals,
) -> anyhow::Result<ControlFlow<Outcome, Option<Cleared>>> {
    let Some(ToClear {
        what,
        host_id,
        kept,
    }) = to_clear
    else {
        return Ok(ControlFlow::Continue(None));
    };
    let identity = ring.identity;
    let events = kube.events(&facts.own_pod);
    let confirmed = tokio::select! {
        by = confirm_left(ring, &events, &host_id) => by?,
        sig = signals.stop_requested() => {
            warn!(signal = ?sig, "stopped while waiting for the ring to confirm that the volume's node left; nothing was deleted, cassandra was not started");
            return Ok(ControlFlow::Break(shutdown::stopped(sig)));
        }
    };
    let moved = datadir::clear_decommissioned(dirs, &identity.data_dir, &kept).map_err(|e| {
        anyhow::anyhow!(
            "clearing the volume of a decommissioned node in --data-dir {}: {e}",
            identity.data_dir.display()
        )
    })?;
    for path in &moved {
        warn!(kept = %path.display(), "a snapshot or backup of the node that left was kept (moved, not deleted); remove it when no longer needed");
    }
    if !moved.is_empty() {
        let _ = events.spawn(events::snapshots_kept(
            &identity.data_dir.join(decommissioned::KEPT_DIR).join(&kept),
            moved.len(),
        ));
    }
    warn!(
        node = %what,
        confirmed_by = ?confirmed,
        kept = moved.len(),
        "the volume held a node that was decommissioned (it left the ring, its data streamed to the others): cleared; this pod joins as a new node"
    );
    Ok(ControlFlow::Continue(Some(Cleared { what, host_id })))
}

/// Lists the volume and classifies its data, with a replace that did not finish either
/// resumed (its marker kept: the boot plan replaces again), found finished (marker
/// removed, data kept) or cleared while the ring still lists the replaced node
/// (`replacing::boot_check`, `replacing::unfinished`). Returns the listing and data state
/// the boot plan reads.
pub(super) async fn resume_replace(
    ring: &Ring<'_>,
    dirs: &DataDirs,
    kube: &Kube,
    facts: &ApiFacts,
    signals: &mut Signals,
) -> anyhow::Result<ControlFlow<Outcome, (DataListing, DataState)>> {
    let identity = ring.identity;
    let listing = datadir::list(dirs, &identity.data_dir)?;
    let data = classify_logged(&listing);
    // A replace that did not finish is resumed as a replace, never restarted as a plain
    // bootstrap beside the member it should have replaced (`decide::replacing`).
    let replacing = datadir::read_replacing(&identity.data_dir)?;
    let why = match replacing::boot_check(replacing.as_ref(), data) {
        ReplaceCheck::Go => return Ok(ControlFlow::Continue((listing, data))),
        ReplaceCheck::RemoveStale => {
            datadir::remove_replacing(&identity.data_dir)?;
            info!(
                "the replace recorded on the volume finished (its join is confirmed): marker removed"
            );
            return Ok(ControlFlow::Continue((listing, data)));
        }
        ReplaceCheck::Refuse(reason) => return Ok(refuse(reason)),
        ReplaceCheck::ClearPartial(why) => why,
    };
    if let Err(e) = datadir::within_volume(dirs, &identity.data_dir) {
        return Ok(refuse(format!(
            "a person must act: {why}, but {e}; cassandra was not started and \
             nothing was deleted"
        )));
    }
    let Some(Ok(marker)) = replacing.clone() else {
        unreachable!("ClearPartial is decided from a readable marker");
    };
    // Cleared only while the ring still lists the replaced node: a replace that
    // finished (its join record not written before the pod stopped) keeps its data.
    let events = kube.events(&facts.own_pod);
    let cluster = ring.cluster.unwrap_or_default();
    let judged = tokio::select! {
        judged = ask_ring(ring, &events, |candidates| {
            match replacing::unfinished(&marker, identity.pod_ip, identity.pod.ordinal, cluster, candidates) {
                Unfinished::Wait(reason) => Err(reason),
                other => Ok(other),
            }
        }) => judged?,
        sig = signals.stop_requested() => {
            warn!(signal = ?sig, "stopped while waiting for the ring to tell whether the unfinished replace finished; nothing was deleted, cassandra was not started");
            return Ok(ControlFlow::Break(shutdown::stopped(sig)));
        }
    };
    match judged {
        Unfinished::Refuse(reason) => Ok(refuse(reason)),
        Unfinished::Finished { by } => {
            datadir::remove_replacing(&identity.data_dir)?;
            warn!(seen = ?by, "the replace recorded on the volume finished (the replaced address left the ring); only its join was not recorded: the data is kept and the node restarts with it");
            Ok(ControlFlow::Continue((listing, data)))
        }
        Unfinished::Clear { by } => {
            let moved = datadir::clear_unfinished_replace(
                dirs,
                &identity.data_dir,
                &format!("unfinished-replace-{}", marker.started_at),
            )
            .map_err(|e| {
                anyhow::anyhow!(
                    "clearing what an unfinished replace wrote in --data-dir {}: {e}",
                    identity.data_dir.display()
                )
            })?;
            warn!(
                %why, seen = ?by, kept = moved.len(),
                "the replaced node is still in the ring: cleared what the unfinished replace wrote; the boot plan decides again (it replaces again once the ring still confirms the old node down, and never bootstraps beside it)"
            );
            let listing = datadir::list(dirs, &identity.data_dir)?;
            let data = classify_logged(&listing);
            Ok(ControlFlow::Continue((listing, data)))
        }
        Unfinished::Wait(_) => unreachable!("ask_ring returns only once judged"),
    }
}

/// The join record the boot plan may trust: only one that vouches for data present.
/// A record whose state is gone is removed from the volume first.
pub(super) fn join_record(
    listing: &DataListing,
    data: DataState,
    data_dir: &Path,
) -> anyhow::Result<Option<JoinRecord>> {
    if listing.joined.exists() && listing.system_local_sstables == 0 {
        // The state it vouched for is gone (data wiped): left in place, it would vouch for
        // whatever the next first boot leaves behind, even an interrupted bootstrap.
        datadir::remove_joined_marker(data_dir)?;
        warn!(
            ?data,
            "removed the join record of a node whose state is gone"
        );
    }
    Ok(listing
        .joined
        .record()
        .filter(|_| data == DataState::Present)
        .cloned())
}

/// Asks the other pods of the set over CQL, round after round, until `judge` can tell
/// from their answers (`Err(reason)`: not yet). Never gives up: meanwhile the pod waits,
/// not ready, with a report every `WAIT_REPORT_EVERY` (log and a `Waiting` Event), and
/// Cassandra is not started. Used where the boot must not act on a volume before the ring
/// confirms what it holds (`decide::decommissioned`, `decide::replacing`).
async fn ask_ring<T>(
    ring: &Ring<'_>,
    events: &Events,
    mut judge: impl FnMut(&[crate::decide::seeds::Candidate]) -> Result<T, String>,
) -> anyhow::Result<T> {
    let Ring {
        identity,
        seeding,
        observe,
        ..
    } = *ring;
    let names = seeding.candidates(identity);
    let start = std::time::Instant::now();
    let mut next_report = start;
    let mut rounds = 0;
    loop {
        let candidates = observe
            .round(&names, Duration::from_secs(5), None, false)
            .await?
            .candidates;
        rounds += 1;
        let reason = match judge(&candidates) {
            Ok(answer) => return Ok(answer),
            Err(reason) => reason,
        };
        let now = std::time::Instant::now();
        if now >= next_report {
            let waiting = Waiting {
                reason,
                seen: candidates
                    .iter()
                    .filter(|c| c.ordinal != Some(identity.pod.ordinal))
                    .map(|c| {
                        let answer = match &c.cql {
                            Cql::Member { .. } => "member",
                            Cql::NoAnswer { .. } => "no CQL answer",
                            Cql::NotAsked => "not resolved",
                        };
                        format!("{}: {answer}", c.name)
                    })
                    .collect(),
                seed_wait_over: false,
                waited: now.duration_since(start),
                rounds,
            };
            report_waiting(&waiting);
            let _ = events.spawn(events::waiting(&waiting));
            next_report = now + crate::gather::WAIT_REPORT_EVERY;
        }
        tokio::time::sleep(crate::decide::retry::KEEP_WAITING).await;
    }
}

/// Waits until the ring confirms that the host a decommission marker names left
/// (`decommissioned::left`); returns what each confirming member showed.
async fn confirm_left(
    ring: &Ring<'_>,
    events: &Events,
    host_id: &str,
) -> anyhow::Result<Vec<String>> {
    let cluster = ring.cluster.unwrap_or_default();
    let ordinal = ring.identity.pod.ordinal;
    let by = ask_ring(ring, events, |candidates| {
        match decommissioned::left(host_id, cluster, ordinal, candidates) {
            LeftCheck::Left { by } => Ok(by),
            LeftCheck::Wait { reason } => Err(reason),
        }
    })
    .await?;
    info!(%host_id, confirmed_by = ?by, "the ring confirms that the volume's node left");
    Ok(by)
}

/// Removes the snapshots a backup took and could not clear (its pod stopped or drained in
/// the middle of the upload): before Cassandra starts, so no one else uses them, and only
/// ringkeeper's own (`ringkeeper-backup-*`; a person's snapshots stay). The backup they
/// belonged to stays incomplete in the store (no manifest) and is never restored. A
/// failure costs disk space, not data: logged, and the start goes on.
pub(super) fn clear_backup_snapshots(volume: &Path) {
    match crate::edge::snapshot::clear_leftovers(volume) {
        Ok(removed) if removed.is_empty() => {}
        Ok(removed) => {
            for dir in removed {
                info!(snapshot = %dir.display(), "a backup's leftover snapshot removed");
            }
        }
        Err(e) => warn!(
            volume = %volume.display(),
            error = %e,
            "could not remove a backup's leftover snapshots; they keep disk space until removed"
        ),
    }
}
