//! Pure. The preStop drain: what to do given what the node is doing, how much of the
//! grace period each stage may use, when clients have gone quiet, and how a drain ended
//! (its outcome, exit code and whether the shutdown was clean).
//!
//! The order of the stages is the point (see `cassandra-internals.md` §5 and the measured
//! rolling restarts in BENCHMARKS.md): a bare `nodetool drain` closes the native transport
//! before peers are told, and on 5.0 it first answers every new request with "Server is
//! shutting down" while it waits for the requests in flight. Here the node first announces
//! its shutdown through gossip (peers mark it down at once, stop sending it replica
//! traffic and send DOWN events to their clients), waits, bounded, while its own clients
//! move away (or until it is plain that their drivers ignore DOWN events), then closes
//! the native transport at once, so the next requests go to other nodes, and only then
//! drains: flushes every memtable and recycles the commit log.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `StorageService`'s operation mode, as `nodetool netstats` prints it (`Mode: NORMAL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// The JVM is starting (commit log replay, before gossip).
    Starting,
    /// Bootstrapping (or replacing): streaming its ranges.
    Joining,
    /// A serving ring member.
    Normal,
    /// Decommissioning.
    Leaving,
    /// Left the ring.
    Decommissioned,
    /// Moving a token.
    Moving,
    /// A drain is under way.
    Draining,
    /// Drained: nothing more is written; the JVM waits to be stopped.
    Drained,
    /// Anything else (5.0's `JOINING_FAILED`, `DECOMMISSION_FAILED`, future modes).
    #[serde(untagged)]
    Other(String),
}

impl Mode {
    /// Finds the `Mode: X` line of `nodetool netstats` (or `nodetool info`) output.
    pub fn from_nodetool(text: &str) -> Option<Mode> {
        let value = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Mode:"))?
            .trim();
        Some(match value {
            "STARTING" => Mode::Starting,
            "JOINING" => Mode::Joining,
            "NORMAL" => Mode::Normal,
            "LEAVING" => Mode::Leaving,
            "DECOMMISSIONED" => Mode::Decommissioned,
            "MOVING" => Mode::Moving,
            "DRAINING" => Mode::Draining,
            "DRAINED" => Mode::Drained,
            "" => return None,
            other => Mode::Other(other.to_owned()),
        })
    }
}

/// Cassandra's process, as the run directory's record and `/proc` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Process {
    /// The recorded PID is still the process the entrypoint started.
    Running,
    /// The recorded process has exited (or its PID now belongs to another process).
    Gone,
    /// No record: Cassandra was not started by a supervising entrypoint (e.g. `--exec`
    /// before this version, or another launcher). It can be drained over JMX, never
    /// signalled.
    Unrecorded,
}

/// What the drain does first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Announce, wait for clients, drain, verify.
    Drain,
    /// A drain someone else started (a bare `nodetool drain`) is under way: wait until
    /// the node reports DRAINED.
    AwaitDrained,
    /// Nothing to drain.
    Nothing(Nothing),
    /// The node cannot be drained through JMX: stop it with SIGTERM, whose shutdown hook
    /// drains. The text says why.
    Terminate(String),
}

/// Why there is nothing to drain; each ends with exit 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Nothing {
    /// Cassandra is not running.
    NotRunning,
    /// A drain already completed (a second preStop, or a drain by hand).
    AlreadyDrained,
    /// The node has not joined (starting or bootstrapping): it serves no clients and owns
    /// no ranges yet; SIGTERM stops it and the next start resumes the bootstrap (commit
    /// log replay restores anything it wrote).
    NotJoined,
    /// The node has left the ring.
    Decommissioned,
}

