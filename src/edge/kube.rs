//! The Kubernetes API, optional: what the pod's service account may read about its Pod,
//! StatefulSet, Node and sibling pods, turned into the plain facts of
//! `decide::api_facts`, and the Events published on the Pod.
//!
//! Only the in-cluster configuration is used (the service-account token, CA and the
//! `KUBERNETES_SERVICE_*` variables): a pod never reads a kubeconfig. Without access (not
//! in a pod, no token, `--kube-api off`), or when RBAC denies a request, every command goes
//! on from DNS and CQL, and the gaps are logged once. Nothing here fails a command.
//!
//! Every request is bounded by `API_TIMEOUT` (kube has no read timeout of its own since 4.0),
//! requests that do not depend on each other run concurrently, and once the API server
//! fails to answer in time (or cannot be reached) no further request is sent: a dead API
//! server costs a boot or a drain one timeout, not one per request.
//!
//! Requests (the Role's rules): `get pods/<name>` (this pod; `status`: each expected pod),
//! `get statefulsets/<name>`, `get nodes/<name>` (cluster-scoped: an optional ClusterRole),
//! `create events` / `patch events/<name>` (events.k8s.io: a repeated `Waiting` Event is
//! patched as one series), and for the identity record (`decide::cluster_record`)
//! `get`/`patch configmaps/<set>-identity` and `create configmaps` (the first pod to join).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Node, ObjectReference, Pod};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::config::KubeApi;
use crate::decide::api_facts::{
    Access, ApiFacts, Fact, Gap, NodeFacts, OwnPod, PodObject, SetFacts, Wants,
};
use crate::decide::cluster_record::{PodEntry, configmap_name};
use crate::decide::events::{LifecycleEvent, Severity};
use crate::decide::replicas::{self, Note, Source};
use crate::env;

/// Bound on every request. The API server answers a `get` in milliseconds; one that has
/// not answered in 2 s is overloaded or gone, and a boot, a drain or a probe must not wait
/// for it (the kubelet's own default timeouts are of the same order).
pub const API_TIMEOUT: Duration = Duration::from_secs(2);
/// Pauses before asking again an API server that did not answer: three more tries within
/// about 13 s (each bounded by `API_TIMEOUT`), spent only when it is slow or away.
pub const ASK_AGAIN_PAUSES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// Whether an unknown fact's reason (this module's own texts) is an answer that came late
/// or not at all, worth asking again, rather than a definite one (denied, not found).
pub fn answered_late(why: &str) -> bool {
    why.contains(NO_ANSWER) || why.contains(UNREACHABLE)
}
/// The reasons' words for a request the API server did not answer in time, and for one
/// that did not reach it.
const NO_ANSWER: &str = "did not answer";
const UNREACHABLE: &str = "cannot be reached";
/// Writes of the identity record that may meet another pod's write before one goes
/// through: each pod writes once per boot, so a handful covers a whole set starting.
const IDENTITY_WRITE_ATTEMPTS: u32 = 8;
/// Requests in flight at once (`status` reads every expected pod).
const MAX_IN_FLIGHT: usize = 16;
/// The Node label that names the datacenter.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// The Node label that names the rack.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// `reportingController` of every Event.
pub const REPORTER: &str = "ringkeeper";

/// The API, or why it cannot be asked.
pub struct Kube {
    api: Result<Connected, (String, bool)>,
    /// This pod's name: what `own_facts` reads and Events are reported by.
    pod: String,
}

/// A client and what every request shares.
#[derive(Clone)]
struct Connected {
    client: Client,
    namespace: String,
    /// Set by the first request the API server did not answer in time (or could not be
    /// reached for): later requests would only wait the same way, so they are not sent.
    down: Arc<OnceLock<String>>,
}

impl Kube {
    /// The in-cluster client (`mode` auto), or why there is none. Reads the
    /// service-account files; sends nothing.
    pub fn connect(mode: KubeApi, namespace: &str, pod: &str) -> Kube {
        let api = match mode {
            KubeApi::Off => Err((turned_off(), true)),
            KubeApi::Auto => in_cluster().map(|client| Connected {
                client,
                namespace: namespace.to_owned(),
                down: Arc::default(),
            }),
        };
        Kube {
            api,
            pod: pod.to_owned(),
        }
    }

    /// A client built elsewhere (tests: kube's mock service).
    pub fn with_client(client: Client, namespace: &str, pod: &str) -> Kube {
        Kube {
            api: Ok(Connected {
                client,
                namespace: namespace.to_owned(),
                down: Arc::default(),
            }),
            pod: pod.to_owned(),
        }
    }

    /// The same client, with the mark of an API server that did not answer cleared: for a
    /// caller that asks again later on purpose (the entrypoint waiting for the Node's
    /// labels). Without access, the same reason.
    pub fn again(&self) -> Kube {
        Kube {
            api: match &self.api {
                Ok(api) => Ok(Connected {
                    client: api.client.clone(),
                    namespace: api.namespace.clone(),
                    down: Arc::default(),
                }),
                Err(why) => Err(why.clone()),
            },
            pod: self.pod.clone(),
        }
    }

    /// Asks again, after each of `ASK_AGAIN_PAUSES`, for the facts the API server answered
    /// late or not at all (busy while nodes stream, or starting), keeping what it did
    /// answer; a definite answer (denied, not found) is not asked again. Returns the client
    /// to go on with: a fresh one when it asked again, without the mark of the request that
    /// went unanswered.
    pub async fn ask_again_if_late(self, wants: &Wants, mut facts: ApiFacts) -> (Kube, ApiFacts) {
        let mut kube = self;
        let late = |f: Option<&str>| f.is_some_and(answered_late);
        for pause in ASK_AGAIN_PAUSES {
            let (pod, set, node, record) = (
                late(facts.own_pod.why()),
                late(facts.set.why()),
                late(facts.node.why()),
                late(facts.record.why()),
            );
            if !(pod || set || node || record) {
                break;
            }
            tokio::time::sleep(pause).await;
            kube = kube.again();
            let again = kube
                .own_facts(&Wants {
                    // The Node is found through the pod.
                    own_pod: pod || node,
                    set: wants.set.clone().filter(|_| set),
                    node,
                    record: wants.record.clone().filter(|_| record),
                    ..wants.clone()
                })
                .await;
            // Only the late facts are taken from the second answer.
            fn take<T>(late: bool, fact: &mut Fact<T>, again: Fact<T>) -> bool {
                if late {
                    *fact = again;
                }
                late && fact.known().is_some()
            }
            let learned: Vec<&str> = [
                ("pod", take(pod, &mut facts.own_pod, again.own_pod)),
                ("statefulset", take(set, &mut facts.set, again.set)),
                ("node", take(node, &mut facts.node, again.node)),
                (
                    "identity record",
                    take(record, &mut facts.record, again.record),
                ),
            ]
            .into_iter()
            .filter_map(|(what, learned)| learned.then_some(what))
            .collect();
            if learned.is_empty() {
                debug!("the Kubernetes API asked again, still no answer");
            } else {
                info!(?learned, "the Kubernetes API answered on a later attempt");
            }
        }
        (kube, facts)
    }

