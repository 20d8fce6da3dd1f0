//! Pure. What a verification of a backup found: every file's blob present, with the size
//! and the hash its manifest records.

use std::collections::BTreeMap;

use super::manifest::FileEntry;

/// What the store holds for a blob, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Bytes.
    pub size: u64,
    /// The SHA-256 of the bytes read, hex.
    pub sha256: String,
}

/// One thing wrong with a backup's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The pod whose part names the file.
    pub pod: String,
    /// The file's path.
    pub path: String,
    /// Its blob's hash.
    pub sha256: String,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong with a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not in the store.
    Missing,
    /// Its size is not the manifest's.
    Size {
        /// The manifest's.
        want: u64,
        /// The store's.
        found: u64,
    },
    /// Its contents hash to something else: corrupt.
    Hash {
        /// What the bytes hash to.
        found: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Problem {
            pod, path, sha256, ..
        } = self;
        match &self.kind {
            ProblemKind::Missing => write!(f, "{pod}: {path}: blob {sha256} is missing"),
            ProblemKind::Size { want, found } => write!(
                f,
                "{pod}: {path}: blob {sha256} has {found} bytes, the manifest says {want}"
            ),
            ProblemKind::Hash { found } => write!(
                f,
                "{pod}: {path}: blob {sha256} is corrupt (its contents hash to {found})"
            ),
        }
    }
}

/// Checks a part's files against what the store holds (`None`: not there).
pub fn check(
    pod: &str,
    files: &[FileEntry],
    found: &BTreeMap<String, Option<Found>>,
) -> Vec<Problem> {
    files
        .iter()
        .filter_map(|file| {
            let kind = match found.get(&file.sha256) {
                None | Some(None) => ProblemKind::Missing,
                Some(Some(f)) if f.size != file.size => ProblemKind::Size {
                    want: file.size,
                    found: f.size,
                },
                Some(Some(f)) if f.sha256 != file.sha256 => ProblemKind::Hash {
                    found: f.sha256.clone(),
                },
                Some(Some(_)) => return None,
            };
            Some(Problem {
                pod: pod.to_owned(),
                path: file.path.clone(),
                sha256: file.sha256.clone(),
                kind,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_damage_is_named() {
        let file = |path: &str, hash: &str| FileEntry {
            path: path.into(),
            size: 4,
            sha256: hash.into(),
            mtime_ns: 0,
        };
        let files = [
            file("ok", "h1"),
            file("gone", "h2"),
            file("short", "h3"),
            file("bad", "h4"),
            file("unread", "h5"),
        ];
        let found = BTreeMap::from([
            (
                "h1".to_owned(),
                Some(Found {
                    size: 4,
                    sha256: "h1".into(),
                }),
            ),
            ("h2".to_owned(), None),
            (
                "h3".to_owned(),
                Some(Found {
                    size: 3,
                    sha256: "x".into(),
                }),
            ),
            (
                "h4".to_owned(),
                Some(Found {
                    size: 4,
                    sha256: "x".into(),
                }),
            ),
        ]);
        let problems: Vec<String> = check("cassandra-1", &files, &found)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            problems,
            [
                "cassandra-1: gone: blob h2 is missing",
                "cassandra-1: short: blob h3 has 3 bytes, the manifest says 4",
                "cassandra-1: bad: blob h4 is corrupt (its contents hash to x)",
                "cassandra-1: unread: blob h5 is missing",
            ]
        );
    }
}
