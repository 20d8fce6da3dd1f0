//! `ringkeeper drain`: the preStop hook. Turns the pod not-ready, announces the node's
//! shutdown, waits for its clients to move away, drains it over JMX and checks that it is
//! drained, all before `--grace-period` minus `--exit-margin` (counted from its start).
//! What to do at each point is decided in `decide::drain`; this module carries it out and
//! reports every stage with its duration.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use std::sync::Arc;

use crate::config::{DrainConfig, KubeApi, PodRef};
use crate::decide::api_facts::{ApiFacts, Fact, Gap, NO_EVENTS, SetFacts, Unknown, Wants, gaps};
use crate::decide::cluster_record;
use crate::decide::drain::{
    self, ClientSample, Clients, Marker, Mode, ModeRead, Nothing, Outcome, Process, Stage, Start,
};
use crate::decide::events::{self, LifecycleEvent};
use crate::decide::identity::PodName;
use crate::decide::ring::{self, LocalRow, Member, Readiness, readiness};
use crate::decide::scale_down::room::Room;
use crate::decide::scale_down::{self, Decision, Intent, NO_SCALE_DOWN, ScaleDown};
use crate::edge::Pending;
use crate::edge::cql::{self, CqlError, CqlSettings, LIVENESS_WINDOW, Node};
use crate::edge::datadir;
use crate::edge::kube::{API_TIMEOUT, Events, Kube, log_gaps, turned_off};
use crate::edge::nodetool::{self, NodetoolError};
use crate::edge::rundir::{ProcessRecord, RunDir};
use crate::exit;

mod announce;
mod decommission;

use announce::*;
use decommission::*;

/// Kept back from the deadline for the wrap-up (SIGTERM, the marker, the summary), so the
/// command itself exits before the deadline.
const WRAP_UP: Duration = Duration::from_millis(300);
/// How often client traffic is read while waiting for clients to go quiet.
const CLIENT_POLL: Duration = Duration::from_millis(250);
/// How often the mode is read while waiting for a drain someone else started.
const AWAIT_POLL: Duration = Duration::from_secs(1);
/// Bound on the CQL look at the node before the drain (it is only a shortcut to the mode).
const CQL_LOOK: Duration = Duration::from_secs(2);
/// One stage in the summary.
#[derive(Debug, Serialize)]
struct StageReport {
    stage: Stage,
    ms: u64,
    result: String,
}

/// The JSON summary printed on stdout.
#[derive(Debug, Serialize)]
struct Summary {
    #[serde(flatten)]
    outcome: Outcome,
    exit_code: u8,
    grace_period_s: f64,
    deadline_s: f64,
    elapsed_s: f64,
    mode_before: Option<Mode>,
    stages: Vec<StageReport>,
    /// The PID sent SIGTERM, when one was.
    sigterm: Option<i32>,
    /// What the drain did about a scale-down: `drain` (not one), `decommission`,
    /// `refused` (drained instead) or `decommission_failed` (drained instead); `None` when
    /// there was nothing to drain.
    decision: Option<&'static str>,
    /// Why.
    decision_reason: Option<String>,
}

/// What the drain's stages do to the node: nodetool (JMX) within a bound, and a look at
/// the native port. A trait so that the stages' order, skips and cut-shorts are
/// table-tested with a scripted node (`tests.rs`), with no JVM; `Local` is the real one.
trait NodeControl: Send + Sync {
    /// Runs `nodetool <args>`, killed after `limit`.
    fn nodetool<'a>(
        &'a self,
        args: &'a [&'a str],
        limit: Duration,
    ) -> Pending<'a, Result<String, NodetoolError>>;
    /// Whether the native (CQL) port still accepts connections.
    fn native_port_open(&self) -> Pending<'_, bool>;
}

/// The node in this pod: nodetool as configured, the CQL port on `--host`.
struct Local<'a> {
    cfg: &'a DrainConfig,
}

impl NodeControl for Local<'_> {
    fn nodetool<'a>(
        &'a self,
        args: &'a [&'a str],
        limit: Duration,
    ) -> Pending<'a, Result<String, NodetoolError>> {
        Box::pin(nodetool::run(&self.cfg.settings.jmx, args, limit))
    }

    fn native_port_open(&self) -> Pending<'_, bool> {
        let port = SocketAddr::new(self.cfg.host, self.cfg.cql.port);
        Box::pin(async move {
            tokio::time::timeout(
                Duration::from_millis(500),
                tokio::net::TcpStream::connect(port),
            )
            .await
            .is_ok_and(|r| r.is_ok())
        })
    }
}

