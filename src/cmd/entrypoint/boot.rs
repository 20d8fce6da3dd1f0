//! The boot plan: the identity record read from the API, the wait until the plan decides
//! (`gather::resolve`, `decide::seeds`), and the decision published and logged with why.

use std::net::IpAddr;
use std::ops::ControlFlow;

use tracing::{info, warn};

use super::ring::Ring;
use super::shutdown;
use super::volume::Cleared;
use crate::decide::api_facts::ApiFacts;
use crate::decide::cluster_record::RecordFacts;
use crate::decide::data::JoinRecord;
use crate::decide::events;
use crate::decide::seeds::{BootMode, DataState, RecordUse, Verdict, Waiting};
use crate::edge::kube::Events;
use crate::edge::process::StopRequests;
use crate::exit::Outcome;
use crate::gather::{SeedReport, Until, identity_record, report_waiting, resolve};

/// The identity record in the API: who this pod was, and whether the cluster exists
/// (never the node this volume held until it was decommissioned). Read once `events` can
/// name the pod, which also announces a volume that was cleared.
pub(super) fn record_facts(
    ring: &Ring<'_>,
    facts: &ApiFacts,
    events: &Events,
    cleared: Option<&Cleared>,
) -> RecordFacts {
    if let Some(cleared) = cleared {
        let _ = events.spawn(events::reinitialized(&cleared.what));
    }
    let api_record = identity_record(facts, ring.identity, ring.cluster)
        .without_decommissioned(cleared.map(|c| c.host_id.as_str()));
    for why in &api_record.ignored {
        let _ = events.spawn(events::record_ignored(why));
    }
    api_record
}

/// Waits until the boot plan decides or refuses in a way only a person can end. Refusals
/// that other pods can end are waited out here, never exited on (see
/// `decide::seeds::Refusal`). A stop signal meanwhile ends the entrypoint, Cassandra not
/// started.
pub(super) async fn wait_for_plan(
    ring: &Ring<'_>,
    data: DataState,
    record: Option<&JoinRecord>,
    api_record: &RecordFacts,
    bound: Option<tokio::sync::watch::Receiver<Option<u32>>>,
    events: &Events,
    stops: &mut dyn StopRequests,
) -> anyhow::Result<ControlFlow<Outcome, SeedReport>> {
    // Each wait report goes through `on_wait`: a log line and a `Waiting` Event
    // (published in the background, never delaying the boot).
    let mut on_wait = |w: &Waiting| {
        report_waiting(w);
        let _ = events.spawn(events::waiting(w));
    };
    // What the identity record decided that an operator should see at once (a replace is
    // published with the boot decision).
    let mut on_record = |used: &RecordUse| match used {
        RecordUse::FoundingRefused { pods } => {
            let _ = events.spawn(events::founding_refused(pods));
        }
        RecordUse::NotActedOn { host_id, why } => {
            let _ = events.spawn(events::record_ignored(&format!(
                "this pod's previous node {host_id}: {why}"
            )));
        }
        RecordUse::Replace { .. } | RecordUse::ReplaceNotYet { .. } | RecordUse::FoundingEarly => {}
    };
    let Ring {
        identity,
        seeding,
        cluster,
        observe,
    } = *ring;
    let report = tokio::select! {
        report = resolve(identity, seeding, cluster, data, record, api_record, bound, observe, Until::StartOrPersonMustAct, &mut on_wait, &mut on_record) => report?,
        sig = stops.next_stop() => {
            warn!(signal = ?sig, "stopped while waiting for seeds; cassandra was not started");
            return Ok(ControlFlow::Break(shutdown::stopped(sig)));
        }
    };
    Ok(ControlFlow::Continue(report))
}

/// The boot decision, as the launch carries it out.
pub(super) struct Decided {
    /// How the node boots.
    pub mode: BootMode,
    /// Its seeds.
    pub seeds: Vec<IpAddr>,
    /// The boot Event being published in the background (`--exec` and the end of
    /// supervision wait for it).
    pub event: Option<tokio::task::JoinHandle<()>>,
}

/// Publishes the plan's verdict (`announce`) and takes it: a refusal ends the entrypoint
/// (a person must act), seeds are logged with why this mode.
pub(super) async fn decided(
    report: &SeedReport,
    events: &Events,
    data: DataState,
    pod_ip: IpAddr,
) -> ControlFlow<Outcome, Decided> {
    let event = announce(events, &report.plan.verdict).await;
    let (mode, seeds) = match &report.plan.verdict {
        Verdict::Seeds { mode, seeds } => (*mode, seeds.clone()),
        Verdict::Refuse { reason, refusal } => {
            return ControlFlow::Break(Outcome::Refused {
                stdout: None,
                reason: format!("cassandra was not started: {}: {reason}", refusal.prefix()),
            });
        }
        Verdict::Wait { .. } => unreachable!("resolve() loops until the wait is over"),
    };
    info!(
        ?mode,
        ?seeds,
        ?data,
        why = match mode {
            BootMode::Restart if data == DataState::Unconfirmed && seeds.contains(&pod_ip) =>
                "the data directory holds this node's state but its join was never confirmed, and \
                 no other pod exists: restart as its own seed (there is no ring to stream from)",
            BootMode::Restart if data == DataState::Unconfirmed =>
                "the data directory holds this node's state, but its join was never confirmed: \
                 restart with other pods as seeds, so an unfinished bootstrap resumes",
            BootMode::Restart => "the data directory holds this node's state: restart with it",
            BootMode::Join => "no data: bootstrap from the seeds, which never include this pod",
            BootMode::Found => "no data, ordinal 0, and no ring answers: found the cluster",
            BootMode::Replace { .. } =>
                "no data, and the ring holds this pod's previous incarnation: replace it (streams its data)",
        },
        "boot decision"
    );
    ControlFlow::Continue(Decided { mode, seeds, event })
}

