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
}

impl PartState {
    /// As `status` and `list` print it.
    pub fn as_str(self) -> &'static str {
        match self {
            PartState::Complete => "complete",
            PartState::Incomplete => "incomplete",
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
/// it (the marker's removal failed after the manifest was written).
pub fn catalog(keys: impl IntoIterator<Item = Key>) -> Vec<Backup> {
    let mut by_name: BTreeMap<String, BTreeMap<String, PartState>> = BTreeMap::new();
    for key in keys {
        let (backup, pod, state) = match key {
            Key::Member { backup, pod } => (backup, pod, PartState::Complete),
            Key::Pending { backup, pod } => (backup, pod, PartState::Incomplete),
            Key::Blob { .. } | Key::Other => continue,
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
        let backups = catalog(keys.iter().map(|k| parse(k)));
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
            ]
        );
        assert!(catalog([]).is_empty());
    }
}
