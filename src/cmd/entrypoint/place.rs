//! Where the node runs: the DC and rack (`decide::placement`), waiting for the Node's
//! topology labels when they are to be followed and not known yet. Placed after the
//! volume checks: the join record's DC and rack win over the Node's labels.

use std::ops::ControlFlow;
use std::time::Duration;

use tracing::{debug, info, warn};

use super::shutdown;
use crate::decide::api_facts::{ApiFacts, Wants};
use crate::decide::data::JoinRecord;
use crate::decide::placement::{self, Decision, Topology};
use crate::edge::kube::{Kube, REGION_LABEL, ZONE_LABEL};
use crate::edge::process::Signals;
use crate::exit::Outcome;

/// The DC and rack (`place`), or the outcome of a stop signal that came while waiting for
/// the Node's labels (Cassandra not started).
pub(super) async fn place_unless_stopped(
    kube: &mut Kube,
    facts: &mut ApiFacts,
    signals: &mut Signals,
    topology: Topology,
    dc_flag: Option<&str>,
    rack_flag: Option<&str>,
    record: Option<&JoinRecord>,
) -> ControlFlow<Outcome, (String, String)> {
    tokio::select! {
        placed = place(kube, facts, topology, dc_flag, rack_flag, record) => ControlFlow::Continue(placed),
        sig = signals.stop_requested() => {
            warn!(signal = ?sig, "stopped while waiting for the Node's topology labels; cassandra was not started");
            ControlFlow::Break(shutdown::stopped(sig))
        }
    }
}

/// How often the API is asked again while the placement waits for the Node's labels: a
/// granted ClusterRole or a new label is picked up within seconds, and one `get` pair every
/// few seconds is nothing for the API server.
const TOPOLOGY_RETRY: Duration = Duration::from_secs(5);
/// How often that wait is logged at warn (the retries in between only at debug).
const TOPOLOGY_REPORT_EVERY: Duration = Duration::from_secs(30);

/// The DC and rack to run with (`decide::placement`), logged with where they came from
/// and any source that disagrees. While the decision is to wait for the Node's labels,
/// asks the API again every `TOPOLOGY_RETRY` (with the "did not answer" mark cleared, so
/// an API server that was down is asked again), updating `facts` and `kube`.
async fn place(
    kube: &mut Kube,
    facts: &mut ApiFacts,
    topology: Topology,
    dc_flag: Option<&str>,
    rack_flag: Option<&str>,
    record: Option<&JoinRecord>,
) -> (String, String) {
    let started = tokio::time::Instant::now();
    let mut next_report = started;
    let mut waited = false;
    let chosen = loop {
        let decision = placement::choose(&placement::Inputs {
            topology,
            dc_flag,
            rack_flag,
            record,
            node: &facts.node,
        });
        let wait = match decision {
            Decision::Place(chosen) => break chosen,
            Decision::Wait(wait) => wait,
        };
        waited = true;
        let now = tokio::time::Instant::now();
        if now >= next_report {
            warn!(
                missing = %wait.missing.join(" and "),
                why = %wait.why,
                waited_s = now.duration_since(started).as_secs(),
                what_to_do = %format!(
                    "grant the node-topology ClusterRole (get nodes), label the Node with \
                     {REGION_LABEL} and {ZONE_LABEL}, or set --dc and --rack"
                ),
                "--topology node-labels: waiting for the Node's topology labels (no --dc/--rack, \
                 no join record); cassandra is not started, the pod is not Ready; asking again \
                 every 5 s"
            );
            next_report = now + TOPOLOGY_REPORT_EVERY;
        } else {
            debug!(why = %wait.why, "the Node's topology labels are still not known");
        }
        tokio::time::sleep(TOPOLOGY_RETRY).await;
        *kube = kube.again();
        let again = kube
            .own_facts(&Wants {
                own_pod: true,
                node: true,
                ..Wants::default()
            })
            .await;
        // A pod learned before stays learned (its UID carries the Events).
        if again.own_pod.known().is_some() {
            facts.own_pod = again.own_pod;
        }
        facts.node = again.node;
    };
    if waited {
        info!(
            waited_s = started.elapsed().as_secs(),
            "the Node's topology labels are known: waiting is over"
        );
    }
    for warning in &chosen.warnings {
        warn!(why = %warning, "DC/rack: a source was not followed");
    }
    info!(
        dc = %chosen.dc.value,
        dc_from = ?chosen.dc.source,
        rack = %chosen.rack.value,
        rack_from = ?chosen.rack.source,
        "DC and rack"
    );
    (chosen.dc.value, chosen.rack.value)
}