/// Decides the first step from the process and the node's mode (`Err`: what nodetool
/// said when it could not tell).
pub fn start(process: Process, mode: &Result<Mode, String>) -> Start {
    if process == Process::Gone {
        return Start::Nothing(Nothing::NotRunning);
    }
    match mode {
        Ok(Mode::Normal | Mode::Leaving | Mode::Moving) => Start::Drain,
        Ok(Mode::Drained) => Start::Nothing(Nothing::AlreadyDrained),
        Ok(Mode::Draining) => Start::AwaitDrained,
        Ok(Mode::Starting | Mode::Joining) => Start::Nothing(Nothing::NotJoined),
        Ok(Mode::Decommissioned) => Start::Nothing(Nothing::Decommissioned),
        // An unknown or failed mode: drain anyway; Cassandra refuses what it cannot do
        // and the outcome says so.
        Ok(Mode::Other(_)) => Start::Drain,
        Err(why) if process == Process::Unrecorded => Start::Terminate(format!(
            "{why}; and no Cassandra process is recorded in the run directory, so nothing \
             can be signalled either"
        )),
        Err(why) => Start::Terminate(why.clone()),
    }
}

/// The stages, in order. Each is logged with its duration and appears in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// (a) The pod turns not-ready: the drain marker is written.
    NotReady,
    /// Finding Cassandra's process and its mode.
    Inspect,
    /// (b) Gossip announces the shutdown (`nodetool disablegossip`): peers mark the
    /// node down and tell their clients.
    AnnounceShutdown,
    /// (b) Waiting until this node's clients stop sending requests.
    ClientsQuiet,
    /// (b) Closing the native transport (`nodetool disablebinary`).
    CloseClients,
    /// (c) `nodetool drain`: closes the native transport, flushes, recycles the commit log.
    Drain,
    /// (d) The node reports DRAINED and its native port is closed.
    Verify,
    /// Waiting for a drain someone else started.
    AwaitDrained,
    /// SIGTERM to Cassandra (its shutdown hook drains).
    Terminate,
    /// A pod scaled away: the StatefulSet, the ring, the keyspaces and the time left
    /// decide between decommission and drain (`decide::scale_down`), including waiting
    /// for pods with higher ordinals to leave first.
    ScaleDown,
    /// `nodetool decommission`: streams this node's data away and leaves the ring.
    Decommission,
    /// The node reports DECOMMISSIONED.
    VerifyDecommissioned,
    /// The volume is marked as holding a decommissioned node, its join record removed.
    MarkDecommissioned,
}

/// How long the client wait may take: at most `--client-wait`, and at most a third of
/// the time left, so the drain itself keeps the larger part.
pub fn client_wait_budget(left: Duration, client_wait: Duration) -> Duration {
    client_wait.min(left / 3)
}

/// This node's client traffic at one moment, from `system_views.clients`, without the
/// drain's own connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSample {
    /// When, since the drain started.
    pub at: Duration,
    /// Client connections.
    pub connections: u32,
    /// Requests served over them so far (a running total).
    pub requests: u64,
}

/// How long no request may arrive before clients count as gone: longer than the gaps of
/// a steady client at a few requests a second, short beside a grace period.
pub const QUIET_WINDOW: Duration = Duration::from_millis(1000);

/// How long clients get to react to the announcement before their traffic is compared
/// with its first second. Drivers that honour a DOWN event stop routing to the node within
/// milliseconds; the Java driver 4.x and the Rust `scylla` driver ignore DOWN for a node
/// they still have connections to, and keep sending until the connections close.
pub const REACTION_WINDOW: Duration = Duration::from_millis(2000);

/// What this node's clients did since the shutdown was announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clients {
    /// No client connection left, or no request for `QUIET_WINDOW`.
    Quiet,
    /// Still sending, at least half as much as in the first second after the
    /// announcement: these drivers do not act on DOWN events, so waiting longer only
    /// spends the grace period.
    Ignoring,
    /// Too early to tell, or traffic is falling: wait on.
    Leaving,
}

