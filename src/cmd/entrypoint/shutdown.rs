//! How the entrypoint ends: a stop signal before Cassandra started, or Cassandra's end
//! turned into the exit code, with the drain marker saying whether the shutdown was clean
//! (`decide::drain::shutdown_verdict`).

use std::ops::ControlFlow;

use tracing::{info, warn};

use crate::decide::drain::shutdown_verdict;
use crate::decide::supervise::{self, Signal};
use crate::edge::process::Ended;
use crate::edge::rundir::RunDir;
use crate::exit::Outcome;

/// The outcome of a stop signal that came before Cassandra started: the exit code of a
/// process that signal ended (128 + N, as a shell reports it).
pub(super) fn stopped(sig: Signal) -> Outcome {
    Outcome::Exit(supervise::exit_code(supervise::ChildEnd::Signaled(
        signal_number(sig),
    )))
}

/// The exit outcome once supervision `ended`: Cassandra's own exit code, except that a
/// shutdown that drained cleanly (the drain marker in `run` says so) exits 0. Logs which
/// it was: an exit nobody asked for, a clean stop, or a stop without a clean drain.
pub(super) fn outcome(ended: Ended, run: &RunDir) -> Outcome {
    let Ended {
        end,
        stop_requested,
        killed,
    } = ended;
    let mut code = supervise::exit_code(end);
    // A drain that could not finish stops Cassandra itself (SIGTERM): a shutdown too.
    let marker = run.marker().ok().flatten();
    if !stop_requested && marker.is_none() {
        warn!(
            ?end,
            exit_code = code,
            "cassandra exited without being asked to stop"
        );
        return Outcome::Exit(code);
    }
    // The last word on the shutdown: drained (nothing for the next start to replay), or not.
    let outcome = marker.and_then(|m| m.outcome);
    let verdict = shutdown_verdict(outcome.as_ref(), killed);
    if verdict.clean {
        code = 0;
        info!(
            ?end,
            exit_code = code,
            "cassandra stopped cleanly: drained, commit log recycled (the next start replays nothing)"
        );
    } else {
        warn!(
            ?end,
            exit_code = code,
            why = verdict.why.as_deref().unwrap_or_default(),
            "cassandra stopped WITHOUT a clean drain: the next start replays the commit log"
        );
    }
    Outcome::Exit(code)
}

/// Ends the entrypoint refused, Cassandra not started (`reason` says why).
pub(super) fn refuse<T>(reason: String) -> ControlFlow<Outcome, T> {
    ControlFlow::Break(Outcome::Refused {
        stdout: None,
        reason,
    })
}

fn signal_number(sig: Signal) -> i32 {
    match sig {
        Signal::Term => 15,
        Signal::Int => 2,
        Signal::Hup => 1,
        Signal::Quit => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::drain::{Marker, Outcome as Drained, Stage};
    use crate::decide::supervise::ChildEnd;

    /// How the entrypoint's exit code follows from how Cassandra ended, whether a stop was
    /// asked for, whether it had to be killed, and what the drain marker says: 0 only for
    /// a shutdown a drain confirmed; otherwise Cassandra's own status (128 + N for a
    /// signal), as Kubernetes would report it without ringkeeper in between.
    #[test]
    fn exit_codes_after_cassandra_ended() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let marker = |outcome: Option<Drained>| Marker {
            started_at_ms: 0,
            pid: 1,
            start_ticks: None,
            grace_period_ms: 1_200_000,
            outcome,
        };
        let cut = || Drained::CutShort {
            stage: Stage::Drain,
        };
        // (what, how it ended, stop asked, killed, the drain marker, exit code)
        type Case<'a> = (&'a str, ChildEnd, bool, bool, Option<Marker>, u8);
        let cases: Vec<Case> = vec![
            (
                "crashed on its own",
                ChildEnd::Exited(3),
                false,
                false,
                None,
                3,
            ),
            (
                "killed by the OOM killer",
                ChildEnd::Signaled(9),
                false,
                false,
                None,
                137,
            ),
            (
                "stopped after a confirmed drain",
                ChildEnd::Signaled(15),
                true,
                false,
                Some(marker(Some(Drained::Drained))),
                0,
            ),
            (
                "stopped after a decommission",
                ChildEnd::Exited(143),
                true,
                false,
                Some(marker(Some(Drained::Decommissioned))),
                0,
            ),
            (
                "stopped with no drain at all: its own status",
                ChildEnd::Signaled(15),
                true,
                false,
                None,
                143,
            ),
            (
                "a drain cut short stopped it (no stop asked of the entrypoint)",
                ChildEnd::Signaled(15),
                false,
                false,
                Some(marker(Some(cut()))),
                143,
            ),
            (
                "a drain still running when it exited",
                ChildEnd::Exited(0),
                true,
                false,
                Some(marker(None)),
                0,
            ),
            (
                "killed at the end of the grace period, even after a drain",
                ChildEnd::Signaled(9),
                true,
                true,
                Some(marker(Some(Drained::Drained))),
                137,
            ),
        ];
        for (what, end, stop_requested, killed, marker, want) in cases {
            let _ = std::fs::remove_dir_all(dir.path());
            std::fs::create_dir_all(dir.path()).unwrap();
            if let Some(m) = &marker {
                run.write_marker(m).unwrap();
            }
            let got = outcome(
                Ended {
                    end,
                    stop_requested,
                    killed,
                },
                &run,
            );
            assert!(
                matches!(got, Outcome::Exit(code) if code == want),
                "{what}: {got:?}, want exit {want}"
            );
        }
        assert!(matches!(stopped(Signal::Term), Outcome::Exit(143)));
        assert!(matches!(stopped(Signal::Int), Outcome::Exit(130)));
    }
}
