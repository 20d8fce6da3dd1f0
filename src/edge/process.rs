//! Starting Cassandra: replacing this process (`--exec`), or running it as a child and
//! supervising it: forwarding signals, reaping every exited child (ringkeeper is often
//! PID 1, which inherits orphans), and reporting how it ended.
//!
//! All reaping goes through one `waitpid(-1)` loop, never through `Child::wait`, so the
//! orphan reaper cannot steal the main child's exit status.

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal as NixSignal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::decide::drain::{self, OnStop};
use crate::decide::supervise::{self, Action, ChildEnd, Signal};
use crate::edge::Pending;
use crate::edge::rundir::{ProcessRecord, RunDir};

/// Safety net for a missed SIGCHLD (signals coalesce): reap at least this often; also how
/// often a shutdown checks its drain and its deadline.
const TICK: Duration = Duration::from_millis(250);

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
        // Cassandra has no use for the backup store's secrets: they stay out of its
        // environment (and /proc/<pid>/environ, heap dumps, its logged JVM arguments).
        for name in crate::edge::store::SECRET_VARIABLES {
            cmd.env_remove(name);
        }
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

/// Where a stop request comes from before Cassandra starts: the pod's signals, or in a
/// table test a scripted one.
pub trait StopRequests: Send {
    /// Waits for the next stop request.
    fn next_stop(&mut self) -> Pending<'_, Signal>;
}

impl StopRequests for Signals {
    fn next_stop(&mut self) -> Pending<'_, Signal> {
        Box::pin(self.stop_requested())
    }
}

/// How the supervisor stops Cassandra when asked (see `decide::supervise`).
pub struct StopPlan {
    /// The run directory: Cassandra's PID is recorded here, the drain marker read.
    pub run: RunDir,
    /// The pod's terminationGracePeriodSeconds.
    pub grace_period: Duration,
    /// The command that drains the node (`ringkeeper drain ...`), given the grace period
    /// it has left.
    pub drain: Box<dyn Fn(Duration) -> Launch + Send>,
}

/// How supervision ended.
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    /// How Cassandra ended.
    pub end: ChildEnd,
    /// Whether a stop was requested (and so a shutdown ran).
    pub stop_requested: bool,
    /// Whether Cassandra had to be killed at the end of the grace period.
    pub killed: bool,
}

/// A shutdown under way.
struct Stopping {
    /// SIGKILL Cassandra at this moment.
    kill_at: Instant,
    /// The drain this entrypoint started, while it runs.
    drain: Option<Pid>,
    /// Waiting for the preStop drain's outcome in the marker.
    await_marker: bool,
    term_sent: bool,
    killed: bool,
}

/// Starts the command as a child and supervises it until it exits.
pub async fn supervise(
    launch: &Launch,
    mut signals: Signals,
    plan: StopPlan,
) -> anyhow::Result<Ended> {
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
    // `drain` signals only this recorded process, after checking its start time.
    match ProcessRecord::of_child(pid.as_raw()) {
        Ok(record) => {
            if let Err(e) = plan.run.record_cassandra(&record) {
                warn!(error = %e, run_dir = %plan.run.path().display(), "cannot record cassandra's PID: a drain will not be able to stop it if the deadline comes first");
            }
        }
        Err(e) => {
            warn!(error = %e, "cannot record cassandra's process: a drain will not be able to stop it if the deadline comes first")
        }
    }

    let mut state = supervise::State::default();
    let mut stopping: Option<Stopping> = None;
    let mut tick = tokio::time::interval(TICK);
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
                    send(pid, sig);
                }
                Action::Shutdown => stopping = Some(begin_shutdown(&plan, pid, sig)),
            }
        }
        let (end, drain_ended) = reap(pid, stopping.as_ref().and_then(|s| s.drain));
        if let Some(end) = end {
            return Ok(Ended {
                end,
                stop_requested: stopping.is_some(),
                killed: stopping.as_ref().is_some_and(|s| s.killed),
            });
        }
        if let Some(s) = stopping.as_mut() {
            if drain_ended {
                s.drain = None;
            }
            let now = Instant::now();
            let marker_done = s.await_marker
                && plan.run.marker().ok().flatten().is_none_or(|m| {
                    m.outcome.is_some() || !Path::new(&format!("/proc/{}", m.pid)).exists()
                });
            if !s.term_sent && (drain_ended || marker_done || now >= s.kill_at) {
                info!(pid = pid.as_raw(), "sending SIGTERM to cassandra");
                send(pid, Signal::Term);
                s.term_sent = true;
                s.await_marker = false;
            }
            if !s.killed && now >= s.kill_at {
                warn!(
                    pid = pid.as_raw(),
                    "cassandra did not exit within the grace period: SIGKILL"
                );
                let _ = kill(pid, NixSignal::SIGKILL);
                s.killed = true;
            }
        }
    }
}