/// The node's client traffic (connections other than ringkeeper's, requests so far), as
/// the drain watches it while clients move away: a trait for the same reason.
trait ClientTraffic: Send + Sync {
    fn client_traffic(&self) -> Pending<'_, Result<(u32, u64), CqlError>>;
}

impl ClientTraffic for Node {
    fn client_traffic(&self) -> Pending<'_, Result<(u32, u64), CqlError>> {
        Box::pin(Node::client_traffic(self))
    }
}

/// The drain in progress: the deadline, and what each stage reported.
struct Drain<'a> {
    cfg: &'a DrainConfig,
    /// Where nodetool and the port look go.
    node: &'a dyn NodeControl,
    started: Instant,
    deadline: Instant,
    stages: Vec<StageReport>,
    /// The scale-down decision and its reason (the summary's `decision`).
    decision: Option<(&'static str, String)>,
}

impl Drain<'_> {
    /// Time left before the deadline, keeping the wrap-up's share.
    fn left(&self) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(WRAP_UP)
    }

    /// Records a stage that began at `since`, and logs it.
    fn done(&mut self, stage: Stage, since: Instant, result: impl Into<String>) {
        let ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
        let result = result.into();
        info!(?stage, duration_ms = ms, result = %result, "drain stage done");
        self.stages.push(StageReport { stage, ms, result });
    }

    /// Runs nodetool within the time left; `Err(None)` when no time is left at all.
    async fn nodetool(&self, args: &[&str]) -> Result<String, Option<NodetoolError>> {
        let left = self.left();
        if left.is_zero() {
            return Err(None);
        }
        self.node.nodetool(args, left).await.map_err(Some)
    }
}

