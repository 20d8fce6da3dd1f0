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
//! `get`/`patch configmaps/<set>-identity` (shipped with the manifests, never created here).

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
    Access, ApiFacts, Fact, Gap, Missing, NodeFacts, OwnPod, PodObject, SetFacts, Unknown, Wants,
};
use crate::decide::cluster_record::{PodEntry, configmap_name};
use crate::decide::events::{LifecycleEvent, Severity};
use crate::decide::replicas::{self, Note, Source};
use crate::env;

mod events;
mod facts;
mod record;

pub use events::*;
pub use facts::*;

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

/// The reasons' words for a request the API server did not answer in time, and for one
/// that did not reach it.
const NO_ANSWER: &str = "did not answer";
const UNREACHABLE: &str = "cannot be reached";
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
}

impl Connected {
    /// One `get`, bounded: `Ok(None)` when the object does not exist, `Err(why)` when it
    /// was not learned.
    async fn get<K>(&self, api: &Api<K>, resource: &str, name: &str) -> Result<Option<K>, Unknown>
    where
        K: Clone + DeserializeOwned + std::fmt::Debug,
    {
        let what = format!("get {resource}/{name}");
        if let Some(why) = self.down.get() {
            debug!(request = %what, "not sent: the Kubernetes API did not answer before");
            return Err(Unknown::late(why.clone()));
        }
        match tokio::time::timeout(API_TIMEOUT, api.get_opt(name)).await {
            Ok(Ok(object)) => Ok(object),
            Ok(Err(e)) => Err(self.explain(&what, e)),
            // Requests in flight together fail together: the first one's reason stands for
            // all, so the log says it once.
            Err(_) => Err(Unknown::late(
                self.down
                    .get_or_init(|| {
                        format!(
                            "the Kubernetes API {NO_ANSWER} {what} within {}s",
                            API_TIMEOUT.as_secs()
                        )
                    })
                    .clone(),
            )),
        }
    }

    /// Why a request failed, in one line, and of what kind; a failure to reach the server
    /// marks it down.
    fn explain(&self, what: &str, error: kube::Error) -> Unknown {
        match error {
            kube::Error::Api(status) => {
                debug!(request = %what, code = status.code, reason = %status.reason, message = %status.message, "Kubernetes API refused");
                match status.code {
                    403 => Unknown::denied(format!("Kubernetes API denied {what}")),
                    401 => Unknown::denied(format!(
                        "the Kubernetes API rejected the service-account token ({what}: 401 Unauthorized)"
                    )),
                    404 => Unknown::not_found(format!(
                        "the Kubernetes API has no {}",
                        what.trim_start_matches("get ")
                    )),
                    code => Unknown::failed(format!(
                        "the Kubernetes API answered {what} with {code} {}: {}",
                        status.reason, status.message
                    )),
                }
            }
            kube::Error::SerdeError(e) => Unknown::failed(format!(
                "the Kubernetes API answered {what} with an object ringkeeper cannot read: {e}"
            )),
            // The client's own connect and read bounds equal API_TIMEOUT, so a server that
            // accepts the connection and never answers ends here or in `get`'s timeout,
            // whichever fires first: both are the same outcome and say so alike.
            other => {
                let why = if timed_out(&other) {
                    format!(
                        "the Kubernetes API {NO_ANSWER} {what} within {}s ({})",
                        API_TIMEOUT.as_secs(),
                        chain(&other)
                    )
                } else {
                    format!(
                        "the Kubernetes API {UNREACHABLE} ({what}: {})",
                        chain(&other)
                    )
                };
                Unknown::late(self.down.get_or_init(|| why).clone())
            }
        }
    }
}

/// Whether a bound ran out anywhere in an error's causes (the client's connect or read
/// timeout), as opposed to a connection refused or a certificate not trusted.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<tokio::time::error::Elapsed>()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = e.source();
    }
    false
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
    let config = config.map_err(|e| {
        (
            format!("no Kubernetes API access (the in-cluster configuration is unusable: {e})"),
            false,
        )
    })?;
    Client::try_from(bounded(config)).map_err(|e| {
        (
            format!("no Kubernetes API access (cannot build a client: {e})"),
            false,
        )
    })
}

/// The client's own bounds: each at `API_TIMEOUT`, so that no request outlives the bound
/// `get` puts on it (kube sets no read timeout of its own).
fn bounded(mut config: kube::Config) -> kube::Config {
    config.connect_timeout = Some(API_TIMEOUT);
    config.read_timeout = Some(API_TIMEOUT);
    config.write_timeout = Some(API_TIMEOUT);
    // The read timeout counts from the request, not from when a pooled connection idled.
    config.reset_reader_on_write = true;
    config
}

#[cfg(test)]
mod tests;
