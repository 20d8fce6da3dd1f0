//! Events on the Pod: published bounded, never failing a command, the UID learned late
//! when the boot did not learn it.

use super::*;

/// Events on the Pod. Publishing never fails a command and never waits more than
/// `API_TIMEOUT`; the first failure is logged at warn, later ones at debug.
#[derive(Clone)]
pub struct Events {
    target: Option<Arc<Target>>,
}

pub(super) struct Target {
    client: Client,
    reporter: Reporter,
    /// One kube Recorder per (reason, note). kube-runtime 5's Recorder keys its cache on
    /// type, action, reason, reporter and object, not on the note, and a repeat patches
    /// the cached Event as it was first sent: a wait whose reason changed would patch the
    /// old Event, old note and all. Keyed on the note too, the same note patches its series
    /// and a new note creates its own Event.
    recorders: Mutex<HashMap<(&'static str, String), Recorder>>,
    /// The pod; its UID is looked up at the first Event when the boot did not learn it.
    regarding: Mutex<ObjectReference>,
    /// Until when no Event is sent, and why: an API server that did not answer one is
    /// not asked again for `EVENTS_PAUSE` (a drain's budget), then asked again (a
    /// long-running entrypoint must not lose its Events to one busy moment).
    paused: Mutex<Option<(tokio::time::Instant, String)>>,
    /// Whether a failure was logged already.
    failed: AtomicBool,
}

/// How long Events are not sent after one went unanswered.
pub(super) const EVENTS_PAUSE: Duration = Duration::from_secs(30);

/// A lock held only to read, clone or insert: a panic there leaves the value usable.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Target {
    /// The pod as Events name it, its UID looked up (one bounded `get`) when not known.
    async fn regarding(&self) -> Option<ObjectReference> {
        let known = lock(&self.regarding).clone();
        if known.uid.is_some() {
            return Some(known);
        }
        let pods: Api<Pod> = Api::namespaced(
            self.client.clone(),
            known.namespace.as_deref().unwrap_or_default(),
        );
        let name = known.name.clone().unwrap_or_default();
        let pod = tokio::time::timeout(API_TIMEOUT, pods.get_opt(&name))
            .await
            .ok()?
            .ok()??;
        let uid = pod.metadata.uid.filter(|u| !u.is_empty())?;
        let mut regarding = lock(&self.regarding);
        regarding.uid = Some(uid);
        Some(regarding.clone())
    }
}

impl Events {
    /// No Events (no access, or the pod's UID is unknown).
    pub fn none() -> Events {
        Events { target: None }
    }

    /// Whether Events are published at all.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Publishes `event` (kube's Recorder: `create` the first time, `patch` of the same
    /// Event's series when the same reason and note are published again within its cache
    /// time, 6 minutes: `Waiting` at every wait report; the Role grants both).
    pub async fn publish(&self, event: &LifecycleEvent) {
        let Some(target) = &self.target else {
            return;
        };
        let paused = lock(&target.paused)
            .as_ref()
            .filter(|(until, _)| tokio::time::Instant::now() < *until)
            .map(|(_, why)| why.clone());
        if let Some(why) = paused {
            debug!(reason = event.reason, why = %why, "Event not published");
            return;
        }
        let Some(regarding) = target.regarding().await else {
            debug!(
                reason = event.reason,
                "Event not published: this pod's UID is not known yet"
            );
            return;
        };
        let ev = Event {
            type_: match event.severity {
                Severity::Normal => EventType::Normal,
                Severity::Warning => EventType::Warning,
            },
            reason: event.reason.to_owned(),
            note: Some(event.note.clone()),
            action: event.action.to_owned(),
            secondary: None,
        };
        let recorder = lock(&target.recorders)
            .entry((event.reason, event.note.clone()))
            .or_insert_with(|| Recorder::new(target.client.clone(), target.reporter.clone()))
            .clone();
        let why = match tokio::time::timeout(API_TIMEOUT, recorder.publish(&ev, &regarding)).await {
            Ok(Ok(())) => {
                debug!(reason = event.reason, "Event published");
                *lock(&target.paused) = None;
                return;
            }
            Ok(Err(kube::Error::Api(status))) if status.code == 403 => {
                "Kubernetes API denied create or patch events (events.k8s.io)".to_owned()
            }
            Ok(Err(e)) => format!("the Kubernetes API did not take the Event: {}", chain(&e)),
            Err(_) => {
                let why = format!(
                    "the Kubernetes API {NO_ANSWER} create events within {}s",
                    API_TIMEOUT.as_secs()
                );
                *lock(&target.paused) =
                    Some((tokio::time::Instant::now() + EVENTS_PAUSE, why.clone()));
                why
            }
        };
        if target.failed.swap(true, Ordering::Relaxed) {
            debug!(reason = event.reason, why = %why, "Event not published");
        } else {
            warn!(reason = event.reason, why = %why, "Event not published (later failures are logged at debug)");
        }
    }

    /// Publishes `event` in the background; the handle lets a command that is about to
    /// end wait for it (bounded by `API_TIMEOUT`).
    pub fn spawn(&self, event: LifecycleEvent) -> Option<tokio::task::JoinHandle<()>> {
        let events = self.clone();
        self.target.as_ref()?;
        Some(tokio::spawn(async move { events.publish(&event).await }))
    }
}

impl Kube {
    /// Events on this pod, when its object (its UID) is known, or when the API answered
    /// late (the UID is then looked up at the first Event: a pod whose boot met a busy API
    /// server keeps its Events for the whole run); otherwise none (the gap was logged with
    /// the others).
    pub fn events(&self, own_pod: &Fact<OwnPod>) -> Events {
        let uid = match own_pod {
            Fact::Known(OwnPod { uid: Some(uid), .. }) => Some(uid.clone()),
            Fact::Unknown(u) if u.missing == Missing::Late => None,
            _ => return Events { target: None },
        };
        let Ok(api) = &self.api else {
            return Events { target: None };
        };
        let reporter = Reporter {
            controller: REPORTER.to_owned(),
            instance: Some(self.pod.clone()),
        };
        Events {
            target: Some(Arc::new(Target {
                client: api.client.clone(),
                reporter,
                recorders: Mutex::default(),
                regarding: Mutex::new(ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: Some(self.pod.clone()),
                    namespace: Some(api.namespace.clone()),
                    uid,
                    ..ObjectReference::default()
                }),
                paused: Mutex::new(
                    api.down
                        .get()
                        .map(|why| (tokio::time::Instant::now() + EVENTS_PAUSE, why.clone())),
                ),
                failed: AtomicBool::new(false),
            })),
        }
    }
}
