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
use crate::decide::api_facts::{ApiFacts, Fact, Gap, NO_EVENTS, SetFacts, Wants, gaps};
use crate::decide::cluster_record;
use crate::decide::drain::{
    self, ClientSample, Clients, Marker, Mode, ModeRead, Nothing, Outcome, Process, Stage, Start,
};
use crate::decide::events::{self, LifecycleEvent};
use crate::decide::identity::PodName;
use crate::decide::ring::{self, LocalRow, Member, Readiness, readiness};
use crate::decide::room::Room;
use crate::decide::scale_down::{self, Decision, Intent, NO_SCALE_DOWN, ScaleDown};
use crate::edge::cql::{self, CqlError, CqlSettings, LIVENESS_WINDOW, Node};
use crate::edge::datadir;
use crate::edge::kube::{API_TIMEOUT, ASK_AGAIN_PAUSES, Events, Kube, log_gaps, turned_off};
use crate::edge::nodetool::{self, NodetoolError};
use crate::edge::rundir::{ProcessRecord, RunDir};
use crate::exit;

/// Kept back from the deadline for the wrap-up (SIGTERM, the marker, the summary), so the
/// command itself exits before the deadline.
const WRAP_UP: Duration = Duration::from_millis(300);
/// How often client traffic is read while waiting for clients to go quiet.
const CLIENT_POLL: Duration = Duration::from_millis(250);
/// How often the mode is read while waiting for a drain someone else started.
const AWAIT_POLL: Duration = Duration::from_secs(1);
/// Bound on the CQL look at the node before the drain (it is only a shortcut to the mode).
const CQL_LOOK: Duration = Duration::from_secs(2);
/// How often a pod scaled away looks at the ring again while pods with higher ordinals
/// leave first: a decommission's last step (LEFT) shows in gossip within a second or two.
const TURN_POLL: Duration = Duration::from_secs(2);
/// How often that wait is logged at info (the looks in between only at debug).
const TURN_REPORT_EVERY: Duration = Duration::from_secs(30);
/// Connect and request bound of the scale-down decision's own CQL connection: a node
/// scaled away is often busy (its neighbours just restarted, nodetool JVMs starting), and
/// a refusal for a slow answer leaves a down member behind.
const SCALE_DOWN_CQL: Duration = Duration::from_secs(5);
/// Bound on one look at the ring (`system.local`, peers, two reads of `gossip_info` up to
/// `LIVENESS_WINDOW` apart, the keyspaces).
const RING_LOOK: Duration = Duration::from_secs(20);

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

/// The drain in progress: the deadline, and what each stage reported.
struct Drain<'a> {
    cfg: &'a DrainConfig,
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
        nodetool::run(&self.cfg.settings.jmx, args, left)
            .await
            .map_err(Some)
    }
}