/// Judges client traffic from samples taken since the announcement.
pub fn clients(samples: &[ClientSample]) -> Clients {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Clients::Leaving;
    };
    if last.connections == 0 {
        return Clients::Quiet;
    }
    let last_second = samples
        .iter()
        .rev()
        .find(|s| last.at.saturating_sub(s.at) >= QUIET_WINDOW);
    let Some(last_second) = last_second else {
        return Clients::Leaving;
    };
    if last_second.requests >= last.requests {
        return Clients::Quiet;
    }
    if last.at.saturating_sub(first.at) < REACTION_WINDOW {
        return Clients::Leaving;
    }
    // Requests in the first second against requests in the last second.
    let first_second = samples
        .iter()
        .find(|s| s.at.saturating_sub(first.at) >= QUIET_WINDOW)
        .unwrap_or(last);
    let early = first_second.requests.saturating_sub(first.requests);
    let late = last.requests.saturating_sub(last_second.requests);
    if late * 2 >= early {
        Clients::Ignoring
    } else {
        Clients::Leaving
    }
}

/// The nodetool command that closes the native transport. On 5.0 a plain `disablebinary`
/// waits for requests in flight and meanwhile answers every new request on the open
/// connections with "Server is shutting down" (Overloaded, which drivers do not retry for
/// statements not marked idempotent); `-f` closes at once, so only the requests in flight
/// at that instant fail and the next ones go to other nodes. 4.x has no `-f` and closes
/// at once.
pub fn close_clients_command(release_version: Option<&str>) -> &'static [&'static str] {
    let major = release_version
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= 5 => &["disablebinary", "-f"],
        _ => &["disablebinary"],
    }
}

/// The mode as read after `nodetool drain` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeRead {
    /// What `nodetool netstats` said (`None`: no Mode line).
    Read(Option<Mode>),
    /// Not read, and why (the deadline, JMX gone, the port still open).
    Unread(String),
}

/// Judges a drain once `nodetool drain` returned 0, from the mode and the native port;
/// returns the outcome and what was seen. `nodetool drain` is synchronous and returns 0
/// only once Cassandra set DRAINED, so a mode that could not be read with the port closed
/// still counts as drained (and says so); an open port or another mode never does.
pub fn after_drain(mode: &ModeRead, port_open: bool) -> (Outcome, String) {
    let port = if port_open { "open" } else { "closed" };
    let not_drained = |seen: String| {
        (
            Outcome::NotDrained {
                stage: Stage::Verify,
                why: format!("nodetool drain returned, but {seen}"),
            },
            seen,
        )
    };
    match mode {
        _ if port_open => not_drained(format!("the native port is {port}")),
        ModeRead::Read(Some(Mode::Drained)) => (
            Outcome::Drained,
            format!("mode DRAINED, native port {port}"),
        ),
        ModeRead::Read(other) => not_drained(format!(
            "the mode is {other:?}, not DRAINED (native port {port})"
        )),
        ModeRead::Unread(why) => (
            Outcome::Drained,
            format!(
                "native port {port}; mode not read ({why}): nodetool drain returned 0, which it \
                 does only once the node is DRAINED"
            ),
        ),
    }
}

/// How a drain ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Drained and verified.
    Drained,
    /// A pod scaled away left the ring (`nodetool decommission`, mode DECOMMISSIONED).
    Decommissioned,
    /// It had been drained before.
    AlreadyDrained,
    /// Nothing to drain.
    NothingToDrain {
        /// Why.
        why: String,
    },
    /// The deadline came first; Cassandra was sent SIGTERM (when it could be).
    CutShort {
        /// The stage the deadline interrupted.
        stage: Stage,
    },
    /// The drain could not be done or confirmed; Cassandra was sent SIGTERM (when it
    /// could be).
    NotDrained {
        /// The stage that failed.
        stage: Stage,
        /// What happened.
        why: String,
    },
}

/// Exit code of `drain` when the deadline cut it short.
pub const EXIT_CUT_SHORT: u8 = 3;
/// Exit code of `drain` when it could not drain (or confirm it).
pub const EXIT_NOT_DRAINED: u8 = 4;