/// Publishes the boot decision: a refusal before the command ends (bounded), founding or
/// restarting in the background (the handle lets `--exec` wait for it). A join is
/// published when it is confirmed (`Recorder`).
async fn announce(events: &Events, verdict: &Verdict) -> Option<tokio::task::JoinHandle<()>> {
    match verdict {
        Verdict::Refuse { reason, .. } => {
            events.publish(&events::refused(reason)).await;
            None
        }
        Verdict::Seeds { mode, seeds } => events.spawn(events::boot(mode, seeds)?),
        Verdict::Wait { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::decide::cluster_record::RecordFacts;
    use crate::decide::supervise::Signal;
    use crate::edge::Pending;
    use crate::gather::scripted::{Pod, Script, identity, seeding};

    /// A SIGTERM `after` the boot began (never, with `None`).
    struct StopAfter(Option<Duration>);

    impl StopRequests for StopAfter {
        fn next_stop(&mut self) -> Pending<'_, Signal> {
            let after = self.0;
            Box::pin(async move {
                match after {
                    Some(after) => tokio::time::sleep(after).await,
                    None => std::future::pending().await,
                }
                Signal::Term
            })
        }
    }

    /// The entrypoint's wait for the plan against a stop request, under paused time: a
    /// stop ends the wait at once with 143 (128 + SIGTERM), Cassandra not started, however
    /// long and for whatever reason the boot waited; a plan decided first is taken.
    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_wait_for_the_plan() {
        use Pod::{Member, SeesJoining, Silent};
        /// Pod `own` with an empty volume, the ring as `phases` script it, a stop at
        /// `stop`: the wait ends with `want` (the boot mode, or the exit code) at `after`.
        struct Case {
            name: &'static str,
            own: u32,
            phases: &'static [(u64, &'static [Pod])],
            stop: Option<u64>,
            want: Result<BootMode, u8>,
            after: u64,
        }
        let cases = [
            Case {
                name: "stopped while the first pod is not up yet",
                own: 1,
                phases: &[(0, &[Silent])],
                stop: Some(7),
                want: Err(143),
                after: 7,
            },
            Case {
                name: "stopped long after --seed-wait, waiting out a bootstrap",
                own: 2,
                phases: &[(0, &[SeesJoining(1), Silent])],
                stop: Some(100),
                want: Err(143),
                after: 100,
            },
            Case {
                name: "the plan decides before the stop: taken, the stop is the supervisor's",
                own: 1,
                phases: &[(0, &[Silent]), (3, &[Member])],
                stop: Some(60),
                want: Ok(BootMode::Join),
                after: 3,
            },
            Case {
                name: "no stop: the plan decides once --seed-wait is over",
                own: 0,
                phases: &[(0, &[Silent, Silent, Silent])],
                stop: None,
                want: Ok(BootMode::Found),
                after: 10,
            },
        ];
        for Case {
            name,
            own,
            phases,
            stop,
            want,
            after,
        } in cases
        {
            let identity = identity(own);
            let seeding = seeding(Some(3));
            let script = Script::new(own, phases);
            let ring = Ring {
                identity: &identity,
                seeding: &seeding,
                cluster: Some("c"),
                observe: &script,
            };
            let start = tokio::time::Instant::now();
            let mut stops = StopAfter(stop.map(Duration::from_secs));
            // Bounded: a wait that a stop no longer ends fails the case instead of hanging.
            let ended = tokio::time::timeout(
                Duration::from_secs(3600),
                wait_for_plan(
                    &ring,
                    DataState::Empty,
                    None,
                    &RecordFacts::default(),
                    None,
                    &Events::none(),
                    &mut stops,
                ),
            )
            .await
            .unwrap_or_else(|_| panic!("{name}: still waiting after an hour"))
            .unwrap();
            let got = match ended {
                ControlFlow::Break(Outcome::Exit(code)) => Err(code),
                ControlFlow::Break(other) => panic!("{name}: {other:?}"),
                ControlFlow::Continue(report) => match report.plan.verdict {
                    Verdict::Seeds { mode, .. } => Ok(mode),
                    other => panic!("{name}: {other:?}"),
                },
            };
            assert_eq!(got, want, "{name}");
            // A stop ends the wait at once; a change in the ring is seen by the next
            // round, within the pause between rounds (5 s).
            let took = start.elapsed().as_secs();
            let latest = if want.is_err() { after } else { after + 5 };
            assert!((after..=latest).contains(&took), "{name}: after {took} s");
        }
    }
}