    /// Whether a client exists (requests may still be denied).
    pub fn access(&self) -> Access {
        match &self.api {
            Ok(_) => Access::Connected,
            Err((why, expected)) => Access::Unavailable {
                why: why.clone(),
                expected: *expected,
            },
        }
    }

    /// This pod, its StatefulSet and its Node, as far as `wants` asks: the pod and the
    /// set concurrently, then (when the pod names them) its Node and the StatefulSet of its
    /// controller reference if that is another one. At most two rounds of `API_TIMEOUT`,
    /// one when the API server does not answer.
    pub async fn own_facts(&self, wants: &Wants) -> ApiFacts {
        let api = match &self.api {
            Ok(api) => api,
            Err((why, expected)) => return ApiFacts::unavailable(wants, why, *expected),
        };
        let pods: Api<Pod> = Api::namespaced(api.client.clone(), &api.namespace);
        let sets: Api<StatefulSet> = Api::namespaced(api.client.clone(), &api.namespace);
        let maps: Api<ConfigMap> = Api::namespaced(api.client.clone(), &api.namespace);
        let (pod, set, record) = tokio::join!(
            async {
                if wants.own_pod || wants.node {
                    Some(api.get(&pods, "pods", &self.pod).await)
                } else {
                    None
                }
            },
            async {
                match &wants.set {
                    Some(name) => Some(api.get(&sets, "statefulsets", name).await),
                    None => None,
                }
            },
            async {
                match &wants.record {
                    Some(set) => match api.get(&maps, "configmaps", &configmap_name(set)).await {
                        Ok(Some(map)) => Fact::Known(Some(map.data.unwrap_or_default())),
                        Ok(None) => Fact::Known(None),
                        Err(why) => Fact::Unknown(why),
                    },
                    None => Fact::NotAsked,
                }
            }
        );
        let own_pod = match pod {
            None => Fact::NotAsked,
            Some(Ok(Some(pod))) => Fact::Known(own_pod(&pod)),
            Some(Ok(None)) => Fact::Unknown(format!(
                "the Kubernetes API has no pods/{} (404): is --pod-name right?",
                self.pod
            )),
            Some(Err(why)) => Fact::Unknown(why),
        };
        // The controller reference names the set for certain; the name parsed from the
        // pod name was only the likely one, asked for at the same time.
        let other_set = match (&own_pod, &wants.set) {
            (
                Fact::Known(OwnPod {
                    controller_set: Some(owner),
                    ..
                }),
                Some(parsed),
            ) if owner != parsed => Some(owner.clone()),
            _ => None,
        };
        let node_name = match (&own_pod, wants.node) {
            (_, false) => Err(Fact::NotAsked),
            (
                Fact::Known(OwnPod {
                    node_name: Some(n), ..
                }),
                true,
            ) => Ok(n.clone()),
            (Fact::Known(_), true) => Err(Fact::Unknown(format!(
                "pods/{} has no spec.nodeName",
                self.pod
            ))),
            (Fact::Unknown(why), true) => Err(Fact::Unknown(why.clone())),
            (Fact::NotAsked, true) => Err(Fact::NotAsked),
        };
        let nodes: Api<Node> = Api::all(api.client.clone());
        let (set_again, node) = tokio::join!(
            async {
                match &other_set {
                    Some(name) => Some(api.get(&sets, "statefulsets", name).await),
                    None => None,
                }
            },
            async {
                match &node_name {
                    Ok(name) => match api.get(&nodes, "nodes", name).await {
                        Ok(Some(node)) => Fact::Known(node_facts(&node)),
                        Ok(None) => {
                            Fact::Unknown(format!("the Kubernetes API has no nodes/{name} (404)"))
                        }
                        Err(why) => Fact::Unknown(why),
                    },
                    Err(fact) => fact.clone(),
                }
            }
        );
        let set_name = other_set.as_ref().or(wants.set.as_ref());
        let set = match (set_again.or(set), set_name) {
            (Some(Ok(Some(set))), _) => Fact::Known(set_facts(&set)),
            (Some(Ok(None)), Some(name)) => Fact::Unknown(format!(
                "the Kubernetes API has no statefulsets/{name} (404)"
            )),
            (Some(Err(why)), _) => Fact::Unknown(why),
            _ => Fact::NotAsked,
        };
        ApiFacts {
            access: Access::Connected,
            own_pod,
            set,
            node,
            record,
        }
    }

