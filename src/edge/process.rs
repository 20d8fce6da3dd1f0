//! Starting Cassandra: replacing this process (`--exec`), or running it as a child and
//! supervising it: forwarding signals, reaping every exited child (ringkeeper is often
//! PID 1, which inherits orphans), and reporting how it ended.
//!
//! All reaping goes through one `waitpid(-1)` loop, never through `Child::wait`, so the
//! orphan reaper cannot steal the main child's exit status.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal as NixSignal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use crate::decide::supervise::{self, Action, ChildEnd, Signal};

/// Safety net for a missed SIGCHLD (signals coalesce): reap at least this often.
const REAP_INTERVAL: Duration = Duration::from_secs(1);

/// What to run.
pub struct Launch {
    /// Program and arguments.
    pub command: Vec<OsString>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

impl Launch {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.command[0]);
        cmd.args(&self.command[1..]);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// Replaces this process with the command. Returns only on failure.
pub fn exec(launch: &Launch) -> anyhow::Error {
    let err = launch.command().exec();
    anyhow::anyhow!("cannot exec {:?}: {err}", launch.command[0])
}

/// Signal streams, registered before the child starts so no signal is lost in between.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    child: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> anyhow::Result<Self> {
        let s = |kind| {
            signal(kind).map_err(|e| anyhow::anyhow!("cannot install a signal handler: {e}"))
        };
        Ok(Signals {
            term: s(SignalKind::terminate())?,
            int: s(SignalKind::interrupt())?,
            hup: s(SignalKind::hangup())?,
            quit: s(SignalKind::quit())?,
            child: s(SignalKind::child())?,
        })
    }

    /// Waits for the next stop request (SIGTERM or SIGINT); used before Cassandra starts.
    pub async fn stop_requested(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Term,
            _ = self.int.recv() => Signal::Int,
        }
    }
}

/// Starts the command as a child and supervises it until it exits.
pub async fn supervise(launch: &Launch, mut signals: Signals) -> anyhow::Result<ChildEnd> {
    let child = launch
        .command()
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {:?}: {e}", launch.command[0]))?;
    let pid = Pid::from_raw(
        i32::try_from(child.id()).map_err(|_| anyhow::anyhow!("child pid out of range"))?,
    );
    // `child` is dropped without waiting: reaping is done below with waitpid(-1).
    drop(child);
    info!(
        pid = pid.as_raw(),
        pid1 = (std::process::id() == 1),
        "cassandra started"
    );

    let mut state = supervise::State::default();
    let mut tick = tokio::time::interval(REAP_INTERVAL);
    loop {
        let received = tokio::select! {
            _ = signals.term.recv() => Some(Signal::Term),
            _ = signals.int.recv() => Some(Signal::Int),
            _ = signals.hup.recv() => Some(Signal::Hup),
            _ = signals.quit.recv() => Some(Signal::Quit),
            _ = signals.child.recv() => None,
            _ = tick.tick() => None,
        };
        if let Some(sig) = received {
            match supervise::on_signal(&mut state, sig) {
                Action::Forward(sig) => {
                    info!(signal = ?sig, pid = pid.as_raw(), stop_requests = state.stop_requests, "forwarding signal to cassandra");
                    if let Err(e) = kill(pid, to_nix(sig)) {
                        warn!(signal = ?sig, error = %e, "could not forward signal");
                    }
                }
            }
        }
        if let Some(end) = reap(pid) {
            return Ok(end);
        }
    }
}

/// Reaps every exited child; returns how the main child ended, if it did.
fn reap(main: Pid) -> Option<ChildEnd> {
    let mut main_end = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == main => {
                main_end = Some(ChildEnd::Exited(code))
            }
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == main => {
                main_end = Some(ChildEnd::Signaled(sig as i32))
            }
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return main_end,
            Ok(status) => {
                if let Some(pid) = status.pid() {
                    info!(pid = pid.as_raw(), ?status, "reaped orphaned process");
                }
            }
            Err(Errno::EINTR) => continue,
            Err(e) => {
                warn!(error = %e, "waitpid failed");
                return main_end;
            }
        }
    }
}

fn to_nix(sig: Signal) -> NixSignal {
    match sig {
        Signal::Term => NixSignal::SIGTERM,
        Signal::Int => NixSignal::SIGINT,
        Signal::Hup => NixSignal::SIGHUP,
        Signal::Quit => NixSignal::SIGQUIT,
    }
}