/// Runs `ringkeeper drain`.
pub async fn run(cfg: DrainConfig, kube_api: KubeApi) -> anyhow::Result<exit::Outcome> {
    let started = Instant::now();
    let started_at_ms = unix_ms();
    let grace = cfg.settings.grace_period;
    let local = Local { cfg: &cfg };
    let mut d = Drain {
        cfg: &cfg,
        node: &local,
        started,
        deadline: started + grace.saturating_sub(cfg.settings.exit_margin),
        stages: Vec::new(),
        decision: None,
    };
    let run = RunDir::new(&cfg.run_dir);

    // (a) Not ready from this moment: `ready` fails on the marker alone.
    let since = Instant::now();
    let previous = run.marker()?;
    if previous
        .as_ref()
        .and_then(|m| m.outcome.as_ref())
        .is_some_and(Outcome::drained)
    {
        d.done(Stage::NotReady, since, "an earlier drain completed");
        return Ok(finish(d, Outcome::AlreadyDrained, None, None));
    }
    if let Some(m) = previous.as_ref().filter(|m| {
        m.outcome.is_none() && m.pid != std::process::id() && crate::edge::rundir::drain_running(m)
    }) {
        // Another `ringkeeper drain` runs (the kubelet's and one by hand): wait for its
        // outcome rather than race it, since Cassandra's drain cannot run twice.
        let other = m.pid;
        d.done(
            Stage::NotReady,
            since,
            format!("drain {other} is under way"),
        );
        let since = Instant::now();
        loop {
            if let Some(o) = run.marker()?.and_then(|m| m.outcome) {
                d.done(Stage::AwaitDrained, since, drain::outcome_text(&o));
                let outcome = if o.drained() {
                    Outcome::AlreadyDrained
                } else {
                    o
                };
                return Ok(finish(d, outcome, None, None));
            }
            if d.left().is_zero() {
                d.done(Stage::AwaitDrained, since, "deadline");
                let outcome = Outcome::CutShort {
                    stage: Stage::AwaitDrained,
                };
                return Ok(finish(d, outcome, None, None));
            }
            tokio::time::sleep(CLIENT_POLL).await;
        }
    }
    run.write_marker(&Marker {
        started_at_ms,
        pid: std::process::id(),
        start_ticks: crate::edge::rundir::own_start_ticks(),
        grace_period_ms: u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
        outcome: None,
    })?;
    d.done(
        Stage::NotReady,
        since,
        "marked draining: ready fails from now on",
    );
    // This drain is the one that runs: its Events go on the Pod, looked up meanwhile.
    let mut announcer = Announcer::start(kube_api, &cfg.pod);

    // Which process, in which mode.
    let since = Instant::now();
    let record = run.cassandra()?;
    let process = record.map_or(Process::Unrecorded, |r| r.state());
    // CQL is only a shortcut to the mode and the way to watch clients: unusable credential
    // or CA files must not stop a drain (the node still drains over JMX).
    let settings = cql::load_settings(cfg.cql.port, CQL_LOOK, CQL_LOOK, &cfg.cql.access)
        .map_err(
            |e| warn!(error = %e, "CQL settings unusable: the drain goes on over nodetool alone"),
        )
        .ok();
    let (node, mode) = look(&d, process, settings.as_ref()).await;
    let version = node.as_ref().and_then(|(_, v)| v.clone());
    let mode_text = match &mode {
        Ok(m) => format!("{m:?}"),
        Err(e) => e.clone(),
    };
    d.done(
        Stage::Inspect,
        since,
        format!("process {process:?}, mode {mode_text}"),
    );
    let mode_before = mode.as_ref().ok().cloned();

    let start = drain::start(process, &mode);
    // A serving node of a pod scaled away may leave the ring instead of only draining.
    let decision = match (&start, &mode) {
        (Start::Drain, Ok(Mode::Normal)) => {
            Some(scale_down(&mut d, &mut announcer, settings.as_ref()).await)
        }
        (Start::Drain, _) => Some((
            Decision::Drain {
                why: format!("the node's mode is {mode_text}, not NORMAL: no decommission"),
            },
            None,
        )),
        _ => None,
    };
    let decommission = match decision {
        Some((Decision::Decommission { why, estimate }, Some(plan))) => {
            d.decision = Some(("decommission", why.clone()));
            announcer.then(events::decommissioning(
                &why,
                estimate.as_secs(),
                &plan.pvc_when_scaled,
            ));
            Some(plan)
        }
        Some((Decision::RefuseDecommission { why }, _)) => {
            warn!(reason = %why, "DECOMMISSION REFUSED: this pod is scaled away, but it drains instead and stays in the ring as a down member");
            announcer.then(events::decommission_refused(&why));
            d.decision = Some(("refused", why));
            None
        }
        Some((other, _)) => {
            d.decision = Some(("drain", other.why().to_owned()));
            None
        }
        None => None,
    };
    let announced = decommission.is_none() && matches!(start, Start::AwaitDrained | Start::Drain);
    if announced {
        announcer.then(events::draining(grace.as_secs()));
    }
    let version_ref = version.as_deref();
    let outcome = match start {
        Start::Nothing(Nothing::AlreadyDrained) => Outcome::AlreadyDrained,
        Start::Nothing(why) => Outcome::NothingToDrain {
            why: nothing_text(&why),
        },
        Start::Terminate(why) => {
            warn!(reason = %why, "cannot drain through nodetool: stopping cassandra with SIGTERM, whose shutdown hook drains");
            Outcome::NotDrained {
                stage: Stage::Inspect,
                why,
            }
        }
        Start::AwaitDrained => await_drained(&mut d).await,
        Start::Drain => match decommission {
            Some(plan) => {
                match decommission_node(&mut d, &plan, version_ref).await {
                    Ok(outcome) => outcome,
                    // Failed before leaving the ring: drain as for a restart.
                    Err(why) => {
                        announcer.then(events::decommission_failed(&why));
                        d.decision = Some(("decommission_failed", why));
                        staged(&mut d, None, version_ref).await
                    }
                }
            }
            None => {
                let clients = node.as_ref().map(|(n, _)| n as &dyn ClientTraffic);
                staged(&mut d, clients, version_ref).await
            }
        },
    };
    let sigterm = match &outcome {
        Outcome::CutShort { .. } | Outcome::NotDrained { .. } => terminate(&mut d, record),
        _ => None,
    };
    let event = events::drained(
        &outcome,
        announced
            || d.decision
                .as_ref()
                .is_some_and(|(k, _)| *k == "decommission_failed"),
        started.elapsed().as_secs_f64(),
    );
    let deadline = d.deadline;
    let report = finish_marked(d, &run, outcome, mode_before, sigterm, started_at_ms);
    // The marker holds the outcome already: the Events are waited for only until the
    // drain's own deadline, which it promises to return before.
    announcer
        .finish(event, event_budget(deadline, Instant::now()))
        .await;
    Ok(report)
}