/// Runs `ringkeeper drain`.
pub async fn run(cfg: DrainConfig, kube_api: KubeApi) -> anyhow::Result<exit::Outcome> {
    let started = Instant::now();
    let started_at_ms = unix_ms();
    let grace = cfg.settings.grace_period;
    let mut d = Drain {
        cfg: &cfg,
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
            None => staged(&mut d, node.as_ref().map(|(n, _)| n), version_ref).await,
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

/// How long the end of the drain may wait for its Events: the time left until `deadline`
/// (`--grace-period` minus `--exit-margin` from the start; zero when past), at most two API
/// requests' worth (the Pod lookup, then the last Event).
fn event_budget(deadline: Instant, now: Instant) -> Duration {
    deadline.saturating_duration_since(now).min(2 * API_TIMEOUT)
}

/// The drain's Events. The Pod (its UID) and the StatefulSet are looked up in the
/// background as soon as the drain is this process's to run, each Event is published in
/// the background after it, in order, and the drain waits for them only at its end,
/// within a budget: the API never delays a stage. The StatefulSet is waited for only by a
/// drain that may decommission (a serving node).
struct Announcer {
    /// The Events once the Pod is known, after every Event queued so far.
    pending: Option<tokio::task::JoinHandle<Events>>,
    /// Whether any Event was queued (otherwise the end does not wait for the lookup).
    queued: bool,
    /// The StatefulSet as the lookup learned it.
    set: Option<tokio::sync::oneshot::Receiver<Fact<SetFacts>>>,
    /// The API, for the other pods of a scale-down.
    kube: Option<Arc<Kube>>,
    /// Why the set is not known without asking (no pod to ask about).
    no_pod: Option<String>,
}

impl Announcer {
    fn start(kube_api: KubeApi, pod: &Result<PodRef, String>) -> Announcer {
        let pod = match pod {
            Ok(pod) => pod.clone(),
            Err(why) => {
                // Turned off, the API is not asked whatever the pod: that is the reason.
                let why = match kube_api {
                    KubeApi::Off => turned_off(),
                    KubeApi::Auto => format!("no pod to publish Events on: {why}"),
                };
                log_gaps(&[Gap {
                    why: why.clone(),
                    without: vec![NO_EVENTS, NO_SCALE_DOWN],
                    expected: true,
                }]);
                return Announcer {
                    pending: None,
                    queued: false,
                    set: None,
                    kube: None,
                    no_pod: Some(why),
                };
            }
        };
        let kube = Arc::new(Kube::connect(kube_api, &pod.namespace, &pod.name));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let lookup = kube.clone();
        let pending = tokio::spawn(async move {
            let wants = Wants {
                own_pod: true,
                events: true,
                // The set named in the pod's name; the controller reference wins when it
                // names another.
                set: pod.name.parse::<PodName>().ok().map(|p| p.set),
                ..Wants::default()
            };
            let facts = lookup.own_facts(&wants).await;
            // One line for everything not learned; without the set, no decommission.
            log_gaps(&scale_down::drain_gaps(gaps(&facts, &wants)));
            let _ = tx.send(facts.set.clone());
            // Without the pod's UID no Event can name it, so a pod read the API did not
            // answer in time (a busy API server while nodes stream) is asked again, as the
            // StatefulSet is; the Events queued meanwhile wait for this.
            let pod_only = ApiFacts {
                set: Fact::NotAsked,
                node: Fact::NotAsked,
                record: Fact::NotAsked,
                ..facts
            };
            let wants = Wants {
                own_pod: true,
                events: true,
                ..Wants::default()
            };
            let (lookup, facts) = lookup.again().ask_again_if_late(&wants, pod_only).await;
            lookup.events(&facts.own_pod)
        });
        Announcer {
            pending: Some(pending),
            queued: false,
            set: Some(rx),
            kube: Some(kube),
            no_pod: None,
        }
    }

    /// The StatefulSet, once the lookup answered (at most two API rounds).
    async fn set(&mut self) -> Fact<SetFacts> {
        let Some(rx) = self.set.take() else {
            return Fact::Unknown(self.no_pod.clone().unwrap_or_default());
        };
        match tokio::time::timeout(3 * API_TIMEOUT, rx).await {
            Ok(Ok(set)) => set,
            _ => Fact::Unknown("the StatefulSet lookup did not finish".into()),
        }
    }

    /// Queues `event` after the ones before it.
    fn then(&mut self, event: LifecycleEvent) {
        let Some(before) = self.pending.take() else {
            return;
        };
        self.queued = true;
        self.pending = Some(tokio::spawn(async move {
            let events = before.await.unwrap_or_else(|_| Events::none());
            events.publish(&event).await;
            events
        }));
    }

    /// Queues `event` (if any) and waits for everything queued, at most `budget`.
    async fn finish(mut self, event: Option<LifecycleEvent>, budget: Duration) {
        if let Some(event) = event {
            self.then(event);
        }
        let Some(pending) = self.pending else { return };
        if !self.queued {
            // Nothing to publish: the lookup is not waited for.
            pending.abort();
            return;
        }
        if tokio::time::timeout(budget, pending).await.is_err() {
            debug!("Events still unpublished at the end of the drain's budget");
        }
    }
}

/// Asks the node over CQL first (cheap, and the connection watches clients later); when it
/// does not answer as a serving member, asks nodetool for the mode.
async fn look(
    d: &Drain<'_>,
    process: Process,
    settings: Option<&CqlSettings>,
) -> (Option<(Node, Option<String>)>, Result<Mode, String>) {
    if process == Process::Gone {
        return (None, Err("not running".into()));
    }
    let answer = tokio::time::timeout(CQL_LOOK.min(d.left()), async {
        let node = cql::connect(d.cfg.host, settings?).await.ok()?;
        let local = node.local().await.ok()?;
        let gossip = node.gossip().await.ok()?;
        let own = gossip.as_ref().map(|rows| {
            rows.iter()
                .find(|g| g.address.is_some() && g.address == local.broadcast_address)
        });
        let version = local.release_version.clone();
        Some((node, version, readiness(&local, own)))
    })
    .await;
    if let Ok(Some((node, version, Readiness::Ready))) = answer {
        return (Some((node, version)), Ok(Mode::Normal));
    }
    let node = match answer {
        Ok(Some((node, version, _))) => Some((node, version)),
        _ => None,
    };
    let mode = match d.nodetool(&["netstats"]).await {
        Ok(text) => Mode::from_nodetool(&text)
            .ok_or_else(|| "nodetool netstats printed no Mode line".to_owned()),
        Err(None) => Err("no time left to ask nodetool".into()),
        Err(Some(e)) => Err(e.to_string()),
    };
    (node, mode)
}

/// (b) announce, (b) clients move away, (b) close the native transport, (c) drain,
/// (d) verify.
async fn staged(d: &mut Drain<'_>, node: Option<&Node>, version: Option<&str>) -> Outcome {
    // Peers mark the node down at once, stop sending it replica traffic (hints are kept
    // instead) and send DOWN events to their clients.
    if let Some(cut) = early_step(d, Stage::AnnounceShutdown, &["disablegossip"]).await {
        return cut;
    }

    let since = Instant::now();
    let budget = drain::client_wait_budget(d.left(), d.cfg.settings.client_wait);
    let result = match node {
        None => "skipped: the node does not answer CQL".to_owned(),
        Some(node) => clients_leave(node, since, budget).await,
    };
    d.done(Stage::ClientsQuiet, since, result);

    // Closed at once: the requests that follow go to other nodes.
    let close = drain::close_clients_command(version);
    if let Some(cut) = early_step(d, Stage::CloseClients, close).await {
        return cut;
    }

    let since = Instant::now();
    match d.nodetool(&["drain"]).await {
        Ok(_) => d.done(Stage::Drain, since, "nodetool drain returned"),
        Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
            d.done(Stage::Drain, since, "deadline");
            return Outcome::CutShort {
                stage: Stage::Drain,
            };
        }
        Err(Some(e)) => {
            d.done(Stage::Drain, since, e.to_string());
            return Outcome::NotDrained {
                stage: Stage::Drain,
                why: e.to_string(),
            };
        }
    }
    verify(d).await
}

/// What a decommission needs beyond the decision.
struct DecommissionPlan {
    /// The StatefulSet's `whenScaled` (for the Event).
    pvc_when_scaled: String,
    /// This node, as `system.local` said (for the marker).
    local: LocalRow,
}

/// Decides whether this pod, serving, is scaled away and may leave the ring
/// (`decide::scale_down`): the StatefulSet first (from the API lookup already under way);
/// only for a pod scaled away, the other such pods' addresses, the keyspaces, the load,
/// the ring delay and the ring itself, looked at again every `TURN_POLL` while pods with
/// higher ordinals leave first.
async fn scale_down(
    d: &mut Drain<'_>,
    announcer: &mut Announcer,
    settings: Option<&CqlSettings>,
) -> (Decision, Option<DecommissionPlan>) {
    let since = Instant::now();
    let (decision, plan) = scale_down_inner(d, announcer, settings).await;
    match &decision {
        Decision::Drain { why } => info!(decision = "drain", why = %why, "scale-down decision"),
        Decision::Decommission { why, estimate } => info!(
            decision = "decommission",
            why = %why,
            estimate_s = estimate.as_secs(),
            "scale-down decision"
        ),
        Decision::RefuseDecommission { .. } | Decision::WaitForTurn { .. } => {}
    }
    d.done(
        Stage::ScaleDown,
        since,
        format!("{}: {}", decision.kind(), decision.why()),
    );
    (decision, plan)
}

/// Whether the API's "unknown" is a late or missing answer (worth asking again), not a
/// definite one (denied, not found); "did not finish" is this command's own lookup.
fn answered_late(why: &str) -> bool {
    crate::edge::kube::answered_late(why) || why.contains("did not finish")
}

async fn scale_down_inner(
    d: &mut Drain<'_>,
    announcer: &mut Announcer,
    settings: Option<&CqlSettings>,
) -> (Decision, Option<DecommissionPlan>) {
    let refuse = |why: String| (Decision::RefuseDecommission { why }, None);
    let pod = d
        .cfg
        .pod
        .as_ref()
        .ok()
        .and_then(|p| p.name.parse::<PodName>().ok());
    let first = announcer.set().await;
    let set = ask_again_if_late(d, announcer, pod.as_ref(), first).await;
    let sd: ScaleDown = match (
        &pod,
        scale_down::intent(pod.as_ref().map_or(0, |p| p.ordinal), &set),
    ) {
        (None, _) => {
            let why = "the pod's name is not <statefulset>-<ordinal> (--pod-name): drained as \
                       for a restart, no decommission on scale-down";
            warn!(why, "no decommission on scale-down");
            return (Decision::Drain { why: why.into() }, None);
        }
        (
            Some(_),
            Intent::Drain {
                why,
                protection_off,
            },
        ) => {
            // An unknown set was logged with the API gaps already, once.
            if protection_off && set.why().is_none() {
                warn!(why = %why, "no decommission on scale-down");
            }
            return (Decision::Drain { why }, None);
        }
        (Some(_), Intent::ScaleDown(sd)) => sd,
    };
    // The count is read again after a settle delay: a typo corrected within it (6 -> 3
    // -> 6), or a re-apply that restores the count, decommissions no one.
    let settle = scale_down::settle_delay(d.cfg.settings.scale_down_settle, d.left());
    if let Some(decision) = recheck_set(d, announcer, pod.as_ref(), sd.ordinal, settle).await {
        return (decision, None);
    }
    // Its own connection, with room for a busy node: the look before the drain allows
    // 2 s, this decision reads more and matters more.
    let node = match settings {
        None => None,
        Some(settings) => {
            let patient = CqlSettings {
                connect_timeout: SCALE_DOWN_CQL,
                request_timeout: SCALE_DOWN_CQL,
                ..settings.clone()
            };
            match cql::connect(d.cfg.host, &patient).await {
                Ok(node) => Some(node),
                Err(e) => {
                    return refuse(format!(
                        "this pod is scaled away, but the node does not answer CQL ({e}), so \
                         its ring and keyspaces cannot be checked"
                    ));
                }
            }
        }
    };
    let Some(node) = node.as_ref() else {
        return refuse(
            "this pod is scaled away, but the CQL settings are unusable, so the node's ring \
             and keyspaces cannot be checked"
                .into(),
        );
    };
    let set_name = set.known().map_or_else(String::new, |s| s.name.clone());
    let names: Vec<String> = sd
        .others
        .iter()
        .map(|o| format!("{set_name}-{o}"))
        .collect();
    let ips = match &announcer.kube {
        Some(kube) => kube.pod_ips(&names).await,
        None => Vec::new(),
    };
    let others: Vec<(u32, Fact<Option<std::net::IpAddr>>)> = sd
        .others
        .iter()
        .zip(
            ips.into_iter()
                .map(|(_, ip)| ip)
                .chain(std::iter::repeat(Fact::NotAsked)),
        )
        .map(|(o, ip)| (*o, ip))
        .collect();
    let bound = RING_LOOK.min(d.left());
    let read = tokio::time::timeout(bound, async {
        let local = node.local().await?;
        let keyspaces = node.keyspaces().await?;
        let ring_delay = node.system_property("cassandra.ring_delay_ms").await;
        let load = match local.broadcast_address {
            Some(a) => node.gossip_load(a).await,
            None => None,
        };
        Ok::<_, CqlError>((local, keyspaces, ring_delay, load))
    })
    .await;
    let (local, keyspaces, ring_delay, load) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return refuse(format!("the node's keyspaces could not be read: {e}")),
        Err(_) => return refuse(format!("the node did not answer within {bound:?}")),
    };
    let ring_delay = scale_down::ring_delay(ring_delay.as_deref());
    let load_bytes = match scale_down::gossip_load(load.as_deref()) {
        Some(bytes) => Some(bytes),
        None => match d.nodetool(&["info"]).await {
            Ok(text) => scale_down::nodetool_load(&text),
            Err(e) => {
                debug!(error = ?e, "nodetool info for the load");
                None
            }
        },
    };
    let mut next_report = Instant::now();
    loop {
        let members = match tokio::time::timeout(RING_LOOK.min(d.left()), members(node)).await {
            Ok(Ok(members)) => members,
            Ok(Err(e)) => return refuse(format!("the ring could not be read: {e}")),
            Err(_) => return refuse("the ring could not be read in time".into()),
        };
        // Read at each look: a pod that left before this one streamed its data to the
        // members that remain, and their reports follow within a refresh.
        let rooms = rooms(announcer, &set_name, local.cluster_name.as_deref()).await;
        let decision = scale_down::decide(&scale_down::Facts {
            scale_down: &sd,
            members: &members,
            others: &others,
            keyspaces: &keyspaces,
            load_bytes,
            ring_delay,
            left: d.left(),
            rooms: &rooms,
            now: unix_ms() / 1000,
        });
        match decision {
            Decision::WaitForTurn { why } => {
                if Instant::now() >= next_report {
                    info!(why = %why, left_s = d.left().as_secs(), "waiting for this pod's turn to decommission");
                    next_report = Instant::now() + TURN_REPORT_EVERY;
                } else {
                    debug!(why = %why, "still waiting for this pod's turn");
                }
                tokio::time::sleep(TURN_POLL).await;
            }
            Decision::Decommission { .. } => {
                // Once more right before anything leaves: the wait for a turn may have
                // been long, and the count may have changed meanwhile.
                if let Some(decision) =
                    recheck_set(d, announcer, pod.as_ref(), sd.ordinal, Duration::ZERO).await
                {
                    return (decision, None);
                }
                let plan = DecommissionPlan {
                    pvc_when_scaled: sd.pvc_when_scaled.clone(),
                    local,
                };
                return (decision, Some(plan));
            }
            other => return (other, None),
        }
    }
}

