//! Pure. Which backups a store holds and how complete each node's part is, from the keys
//! it lists.

use std::collections::BTreeMap;

use super::layout::Key;

/// How far a node's part got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PartState {
    /// Its manifest is written: the part exists and can be restored.
    Complete,
    /// Started (its pending marker is there), no manifest: running, or stopped midway.
    /// Never restored.
    Incomplete,
    /// Asked for by the set's request, not started.
    NotStarted,
}

impl PartState {
    /// As `status` and `list` print it.
    pub fn as_str(self) -> &'static str {
        match self {
            PartState::Complete => "complete",
            PartState::Incomplete => "incomplete",
            PartState::NotStarted => "not started",
        }
    }
}

/// A backup as the store shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// Its name.
    pub name: String,
    /// Each node's part, by pod name.
    pub parts: BTreeMap<String, PartState>,
}

impl Backup {
    /// Complete when every part that was started has its manifest.
    pub fn complete(&self) -> bool {
        !self.parts.is_empty() && self.parts.values().all(|s| *s == PartState::Complete)
    }
}

/// The backups among `keys`, by name. A manifest wins over a pending marker left beside
/// it (the marker's removal failed after the manifest was written). `requested` gives the
/// pods a backup of the set asked for (its request, read by the caller): each is a part,
/// not started until its marker or manifest is there.
pub fn catalog(
    keys: impl IntoIterator<Item = Key>,
    requested: &BTreeMap<String, Vec<String>>,
) -> Vec<Backup> {
    let mut by_name: BTreeMap<String, BTreeMap<String, PartState>> = BTreeMap::new();
    for (backup, pods) in requested {
        let parts = by_name.entry(backup.clone()).or_default();
        for pod in pods {
            parts.insert(pod.clone(), PartState::NotStarted);
        }
    }
    for key in keys {
        let (backup, pod, state) = match key {
            Key::Member { backup, pod } => (backup, pod, PartState::Complete),
            Key::Pending { backup, pod } => (backup, pod, PartState::Incomplete),
            Key::Request { .. } | Key::Blob { .. } | Key::Other => continue,
        };
        let parts = by_name.entry(backup).or_default();
        let slot = parts.entry(pod).or_insert(state);
        *slot = (*slot).min(state);
    }
    by_name
        .into_iter()
        .map(|(name, parts)| Backup { name, parts })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::layout::{self, parse};
    use super::*;

    #[test]
    fn parts_and_completeness() {
        let hash = "cd".repeat(32);
        let keys = [
            layout::member_key("a", "cassandra-0"),
            layout::member_key("a", "cassandra-1"),
            layout::pending_key("b", "cassandra-0"),
            layout::member_key("b", "cassandra-1"),
            // A marker left beside its manifest: complete.
            layout::pending_key("c", "cassandra-0"),
            layout::member_key("c", "cassandra-0"),
            layout::blob_key(&hash),
            "notes.txt".into(),
        ];
        let requested = BTreeMap::from([(
            "d".to_owned(),
            vec!["cassandra-0".to_owned(), "cassandra-1".to_owned()],
        )]);
        let keys = [keys.as_slice(), &[layout::member_key("d", "cassandra-1")]].concat();
        let backups = catalog(keys.iter().map(|k| parse(k)), &requested);
        type Summary<'a> = (&'a str, bool, Vec<(&'a str, PartState)>);
        let summary: Vec<Summary> = backups
            .iter()
            .map(|b| {
                (
                    b.name.as_str(),
                    b.complete(),
                    b.parts.iter().map(|(p, s)| (p.as_str(), *s)).collect(),
                )
            })
            .collect();
        use PartState::*;
        assert_eq!(
            summary,
            [
                (
                    "a",
                    true,
                    vec![("cassandra-0", Complete), ("cassandra-1", Complete)]
                ),
                (
                    "b",
                    false,
                    vec![("cassandra-0", Incomplete), ("cassandra-1", Complete)]
                ),
                ("c", true, vec![("cassandra-0", Complete)]),
                // Requested of two pods, one done.
                (
                    "d",
                    false,
                    vec![("cassandra-0", NotStarted), ("cassandra-1", Complete)]
                ),
            ]
        );
        assert!(catalog([], &BTreeMap::new()).is_empty());
    }
}