impl Outcome {
    /// The exit code of `ringkeeper drain`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Drained
            | Outcome::Decommissioned
            | Outcome::AlreadyDrained
            | Outcome::NothingToDrain { .. } => 0,
            Outcome::CutShort { .. } => EXIT_CUT_SHORT,
            Outcome::NotDrained { .. } => EXIT_NOT_DRAINED,
        }
    }

    /// True when the node's memtables are known to be flushed and its commit log
    /// recycled.
    pub fn drained(&self) -> bool {
        matches!(self, Outcome::Drained | Outcome::AlreadyDrained)
    }
}

/// The drain marker in the run directory: written when a drain starts (the pod is
/// not-ready from then on), completed with the outcome when it ends. `ready` only checks
/// that it exists; the entrypoint reads it on SIGTERM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// When the drain started (Unix milliseconds): the kubelet's grace period runs from
    /// the start of the preStop hook.
    pub started_at_ms: u64,
    /// The drain's own PID.
    pub pid: u32,
    /// Its start time (`/proc/<pid>/stat` field 22): with the PID, it tells the drain from
    /// a process that reused the PID. `None` in a marker of an older version, or where
    /// `/proc` is not the PID namespace's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ticks: Option<u64>,
    /// The grace period the drain was given, in milliseconds.
    pub grace_period_ms: u64,
    /// How it ended; `None` while it runs.
    pub outcome: Option<Outcome>,
}

/// What the entrypoint does when a stop request comes, given the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStop {
    /// No drain happened: drain first (within the grace period), then SIGTERM.
    DrainFirst,
    /// A drain is under way: wait for it (within the grace period), then SIGTERM.
    AwaitDrain,
    /// The drain ended: SIGTERM now.
    Terminate,
}

/// Decides what a stop request leads to. `drain_alive` says whether the marker's drain
/// process still runs (a drain killed midway leaves a marker without an outcome).
pub fn on_stop(marker: Option<&Marker>, drain_alive: bool) -> OnStop {
    match marker {
        None => OnStop::DrainFirst,
        Some(m) if m.outcome.is_none() && drain_alive => OnStop::AwaitDrain,
        Some(_) => OnStop::Terminate,
    }
}

/// How the entrypoint judges the shutdown once Cassandra has exited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShutdownVerdict {
    /// Drained before it exited: memtables flushed and the commit log recycled, so the
    /// next start replays nothing.
    pub clean: bool,
    /// Why not, when not.
    pub why: Option<String>,
}

/// Judges a shutdown: clean when a drain completed and Cassandra was not killed. The
/// commit log directory cannot tell: a drained node leaves a fresh, empty segment behind.
/// A shutdown that relied on Cassandra's own shutdown hook is not called clean: nothing
/// outside the JVM confirms that the hook finished.
pub fn shutdown_verdict(drain: Option<&Outcome>, killed: bool) -> ShutdownVerdict {
    let why = if killed {
        Some("cassandra was killed (SIGKILL) at the end of the grace period".to_owned())
    } else {
        match drain {
            Some(o) if o.drained() => None,
            // The node left the ring: nothing on this volume is ever replayed (its marker
            // keeps Cassandra from starting on it again).
            Some(Outcome::Decommissioned) => None,
            None => Some(
                "no drain completed before cassandra exited (its shutdown hook drains, unconfirmed)"
                    .to_owned(),
            ),
            Some(o) => Some(format!(
                "the drain did not complete ({}); cassandra's shutdown hook drains, unconfirmed",
                outcome_text(o)
            )),
        }
    };
    ShutdownVerdict {
        clean: why.is_none(),
        why,
    }
}