/// The free-space reports of the set's pods (`decide::room`), from the identity record,
/// asked again when the API server answered late.
async fn rooms(announcer: &Announcer, set: &str, cluster: Option<&str>) -> Fact<Vec<Room>> {
    let Some(kube) = &announcer.kube else {
        return Fact::Unknown("no access to the Kubernetes API".into());
    };
    let wants = Wants {
        record: Some(set.to_owned()),
        ..Wants::default()
    };
    let kube = kube.again();
    let first = kube.own_facts(&wants).await;
    let (_, facts) = kube.ask_again_if_late(&wants, first).await;
    match facts.record {
        Fact::Known(Some(data)) => {
            Fact::Known(cluster_record::rooms(&data, cluster.unwrap_or_default()))
        }
        Fact::Known(None) => Fact::Unknown(format!(
            "the ConfigMap {} is missing",
            cluster_record::configmap_name(set)
        )),
        Fact::Unknown(why) => Fact::Unknown(why),
        Fact::NotAsked => Fact::NotAsked,
    }
}

/// The StatefulSet, asked again when the API server did not answer (a busy node or API
/// server: the 2 s bound), a few times (`ASK_AGAIN_PAUSES`), with the "did not answer"
/// mark cleared: a pod scaled away that drains instead stays in the ring as a down
/// member. A definite answer (denied, not found) is not asked again. The retries are not
/// logged unless one changes the answer.
async fn ask_again_if_late(
    d: &Drain<'_>,
    announcer: &Announcer,
    pod: Option<&PodName>,
    mut set: Fact<SetFacts>,
) -> Fact<SetFacts> {
    let (Some(kube), Some(pod)) = (&announcer.kube, pod) else {
        return set;
    };
    for pause in ASK_AGAIN_PAUSES {
        let Fact::Unknown(why) = &set else { break };
        if !answered_late(why) {
            break;
        }
        tokio::time::sleep(pause.min(d.left())).await;
        let again = read_set(kube, pod).await;
        debug!(set = ?again, "the StatefulSet asked again");
        if again.known().is_some() {
            info!(
                "the StatefulSet was read on a later attempt: the decommission on scale-down applies after all"
            );
        }
        set = again;
    }
    set
}

