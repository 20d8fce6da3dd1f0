//! `ringkeeper seeds`: look up the candidate names until the seed rules can decide, and
//! print the list (or the decision with its reasons). The gathering itself is
//! `crate::gather`, shared with `entrypoint` and `status`.

use std::time::Duration;

use tracing::info;

use crate::cli::OutputFormat;
use crate::config::{KubeApi, Seeding, SeedsConfig};
use crate::decide::api_facts::{Wants, gaps};
use crate::decide::seeds::{RecordUse, Verdict, Waiting};
use crate::edge::datadir;
use crate::edge::dns::Dns;
use crate::edge::kube::{Kube, log_gaps, replica_bound};
use crate::exit::Outcome;
use crate::gather::{Network, Until, classify_logged, identity_record, probe_settings, resolve};
use crate::render;

/// Runs `ringkeeper seeds`.
pub async fn run(cfg: SeedsConfig, kube_api: KubeApi) -> anyhow::Result<Outcome> {
    let SeedsConfig {
        identity,
        seeding,
        format,
    } = cfg;
    let kube = Kube::connect(kube_api, &identity.namespace, &identity.pod.to_string());
    let wants = Wants {
        own_pod: true,
        set: Some(identity.pod.set.clone()),
        record: Some(identity.pod.set.clone()),
        ..Wants::default()
    };
    // Asked again when late: without the identity record, ordinal 0 falls back to the
    // rules under which an empty disk can found a second cluster.
    let facts = kube.own_facts(&wants).await;
    let (_, facts) = kube.ask_again_if_late(&wants, facts, Duration::MAX).await;
    log_gaps(&gaps(&facts, &wants));
    let api_record = identity_record(&facts, &identity, seeding.cluster_name.as_deref());
    let seeding = Seeding {
        replicas: replica_bound(seeding.replicas, &facts, identity.pod.ordinal),
        ..seeding
    };
    let cql = probe_settings(&seeding)?;
    // `seeds` has no template, so it looks where Cassandra's default layout puts state.
    let dirs = render::data_dirs(&Default::default(), &identity.data_dir)?;
    let listing = datadir::list(&dirs, &identity.data_dir)?;
    let data = classify_logged(&listing);
    let dns = Dns::from_system_conf()?;
    let report = resolve(
        &identity,
        &seeding,
        seeding.cluster_name.as_deref(),
        data,
        listing.joined.record(),
        &api_record,
        // A one-shot: the bound read at start stands.
        None,
        &Network {
            identity: &identity,
            dns: &dns,
            cql: &cql,
        },
        Until::Answer,
        &mut |w: &Waiting| {
            info!(reason = %w.reason, seen = %w.seen.join("; "), waited_s = w.waited.as_secs(), rounds = w.rounds, "no seed list yet; looking up again")
        },
        &mut |_: &RecordUse| {},
    )
    .await?;
    let json = || serde_json::to_string_pretty(&report).expect("a report serializes");
    Ok(match (&report.plan.verdict, format) {
        (Verdict::Seeds { .. }, OutputFormat::Text) => {
            Outcome::Answer(report.seed_line().unwrap_or_default())
        }
        (Verdict::Seeds { .. }, OutputFormat::Json) => Outcome::Answer(json()),
        (Verdict::Refuse { reason, .. }, f) => Outcome::Refused {
            stdout: (f == OutputFormat::Json).then(json),
            reason: reason.clone(),
        },
        (Verdict::Wait { .. }, _) => unreachable!("resolve() loops until the wait is over"),
    })
}
