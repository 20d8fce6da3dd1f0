//! The drain's announcer: the pod's facts and its Events (`Draining`, the outcome),
//! published in the background within the drain's budget.

use super::*;

/// How long the end of the drain may wait for its Events: the time left until `deadline`
/// (`--grace-period` minus `--exit-margin` from the start; zero when past), at most two API
/// requests' worth (the Pod lookup, then the last Event).
pub(super) fn event_budget(deadline: Instant, now: Instant) -> Duration {
    deadline.saturating_duration_since(now).min(2 * API_TIMEOUT)
}

/// The drain's Events. The Pod (its UID) and the StatefulSet are looked up in the
/// background as soon as the drain is this process's to run, each Event is published in
/// the background after it, in order, and the drain waits for them only at its end,
/// within a budget: the API never delays a stage. The StatefulSet is waited for only by a
/// drain that may decommission (a serving node).
pub(super) struct Announcer {
    /// The Events once the Pod is known, after every Event queued so far.
    pub(super) pending: Option<tokio::task::JoinHandle<Events>>,
    /// Whether any Event was queued (otherwise the end does not wait for the lookup).
    pub(super) queued: bool,
    /// The StatefulSet as the lookup learned it.
    pub(super) set: Option<tokio::sync::oneshot::Receiver<Fact<SetFacts>>>,
    /// The API, for the other pods of a scale-down.
    pub(super) kube: Option<Arc<Kube>>,
    /// Why the set is not known without asking (no pod to ask about).
    pub(super) no_pod: Option<String>,
}

impl Announcer {
    pub(super) fn start(kube_api: KubeApi, pod: &Result<PodRef, String>) -> Announcer {
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
            // Unbounded here: the queued Events are awaited within the drain's own budget.
            let (lookup, facts) = lookup
                .again()
                .ask_again_if_late(&wants, pod_only, Duration::MAX)
                .await;
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
    pub(super) async fn set(&mut self) -> Fact<SetFacts> {
        let Some(rx) = self.set.take() else {
            return Fact::Unknown(Unknown::failed(self.no_pod.clone().unwrap_or_default()));
        };
        match tokio::time::timeout(3 * API_TIMEOUT, rx).await {
            Ok(Ok(set)) => set,
            // This command's own lookup ran out of time: as late as the API itself.
            _ => Fact::Unknown(Unknown::late("the StatefulSet lookup did not finish")),
        }
    }

    /// Queues `event` after the ones before it.
    pub(super) fn then(&mut self, event: LifecycleEvent) {
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
    pub(super) async fn finish(mut self, event: Option<LifecycleEvent>, budget: Duration) {
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
pub(super) async fn look(
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
pub(super) async fn staged(
    d: &mut Drain<'_>,
    node: Option<&dyn ClientTraffic>,
    version: Option<&str>,
) -> Outcome {
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