/// Sends SIGTERM to the recorded Cassandra process, after checking that it still is that
/// process. Returns the PID signalled.
fn terminate(d: &mut Drain<'_>, record: Option<ProcessRecord>) -> Option<i32> {
    let since = Instant::now();
    let Some(record) = record else {
        d.done(
            Stage::Terminate,
            since,
            "no Cassandra process recorded in the run directory: nothing signalled",
        );
        return None;
    };
    if record.state() != Process::Running {
        d.done(Stage::Terminate, since, "cassandra already exited");
        return None;
    }
    let result = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(record.pid),
        nix::sys::signal::Signal::SIGTERM,
    );
    match result {
        Ok(()) => {
            d.done(
                Stage::Terminate,
                since,
                format!("SIGTERM sent to cassandra (pid {})", record.pid),
            );
            Some(record.pid)
        }
        Err(e) => {
            d.done(Stage::Terminate, since, format!("SIGTERM failed: {e}"));
            None
        }
    }
}

/// Completes the marker with the outcome, then reports.
fn finish_marked(
    d: Drain<'_>,
    run: &RunDir,
    outcome: Outcome,
    mode_before: Option<Mode>,
    sigterm: Option<i32>,
    started_at_ms: u64,
) -> exit::Outcome {
    let marker = Marker {
        started_at_ms,
        pid: std::process::id(),
        start_ticks: crate::edge::rundir::own_start_ticks(),
        grace_period_ms: u64::try_from(d.cfg.settings.grace_period.as_millis()).unwrap_or(0),
        outcome: Some(outcome.clone()),
    };
    if let Err(e) = run.write_marker(&marker) {
        warn!(error = %e, "could not record the drain's outcome; the entrypoint will drain again on SIGTERM if it can");
    }
    finish(d, outcome, mode_before, sigterm)
}

/// Logs the end and builds the summary.
fn finish(
    d: Drain<'_>,
    outcome: Outcome,
    mode_before: Option<Mode>,
    sigterm: Option<i32>,
) -> exit::Outcome {
    let code = outcome.exit_code();
    let elapsed = d.started.elapsed();
    let text = drain::outcome_text(&outcome);
    match &outcome {
        Outcome::CutShort { stage } => warn!(
            ?stage,
            elapsed_ms = elapsed.as_millis() as u64,
            sigterm,
            "DRAIN CUT SHORT by the deadline (--grace-period minus --exit-margin): cassandra was \
             sent SIGTERM and its shutdown hook drains what it can; raise terminationGracePeriodSeconds"
        ),
        Outcome::NotDrained { stage, why } => warn!(
            ?stage,
            why = %why,
            sigterm,
            "NOT DRAINED: cassandra was sent SIGTERM and its shutdown hook drains what it can"
        ),
        _ => info!(elapsed_ms = elapsed.as_millis() as u64, outcome = %text, "drain finished"),
    }
    let summary = Summary {
        exit_code: code,
        grace_period_s: d.cfg.settings.grace_period.as_secs_f64(),
        deadline_s: d
            .cfg
            .settings
            .grace_period
            .saturating_sub(d.cfg.settings.exit_margin)
            .as_secs_f64(),
        elapsed_s: elapsed.as_secs_f64(),
        mode_before,
        stages: d.stages,
        sigterm,
        decision: d.decision.as_ref().map(|(k, _)| *k),
        decision_reason: d.decision.map(|(_, why)| why),
        outcome,
    };
    exit::Outcome::Report {
        stdout: serde_json::to_string(&summary).unwrap_or_default(),
        code,
    }
}

fn nothing_text(why: &Nothing) -> String {
    match why {
        Nothing::NotRunning => "cassandra is not running".into(),
        Nothing::AlreadyDrained => "the node is already drained".into(),
        Nothing::NotJoined => {
            "the node has not joined the ring (starting or bootstrapping): it serves \
             no clients; SIGTERM stops it and the next start resumes its bootstrap"
                .into()
        }
        Nothing::Decommissioned => "the node has left the ring".into(),
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