/// Starts a shutdown: drains first unless a drain ran, then (later) SIGTERM.
fn begin_shutdown(plan: &StopPlan, pid: Pid, sig: Signal) -> Stopping {
    let marker = plan.run.marker().ok().flatten();
    let drain_alive = marker
        .as_ref()
        .is_some_and(crate::edge::rundir::drain_running);
    // The kubelet's grace period began with the preStop hook, if one ran.
    let elapsed = marker.as_ref().map_or(Duration::ZERO, |m| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Duration::from_millis(now.saturating_sub(m.started_at_ms))
    });
    let left = supervise::until_kill(plan.grace_period, elapsed);
    let mut stopping = Stopping {
        kill_at: Instant::now() + left,
        drain: None,
        await_marker: false,
        term_sent: false,
        killed: false,
    };
    match drain::on_stop(marker.as_ref(), drain_alive) {
        OnStop::DrainFirst => {
            warn!(signal = ?sig, grace_left_ms = left.as_millis() as u64, "stop requested without a preStop drain: draining first");
            let launch = (plan.drain)(left + supervise::KILL_MARGIN);
            match spawn_to_stderr(&launch) {
                Ok(drain) => stopping.drain = Some(drain),
                Err(e) => {
                    warn!(error = %e, "cannot start the drain: SIGTERM now (cassandra's shutdown hook drains)");
                    send(pid, Signal::Term);
                    stopping.term_sent = true;
                }
            }
        }
        OnStop::AwaitDrain => {
            info!(signal = ?sig, "a drain is under way: SIGTERM once it ends");
            stopping.await_marker = true;
        }
        OnStop::Terminate => {
            info!(signal = ?sig, outcome = ?marker.and_then(|m| m.outcome), "the preStop drain ended: forwarding SIGTERM");
            send(pid, Signal::Term);
            stopping.term_sent = true;
        }
    }
    stopping
}

fn send(pid: Pid, sig: Signal) {
    if let Err(e) = kill(pid, to_nix(sig)) {
        warn!(signal = ?sig, error = %e, "could not signal cassandra");
    }
}

/// Starts a helper child whose stdout goes to our stderr (stdout belongs to Cassandra).
fn spawn_to_stderr(launch: &Launch) -> anyhow::Result<Pid> {
    let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
    let child = launch
        .command()
        .stdout(std::process::Stdio::from(stderr))
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {:?}: {e}", launch.command[0]))?;
    let pid = Pid::from_raw(i32::try_from(child.id())?);
    // Reaped by the supervision loop's waitpid(-1), like every child.
    drop(child);
    Ok(pid)
}

/// Reaps every exited child; returns how the main child ended, if it did, and whether
/// the `helper` child (the entrypoint's own drain) ended.
fn reap(main: Pid, helper: Option<Pid>) -> (Option<ChildEnd>, bool) {
    let mut main_end = None;
    let mut helper_ended = false;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == main => {
                main_end = Some(ChildEnd::Exited(code))
            }
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == main => {
                main_end = Some(ChildEnd::Signaled(sig as i32))
            }
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return (main_end, helper_ended),
            Ok(status) if status.pid().is_some() && status.pid() == helper => {
                info!(?status, "the drain ended");
                helper_ended = true;
            }
            Ok(status) => {
                if let Some(pid) = status.pid() {
                    info!(pid = pid.as_raw(), ?status, "reaped orphaned process");
                }
            }
            Err(Errno::EINTR) => continue,
            Err(e) => {
                warn!(error = %e, "waitpid failed");
                return (main_end, helper_ended);
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
