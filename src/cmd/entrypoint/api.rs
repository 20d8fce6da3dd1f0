//! What the Kubernetes API (optional) says at boot: the ordinal bound, where the node
//! runs, the Pod for Events and the identity record; and the bound read again while the
//! boot waits. Without the API, flags and defaults as before.

use std::time::Duration;

use crate::config::{Identity, KubeApi, Seeding};
use crate::decide::api_facts::{ApiFacts, Fact, Wants, gaps};
use crate::decide::placement::Topology;
use crate::edge::kube::{Kube, log_gaps, replica_bound};

/// What the boot learned from the API.
pub(super) struct AtBoot {
    /// The client, asked again later (the placement, Events, the identity record).
    pub kube: Kube,
    /// What it answered (or why not).
    pub facts: ApiFacts,
    /// The StatefulSet whose replica count is read again while the boot waits, when the
    /// bound came from it.
    pub bound_refresh: Option<String>,
    /// `--replicas` or the bound from the StatefulSet.
    pub seeding: Seeding,
}

/// Asks the API once (one round trip or two, bounded), again when late, and logs what it
/// could not learn. The Node is asked only for a placement the flags leave open
/// (`dc_flag`, `rack_flag`) under `--topology node-labels`.
pub(super) async fn ask_at_boot(
    kube_api: KubeApi,
    identity: &Identity,
    seeding: Seeding,
    topology: Topology,
    dc_flag: Option<&str>,
    rack_flag: Option<&str>,
) -> AtBoot {
    let kube = Kube::connect(kube_api, &identity.namespace, &identity.pod.to_string());
    let wants = Wants {
        own_pod: true,
        events: true,
        set: seeding.replicas.is_none().then(|| identity.pod.set.clone()),
        // Only on request: with `--topology flags` the Node is never asked, so an install
        // without the node-topology ClusterRole sends no request and logs no denial.
        node: topology == Topology::NodeLabels && (dc_flag.is_none() || rack_flag.is_none()),
        pods: false,
        record: Some(identity.pod.set.clone()),
    };
    // Asked again when late (a busy or starting API server): without the identity record,
    // ordinal 0 falls back to the rules under which an empty disk can found a second
    // cluster, and without the pod no Event names it.
    let facts = kube.own_facts(&wants).await;
    let (kube, facts) = kube.ask_again_if_late(&wants, facts, Duration::MAX).await;
    log_gaps(&gaps(&facts, &wants));
    // A bound from the StatefulSet can change while the pod waits (a set scaled from 1
    // back to 3 so that the others return): it is read again until the boot is decided.
    let bound_refresh = match (&facts.set, seeding.replicas) {
        (Fact::Known(set), None) => Some(set.name.clone()),
        _ => None,
    };
    let seeding = Seeding {
        replicas: replica_bound(seeding.replicas, &facts, identity.pod.ordinal),
        ..seeding
    };
    AtBoot {
        kube,
        facts,
        bound_refresh,
        seeding,
    }
}

/// How often the StatefulSet's replica count is read again while the boot waits.
const BOUND_REFRESH: Duration = Duration::from_secs(10);

/// The ordinal bound kept current while the boot waits (`refresh_bound` on the set
/// `bound_refresh` names), with the task to abort once the boot is decided; none when the
/// bound did not come from the StatefulSet.
pub(super) fn watch_bound(
    kube: &Kube,
    bound_refresh: Option<String>,
    own_ordinal: u32,
    first: Option<u32>,
) -> (
    Option<tokio::sync::watch::Receiver<Option<u32>>>,
    Option<tokio::task::JoinHandle<()>>,
) {
    match bound_refresh {
        Some(set) => {
            let (rx, task) = refresh_bound(kube.again(), set, own_ordinal, first);
            (Some(rx), Some(task))
        }
        None => (None, None),
    }
}

/// Reads statefulsets/`set` again every `BOUND_REFRESH` and sends the ordinal bound
/// (`decide::replicas`) when it changes; `first` is the bound read at start. An answer
/// that does not come keeps the last bound (it only sizes the candidates).
fn refresh_bound(
    kube: Kube,
    set: String,
    own_ordinal: u32,
    first: Option<u32>,
) -> (
    tokio::sync::watch::Receiver<Option<u32>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::watch::channel(first);
    let task = tokio::spawn(async move {
        let wants = Wants {
            set: Some(set),
            ..Wants::default()
        };
        loop {
            tokio::time::sleep(BOUND_REFRESH).await;
            let facts = kube.again().own_facts(&wants).await;
            if let Fact::Known(_) = facts.set {
                let bound = crate::decide::replicas::bound(None, &facts.set, own_ordinal).replicas;
                tx.send_if_modified(|last| {
                    let changed = *last != bound;
                    *last = bound;
                    changed
                });
            }
        }
    });
    (rx, task)
}