    /// Each named pod's object (`get pods/<name>` each, no `list`: the Role grants `get`
    /// only), a few at a time, in the order given.
    pub async fn pods(&self, names: &[String]) -> Vec<(String, Fact<PodObject>)> {
        let api = match &self.api {
            Ok(api) => api,
            Err((why, _)) => {
                return names
                    .iter()
                    .map(|n| (n.clone(), Fact::Unknown(why.clone())))
                    .collect();
            }
        };
        let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut set = JoinSet::new();
        for (i, name) in names.iter().enumerate() {
            let api = api.clone();
            let name = name.clone();
            let permits = permits.clone();
            set.spawn(async move {
                // The semaphore is never closed, so acquiring only waits.
                let _permit = permits
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed");
                let pods: Api<Pod> = Api::namespaced(api.client.clone(), &api.namespace);
                let fact = match api.get(&pods, "pods", &name).await {
                    Ok(Some(pod)) => Fact::Known(pod_object(&pod)),
                    Ok(None) => Fact::Known(PodObject::Absent),
                    Err(why) => Fact::Unknown(why),
                };
                (i, fact)
            });
        }
        let mut facts: Vec<Fact<PodObject>> = vec![Fact::NotAsked; names.len()];
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((i, fact)) => facts[i] = fact,
                Err(e) => warn!(error = %e, "pod read task failed"),
            }
        }
        names.iter().cloned().zip(facts).collect()
    }

    /// Writes this pod's entry into the identity record of `set`. The ConfigMap is shipped
    /// with the manifests and never created here: a pod that could create it could make
    /// one that nothing else expects, and one owned by the StatefulSet would go with it.
    /// A record an earlier version created (owned by the set) is released from its owner
    /// on the first write, so it outlives the set from then on. Only this pod's key is
    /// written, and only over the version just read (`resourceVersion` as the
    /// precondition): when another pod wrote in between, the API answers 409 and the
    /// write starts again from a fresh read, so no pod's entry is ever lost.
    pub async fn write_identity(&self, set: &SetFacts, entry: &PodEntry) -> Result<(), String> {
        let api = match &self.api {
            Ok(api) => api,
            Err((why, _)) => return Err(why.clone()),
        };
        let name = configmap_name(&set.name);
        let maps: Api<ConfigMap> = Api::namespaced(api.client.clone(), &api.namespace);
        let text = entry.render();
        for _ in 0..IDENTITY_WRITE_ATTEMPTS {
            let Some(map) = api.get(&maps, "configmaps", &name).await? else {
                return Err(format!(
                    "configmaps/{name} does not exist: the manifests ship it (empty, in \
                     manifests/base/identity.yaml); apply it, renamed as your kustomization \
                     renames the set"
                ));
            };
            let mut metadata = serde_json::json!({
                "resourceVersion": map.metadata.resource_version,
            });
            let owners = map.metadata.owner_references.unwrap_or_default();
            if !owners.is_empty() && owners.iter().all(|o| o.kind == "StatefulSet") {
                metadata["ownerReferences"] = serde_json::Value::Null;
            }
            let patch = serde_json::json!({
                "metadata": metadata,
                "data": { self.pod.as_str(): text },
            });
            let what = format!("patch configmaps/{name}");
            let written = tokio::time::timeout(
                API_TIMEOUT,
                maps.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)),
            )
            .await;
            match written {
                Ok(Ok(_)) => return Ok(()),
                // Another pod wrote first (or created it first): read again.
                Ok(Err(kube::Error::Api(status))) if status.code == 409 => {
                    debug!(request = %what, "the identity record changed under this write; reading it again");
                }
                Ok(Err(e)) => return Err(api.explain(&what, e)),
                Err(_) => {
                    return Err(format!(
                        "the Kubernetes API {NO_ANSWER} {what} within {}s",
                        API_TIMEOUT.as_secs()
                    ));
                }
            }
        }
        Err(format!(
            "configmaps/{name} changed under each of {IDENTITY_WRITE_ATTEMPTS} writes"
        ))
    }

    /// Events on this pod, when its object (its UID) is known, or when the API answered
    /// late (the UID is then looked up at the first Event: a pod whose boot met a busy API
    /// server keeps its Events for the whole run); otherwise none (the gap was logged with
    /// the others).
    pub fn events(&self, own_pod: &Fact<OwnPod>) -> Events {
        let uid = match own_pod {
            Fact::Known(OwnPod { uid: Some(uid), .. }) => Some(uid.clone()),
            Fact::Unknown(why) if answered_late(why) => None,
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

impl Connected {
    /// One `get`, bounded: `Ok(None)` when the object does not exist, `Err(why)` when it
    /// was not learned.
    async fn get<K>(&self, api: &Api<K>, resource: &str, name: &str) -> Result<Option<K>, String>
    where
        K: Clone + DeserializeOwned + std::fmt::Debug,
    {
        let what = format!("get {resource}/{name}");
        if let Some(why) = self.down.get() {
            debug!(request = %what, "not sent: the Kubernetes API did not answer before");
            return Err(why.clone());
        }
        match tokio::time::timeout(API_TIMEOUT, api.get_opt(name)).await {
            Ok(Ok(object)) => Ok(object),
            Ok(Err(e)) => Err(self.explain(&what, e)),
            // Requests in flight together fail together: the first one's reason stands for
            // all, so the log says it once.
            Err(_) => Err(self
                .down
                .get_or_init(|| {
                    format!(
                        "the Kubernetes API {NO_ANSWER} {what} within {}s",
                        API_TIMEOUT.as_secs()
                    )
                })
                .clone()),
        }
    }

    /// Why a request failed, in one line; a failure to reach the server marks it down.
    fn explain(&self, what: &str, error: kube::Error) -> String {
        match error {
            kube::Error::Api(status) => {
                debug!(request = %what, code = status.code, reason = %status.reason, message = %status.message, "Kubernetes API refused");
                match status.code {
                    403 => format!("Kubernetes API denied {what}"),
                    401 => format!(
                        "the Kubernetes API rejected the service-account token ({what}: 401 Unauthorized)"
                    ),
                    code => format!(
                        "the Kubernetes API answered {what} with {code} {}: {}",
                        status.reason, status.message
                    ),
                }
            }
            kube::Error::SerdeError(e) => {
                format!(
                    "the Kubernetes API answered {what} with an object ringkeeper cannot read: {e}"
                )
            }
            other => self
                .down
                .get_or_init(|| {
                    format!(
                        "the Kubernetes API {UNREACHABLE} ({what}: {})",
                        chain(&other)
                    )
                })
                .clone(),
        }
    }
}

/// An error with its causes, `outer: inner: ...` (a connection error says why only in its
/// sources: refused, timed out, a certificate not trusted).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// Why nothing is asked with `--kube-api off`.
pub fn turned_off() -> String {
    format!(
        "no Kubernetes API access (turned off: --kube-api off, env {})",
        env::KUBE_API
    )
}

/// The in-cluster client, or why there is none (and whether that is a normal setup).
fn in_cluster() -> Result<Client, (String, bool)> {
    let config = kube::Config::incluster();
    if let Err(kube::config::InClusterError::ReadEnvironmentVariable(_)) = &config {
        return Err((
            "no Kubernetes API access (not in a pod: KUBERNETES_SERVICE_HOST and \
             KUBERNETES_SERVICE_PORT are not set)"
                .into(),
            true,
        ));
    }
    // automountServiceAccountToken: false leaves the variables but no token.
    if !Path::new(env::SERVICE_ACCOUNT_TOKEN_FILE).exists() {
        return Err((
            format!(
                "no Kubernetes API access (no service-account token at {})",
                env::SERVICE_ACCOUNT_TOKEN_FILE
            ),
            true,
        ));
    }
    let mut config = config.map_err(|e| {
        (
            format!("no Kubernetes API access (the in-cluster configuration is unusable: {e})"),
            false,
        )
    })?;
    config.connect_timeout = Some(API_TIMEOUT);
    config.read_timeout = Some(API_TIMEOUT);
    config.write_timeout = Some(API_TIMEOUT);
    // The read timeout counts from the request, not from when a pooled connection idled.
    config.reset_reader_on_write = true;
    Client::try_from(config).map_err(|e| {
        (
            format!("no Kubernetes API access (cannot build a client: {e})"),
            false,
        )
    })
}

/// This pod's facts from its object.
fn own_pod(pod: &Pod) -> OwnPod {
    OwnPod {
        uid: pod.metadata.uid.clone().filter(|u| !u.is_empty()),
        node_name: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        controller_set: pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| {
                o.controller == Some(true)
                    && o.kind == "StatefulSet"
                    && o.api_version.starts_with("apps/")
            })
            .map(|o| o.name.clone())
            .filter(|n| !n.is_empty()),
    }
}

/// The StatefulSet's facts, as sent (checked by `decide::replicas`).
fn set_facts(set: &StatefulSet) -> SetFacts {
    let spec = set.spec.as_ref();
    SetFacts {
        name: set.metadata.name.clone().unwrap_or_default(),
        spec_replicas: spec.and_then(|s| s.replicas),
        status_replicas: set.status.as_ref().map(|s| s.replicas),
        ordinals_start: spec.and_then(|s| s.ordinals.as_ref()).and_then(|o| o.start),
        uid: set.metadata.uid.clone().filter(|u| !u.is_empty()),
        deleting: set.metadata.deletion_timestamp.is_some(),
        pvc_when_scaled: spec
            .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
            .and_then(|p| p.when_scaled.clone()),
    }
}

/// The Node's topology labels.
fn node_facts(node: &Node) -> NodeFacts {
    let label = |key: &str| {
        node.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    NodeFacts {
        name: node.metadata.name.clone().unwrap_or_default(),
        region: label(REGION_LABEL),
        zone: label(ZONE_LABEL),
    }
}

/// An expected pod's phase and readiness.
fn pod_object(pod: &Pod) -> PodObject {
    let status = pod.status.as_ref();
    PodObject::Found {
        phase: status.and_then(|s| s.phase.clone()),
        ready: status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| match c.status.as_str() {
                "True" => Some(true),
                "False" => Some(false),
                _ => None,
            }),
        terminating: pod.metadata.deletion_timestamp.is_some(),
    }
}

/// Logs the gaps in one line: at info when all are normal setups (no API by choice, not in a pod,
/// no token), at warn otherwise (denied, not found, no answer).
pub fn log_gaps(gaps: &[Gap]) {
    // One line per command, whatever the number of reasons: what it could not learn is
    // one fact for whoever reads the pod's log.
    if gaps.is_empty() {
        return;
    }
    let why = gaps
        .iter()
        .map(|g| g.why.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let mut without: Vec<&str> = Vec::new();
    for w in gaps.iter().flat_map(|g| g.without.iter().copied()) {
        if !without.contains(&w) {
            without.push(w);
        }
    }
    let without = without.join(", ");
    if gaps.iter().all(|g| g.expected) {
        info!(why = %why, without = %without, "not learned from the Kubernetes API");
    } else {
        warn!(why = %why, without = %without, "not learned from the Kubernetes API");
    }
}

/// The ordinal bound (`decide::replicas`), logged when it comes from the StatefulSet or
/// its answer could not be taken as it was.
pub fn replica_bound(flag: Option<u32>, facts: &ApiFacts, own_ordinal: u32) -> Option<u32> {
    let bound = replicas::bound(flag, &facts.set, own_ordinal);
    match &bound.note {
        Some(Note::Refused(why)) => {
            warn!(why = %why, "the StatefulSet's replica count is not used")
        }
        Some(Note::Widened(why)) => {
            info!(why = %why, replicas = bound.replicas, "ordinal bound widened")
        }
        None if bound.source == Source::StatefulSet => {
            info!(
                replicas = bound.replicas,
                "ordinal bound from the StatefulSet's spec.replicas"
            )
        }
        None => {}
    }
    bound.replicas
}

/// Events on the Pod. Publishing never fails a command and never waits more than
/// `API_TIMEOUT`; the first failure is logged at warn, later ones at debug.
#[derive(Clone)]
pub struct Events {
    target: Option<Arc<Target>>,
}

struct Target {
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
const EVENTS_PAUSE: Duration = Duration::from_secs(30);

/// A lock held only to read, clone or insert: a panic there leaves the value usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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

/// What a scale-down decision asks about the other pods scaled away.
impl Kube {
    /// Each named pod's IP (`status.podIP`), one `get pods/<name>` at a time (a scale-down
    /// names few): `Known(None)` when the pod does not exist (or has no IP yet),
    /// `Unknown` when the API did not say.
    pub async fn pod_ips(&self, names: &[String]) -> Vec<(String, Fact<Option<std::net::IpAddr>>)> {
        let api = match &self.api {
            Ok(api) => api,
            Err((why, _)) => {
                return names
                    .iter()
                    .map(|n| (n.clone(), Fact::Unknown(why.clone())))
                    .collect();
            }
        };
        let pods: Api<Pod> = Api::namespaced(api.client.clone(), &api.namespace);
        let mut out = Vec::new();
        for name in names {
            let fact = match api.get(&pods, "pods", name).await {
                Ok(Some(pod)) => Fact::Known(
                    pod.status
                        .and_then(|s| s.pod_ip)
                        .and_then(|ip| ip.parse().ok()),
                ),
                Ok(None) => Fact::Known(None),
                Err(why) => Fact::Unknown(why),
            };
            out.push((name.clone(), fact));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Method, Request, Response, StatusCode};
    use kube::client::Body;

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    /// How the mock API server answers one request.
    #[derive(Clone)]
    enum Answer {
        /// 200 with this object.
        Object(serde_json::Value),
        /// An API error status (403, 404, 401, ...).
        Status(u16),
        /// Never answers (an API server that hangs).
        Silent,
        /// Never answers the first request for its path, then answers with this object
        /// (an API server busy for a moment).
        SilentOnce(serde_json::Value),
    }

    /// A mock API server: answers each request by method and path from `answers` (a path
    /// ending in `*` matches any path it begins), and
    /// records what was asked. Requests it has no answer for fail the test.
    fn serve(
        mut handle: Handle,
        answers: Vec<(Method, &'static str, Answer)>,
    ) -> tokio::task::JoinHandle<Vec<(Method, String, Option<serde_json::Value>)>> {
        tokio::spawn(async move {
            let mut asked = Vec::new();
            let mut held = Vec::new();
            let mut silenced = std::collections::HashSet::new();
            while let Some((request, send)) = handle.next_request().await {
                let (method, path) = (request.method().clone(), request.uri().path().to_owned());
                let body = request
                    .into_body()
                    .collect_bytes()
                    .await
                    .ok()
                    .filter(|b| !b.is_empty())
                    .and_then(|b| serde_json::from_slice(&b).ok());
                asked.push((method.clone(), path.clone(), body));
                let answer = answers
                    .iter()
                    .find(|(m, p, _)| {
                        *m == method
                            && match p.strip_suffix('*') {
                                Some(prefix) => path.starts_with(prefix),
                                None => *p == path,
                            }
                    })
                    .map(|(_, _, a)| a.clone())
                    .unwrap_or_else(|| panic!("unexpected request {method} {path}"));
                match answer {
                    Answer::Object(value) => send.send_response(
                        Response::builder()
                            .status(StatusCode::OK)
                            .body(Body::from(serde_json::to_vec(&value).unwrap()))
                            .unwrap(),
                    ),
                    Answer::Status(code) => send.send_response(
                        Response::builder()
                            .status(code)
                            .body(Body::from(
                                serde_json::to_vec(&serde_json::json!({
                                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "code": code, "reason": match code {
                                        401 => "Unauthorized",
                                        403 => "Forbidden",
                                        404 => "NotFound",
                                        _ => "InternalError",
                                    },
                                    "message": "denied by the test"
                                }))
                                .unwrap(),
                            ))
                            .unwrap(),
                    ),
                    Answer::Silent => held.push(send),
                    Answer::SilentOnce(_) if silenced.insert(path) => held.push(send),
                    Answer::SilentOnce(value) => send.send_response(
                        Response::builder()
                            .status(StatusCode::OK)
                            .body(Body::from(serde_json::to_vec(&value).unwrap()))
                            .unwrap(),
                    ),
                }
            }
            asked
        })
    }

    fn kube() -> (Kube, Handle) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        (
            Kube::with_client(Client::new(service, "db"), "db", "cassandra-1"),
            handle,
        )
    }

    const POD: &str = "/api/v1/namespaces/db/pods/cassandra-1";
    const SET: &str = "/apis/apps/v1/namespaces/db/statefulsets/cassandra";
    const NODE: &str = "/api/v1/nodes/node-a";
    const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/db/events";

    fn pod(owner: &str) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "cassandra-1", "namespace": "db", "uid": "u-1",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                     "name": owner, "uid": "s-1", "controller": true}]
            },
            "spec": {"nodeName": "node-a", "containers": [{"name": "cassandra"}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True"}]}
        })
    }

    fn set(name: &str, replicas: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "db", "uid": "s-1"},
            "spec": {"replicas": replicas, "serviceName": name,
                     "selector": {}, "template": {},
                     "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete"}},
            "status": {"replicas": 3}
        })
    }

    fn node() -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-a", "labels": {
                "topology.kubernetes.io/region": "us-east-1",
                "topology.kubernetes.io/zone": "us-east-1a"}}
        })
    }

    fn entrypoint_wants() -> Wants {
        Wants {
            own_pod: true,
            events: true,
            set: Some("cassandra".into()),
            node: true,
            pods: false,
            record: None,
        }
    }

    const RECORD: &str = "/api/v1/namespaces/db/configmaps/cassandra-identity";

    fn record_wants() -> Wants {
        Wants {
            record: Some("cassandra".into()),
            ..Wants::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_identity_record_is_a_fact_like_the_others() {
        let map = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cassandra-identity", "namespace": "db", "resourceVersion": "7"},
            "data": {"cassandra-0": "{}"}
        });
        for (answer, want) in [
            (
                Answer::Object(map),
                Fact::Known(Some([("cassandra-0".to_owned(), "{}".to_owned())].into())),
            ),
            (Answer::Status(404), Fact::Known(None)),
            (
                Answer::Status(403),
                Fact::Unknown("Kubernetes API denied get configmaps/cassandra-identity".into()),
            ),
        ] {
            let (kube, handle) = kube();
            let server = serve(handle, vec![(Method::GET, RECORD, answer)]);
            let facts = kube.own_facts(&record_wants()).await;
            assert_eq!(facts.record, want);
            let gaps = crate::decide::api_facts::gaps(&facts, &record_wants());
            assert_eq!(
                gaps.iter()
                    .any(|g| g.without.contains(&crate::decide::api_facts::NO_RECORD)),
                facts.record.why().is_some(),
                "{gaps:?}"
            );
            drop(kube);
            assert_eq!(server.await.unwrap().len(), 1);
        }
    }

    fn entry() -> PodEntry {
        PodEntry {
            format: 1,
            cluster_name: "c".into(),
            host_id: "11111111-1111-1111-1111-111111111111".into(),
            address: "10.0.0.2".parse().unwrap(),
            dc: None,
            rack: None,
            tokens: 16,
            last_seen: 1,
            free_bytes: None,
            volume_bytes: None,
        }
    }

    fn owned_set() -> SetFacts {
        SetFacts {
            name: "cassandra".into(),
            uid: Some("s-1".into()),
            ..SetFacts::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_record_is_never_created_and_is_released_from_the_set() {
        // Missing: said so, nothing created.
        let (kube, handle) = kube();
        let server = serve(handle, vec![(Method::GET, RECORD, Answer::Status(404))]);
        let err = kube
            .write_identity(&owned_set(), &entry())
            .await
            .unwrap_err();
        assert!(
            err.contains("does not exist") && err.contains("identity.yaml"),
            "{err}"
        );
        drop(kube);
        assert_eq!(server.await.unwrap().len(), 1);

        // Owned by the set (an earlier version created it): the write releases it.
        let map = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cassandra-identity", "namespace": "db", "resourceVersion": "3",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "name": "cassandra", "uid": "s-1"}]},
        });
        let (kube, handle) = self::kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, RECORD, Answer::Object(map.clone())),
                (Method::PATCH, RECORD, Answer::Object(map)),
            ],
        );
        kube.write_identity(&owned_set(), &entry()).await.unwrap();
        drop(kube);
        let asked = server.await.unwrap();
        let body = asked[1].2.clone().unwrap();
        assert!(body["metadata"]["ownerReferences"].is_null(), "{body}");
        assert!(
            body["metadata"]
                .as_object()
                .unwrap()
                .contains_key("ownerReferences"),
            "{body}"
        );
        assert_eq!(
            serde_json::from_str::<PodEntry>(body["data"]["cassandra-1"].as_str().unwrap())
                .unwrap(),
            entry()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn later_pods_patch_their_own_key_over_the_version_they_read() {
        let map = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cassandra-identity", "namespace": "db", "resourceVersion": "7"},
            "data": {"cassandra-0": "{}"}
        });
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, RECORD, Answer::Object(map.clone())),
                (Method::PATCH, RECORD, Answer::Object(map.clone())),
            ],
        );
        kube.write_identity(&owned_set(), &entry()).await.unwrap();
        drop(kube);
        let asked = server.await.unwrap();
        let body = asked[1].2.clone().unwrap();
        // Only this pod's key, and the version read as the precondition.
        assert_eq!(body["metadata"]["resourceVersion"], "7");
        assert_eq!(body["data"].as_object().unwrap().len(), 1);
        assert!(body["data"]["cassandra-1"].is_string());

        // Another pod writing in between every time: read again, then give up with why.
        let (busy, handle) = self::kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, RECORD, Answer::Object(map)),
                (Method::PATCH, RECORD, Answer::Status(409)),
            ],
        );
        let err = busy
            .write_identity(&owned_set(), &entry())
            .await
            .unwrap_err();
        assert!(err.contains("changed under each of 8 writes"), "{err}");
        drop(busy);
        assert_eq!(server.await.unwrap().len(), 16);
    }

    #[tokio::test(start_paused = true)]
    async fn everything_known() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Object(pod("cassandra"))),
                (Method::GET, SET, Answer::Object(set("cassandra", 3.into()))),
                (Method::GET, NODE, Answer::Object(node())),
            ],
        );
        let facts = kube.own_facts(&entrypoint_wants()).await;
        assert_eq!(
            facts.own_pod,
            Fact::Known(OwnPod {
                uid: Some("u-1".into()),
                node_name: Some("node-a".into()),
                controller_set: Some("cassandra".into()),
            })
        );
        assert_eq!(
            facts.set,
            Fact::Known(SetFacts {
                name: "cassandra".into(),
                spec_replicas: Some(3),
                status_replicas: Some(3),
                ordinals_start: None,
                uid: Some("s-1".into()),
                deleting: false,
                pvc_when_scaled: Some("Delete".into()),
            })
        );
        assert_eq!(
            facts.node,
            Fact::Known(NodeFacts {
                name: "node-a".into(),
                region: Some("us-east-1".into()),
                zone: Some("us-east-1a".into()),
            })
        );
        drop(kube);
        let asked: Vec<String> = server
            .await
            .unwrap()
            .into_iter()
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect();
        assert_eq!(asked.len(), 3, "{asked:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn forbidden_is_unknown_with_the_reason() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Object(pod("cassandra"))),
                (Method::GET, SET, Answer::Status(403)),
                (Method::GET, NODE, Answer::Status(403)),
            ],
        );
        let wants = entrypoint_wants();
        let facts = kube.own_facts(&wants).await;
        assert_eq!(
            facts.set,
            Fact::Unknown("Kubernetes API denied get statefulsets/cassandra".into())
        );
        assert_eq!(
            facts.node,
            Fact::Unknown("Kubernetes API denied get nodes/node-a".into())
        );
        let lines: Vec<String> = crate::decide::api_facts::gaps(&facts, &wants)
            .iter()
            .map(Gap::line)
            .collect();
        assert_eq!(
            lines,
            [
                "Kubernetes API denied get statefulsets/cassandra: --replicas unknown, ordinals unbounded",
                "Kubernetes API denied get nodes/node-a: no DC/rack from the Node's labels"
            ]
        );
        assert_eq!(replica_bound(None, &facts, 1), None);
        drop(kube);
        server.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn not_found() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Status(404)),
                (Method::GET, SET, Answer::Status(404)),
            ],
        );
        let facts = kube.own_facts(&entrypoint_wants()).await;
        fn why<T>(f: &Fact<T>) -> Option<String> {
            f.why().map(str::to_owned)
        }
        assert!(
            why(&facts.own_pod)
                .unwrap()
                .contains("no pods/cassandra-1 (404)")
        );
        assert!(
            why(&facts.set)
                .unwrap()
                .contains("no statefulsets/cassandra (404)")
        );
        // The Node is found through the pod: it goes without for the same reason.
        assert_eq!(why(&facts.node), why(&facts.own_pod));
        assert!(!kube.events(&facts.own_pod).enabled());
        drop(kube);
        // Nothing asked for the Node: the pod did not name one.
        assert_eq!(server.await.unwrap().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_api_server_costs_one_timeout_and_no_more_requests() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Silent),
                (Method::GET, SET, Answer::Silent),
            ],
        );
        let start = tokio::time::Instant::now();
        let facts = kube.own_facts(&entrypoint_wants()).await;
        let took = start.elapsed();
        assert!(
            took >= API_TIMEOUT && took < API_TIMEOUT + Duration::from_millis(100),
            "{took:?}"
        );
        assert!(
            facts.own_pod.why().unwrap().contains("within 2s"),
            "{facts:?}"
        );
        // Both requests were in flight together: one reason, one log line.
        let gaps = crate::decide::api_facts::gaps(&facts, &entrypoint_wants());
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert_eq!(
            gaps[0].without,
            [
                "no Events",
                "--replicas unknown, ordinals unbounded",
                "no DC/rack from the Node's labels"
            ]
        );
        // Later requests are not sent at all.
        let start = tokio::time::Instant::now();
        let pods = kube
            .pods(&["cassandra-0".into(), "cassandra-2".into()])
            .await;
        assert!(start.elapsed() < Duration::from_millis(10));
        assert!(pods.iter().all(|(_, f)| f.why().is_some()), "{pods:?}");
        drop(kube);
        assert_eq!(server.await.unwrap().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn what_came_late_is_asked_again_and_a_definite_answer_is_not() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::SilentOnce(pod("cassandra"))),
                (Method::GET, SET, Answer::Status(403)),
                (Method::POST, EVENTS, Answer::Object(serde_json::json!({}))),
            ],
        );
        let wants = Wants {
            node: false,
            ..entrypoint_wants()
        };
        let facts = kube.own_facts(&wants).await;
        assert!(answered_late(facts.own_pod.why().unwrap()), "{facts:?}");
        let (kube, facts) = kube.ask_again_if_late(&wants, facts).await;
        assert!(facts.own_pod.known().is_some(), "{facts:?}");
        assert!(facts.set.why().unwrap().contains("denied"), "{facts:?}");
        // The client goes on without the mark of the unanswered request: Events are sent.
        assert!(kube.events(&facts.own_pod).enabled());
        drop(kube);
        let asked: Vec<String> = server.await.unwrap().into_iter().map(|a| a.1).collect();
        // The pod twice (once unanswered), the set once (it was denied).
        assert_eq!(asked.iter().filter(|p| *p == POD).count(), 2, "{asked:?}");
        assert_eq!(asked.iter().filter(|p| *p == SET).count(), 1, "{asked:?}");
        assert!(!answered_late(
            "Kubernetes API denied get statefulsets/cassandra"
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_controller_reference_names_the_set() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Object(pod("cassandra-east"))),
                (Method::GET, SET, Answer::Object(set("cassandra", 9.into()))),
                (
                    Method::GET,
                    "/apis/apps/v1/namespaces/db/statefulsets/cassandra-east",
                    Answer::Object(set("cassandra-east", 4.into())),
                ),
            ],
        );
        let wants = Wants {
            own_pod: true,
            set: Some("cassandra".into()),
            ..Wants::default()
        };
        let facts = kube.own_facts(&wants).await;
        assert_eq!(
            facts
                .set
                .known()
                .map(|s| (s.name.as_str(), s.spec_replicas)),
            Some(("cassandra-east", Some(4)))
        );
        drop(kube);
        server.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn answers_that_make_no_sense_are_facts_to_check() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (
                    Method::GET,
                    POD,
                    Answer::Object(
                        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cassandra-1"}}),
                    ),
                ),
                (
                    Method::GET,
                    SET,
                    Answer::Object(set("cassandra", (-3).into())),
                ),
            ],
        );
        let facts = kube.own_facts(&entrypoint_wants()).await;
        // A pod without a UID gets no Events, one without a node no topology.
        assert_eq!(facts.own_pod, Fact::Known(OwnPod::default()));
        assert!(!kube.events(&facts.own_pod).enabled());
        assert!(facts.node.why().unwrap().contains("no spec.nodeName"));
        assert_eq!(replica_bound(None, &facts, 1), None);
        drop(kube);
        server.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn not_a_statefulset_is_unknown_not_a_panic() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![(
                Method::GET,
                SET,
                Answer::Object(serde_json::json!({"spec": "nonsense"})),
            )],
        );
        let wants = Wants {
            set: Some("cassandra".into()),
            ..Wants::default()
        };
        let facts = kube.own_facts(&wants).await;
        assert!(
            facts.set.why().unwrap().contains("cannot read"),
            "{facts:?}"
        );
        assert_eq!(facts.own_pod, Fact::NotAsked);
        drop(kube);
        server.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn status_reads_each_pod() {
        let (kube, handle) = kube();
        let terminating = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "cassandra-2", "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
        });
        let server = serve(
            handle,
            vec![
                (
                    Method::GET,
                    "/api/v1/namespaces/db/pods/cassandra-0",
                    Answer::Object(pod("cassandra")),
                ),
                (
                    Method::GET,
                    "/api/v1/namespaces/db/pods/cassandra-1",
                    Answer::Status(403),
                ),
                (
                    Method::GET,
                    "/api/v1/namespaces/db/pods/cassandra-2",
                    Answer::Object(terminating),
                ),
                (
                    Method::GET,
                    "/api/v1/namespaces/db/pods/cassandra-3",
                    Answer::Status(404),
                ),
            ],
        );
        let names: Vec<String> = (0..4).map(|i| format!("cassandra-{i}")).collect();
        let pods = kube.pods(&names).await;
        let got: Vec<(&str, Fact<PodObject>)> =
            pods.iter().map(|(n, f)| (n.as_str(), f.clone())).collect();
        assert_eq!(
            got,
            vec![
                (
                    "cassandra-0",
                    Fact::Known(PodObject::Found {
                        phase: Some("Running".into()),
                        ready: Some(true),
                        terminating: false
                    })
                ),
                (
                    "cassandra-1",
                    Fact::Unknown("Kubernetes API denied get pods/cassandra-1".into())
                ),
                (
                    "cassandra-2",
                    Fact::Known(PodObject::Found {
                        phase: Some("Running".into()),
                        ready: Some(false),
                        terminating: true
                    })
                ),
                ("cassandra-3", Fact::Known(PodObject::Absent)),
            ]
        );
        drop(kube);
        server.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn events_are_created_on_the_pod_by_ringkeeper() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Object(pod("cassandra"))),
                (
                    Method::POST,
                    EVENTS,
                    Answer::Object(
                        serde_json::json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"}, "eventTime": "2026-01-01T00:00:00.000000Z"}),
                    ),
                ),
            ],
        );
        let wants = Wants {
            own_pod: true,
            events: true,
            ..Wants::default()
        };
        let facts = kube.own_facts(&wants).await;
        let events = kube.events(&facts.own_pod);
        assert!(events.enabled());
        events
            .publish(&crate::decide::events::refused("no safe seed list"))
            .await;
        events.publish(&crate::decide::events::draining(30)).await;
        drop((kube, events));
        let asked = server.await.unwrap();
        let posted: Vec<&serde_json::Value> = asked
            .iter()
            .filter(|(m, _, _)| *m == Method::POST)
            .filter_map(|(_, _, b)| b.as_ref())
            .collect();
        assert_eq!(posted.len(), 2, "{asked:?}");
        let e = posted[0];
        assert_eq!(e["reason"], "Refused");
        assert_eq!(e["type"], "Warning");
        assert_eq!(e["action"], "Boot");
        assert_eq!(e["note"], "cassandra was not started: no safe seed list");
        assert_eq!(e["reportingController"], "ringkeeper");
        assert_eq!(e["reportingInstance"], "cassandra-1");
        assert_eq!(e["regarding"]["uid"], "u-1");
        assert_eq!(e["regarding"]["kind"], "Pod");
        assert_eq!(e["regarding"]["name"], "cassandra-1");
        assert_eq!(e["metadata"]["namespace"], "db");
        assert_eq!(posted[1]["reason"], "Draining");
        // Two reasons, two creates (a repeat would be a patch: see the test below).
        assert!(
            asked
                .iter()
                .all(|(m, _, _)| *m == Method::GET || *m == Method::POST)
        );
    }

    /// A boot whose read of its own pod came late still publishes Events: the UID is
    /// looked up at the first one.
    #[tokio::test]
    async fn events_learn_the_uid_when_the_boot_read_came_late() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Object(pod("cassandra"))),
                (
                    Method::POST,
                    EVENTS,
                    Answer::Object(
                        serde_json::json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"}, "eventTime": "2026-01-01T00:00:00.000000Z"}),
                    ),
                ),
            ],
        );
        let late = Fact::Unknown(format!(
            "the Kubernetes API {NO_ANSWER} get pods/x within 2s"
        ));
        let events = kube.events(&late);
        assert!(events.enabled());
        events.publish(&crate::decide::events::draining(30)).await;
        assert!(
            !kube
                .events(&Fact::Unknown("Kubernetes API denied get pods/x".into()))
                .enabled(),
            "a denial is not asked again"
        );
        drop((kube, events));
        let asked = server.await.unwrap();
        let posted: Vec<&serde_json::Value> = asked
            .iter()
            .filter(|(m, _, _)| *m == Method::POST)
            .filter_map(|(_, _, b)| b.as_ref())
            .collect();
        assert_eq!(posted.len(), 1, "{asked:?}");
        assert_eq!(posted[0]["regarding"]["uid"], "u-1");
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeated_wait_patches_one_event_and_a_new_reason_creates_another() {
        let (kube, handle) = kube();
        let event = serde_json::json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"}, "eventTime": "2026-01-01T00:00:00.000000Z"});
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Object(pod("cassandra"))),
                (Method::POST, EVENTS, Answer::Object(event.clone())),
                (
                    Method::PATCH,
                    "/apis/events.k8s.io/v1/namespaces/db/events/cassandra-1.*",
                    Answer::Object(event),
                ),
            ],
        );
        let facts = kube
            .own_facts(&Wants {
                own_pod: true,
                events: true,
                ..Wants::default()
            })
            .await;
        let events = kube.events(&facts.own_pod);
        let wait = |reason: &str, waited_s: u64| crate::decide::seeds::Waiting {
            reason: reason.into(),
            seen: vec![],
            seed_wait_over: false,
            waited: Duration::from_secs(waited_s),
            rounds: 1,
        };
        for w in [
            wait("cassandra-0 is joining", 0),
            wait("cassandra-0 is joining", 30),
            wait("cassandra-0 is joining", 60),
            wait("only ordinal 0 may found", 90),
        ] {
            events.publish(&crate::decide::events::waiting(&w)).await;
            tokio::time::advance(Duration::from_secs(30)).await;
        }
        drop((kube, events));
        let asked: Vec<(Method, Option<serde_json::Value>)> = server
            .await
            .unwrap()
            .into_iter()
            .filter(|(m, _, _)| *m != Method::GET)
            .map(|(m, _, b)| (m, b.map(|b| b["note"].clone())))
            .collect();
        let joining = Some(serde_json::json!(
            "cassandra not started yet: cassandra-0 is joining"
        ));
        assert_eq!(
            asked,
            vec![
                (Method::POST, joining.clone()),
                (Method::PATCH, joining.clone()),
                (Method::PATCH, joining),
                (
                    Method::POST,
                    Some(serde_json::json!(
                        "cassandra not started yet: only ordinal 0 may found"
                    ))
                ),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_that_cannot_be_published_never_blocks_or_fails() {
        let (kube, handle) = kube();
        let server = serve(
            handle,
            vec![
                (Method::GET, POD, Answer::Object(pod("cassandra"))),
                (Method::POST, EVENTS, Answer::Silent),
            ],
        );
        let facts = kube
            .own_facts(&Wants {
                own_pod: true,
                events: true,
                ..Wants::default()
            })
            .await;
        let events = kube.events(&facts.own_pod);
        let start = tokio::time::Instant::now();
        events.publish(&crate::decide::events::draining(30)).await;
        let took = start.elapsed();
        assert!(
            took >= API_TIMEOUT && took < API_TIMEOUT + Duration::from_millis(100),
            "{took:?}"
        );
        drop((kube, events));
        server.await.unwrap();
    }

    #[tokio::test]
    async fn turned_off_asks_nothing() {
        let kube = Kube::connect(KubeApi::Off, "db", "cassandra-1");
        let facts = kube.own_facts(&entrypoint_wants()).await;
        let gaps = crate::decide::api_facts::gaps(&facts, &entrypoint_wants());
        assert_eq!(gaps.len(), 1);
        assert!(gaps[0].expected);
        assert!(gaps[0].why.contains("--kube-api off"), "{}", gaps[0].why);
        assert!(!kube.events(&facts.own_pod).enabled());
        let pods = kube.pods(&["cassandra-0".into()]).await;
        assert!(pods[0].1.why().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn the_other_pods_of_a_scale_down_by_address() {
        let (kube, handle) = kube();
        let with_ip = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "cassandra-3", "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"podIP": "10.244.0.13"}
        });
        let server = serve(
            handle,
            vec![
                (
                    Method::GET,
                    "/api/v1/namespaces/db/pods/cassandra-2",
                    Answer::Status(404),
                ),
                (
                    Method::GET,
                    "/api/v1/namespaces/db/pods/cassandra-3",
                    Answer::Object(with_ip),
                ),
                (
                    Method::GET,
                    "/api/v1/namespaces/db/pods/cassandra-4",
                    Answer::Status(403),
                ),
            ],
        );
        let names: Vec<String> = (2..5).map(|i| format!("cassandra-{i}")).collect();
        let got = kube.pod_ips(&names).await;
        assert_eq!(
            got,
            vec![
                ("cassandra-2".to_owned(), Fact::Known(None)),
                (
                    "cassandra-3".to_owned(),
                    Fact::Known(Some("10.244.0.13".parse().unwrap()))
                ),
                (
                    "cassandra-4".to_owned(),
                    Fact::Unknown("Kubernetes API denied get pods/cassandra-4".into())
                ),
            ]
        );
        drop(kube);
        assert_eq!(server.await.unwrap().len(), 3);
        let off = Kube::connect(KubeApi::Off, "db", "cassandra-4");
        assert!(
            off.pod_ips(&names)
                .await
                .iter()
                .all(|(_, f)| f.why().is_some())
        );
    }
}
