//! Pure. The pause between two rounds of DNS lookups while waiting for seeds.

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
}
