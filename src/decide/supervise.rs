//! Pure. What the entrypoint does when a signal arrives or Cassandra exits.
//!
//! Today every signal is forwarded to Cassandra at once: Cassandra's own shutdown hook
//! drains the node on SIGTERM. The state is explicit so that the preStop drain can plug
//! in here: once a drain has started, SIGTERM must wait for it (within the grace period)
//! rather than race it.

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
}

/// Decides what a signal leads to, and updates the state.
pub fn on_signal(state: &mut State, signal: Signal) -> Action {
    if matches!(signal, Signal::Term | Signal::Int) {
        state.stop_requests += 1;
    }
    Action::Forward(signal)
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
    fn signals_are_forwarded_and_counted() {
        let mut state = State::default();
        assert_eq!(
            on_signal(&mut state, Signal::Hup),
            Action::Forward(Signal::Hup)
        );
        assert_eq!(state.stop_requests, 0);
        assert_eq!(
            on_signal(&mut state, Signal::Term),
            Action::Forward(Signal::Term)
        );
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
    fn exit_codes() {
        assert_eq!(exit_code(ChildEnd::Exited(0)), 0);
        assert_eq!(exit_code(ChildEnd::Exited(3)), 3);
        assert_eq!(exit_code(ChildEnd::Exited(-1)), 1);
        assert_eq!(exit_code(ChildEnd::Signaled(15)), 143);
        assert_eq!(exit_code(ChildEnd::Signaled(9)), 137);
    }
}
