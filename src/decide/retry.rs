//! Pure. Pauses before trying again: the rounds of DNS lookups while waiting for seeds,
//! and the identity record's writes that failed.

use std::time::Duration;

/// First pause: short, because a pod's DNS record usually appears within a second of the
/// pod getting its IP.
const FIRST: Duration = Duration::from_millis(250);
/// Longest pause: CoreDNS caches negative answers for up to 30 s, so polling faster than
/// every few seconds only adds load without seeing a change sooner.
const MAX: Duration = Duration::from_secs(5);

/// Pause between rounds once `--seed-wait` is over and the pod waits on (a refusal that
/// other pods can end): the longest pause, for the same reason; a member that starts
/// answering is seen within it.
pub const KEEP_WAITING: Duration = MAX;

/// Pause before lookup round `attempt + 1` (attempt counts from 0): 0.25, 0.5, 1, 2, 4,
/// then 5 s each time, never beyond what is left of the wait.
pub fn next_delay(attempt: u32, remaining: Duration) -> Duration {
    let delay = FIRST
        .checked_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
        .unwrap_or(MAX)
        .min(MAX);
    delay.min(remaining)
}

/// First pause after a failed write of this pod's identity-record entry: the entry is what
/// replaces this node automatically should its volume be lost (and keeps ordinal 0 from
/// founding a second cluster), so a write the API server refused for a moment (a restart,
/// a held connection) is tried again soon.
const FIRST_REWRITE: Duration = Duration::from_secs(5);
/// Longest: the entrypoint's refresh of the ring it sees, which writes the entry anyway.
const MAX_REWRITE: Duration = Duration::from_secs(30);

/// Pause before writing the entry again after `failures` failed writes in a row (1 or
/// more): 5, 10, 20, then 30 s each time; an API server that stays down is asked twice a
/// minute per pod, as when every write succeeds.
pub fn after_failed_writes(failures: u32) -> Duration {
    FIRST_REWRITE
        .checked_mul(
            1u32.checked_shl(failures.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .unwrap_or(MAX_REWRITE)
        .min(MAX_REWRITE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule() {
        let long = Duration::from_secs(600);
        let got: Vec<u64> = (0..8)
            .map(|a| next_delay(a, long).as_millis() as u64)
            .collect();
        assert_eq!(got, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(next_delay(40, long), MAX);
        assert_eq!(next_delay(u32::MAX, long), MAX);
        assert_eq!(
            next_delay(3, Duration::from_millis(700)),
            Duration::from_millis(700)
        );
        assert_eq!(next_delay(0, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn failed_writes_are_tried_again_sooner_first() {
        let got: Vec<u64> = [0, 1, 2, 3, 4, 5, 40, u32::MAX]
            .into_iter()
            .map(|f| after_failed_writes(f).as_secs())
            .collect();
        assert_eq!(got, [5, 5, 10, 20, 30, 30, 30, 30]);
    }
}
