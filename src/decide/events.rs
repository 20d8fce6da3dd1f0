//! Pure. The Events published on the Pod for each lifecycle decision the commands already
//! make (events.k8s.io/v1, shown by `kubectl describe pod` and `kubectl events`): the
//! boot decision, the confirmed join, the drain's start and its outcome. What is
//! published and what the note says is decided here; the API edge only sends it.
//!
//! | reason | type | when |
//! |---|---|---|
//! | `Founded` | Normal | the entrypoint founds a new cluster |
//! | `Restarted` | Normal | the entrypoint restarts a node with its data |
//! | `Replacing` | Normal | the entrypoint starts a node that replaces a down ring member (`--replace-address`, or the previous node the identity record names) |
//! | `Joined` | Normal | the node finished bootstrapping into an existing ring (a join, a resumed bootstrap) |
//! | `Replaced` | Normal | the node finished replacing the down member |
//! | `Reinitialized` | Normal | the volume held a node that was decommissioned, and the ring confirmed that it left: cleared, the pod joins as a new node |
//! | `Restored` | Normal | an empty volume was filled from this pod's part of a backup (`--restore-backup`): the node starts as the ring member it was |
//! | `BackupRefused` | Warning | this pod did not take its part of a requested backup (no room for the snapshot, the node not joined): the note says why; tried again up to three times per start |
//! | `SnapshotsKept` | Normal | before that clear, the node's `snapshots/` and `backups/` were moved to `ringkeeper-kept/` on the volume (never deleted) |
//! | `Refused` | Warning | the entrypoint did not start Cassandra (the reason it logs) |
//! | `FoundingRefused` | Warning | ordinal 0 has no data and no ring answers, but the identity record says the cluster exists: it waits instead of founding a second one |
//! | `RecordNotWritten` | Warning | this pod's entry in the identity record could not be written (retried every 30 s while the node runs) |
//! | `RecordWritten` | Normal | the entry was written after failed attempts |
//! | `RecordIgnored` | Warning | the identity record was not acted on (an entry that does not parse, names another cluster, or that the ring does not confirm) |
//! | `Draining` | Normal | `drain` starts draining (or waits for a drain someone else started) |
//! | `Drained` | Normal | `drain` drained and verified the node |
//! | `DrainCutShort` | Warning | the deadline came first; Cassandra was sent SIGTERM |
//! | `NotDrained` | Warning | the drain could not be done or confirmed; Cassandra was sent SIGTERM |
//! | `Decommissioning` | Normal | `drain` of a pod scaled away starts `nodetool decommission` |
//! | `Decommissioned` | Normal | the node left the ring (mode DECOMMISSIONED) |
//! | `DecommissionRefused` | Warning | a pod scaled away drains instead: the reason names what to change |
//! | `DecommissionFailed` | Warning | `nodetool decommission` failed; the node drains instead |
//!
//! A node with nothing to drain, or one an earlier drain completed, gets no Events.

use std::net::IpAddr;

use super::drain::{Outcome, outcome_text};
use super::seeds::BootMode;

/// The events.k8s.io limit on a note.
pub const NOTE_LIMIT: usize = 1024;

/// Normal or Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something happened as it should.
    Normal,
    /// Something an operator should look at.
    Warning,
}

/// One Event to publish on the Pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleEvent {
    /// Normal or Warning.
    pub severity: Severity,
    /// Why, in PascalCase (`kubectl describe`'s Reason column).
    pub reason: &'static str,
    /// What was done (`Boot`, `Drain`).
    pub action: &'static str,
    /// The message, at most `NOTE_LIMIT` bytes.
    pub note: String,
}

fn event(
    severity: Severity,
    reason: &'static str,
    action: &'static str,
    note: String,
) -> LifecycleEvent {
    LifecycleEvent {
        severity,
        reason,
        action,
        note: clip(note),
    }
}