/// One line for an outcome.
pub fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Drained => "drained".into(),
        Outcome::Decommissioned => "decommissioned: left the ring".into(),
        Outcome::AlreadyDrained => "already drained".into(),
        Outcome::NothingToDrain { why } => format!("nothing to drain: {why}"),
        Outcome::CutShort { stage } => format!("cut short by the deadline during {stage:?}"),
        Outcome::NotDrained { stage, why } => format!("not drained ({stage:?}): {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_from_nodetool() {
        let cases: &[(&str, Option<Mode>)] = &[
            (
                "Mode: NORMAL\nNot sending any streams.\n",
                Some(Mode::Normal),
            ),
            ("Mode: DRAINED\n", Some(Mode::Drained)),
            ("  Mode: JOINING\n", Some(Mode::Joining)),
            (
                "Mode: DECOMMISSION_FAILED\n",
                Some(Mode::Other("DECOMMISSION_FAILED".into())),
            ),
            ("Mode:\n", None),
            ("nodetool: Failed to connect to '127.0.0.1:7199'\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(&Mode::from_nodetool(text), want, "{text:?}");
        }
    }

    #[test]
    fn first_step_table() {
        use Process::*;
        let unreachable: Result<Mode, String> = Err("JMX unreachable".into());
        let cases: &[(Process, Result<Mode, String>, Start)] = &[
            (Running, Ok(Mode::Normal), Start::Drain),
            (Unrecorded, Ok(Mode::Normal), Start::Drain),
            (Running, Ok(Mode::Leaving), Start::Drain),
            (
                Running,
                Ok(Mode::Other("JOINING_FAILED".into())),
                Start::Drain,
            ),
            (
                Running,
                Ok(Mode::Drained),
                Start::Nothing(Nothing::AlreadyDrained),
            ),
            (Running, Ok(Mode::Draining), Start::AwaitDrained),
            (
                Running,
                Ok(Mode::Joining),
                Start::Nothing(Nothing::NotJoined),
            ),
            (
                Running,
                Ok(Mode::Starting),
                Start::Nothing(Nothing::NotJoined),
            ),
            (
                Running,
                Ok(Mode::Decommissioned),
                Start::Nothing(Nothing::Decommissioned),
            ),
            (Gone, Ok(Mode::Normal), Start::Nothing(Nothing::NotRunning)),
            (
                Gone,
                unreachable.clone(),
                Start::Nothing(Nothing::NotRunning),
            ),
            (
                Running,
                unreachable.clone(),
                Start::Terminate("JMX unreachable".into()),
            ),
        ];
        for (process, mode, want) in cases {
            assert_eq!(&start(*process, mode), want, "{process:?} {mode:?}");
        }
        let Start::Terminate(why) = start(Unrecorded, &unreachable) else {
            panic!("no JMX and no process: still a Terminate that says nothing can be signalled")
        };
        assert!(why.contains("nothing can be signalled"), "{why}");
    }

    #[test]
    fn client_traffic_table() {
        use Clients::*;
        let s = |ms: u64, connections: u32, requests: u64| ClientSample {
            at: Duration::from_millis(ms),
            connections,
            requests,
        };
        let cases: &[(&[ClientSample], Clients)] = &[
            (&[], Leaving),
            // No client connection left.
            (&[s(0, 0, 0)], Quiet),
            // Requests still arriving, too early to judge.
            (&[s(0, 2, 10), s(500, 2, 20), s(1000, 2, 30)], Leaving),
            // Not watched long enough to tell.
            (&[s(0, 2, 10), s(500, 2, 10)], Leaving),
            // Nothing new for a whole window.
            (
                &[s(0, 2, 10), s(500, 2, 30), s(1000, 2, 30), s(1500, 2, 30)],
                Quiet,
            ),
            // A request late in the window.
            (&[s(0, 2, 30), s(600, 2, 30), s(1100, 2, 31)], Leaving),
            // Two seconds on, as busy as at first: DOWN events are ignored.
            (&[s(0, 2, 0), s(1000, 2, 60), s(2000, 2, 125)], Ignoring),
            // Falling off: drivers are moving away.
            (&[s(0, 2, 0), s(1000, 2, 60), s(2000, 2, 70)], Leaving),
        ];
        for (samples, want) in cases {
            assert_eq!(clients(samples), *want, "{samples:?}");
        }
    }

    #[test]
    fn closing_clients_does_not_reject_new_requests_on_5_0() {
        let cases: &[(Option<&str>, &[&str])] = &[
            (Some("5.0.8"), &["disablebinary", "-f"]),
            (Some("5.1-SNAPSHOT"), &["disablebinary", "-f"]),
            (Some("4.1.10"), &["disablebinary"]),
            (Some("4.0.17"), &["disablebinary"]),
            (None, &["disablebinary"]),
        ];
        for (version, want) in cases {
            assert_eq!(close_clients_command(*version), *want, "{version:?}");
        }
    }

    #[test]
    fn the_client_wait_leaves_the_drain_most_of_the_time() {
        let s = Duration::from_secs;
        assert_eq!(client_wait_budget(s(25), s(10)), s(25) / 3);
        assert_eq!(client_wait_budget(s(60), s(10)), s(10));
        assert_eq!(client_wait_budget(s(0), s(10)), s(0));
    }

    #[test]
    fn exit_codes_and_stop_decisions() {
        assert_eq!(Outcome::Drained.exit_code(), 0);
        assert_eq!(Outcome::AlreadyDrained.exit_code(), 0);
        assert_eq!(Outcome::NothingToDrain { why: "x".into() }.exit_code(), 0);
        assert_eq!(
            Outcome::CutShort {
                stage: Stage::Drain
            }
            .exit_code(),
            3
        );
        let failed = Outcome::NotDrained {
            stage: Stage::Drain,
            why: "x".into(),
        };
        assert_eq!(failed.exit_code(), 4);
        let marker = |outcome| Marker {
            started_at_ms: 1,
            pid: 2,
            start_ticks: None,
            grace_period_ms: 30_000,
            outcome,
        };
        assert_eq!(on_stop(None, false), OnStop::DrainFirst);
        assert_eq!(on_stop(Some(&marker(None)), true), OnStop::AwaitDrain);
        // A drain killed midway (the kubelet's own timeout) left no outcome.
        assert_eq!(on_stop(Some(&marker(None)), false), OnStop::Terminate);
        assert_eq!(
            on_stop(Some(&marker(Some(Outcome::Drained))), false),
            OnStop::Terminate
        );
    }

    #[test]
    fn shutdown_verdicts() {
        let drained = Some(Outcome::Drained);
        let cut = Some(Outcome::CutShort {
            stage: Stage::Drain,
        });
        let cases: &[(Option<Outcome>, bool, bool, &str)] = &[
            (drained.clone(), false, true, ""),
            (Some(Outcome::AlreadyDrained), false, true, ""),
            (drained.clone(), true, false, "SIGKILL"),
            (cut, false, false, "cut short"),
            (None, false, false, "no drain"),
            // The node left the ring: nothing on its volume is ever replayed.
            (Some(Outcome::Decommissioned), false, true, ""),
        ];
        for (drain, killed, clean, why) in cases {
            let v = shutdown_verdict(drain.as_ref(), *killed);
            assert_eq!(v.clean, *clean, "{drain:?} {killed}");
            assert!(v.why.unwrap_or_default().contains(why), "{why}");
        }
    }

    #[test]
    fn verification_table() {
        let unread = ModeRead::Unread("deadline".into());
        let cases: &[(ModeRead, bool, bool)] = &[
            (ModeRead::Read(Some(Mode::Drained)), false, true),
            (ModeRead::Read(Some(Mode::Drained)), true, false),
            (ModeRead::Read(Some(Mode::Normal)), false, false),
            (ModeRead::Read(None), false, false),
            (unread.clone(), false, true),
            (unread, true, false),
        ];
        for (mode, open, drained) in cases {
            let (outcome, seen) = after_drain(mode, *open);
            assert_eq!(outcome.drained(), *drained, "{mode:?} {open}: {seen}");
            assert!(
                seen.contains(if *open { "open" } else { "closed" }),
                "{seen}"
            );
        }
    }

    #[test]
    fn marker_round_trip() {
        let m = Marker {
            started_at_ms: 1_700_000_000_000,
            pid: 42,
            start_ticks: None,
            grace_period_ms: 30_000,
            outcome: Some(Outcome::CutShort {
                stage: Stage::ClientsQuiet,
            }),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(
            text.contains(r#""outcome":"cut_short","stage":"clients_quiet""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Marker>(&text).unwrap(), m);
    }
}
