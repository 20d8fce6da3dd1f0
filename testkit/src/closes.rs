//! Where a client's failures fall against the moments nodes closed their native transport.
//!
//! A driver that ignores DOWN events (the `scylla` driver, the Java driver 4.x) keeps
//! sending to a draining node until its connections close, and a request in flight on a
//! connection at that instant fails; the driver retries it elsewhere only when the
//! statement is marked idempotent. Those failures are the floor a preStop hook can reach
//! for such a client. Every other failure (a refused request while the node still served,
//! an error while a node started) is one the hook, or the ring, should not cause. This
//! module reads the close windows from `ringkeeper drain`'s own logs and sorts a load's
//! failures into the two classes. Pure: the caller reads the files.

use std::time::Duration;

use crate::load::{FailureEntry, LoadReport};

/// When one node closed its native transport: the `close_clients` stage, from the end of
/// the stage before it to its own end, on the wall clock (seconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct CloseWindow {
    pub from: f64,
    pub to: f64,
}

/// The close windows in a `ringkeeper drain` log (JSON lines, as in the cluster): the
/// `close_clients` stage begins when `clients_quiet` is done.
pub fn close_windows(drain_log: &str) -> Vec<CloseWindow> {
    let mut windows = Vec::new();
    let mut began = None;
    for line in drain_log.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["message"] != "drain stage done" {
            continue;
        }
        let Some(at) = v["timestamp"].as_str().and_then(rfc3339_unix) else {
            continue;
        };
        match v["stage"].as_str() {
            Some("ClientsQuiet") => began = Some(at),
            Some("CloseClients") => {
                if let Some(from) = began.take() {
                    windows.push(CloseWindow { from, to: at });
                }
            }
            _ => {}
        }
    }
    windows
}

/// The load's failure entries that fall outside every window, each widened by `slack`
/// after its end (a request broken at the close is counted when its task sees the error).
pub fn outside_windows(
    report: &LoadReport,
    windows: &[CloseWindow],
    slack: Duration,
) -> Vec<FailureEntry> {
    let slack = slack.as_secs_f64();
    report
        .failure_timeline
        .iter()
        .filter(|f| {
            let at = report.started_unix + f.at;
            !windows.iter().any(|w| at >= w.from && at <= w.to + slack)
        })
        .cloned()
        .collect()
}

/// `2026-12-03T23:59:59.123456Z` (UTC, as tracing writes it) as seconds since the epoch.
pub fn rfc3339_unix(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let min: i64 = t.next()?.parse().ok()?;
    let sec: f64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec >= 61.0 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), March-based years.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3_600 + min * 60) as f64 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0.0)),
            ("2000-03-01T00:00:00Z", Some(951_868_800.0)),
            ("2026-12-03T23:59:59.5Z", Some(1_796_342_399.5)),
            ("2024-02-29T12:00:00.000001Z", Some(1_709_208_000.000_001)),
            ("2026-12-03T23:59:59", None),
            ("2026-13-03T00:00:00Z", None),
            ("yesterday", None),
        ];
        for &(s, want) in cases {
            let got = rfc3339_unix(s);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "{s}: {g} != {w}"),
                _ => assert_eq!(got, want, "{s}"),
            }
        }
    }

    #[test]
    fn failures_against_windows() {
        let log = [
            r#"{"timestamp":"1970-01-01T00:01:40Z","level":"INFO","message":"drain stage done","stage":"AnnounceShutdown"}"#,
            r#"{"timestamp":"1970-01-01T00:01:42Z","level":"INFO","message":"drain stage done","stage":"ClientsQuiet"}"#,
            "not json",
            r#"{"timestamp":"1970-01-01T00:01:45Z","level":"INFO","message":"drain stage done","stage":"CloseClients"}"#,
            r#"{"timestamp":"1970-01-01T00:01:52Z","level":"INFO","message":"drain stage done","stage":"Drain"}"#,
        ]
        .join("\n");
        let windows = close_windows(&log);
        assert_eq!(
            windows,
            [CloseWindow {
                from: 102.0,
                to: 105.0
            }]
        );
        let entry = |at: f64| FailureEntry {
            at,
            kind: "broken_connection".into(),
            count: 1,
        };
        let report = LoadReport {
            duration: Duration::from_secs(200),
            writes_ok: 0,
            reads_ok: 0,
            failures: Default::default(),
            not_issued: 0,
            latency_p50: 0.0,
            latency_p99: 0.0,
            latency_max: 0.0,
            longest_gap: Duration::ZERO,
            started_unix: 100.0,
            failure_timeline: vec![entry(1.0), entry(2.0), entry(5.9), entry(6.1)],
            acked: vec![],
        };
        let outside = outside_windows(&report, &windows, Duration::from_secs(1));
        assert_eq!(outside, [entry(1.0), entry(6.1)]);
    }
}
