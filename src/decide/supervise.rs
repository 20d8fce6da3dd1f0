//! Pure. What the entrypoint does when a signal arrives or Cassandra exits.
//!
//! The first stop request (SIGTERM, SIGINT) starts a shutdown: the node is drained
//! first when no preStop drain did it (`decide::drain::on_stop`), then Cassandra gets
//! SIGTERM, and SIGKILL only when the grace period is about to end. A second stop request
//! is forwarded at once: whoever sends it insists. Other signals are forwarded.

use std::time::Duration;

use serde::Serialize;

/// Signals the entrypoint handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Signal {
    /// SIGTERM: the kubelet stopping the container.
    Term,
    /// SIGINT: Ctrl-C in a terminal.
    Int,
    /// SIGHUP: terminal hangup or an operator's nudge.
    Hup,
    /// SIGQUIT: asks the JVM for a thread dump.
    Quit,
}

/// What the supervisor knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// How many stop requests (SIGTERM/SIGINT) arrived so far.
    pub stop_requests: u32,
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send this signal to Cassandra.
    Forward(Signal),
    /// Start the shutdown: drain unless a drain happened, then SIGTERM.
    Shutdown,
}

/// Decides what a signal leads to, and updates the state.
pub fn on_signal(state: &mut State, signal: Signal) -> Action {
    if matches!(signal, Signal::Term | Signal::Int) {
        state.stop_requests += 1;
        if state.stop_requests == 1 {
            return Action::Shutdown;
        }
    }
    Action::Forward(signal)
}

/// Kept back from the end of the grace period before Cassandra is killed, so that the
/// entrypoint logs how the shutdown went and exits before the kubelet kills everything.
pub const KILL_MARGIN: Duration = Duration::from_secs(1);

/// How long Cassandra may take to stop before SIGKILL, when the grace period began
/// `elapsed` ago (at the start of the preStop hook, or at SIGTERM without one).
pub fn until_kill(grace_period: Duration, elapsed: Duration) -> Duration {
    grace_period
        .saturating_sub(elapsed)
        .saturating_sub(KILL_MARGIN)
}

/// How the child ended, as the process edge observed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildEnd {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal number.
    Signaled(i32),
}

/// The entrypoint's own exit code: the child's code, or 128 + signal like a shell, so
/// that Kubernetes reports the same reason whether or not ringkeeper sits in between.
pub fn exit_code(end: ChildEnd) -> u8 {
    match end {
        ChildEnd::Exited(code) => u8::try_from(code).unwrap_or(1),
        ChildEnd::Signaled(signal) => u8::try_from(128 + signal).unwrap_or(255),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_stop_request_shuts_down_and_later_ones_are_forwarded() {
        let mut state = State::default();
        assert_eq!(
            on_signal(&mut state, Signal::Hup),
            Action::Forward(Signal::Hup)
        );
        assert_eq!(state.stop_requests, 0);
        assert_eq!(on_signal(&mut state, Signal::Term), Action::Shutdown);
        assert_eq!(
            on_signal(&mut state, Signal::Term),
            Action::Forward(Signal::Term)
        );
        assert_eq!(
            on_signal(&mut state, Signal::Int),
            Action::Forward(Signal::Int)
        );
        assert_eq!(state.stop_requests, 3);
    }

    #[test]
    fn kill_time() {
        let s = Duration::from_secs;
        assert_eq!(until_kill(s(30), s(0)), s(29));
        assert_eq!(until_kill(s(30), s(25)), s(4));
        assert_eq!(until_kill(s(30), s(40)), s(0));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(ChildEnd::Exited(0)), 0);
        assert_eq!(exit_code(ChildEnd::Exited(3)), 3);
        assert_eq!(exit_code(ChildEnd::Exited(-1)), 1);
        assert_eq!(exit_code(ChildEnd::Signaled(15)), 143);
        assert_eq!(exit_code(ChildEnd::Signaled(9)), 137);
    }
}