/// The pod's StatefulSet, read anew (one `get`, on a fresh client).
async fn read_set(kube: &Kube, pod: &PodName) -> Fact<SetFacts> {
    kube.again()
        .own_facts(&Wants {
            set: Some(pod.set.clone()),
            ..Wants::default()
        })
        .await
        .set
}

/// Waits `settle`, then reads the StatefulSet again: `Some` when this pod is no longer
/// scaled away, or the set cannot be read (`scale_down::recheck`).
async fn recheck_set(
    d: &Drain<'_>,
    announcer: &Announcer,
    pod: Option<&PodName>,
    ordinal: u32,
    settle: Duration,
) -> Option<Decision> {
    let (Some(kube), Some(pod)) = (&announcer.kube, pod) else {
        return Some(Decision::RefuseDecommission {
            why: "the StatefulSet cannot be read again".into(),
        });
    };
    let when = if settle.is_zero() {
        "right before the decommission".to_owned()
    } else {
        info!(
            settle_s = settle.as_secs_f64(),
            "this pod is scaled away: reading spec.replicas again after the settle delay"
        );
        tokio::time::sleep(settle).await;
        format!("after the {:.0}s settle delay", settle.as_secs_f64())
    };
    let first = read_set(kube, pod).await;
    let set = ask_again_if_late(d, announcer, Some(pod), first).await;
    let decision = scale_down::recheck(ordinal, &set, &when);
    if let Some(decision) = &decision {
        info!(why = %decision.why(), "the scale-down was not confirmed");
    }
    decision
}

