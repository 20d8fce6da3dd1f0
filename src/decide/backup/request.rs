//! Pure. Which requested backup of the set this pod takes its part of next.

use std::collections::{BTreeMap, BTreeSet};

use super::manifest::{Request, TAKE_WITHIN};

/// Tries of one request's part within one entrypoint's life: a part that keeps failing
/// (no room on the volume, the store refusing) is left incomplete, not retried forever.
pub const MAX_TRIES: u32 = 3;

/// The oldest request that names `pod`, is younger than `TAKE_WITHIN` at `now`, whose part
/// this pod has not completed (`done`), and that it has tried fewer than `MAX_TRIES`
/// times.
pub fn due<'a>(
    requests: &'a [Request],
    pod: &str,
    now: i64,
    done: &BTreeSet<String>,
    tries: &BTreeMap<String, u32>,
) -> Option<&'a Request> {
    requests
        .iter()
        .filter(|r| r.pods.iter().any(|p| p == pod))
        .filter(|r| now.saturating_sub(r.requested_at) < TAKE_WITHIN.as_secs() as i64)
        .filter(|r| !done.contains(&r.backup))
        .filter(|r| tries.get(&r.backup).copied().unwrap_or(0) < MAX_TRIES)
        .min_by_key(|r| r.requested_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, at: i64, pods: &[&str]) -> Request {
        Request {
            backup: name.into(),
            requested_at: at,
            pods: pods.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn the_oldest_open_request_naming_this_pod() {
        let now = 10_000;
        let requests = [
            request("old", now - 4000, &["c-0", "c-1"]),
            request("a", now - 100, &["c-0", "c-1"]),
            request("b", now - 50, &["c-0", "c-1"]),
            request("other-set", now - 200, &["d-0"]),
        ];
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        let tried = |v: &[(&str, u32)]| {
            v.iter()
                .map(|(k, n)| ((*k).to_owned(), *n))
                .collect::<BTreeMap<_, _>>()
        };
        // (pod, done, tries, due)
        let cases = [
            ("c-0", set(&[]), tried(&[]), Some("a")),
            ("c-0", set(&["a"]), tried(&[]), Some("b")),
            ("c-0", set(&[]), tried(&[("a", 3)]), Some("b")),
            ("c-0", set(&[]), tried(&[("a", 2)]), Some("a")),
            ("c-0", set(&["a", "b"]), tried(&[]), None),
            ("c-2", set(&[]), tried(&[]), None),
            ("d-0", set(&[]), tried(&[]), Some("other-set")),
        ];
        for (pod, done, tries, want) in cases {
            let got = due(&requests, pod, now, &done, &tries).map(|r| r.backup.as_str());
            assert_eq!(got, want, "{pod} {done:?} {tries:?}");
        }
    }
}