/// The boot decision, when it is one that is published at once: founding, restarting and
/// replacing (a replace takes over a member's tokens, which an operator wants to see at
/// once). A join is published when it is confirmed (`joined`), since the bootstrap may
/// take hours and may fail.
pub fn boot(mode: &BootMode, seeds: &[IpAddr]) -> Option<LifecycleEvent> {
    let list = || {
        seeds
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    match mode {
        BootMode::Found => Some(event(
            Severity::Normal,
            "Founded",
            "Boot",
            "no data, ordinal 0 and no ring answered: founding a new cluster".into(),
        )),
        BootMode::Restart => Some(event(
            Severity::Normal,
            "Restarted",
            "Boot",
            format!("restarting with the data on the volume; seeds {}", list()),
        )),
        BootMode::Replace { address } => Some(event(
            Severity::Normal,
            "Replacing",
            "Boot",
            format!(
                "no data: replacing the down ring member at {address}, which owns this pod's tokens; \
                 its data streams from the other replicas; seeds {}",
                list()
            ),
        )),
        BootMode::Join => None,
    }
}

/// The join confirmed (bootstrapped = COMPLETED), for a node that did not found the
/// cluster.
pub fn joined(mode: &BootMode, host_id: &str, peers: usize) -> Option<LifecycleEvent> {
    let (reason, how) = match mode {
        BootMode::Found => return None,
        BootMode::Join => ("Joined", "bootstrapped into the ring".to_owned()),
        BootMode::Replace { address } => (
            "Replaced",
            format!("replaced {address} (its data streamed)"),
        ),
        BootMode::Restart => ("Joined", "finished its interrupted bootstrap".to_owned()),
    };
    Some(event(
        Severity::Normal,
        reason,
        "Boot",
        format!("{how}: host ID {host_id}, {peers} other member(s)"),
    ))
}

/// Ordinal 0 does not found a new cluster: the identity record says this one exists.
/// Published once, when the plan first says so; the wait goes on as `Waiting`.
pub fn founding_refused(pods: &[String]) -> LifecycleEvent {
    event(
        Severity::Warning,
        "FoundingRefused",
        "Boot",
        format!(
            "no data and no ring member answers, but the identity record says this cluster exists \
             ({} were members): not founding a second cluster; waiting for a member to answer",
            pods.join(", ")
        ),
    )
}

/// The identity record was not acted on, and why.
pub fn record_ignored(why: &str) -> LifecycleEvent {
    event(
        Severity::Warning,
        "RecordIgnored",
        "Boot",
        format!("the identity record was not acted on: {why}"),
    )
}

/// Still waiting to start Cassandra, safely (other pods can end the wait): published at
/// each wait report, so `kubectl describe pod` shows why the pod is not Ready without a
/// restart to explain it.
///
/// The note is the reason only, nothing that changes from one report to the next (not the
/// time waited, not the rounds): a repeat of the same wait is then the same Event, patched
/// as one series (its count and last time say how long), not a new object every 30 s, and
/// its note is never stale (a patch resends the note of the first). The log line has the
/// details.
pub fn waiting(w: &crate::decide::seeds::Waiting) -> LifecycleEvent {
    event(
        Severity::Normal,
        "Waiting",
        "Boot",
        format!("cassandra not started yet: {}", w.reason),
    )
}

/// The volume held a node that was decommissioned: cleared, this pod joins as a new node
/// (`decide::scale_down::VolumeCheck::Reinitialize`).
pub fn reinitialized(what: &str) -> LifecycleEvent {
    event(
        Severity::Normal,
        "Reinitialized",
        "Boot",
        format!(
            "the volume held a node that left the ring ({what}); its data had been streamed \
             to the other nodes, so the volume was cleared and this pod joins as a new node"
        ),
    )
}

/// An empty volume was filled from this pod's part of a backup.
pub fn restored(
    backup: &str,
    host_id: &str,
    files: u64,
    bytes: u64,
    seconds: f64,
) -> LifecycleEvent {
    event(
        Severity::Normal,
        "Restored",
        "Boot",
        format!(
            "restored from backup {backup}: {files} files, {bytes} bytes, checked, in \
             {seconds:.0} s; the node starts as the ring member it was (host ID {host_id}), \
             without joining or streaming"
        ),
    )
}

/// This pod's part of a requested backup was refused by `backup create` (most often: the
/// volume has no room for the snapshot). The part is tried again (three tries per start,
/// within the request's hour); a person frees or grows the volume.
pub fn backup_refused(backup: &str, reason: &str) -> LifecycleEvent {
    event(
        Severity::Warning,
        "BackupRefused",
        "Backup",
        format!("this pod's part of backup {backup} was not taken: {reason}"),
    )
}

/// The snapshots and incremental backups of the node that left were kept (moved) before
/// its volume was cleared (`decide::decommissioned`).
pub fn snapshots_kept(folder: &std::path::Path, count: usize) -> LifecycleEvent {
    event(
        Severity::Normal,
        "SnapshotsKept",
        "Boot",
        format!(
            "the volume held snapshots or incremental backups of the node that left ({count} \
             director{}): kept, moved to {}; ringkeeper never deletes them: remove that \
             folder when they are no longer needed",
            if count == 1 { "y" } else { "ies" },
            folder.display()
        ),
    )
}

/// This pod's entry in the identity record could not be written (raised once per run of
/// failures; the writes go on in the background).
pub fn record_not_written(configmap: &str, why: &str) -> LifecycleEvent {
    event(
        Severity::Warning,
        "RecordNotWritten",
        "Record",
        format!(
            "this pod's entry in configmaps/{configmap} could not be written ({why}); retried \
             every 30 s while the node runs. Until it is, a loss of this pod's disk is not \
             replaced automatically"
        ),
    )
}

/// The entry was written after failed attempts.
pub fn record_written(configmap: &str, failures: u32) -> LifecycleEvent {
    event(
        Severity::Normal,
        "RecordWritten",
        "Record",
        format!(
            "this pod's entry in configmaps/{configmap} was written after {failures} failed attempts"
        ),
    )
}

/// Cassandra was not started.
pub fn refused(reason: &str) -> LifecycleEvent {
    event(
        Severity::Warning,
        "Refused",
        "Boot",
        format!("cassandra was not started: {reason}"),
    )
}

/// The drain begins.
pub fn draining(grace_period_s: u64) -> LifecycleEvent {
    event(
        Severity::Normal,
        "Draining",
        "Drain",
        format!(
            "not ready from now on; announcing the shutdown, letting clients move away, then \
             nodetool drain, within the {grace_period_s}s grace period"
        ),
    )
}

/// The drain's outcome, when it is one to publish: the end of a drain that was announced
/// (`Draining`; a node found drained after it, by a drain someone else started, is
/// `Drained`), and every drain that ended with SIGTERM to Cassandra (`NotDrained` also when
/// nodetool could not be run at all). Nothing to drain, or an earlier drain, is not news.
pub fn drained(outcome: &Outcome, announced: bool, elapsed_s: f64) -> Option<LifecycleEvent> {
    let (severity, reason) = match outcome {
        Outcome::Decommissioned => return Some(decommissioned(elapsed_s)),
        Outcome::Drained | Outcome::AlreadyDrained if announced => (Severity::Normal, "Drained"),
        Outcome::CutShort { .. } => (Severity::Warning, "DrainCutShort"),
        Outcome::NotDrained { .. } => (Severity::Warning, "NotDrained"),
        Outcome::Drained | Outcome::AlreadyDrained | Outcome::NothingToDrain { .. } => {
            return None;
        }
    };
    let after = match outcome {
        Outcome::Drained | Outcome::AlreadyDrained => "memtables flushed, commit log recycled",
        _ => "Cassandra was sent SIGTERM; its shutdown hook drains what it can",
    };
    Some(event(
        severity,
        reason,
        "Drain",
        format!("after {elapsed_s:.1}s, {}. {after}", outcome_text(outcome)),
    ))
}

/// A pod scaled away starts its decommission (`decide::scale_down::Decision::Decommission`).
pub fn decommissioning(why: &str, estimate_s: u64, pvc_when_scaled: &str) -> LifecycleEvent {
    let volume = if pvc_when_scaled == "Delete" {
        "its PersistentVolumeClaim is deleted once the pod is gone (whenScaled: Delete)"
    } else {
        "its PersistentVolumeClaim is kept (whenScaled: Retain), marked: a later scale-up \
         of this ordinal clears it and joins as a new node"
    };
    event(
        Severity::Normal,
        "Decommissioning",
        "Decommission",
        format!(
            "scaled away: nodetool decommission streams this node's data to the nodes that \
             remain, then it leaves the ring (expected within {estimate_s}s); {volume}. {why}"
        ),
    )
}

/// A pod scaled away is not decommissioned: it drains and stays in the ring as a down
/// member. The reason names what to change.
pub fn decommission_refused(why: &str) -> LifecycleEvent {
    event(
        Severity::Warning,
        "DecommissionRefused",
        "Decommission",
        format!("scaled away but not decommissioned (drained instead): {why}"),
    )
}

/// `nodetool decommission` failed: the node drains instead and stays in the ring.
pub fn decommission_failed(why: &str) -> LifecycleEvent {
    event(
        Severity::Warning,
        "DecommissionFailed",
        "Decommission",
        format!(
            "nodetool decommission failed (drained instead; the node may still be LEAVING: \
             check nodetool status, then nodetool removenode <host ID> from another node): {why}"
        ),
    )
}

/// The node left the ring.
pub fn decommissioned(elapsed_s: f64) -> LifecycleEvent {
    event(
        Severity::Normal,
        "Decommissioned",
        "Decommission",
        format!(
            "left the ring after {elapsed_s:.1}s: its data streamed to the nodes that remain \
             (mode DECOMMISSIONED); its volume is marked and never starts Cassandra again"
        ),
    )
}

/// `note` cut to `NOTE_LIMIT` bytes at a character boundary, marked with `…` when cut.
fn clip(note: String) -> String {
    if note.len() <= NOTE_LIMIT {
        return note;
    }
    let mark = '…';
    let mut end = NOTE_LIMIT - mark.len_utf8();
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = note[..end].to_owned();
    cut.push(mark);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::drain::Stage;

    #[test]
    fn boot_events() {
        let seeds: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        let old: IpAddr = "10.0.0.9".parse().unwrap();
        type Case = (BootMode, Option<&'static str>, Option<&'static str>);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            // mode, event at the decision, event when the join is confirmed
            (BootMode::Found, Some("Founded"), None),
            (BootMode::Restart, Some("Restarted"), Some("Joined")),
            (BootMode::Join, None, Some("Joined")),
            (BootMode::Replace { address: old }, Some("Replacing"), Some("Replaced")),
        ];
        for (mode, at_decision, at_join) in cases {
            let decided = boot(&mode, &seeds);
            assert_eq!(decided.as_ref().map(|e| e.reason), at_decision, "{mode:?}");
            let confirmed = joined(&mode, "h1", 2);
            assert_eq!(confirmed.as_ref().map(|e| e.reason), at_join, "{mode:?}");
            for e in decided.iter().chain(confirmed.iter()) {
                assert_eq!((e.severity, e.action), (Severity::Normal, "Boot"));
            }
        }
        let restart = boot(&BootMode::Restart, &seeds).unwrap();
        assert!(
            restart.note.contains("10.0.0.1,10.0.0.2"),
            "{}",
            restart.note
        );
        let replaced = joined(&BootMode::Replace { address: old }, "h1", 2).unwrap();
        assert_eq!(
            replaced.note,
            "replaced 10.0.0.9 (its data streamed): host ID h1, 2 other member(s)"
        );
        let refusing = founding_refused(&["c-0".into(), "c-1".into()]);
        assert_eq!(
            (refusing.severity, refusing.reason),
            (Severity::Warning, "FoundingRefused")
        );
        assert!(
            refusing.note.contains("(c-0, c-1 were members)"),
            "{}",
            refusing.note
        );
        let ignored = record_ignored("c-1: names cluster \"x\"");
        assert_eq!(
            (ignored.severity, ignored.reason),
            (Severity::Warning, "RecordIgnored")
        );
        let refused = refused("no safe seed list");
        assert_eq!(
            (refused.severity, refused.reason),
            (Severity::Warning, "Refused")
        );
        assert_eq!(refused.note, "cassandra was not started: no safe seed list");
        let wait = |reason: &str, waited_s: u64, rounds: u32| crate::decide::seeds::Waiting {
            reason: reason.into(),
            seen: vec![format!("cassandra-1: round {rounds}")],
            seed_wait_over: waited_s > 60,
            waited: std::time::Duration::from_secs(waited_s),
            rounds,
        };
        // The note of each report: the same wait reads the same however long it lasted (one
        // Event, patched), another reason reads differently (another Event).
        #[rustfmt::skip]
        let cases: Vec<(crate::decide::seeds::Waiting, &str)> = vec![
            (wait("only ordinal 0 may found", 0, 1), "cassandra not started yet: only ordinal 0 may found"),
            (wait("only ordinal 0 may found", 30, 7), "cassandra not started yet: only ordinal 0 may found"),
            (wait("only ordinal 0 may found", 90, 20), "cassandra not started yet: only ordinal 0 may found"),
            (wait("cassandra-0 is joining", 120, 25), "cassandra not started yet: cassandra-0 is joining"),
        ];
        for (w, note) in cases {
            let e = waiting(&w);
            assert_eq!(
                (e.severity, e.reason, e.action),
                (Severity::Normal, "Waiting", "Boot")
            );
            assert_eq!(e.note, note, "{w:?}");
        }
    }

    #[test]
    fn drain_events() {
        type Case = (Outcome, bool, Option<(Severity, &'static str)>);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            (Outcome::Drained, true, Some((Severity::Normal, "Drained"))),
            (Outcome::CutShort { stage: Stage::Drain }, true, Some((Severity::Warning, "DrainCutShort"))),
            (Outcome::NotDrained { stage: Stage::Drain, why: "nodetool failed".into() }, true, Some((Severity::Warning, "NotDrained"))),
            // A drain someone else started, waited for until DRAINED.
            (Outcome::AlreadyDrained, true, Some((Severity::Normal, "Drained"))),
            (Outcome::CutShort { stage: Stage::AwaitDrained }, true, Some((Severity::Warning, "DrainCutShort"))),
            // Never announced: an earlier drain completed, or nothing runs.
            (Outcome::AlreadyDrained, false, None),
            (Outcome::NothingToDrain { why: "not running".into() }, false, None),
            // nodetool could not be run at all: no Draining, but SIGTERM went out.
            (Outcome::NotDrained { stage: Stage::Inspect, why: "JMX unreachable".into() }, false, Some((Severity::Warning, "NotDrained"))),
        ];
        for (outcome, announced, want) in cases {
            let got = drained(&outcome, announced, 12.34);
            assert_eq!(
                got.as_ref().map(|e| (e.severity, e.reason)),
                want,
                "{outcome:?}"
            );
            if let Some(e) = got {
                assert_eq!(e.action, "Drain");
                assert!(e.note.contains("after 12.3s"), "{}", e.note);
            }
        }
        let cut = drained(
            &Outcome::CutShort {
                stage: Stage::Drain,
            },
            true,
            1.0,
        )
        .unwrap();
        assert!(
            cut.note.contains("during Drain") && cut.note.contains("SIGTERM"),
            "{}",
            cut.note
        );
        assert_eq!(draining(90).reason, "Draining");
        assert!(draining(90).note.contains("90s"));
    }

    #[test]
    fn decommission_events() {
        let left = drained(&Outcome::Decommissioned, false, 42.0).unwrap();
        assert_eq!(
            (left.severity, left.reason, left.action),
            (Severity::Normal, "Decommissioned", "Decommission")
        );
        assert!(left.note.contains("after 42.0s"), "{}", left.note);
        let refused = decommission_refused("keyspace app (RF 3)");
        assert_eq!(
            (refused.severity, refused.reason),
            (Severity::Warning, "DecommissionRefused")
        );
        assert!(refused.note.contains("keyspace app (RF 3)"));
        let starting = decommissioning("ordinal 2 >= spec.replicas 2", 95, "Delete");
        assert_eq!(starting.reason, "Decommissioning");
        assert!(starting.note.contains("within 95s") && starting.note.contains("deleted"));
        assert!(
            decommissioning("x", 1, "Retain")
                .note
                .contains("clears it and joins as a new node")
        );
        assert_eq!(decommission_failed("x").severity, Severity::Warning);
    }

    #[test]
    fn notes_fit_the_limit() {
        let long = refused(&"é".repeat(2000));
        assert!(long.note.len() <= NOTE_LIMIT, "{}", long.note.len());
        assert!(long.note.ends_with('…'));
        let short = refused("x");
        assert!(!short.note.ends_with('…'));
        let exact = clip("a".repeat(NOTE_LIMIT));
        assert_eq!(exact.len(), NOTE_LIMIT);
    }
}