/// The ring as the node sees it, with liveness (two reads of `gossip_info`).
async fn members(node: &Node) -> Result<Vec<Member>, CqlError> {
    let local = node.local().await?;
    let peers = node.peers().await?;
    let gossip = node.gossip_over_time(&peers, LIVENESS_WINDOW).await?;
    let view = match &gossip {
        Some((first, latest)) => ring::view(&local, &peers, Some((first, latest))),
        None => ring::view(&local, &peers, None),
    };
    Ok(view.members)
}

/// Takes the node out of the ring: closes the native transport, `nodetool decommission`,
/// checks the mode, marks the volume. `Err(why)` when the decommission failed before the
/// node left (the caller drains instead).
///
/// What clients see: the pod turned not-ready first (the drain marker), so the client
/// Service stops sending new connections here. Gossip cannot announce a shutdown as a
/// drain does (`disablegossip`): a decommission needs gossip to announce LEAVING and LEFT
/// and to stream. So the native transport is closed at once instead (`disablebinary`, `-f`
/// on 5.0): the requests in flight at that instant fail, the next go to other nodes, as
/// in a drain. Left open, it would stay up through the whole decommission and close only
/// at its very end (5.0 then answers new requests "Server is shutting down" for up to 12
/// s). While the node is LEAVING, coordinators elsewhere write to it and to the nodes
/// taking its ranges; once it is LEFT, peers drop it and tell their clients
/// (REMOVED_NODE).
async fn decommission_node(
    d: &mut Drain<'_>,
    plan: &DecommissionPlan,
    version: Option<&str>,
) -> Result<Outcome, String> {
    let close = drain::close_clients_command(version);
    if let Some(cut) = early_step(d, Stage::CloseClients, close).await {
        return Ok(cut);
    }
    let since = Instant::now();
    match d.nodetool(&["decommission"]).await {
        Ok(_) => d.done(Stage::Decommission, since, "nodetool decommission returned"),
        Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
            // Cassandra goes on with it; SIGTERM stops the JVM mid-way, leaving the node
            // LEAVING in the ring.
            d.done(Stage::Decommission, since, "deadline");
            return Ok(Outcome::CutShort {
                stage: Stage::Decommission,
            });
        }
        Err(Some(e)) => {
            d.done(Stage::Decommission, since, e.to_string());
            warn!(error = %e, "DECOMMISSION FAILED: draining instead");
            return Err(e.to_string());
        }
    }
    let since = Instant::now();
    let seen = match d.nodetool(&["netstats"]).await {
        Ok(text) => match Mode::from_nodetool(&text) {
            Some(Mode::Decommissioned) => "mode DECOMMISSIONED".to_owned(),
            other => {
                let why = format!("nodetool decommission returned, but the mode is {other:?}");
                d.done(Stage::VerifyDecommissioned, since, why.clone());
                return Ok(Outcome::NotDrained {
                    stage: Stage::VerifyDecommissioned,
                    why,
                });
            }
        },
        Err(e) => format!(
            "mode not read ({}): nodetool decommission returns 0 only once the node left",
            e.map_or("no time left".to_owned(), |e| e.to_string())
        ),
    };
    d.done(Stage::VerifyDecommissioned, since, seen);
    let since = Instant::now();
    let marker = crate::decide::decommissioned::Decommissioned {
        host_id: plan.local.host_id.clone(),
        cluster_name: plan.local.cluster_name.clone(),
        address: plan.local.broadcast_address,
        decommissioned_at: unix_ms() / 1000,
    };
    match datadir::mark_decommissioned(&d.cfg.data_dir, &marker) {
        Ok(()) => d.done(
            Stage::MarkDecommissioned,
            since,
            format!(
                "{} written, join record removed: cassandra never starts on this volume again",
                d.cfg
                    .data_dir
                    .join(crate::decide::decommissioned::DECOMMISSIONED_MARKER)
                    .display()
            ),
        ),
        Err(e) => {
            // Cassandra itself refuses to start while system.local says DECOMMISSIONED.
            warn!(error = %e, "could not mark the volume as decommissioned");
            d.done(Stage::MarkDecommissioned, since, format!("not marked: {e}"));
        }
    }
    info!(
        host_id = plan.local.host_id.as_deref().unwrap_or("unknown"),
        "DECOMMISSIONED: the node left the ring"
    );
    Ok(Outcome::Decommissioned)
}

