//! How the entrypoint ends: a stop signal before Cassandra started, or Cassandra's end
//! turned into the exit code, with the drain marker saying whether the shutdown was clean
//! (`decide::drain::shutdown_verdict`).

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

fn signal_number(sig: Signal) -> i32 {
    match sig {
        Signal::Term => 15,
        Signal::Int => 2,
        Signal::Hup => 1,
        Signal::Quit => 3,
    }
}
