//! Pure. Where each object of a backup store lives, and which names are valid.
//!
//! ```text
//! blobs/sha256/<first two hex digits>/<sha256>   file contents, stored once
//! backups/<backup>/members/<pod>.json           a node's part: its manifest (written last)
//! backups/<backup>/pending/<pod>.json           a node's part while it is being taken
//! backups/<backup>/request.json                 a backup of the set asked for: its pods
//! ```
//!
//! Keys are built and parsed only here, so the layout has one definition.

/// The longest backup name: a DNS label, so a name is also a valid snapshot tag, object
/// key segment and Kubernetes label value.
pub const MAX_NAME: usize = 63;

/// Snapshots ringkeeper takes are tagged with this prefix and the backup's name, so the
/// entrypoint can tell its own leftovers from a person's snapshots.
pub const SNAPSHOT_PREFIX: &str = "ringkeeper-backup-";

/// Checks a backup name: 1 to 63 of `a-z`, `0-9` and `-`, starting and ending with a
/// letter or digit. The error says what is valid.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a backup name: expected 1 to {MAX_NAME} lowercase letters, digits \
             and '-', starting and ending with a letter or digit (like nightly-20261207)"
        ))
    }
}

/// The name a requested backup gets when none is given (a CronJob's): `scheduled-` and the
/// UTC time of the request to the second, `scheduled-20261207-030000`, so names sort by
/// time and two requests a second apart differ.
pub fn scheduled_name(unix_secs: i64) -> String {
    let c = crate::decide::time::civil(unix_secs);
    format!(
        "scheduled-{:04}{:02}{:02}-{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The snapshot tag of a backup.
pub fn snapshot_tag(backup: &str) -> String {
    format!("{SNAPSHOT_PREFIX}{backup}")
}

/// Where a file's contents live.
pub fn blob_key(sha256: &str) -> String {
    let fan = sha256.get(..2).unwrap_or("00");
    format!("blobs/sha256/{fan}/{sha256}")
}

/// Every blob's key starts with this.
pub const BLOBS: &str = "blobs/sha256/";
/// Every backup's objects start with this.
pub const BACKUPS: &str = "backups/";

/// A node's manifest.
pub fn member_key(backup: &str, pod: &str) -> String {
    format!("{BACKUPS}{backup}/members/{pod}.json")
}

/// A node's pending marker.
pub fn pending_key(backup: &str, pod: &str) -> String {
    format!("{BACKUPS}{backup}/pending/{pod}.json")
}

/// A request for a backup of the set.
pub fn request_key(backup: &str) -> String {
    format!("{BACKUPS}{backup}/request.json")
}

/// Where a backup's objects start.
pub fn backup_prefix(backup: &str) -> String {
    format!("{BACKUPS}{backup}/")
}

/// What a key in the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// File contents, by hash.
    Blob {
        /// The SHA-256, hex.
        sha256: String,
    },
    /// A node's manifest.
    Member {
        /// The backup.
        backup: String,
        /// The pod.
        pod: String,
    },
    /// A node's pending marker.
    Pending {
        /// The backup.
        backup: String,
        /// The pod.
        pod: String,
    },
    /// A request for a backup of the set.
    Request {
        /// The backup.
        backup: String,
    },
    /// Anything else (left alone by every command).
    Other,
}

/// Reads a key back.
pub fn parse(key: &str) -> Key {
    if let Some(rest) = key.strip_prefix(BLOBS) {
        let hash = rest.rsplit('/').next().unwrap_or("");
        if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Key::Blob {
                sha256: hash.to_owned(),
            };
        }
        return Key::Other;
    }
    let Some(rest) = key.strip_prefix(BACKUPS) else {
        return Key::Other;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [backup, "request.json"] if check_name(backup).is_ok() => Key::Request {
            backup: (*backup).to_owned(),
        },
        [backup, kind, file] if check_name(backup).is_ok() => {
            let Some(pod) = file.strip_suffix(".json") else {
                return Key::Other;
            };
            let (backup, pod) = ((*backup).to_owned(), pod.to_owned());
            match *kind {
                "members" => Key::Member { backup, pod },
                "pending" => Key::Pending { backup, pod },
                _ => Key::Other,
            }
        }
        _ => Key::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_names_are_the_utc_time_of_the_request() {
        for (unix, want) in [
            (0, "scheduled-19700101-000000"),
            (951_782_400, "scheduled-20000229-000000"),
            (1_796_612_400, "scheduled-20261207-030000"),
            (1_798_761_599, "scheduled-20261231-235959"),
            (4_107_542_400, "scheduled-21000301-000000"),
        ] {
            let name = scheduled_name(unix);
            assert_eq!(name, want, "{unix}");
            assert_eq!(check_name(&name), Ok(()));
        }
    }

    #[test]
    fn names() {
        for good in ["a", "nightly-20261207", "0", &"a".repeat(63)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", "a/b", &"a".repeat(64)] {
            let err = check_name(bad).unwrap_err();
            assert!(err.contains("expected 1 to 63"), "{bad}: {err}");
        }
    }

    #[test]
    fn keys_read_back_as_what_they_are() {
        let hash = "ab".repeat(32);
        let cases = [
            (
                blob_key(&hash),
                Key::Blob {
                    sha256: hash.clone(),
                },
            ),
            (
                member_key("n1", "cassandra-0"),
                Key::Member {
                    backup: "n1".into(),
                    pod: "cassandra-0".into(),
                },
            ),
            (
                pending_key("n1", "cassandra-2"),
                Key::Pending {
                    backup: "n1".into(),
                    pod: "cassandra-2".into(),
                },
            ),
            (
                request_key("n1"),
                Key::Request {
                    backup: "n1".into(),
                },
            ),
            ("blobs/sha256/ab/short".into(), Key::Other),
            ("backups/n1/members/x.txt".into(), Key::Other),
            ("backups/Bad_Name/members/x.json".into(), Key::Other),
            ("backups/n1/other/x.json".into(), Key::Other),
            ("README".into(), Key::Other),
        ];
        for (key, want) in cases {
            assert_eq!(parse(&key), want, "{key}");
        }
        assert_eq!(blob_key(&hash), format!("blobs/sha256/ab/{hash}"));
        assert_eq!(snapshot_tag("n1"), "ringkeeper-backup-n1");
    }
}