/// Runs a nodetool step that `nodetool drain` also does, only later (announcing the
/// shutdown, closing the native transport): its failure is logged and skipped, since the
/// drain still does it; running out of time cuts the drain short (returned).
async fn early_step(d: &mut Drain<'_>, stage: Stage, args: &[&str]) -> Option<Outcome> {
    let since = Instant::now();
    match d.nodetool(args).await {
        Ok(_) => {
            d.done(stage, since, args.join(" "));
            None
        }
        Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
            d.done(stage, since, "deadline");
            Some(Outcome::CutShort { stage })
        }
        Err(Some(e)) => {
            warn!(error = %e, ?stage, "could not do this before the drain; the drain will");
            d.done(stage, since, format!("skipped: {e}"));
            None
        }
    }
}

/// Watches this node's clients (everyone but ringkeeper) after the announcement, for at
/// most `budget`, until they are gone or plainly ignore it; returns what was seen.
async fn clients_leave(node: &Node, since: Instant, budget: Duration) -> String {
    let mut samples: Vec<ClientSample> = Vec::new();
    loop {
        match node.client_traffic().await {
            Ok((connections, requests)) => samples.push(ClientSample {
                at: since.elapsed(),
                connections,
                requests,
            }),
            Err(e) => return format!("stopped watching: {e}"),
        }
        let (first, last) = (samples[0], samples[samples.len() - 1]);
        let seen = format!(
            "{} request(s) over {} connection(s) in {:.1}s",
            last.requests.saturating_sub(first.requests),
            last.connections,
            last.at.saturating_sub(first.at).as_secs_f64()
        );
        match drain::clients(&samples) {
            Clients::Quiet => return format!("quiet: {seen}"),
            Clients::Ignoring => {
                return format!(
                    "clients keep sending (their drivers ignore DOWN events; they move when the \
                     connections close): {seen}"
                );
            }
            Clients::Leaving if since.elapsed() + CLIENT_POLL > budget => {
                return format!("not quiet within {budget:?}: {seen}");
            }
            Clients::Leaving => tokio::time::sleep(CLIENT_POLL).await,
        }
    }
}

