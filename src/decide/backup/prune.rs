//! Pure. Which backups a prune deletes, and which blobs no kept backup references.
//!
//! Kept: a backup among the newest `keep_last` complete ones, or taken within
//! `keep_within`; always the newest complete one; every backup with a part still being
//! taken (a pending marker younger than `stale_after`). Deleted: the other complete
//! backups, and incomplete ones whose every pending marker is stale (a part stopped
//! midway: never restorable). A blob is deleted only when no kept manifest and no live
//! pending marker references it.

use std::collections::BTreeSet;
use std::time::Duration;

/// A backup as a prune sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its name.
    pub name: String,
    /// Every part it lists has its manifest.
    pub complete: bool,
    /// When its newest snapshot was taken (Unix seconds), from its manifests.
    pub taken_at: Option<i64>,
    /// When each part without a manifest started (its pending marker's time).
    pub pending_since: Vec<i64>,
}

/// What to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The newest N complete backups.
    pub keep_last: Option<usize>,
    /// Backups taken within this.
    pub keep_within: Option<Duration>,
    /// A pending marker older than this belongs to a part that stopped.
    pub stale_after: Duration,
}

/// What a prune does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Kept, by name.
    pub keep: Vec<String>,
    /// Deleted whole (manifests and markers), by name.
    pub delete: Vec<String>,
}

/// Decides which backups go at `now` (Unix seconds).
pub fn plan(backups: &[Seen], rules: Rules, now: i64) -> Plan {
    let live = |b: &Seen| {
        b.pending_since
            .iter()
            .any(|&t| now.saturating_sub(t) < rules.stale_after.as_secs() as i64)
    };
    let mut complete: Vec<&Seen> = backups.iter().filter(|b| b.complete).collect();
    complete.sort_by_key(|b| std::cmp::Reverse(b.taken_at.unwrap_or(i64::MIN)));
    let newest: BTreeSet<&str> = complete
        .iter()
        .take(rules.keep_last.unwrap_or(0).max(1))
        .map(|b| b.name.as_str())
        .collect();
    let mut out = Plan::default();
    for b in backups {
        let recent = match (rules.keep_within, b.taken_at) {
            (Some(within), Some(at)) => now.saturating_sub(at) < within.as_secs() as i64,
            _ => false,
        };
        let kept = live(b) || (b.complete && (newest.contains(b.name.as_str()) || recent));
        if kept {
            out.keep.push(b.name.clone());
        } else {
            out.delete.push(b.name.clone());
        }
    }
    out
}

/// The blobs no kept backup and no part being taken references.
pub fn unreferenced(stored: &BTreeSet<String>, referenced: &BTreeSet<String>) -> Vec<String> {
    stored.difference(referenced).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const NOW: i64 = 100 * HOUR;

    fn seen(name: &str, complete: bool, hours_ago: Option<i64>, pending_hours_ago: &[i64]) -> Seen {
        Seen {
            name: name.into(),
            complete,
            taken_at: hours_ago.map(|h| NOW - h * HOUR),
            pending_since: pending_hours_ago.iter().map(|h| NOW - h * HOUR).collect(),
        }
    }

    #[test]
    fn what_a_prune_keeps() {
        let backups = [
            seen("d1", true, Some(96), &[]),
            seen("d2", true, Some(72), &[]),
            seen("d3", true, Some(48), &[]),
            seen("d4", true, Some(24), &[]),
            // Being taken now: one part done, one running.
            seen("run", false, Some(0), &[0]),
            // Stopped midway two days ago.
            seen("dead", false, None, &[48]),
        ];
        let rules = |last, within_h: Option<u64>| Rules {
            keep_last: last,
            keep_within: within_h.map(|h| Duration::from_secs(h * 3600)),
            stale_after: Duration::from_secs(24 * 3600),
        };
        // (rules, kept)
        let cases = [
            (rules(Some(2), None), vec!["d3", "d4", "run"]),
            (rules(Some(1), None), vec!["d4", "run"]),
            // Never fewer than the newest complete one.
            (rules(Some(0), None), vec!["d4", "run"]),
            (rules(None, Some(50)), vec!["d3", "d4", "run"]),
            (rules(Some(1), Some(80)), vec!["d2", "d3", "d4", "run"]),
            (rules(Some(10), None), vec!["d1", "d2", "d3", "d4", "run"]),
        ];
        for (r, kept) in cases {
            let p = plan(&backups, r, NOW);
            assert_eq!(p.keep, kept, "{r:?}");
            assert_eq!(p.keep.len() + p.delete.len(), backups.len());
            assert!(p.delete.contains(&"dead".to_owned()), "{r:?}");
        }
        // A stale marker within a kept window: the part stopped, the backup is incomplete.
        let p = plan(
            &[seen("old-run", false, Some(30), &[30])],
            rules(Some(5), Some(100)),
            NOW,
        );
        assert_eq!(p.delete, ["old-run"]);
    }

    #[test]
    fn only_blobs_nothing_kept_references_go() {
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(
            unreferenced(&set(&["a", "b", "c"]), &set(&["b", "x"])),
            ["a", "c"]
        );
    }
}
