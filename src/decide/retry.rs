//! Pure. Pauses before trying again: the rounds of DNS lookups while waiting for seeds,
//! and the identity record's writes that failed.

use std::time::Duration;

/// First pause: short, because a pod's DNS record usually appears within a second of the
/// pod getting its IP.
const FIRST: Duration = Duration::from_millis(250);
/// Longest pause while a name does not resolve: CoreDNS caches negative answers for up to
/// 30 s, so polling faster than every few seconds only adds load without seeing a change
/// sooner.
const MAX: Duration = Duration::from_secs(5);
/// Longest pause once every name resolves, the wait being on the ring (a lower ordinal
/// joining, another node's join, a member coming back): such a change is seen at the next
/// round's CQL probes, so a joining pod starts within 2 s of it instead of 5 (each round
/// asks at most `--seed-count` candidates, and a few more for the identity record).
const MAX_ON_RING: Duration = Duration::from_secs(2);

/// What a wait waits on, as the last round's lookups say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitingOn {
    /// A name did not resolve, or DNS failed to answer: the wait is on DNS.
    Dns,
    /// Every name resolved: the wait is on what the ring answers.
    Ring,
}

impl WaitingOn {
    /// From whether every lookup of the last round gave an address.
    pub fn of(every_name_resolved: bool) -> WaitingOn {
        if every_name_resolved {
            WaitingOn::Ring
        } else {
            WaitingOn::Dns
        }
    }

    fn longest(self) -> Duration {
        match self {
            WaitingOn::Dns => MAX,
            WaitingOn::Ring => MAX_ON_RING,
        }
    }
}

/// Pause between two looks at the ring while the entrypoint asks, before it touches its
/// volume, whether the node a decommission marker names has left: the longest pause; a
/// member that starts answering is seen within it.
pub const KEEP_WAITING: Duration = MAX;

/// Pause between rounds while the entrypoint waits out a refusal other pods can end:
/// the longest pause for what it waits on.
pub fn keep_waiting(on: WaitingOn) -> Duration {
    on.longest()
}

/// Pause before lookup round `attempt + 1` (attempt counts from 0): 0.25, 0.5, 1, 2, 4,
/// then 5 s each time while waiting on DNS (2 s from the fourth round on while waiting on
/// the ring), never beyond what is left of the wait.
pub fn next_delay(attempt: u32, remaining: Duration, on: WaitingOn) -> Duration {
    let delay = FIRST
        .checked_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
        .unwrap_or(MAX)
        .min(on.longest());
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
        for (on, want) in [
            (
                WaitingOn::Dns,
                [250, 500, 1000, 2000, 4000, 5000, 5000, 5000],
            ),
            (
                WaitingOn::Ring,
                [250, 500, 1000, 2000, 2000, 2000, 2000, 2000],
            ),
        ] {
            let got: Vec<u64> = (0..8)
                .map(|a| next_delay(a, long, on).as_millis() as u64)
                .collect();
            assert_eq!(got, want, "{on:?}");
            assert_eq!(next_delay(40, long, on), on.longest());
            assert_eq!(next_delay(u32::MAX, long, on), on.longest());
            assert_eq!(
                next_delay(3, Duration::from_millis(700), on),
                Duration::from_millis(700)
            );
            assert_eq!(next_delay(0, Duration::ZERO, on), Duration::ZERO);
        }
        assert_eq!(keep_waiting(WaitingOn::of(true)), Duration::from_secs(2));
        assert_eq!(keep_waiting(WaitingOn::of(false)), KEEP_WAITING);
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