/// (d) The node reports DRAINED and its native port is closed. The port is checked
/// first (cheap); the mode is read only with time left for a nodetool run.
async fn verify(d: &mut Drain<'_>) -> Outcome {
    let since = Instant::now();
    let port = SocketAddr::new(d.cfg.host, d.cfg.cql.port);
    let port_open = tokio::time::timeout(
        Duration::from_millis(500),
        tokio::net::TcpStream::connect(port),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let mode = if port_open {
        ModeRead::Unread("the native port is still open".into())
    } else {
        match d.nodetool(&["netstats"]).await {
            Ok(text) => ModeRead::Read(Mode::from_nodetool(&text)),
            Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
                ModeRead::Unread("no time left before the deadline".into())
            }
            Err(Some(e)) => ModeRead::Unread(e.to_string()),
        }
    };
    let (outcome, seen) = drain::after_drain(&mode, port_open);
    d.done(Stage::Verify, since, seen);
    outcome
}

/// Waits for a drain someone else started (a bare `nodetool drain`) to end.
async fn await_drained(d: &mut Drain<'_>) -> Outcome {
    let since = Instant::now();
    loop {
        match d.nodetool(&["netstats"]).await {
            Ok(text) if Mode::from_nodetool(&text) == Some(Mode::Drained) => {
                d.done(Stage::AwaitDrained, since, "DRAINED");
                return Outcome::AlreadyDrained;
            }
            Ok(_) => {}
            Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
                d.done(Stage::AwaitDrained, since, "deadline");
                return Outcome::CutShort {
                    stage: Stage::AwaitDrained,
                };
            }
            Err(Some(e)) => {
                d.done(Stage::AwaitDrained, since, e.to_string());
                return Outcome::NotDrained {
                    stage: Stage::AwaitDrained,
                    why: e.to_string(),
                };
            }
        }
        if d.left() < AWAIT_POLL {
            d.done(Stage::AwaitDrained, since, "deadline");
            return Outcome::CutShort {
                stage: Stage::AwaitDrained,
            };
        }
        tokio::time::sleep(AWAIT_POLL).await;
    }
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
mod tests {
    use super::*;

    #[test]
    fn the_event_wait_ends_by_the_drains_deadline() {
        let now = Instant::now();
        let s = Duration::from_secs;
        // (time left until the deadline, or past it; the wait allowed)
        let cases: &[(Option<Duration>, Option<Duration>, Duration)] = &[
            (Some(s(60)), None, 2 * API_TIMEOUT),
            (Some(s(3)), None, s(3)),
            (
                Some(Duration::from_millis(200)),
                None,
                Duration::from_millis(200),
            ),
            (Some(Duration::ZERO), None, Duration::ZERO),
            (None, Some(s(1)), Duration::ZERO),
        ];
        for &(ahead, past, want) in cases {
            let deadline = match (ahead, past) {
                (Some(a), _) => now + a,
                (None, Some(p)) => now.checked_sub(p).unwrap_or(now),
                (None, None) => unreachable!(),
            };
            assert_eq!(event_budget(deadline, now), want, "{ahead:?} {past:?}");
        }
    }
}
