//! `ringkeeper entrypoint -- <command>`: the pod's entrypoint. Decides how the node
//! boots, renders the configuration, then starts Cassandra and supervises it (or execs
//! it with `--exec`).
//!
//! # Layout
//!
//! `run` is the sequence of phases; each room holds one concept, in the order `run` uses
//! it:
//! * `template`: the configuration template, its state directories and the cluster name;
//! * `volume`: what the data volume holds before the boot plan: a decommissioned node's
//!   volume cleared once the ring confirms that it left, a replace that did not finish
//!   resumed or cleared, a join record whose state is gone removed;
//! * `ring`: what the phases that ask the ring share (this pod, its seeding, the cluster,
//!   DNS and CQL);
//! * `api`: what the Kubernetes API says at boot, and the replica bound read again while
//!   the boot waits;
//! * `place`: the DC and rack, waiting for the Node's labels when they are followed;
//! * `boot`: the identity record, the wait for the boot plan, and its decision published;
//! * `launch`: the decision turned into Cassandra's configuration, environment and
//!   command, and the drain that stops it;
//! * `record`: the join record and the identity record, kept while Cassandra runs;
//! * `shutdown`: how the entrypoint ends, before Cassandra started or after it ended.

mod api;
mod backups;
mod boot;
mod launch;
mod place;
mod record;
mod restore;
mod ring;
mod shutdown;
mod template;
mod volume;

use std::ops::ControlFlow;
use std::path::Path;

use anyhow::Context;

use crate::cli::LogFormat;
use crate::config::{EntrypointConfig, Inputs, KubeApi};
use crate::edge::dns::Dns;
use crate::edge::process::{self, Signals};
use crate::edge::rundir::RunDir;
use crate::exit::Outcome;
use crate::gather::{Network, probe_settings};
use ring::Ring;

/// Goes on with what a phase gave, or ends `run` with the outcome the phase ended on (a
/// refusal, or a stop signal before Cassandra started).
macro_rules! or_end {
    ($phase:expr) => {
        match $phase {
            ControlFlow::Continue(value) => value,
            ControlFlow::Break(outcome) => return Ok(outcome),
        }
    };
}

/// Runs the entrypoint.
pub async fn run(
    cfg: EntrypointConfig,
    inputs: &Inputs,
    log_format: LogFormat,
    kube_api: KubeApi,
) -> anyhow::Result<Outcome> {
    let EntrypointConfig {
        identity,
        seeding,
        conf_template,
        conf_out,
        dc,
        rack,
        topology,
        run_dir,
        drain,
        memory_limit,
        exec,
        restore,
        backup_requests,
        command,
    } = cfg;
    // Installed first: a SIGTERM while we wait for seeds must stop us, not be lost.
    let mut signals = Signals::install()?;
    let run = fresh_run_dir(&run_dir)?;
    let template = template::read(
        &conf_template,
        &identity.data_dir,
        seeding.cluster_name.clone(),
    )?;
    // A volume whose node was decommissioned never starts Cassandra as it is: what only a
    // person can resolve refuses here, before anything waits; the clear comes once the
    // ring confirms that the node left (below, with the API's Events at hand).
    let to_clear = or_end!(volume::decommission_check(
        &identity.data_dir,
        &template.dirs,
        template.expected_cluster.as_deref(),
    )?);
    let dns = Dns::from_system_conf()?;
    let cql = probe_settings(&seeding)?;
    // Before the volume is cleared or judged: the API's bound sizes the candidates the
    // ring is asked through, and its Pod names the Events.
    let api::AtBoot {
        mut kube,
        mut facts,
        bound_refresh,
        seeding,
    } = api::ask_at_boot(
        kube_api,
        &identity,
        seeding,
        topology,
        dc.as_deref(),
        rack.as_deref(),
    )
    .await;
    // Before the volume is judged: a restore fills an empty one, and everything after sees
    // the node's state as the backup left it.
    or_end!(
        restore::if_asked(
            restore.as_ref(),
            &kube.events(&facts.own_pod),
            &identity,
            &template.dirs,
            template.expected_cluster.as_deref(),
            seeding.replicas,
            &facts,
        )
        .await?
    );
    let network = Network {
        identity: &identity,
        dns: &dns,
        cql: &cql,
    };
    let ring = Ring {
        identity: &identity,
        seeding: &seeding,
        cluster: template.expected_cluster.as_deref(),
        observe: &network,
    };
    let cleared = or_end!(
        volume::clear_decommissioned(&ring, to_clear, &template.dirs, &kube, &facts, &mut signals)
            .await?
    );
    let (listing, data) =
        or_end!(volume::resume_replace(&ring, &template.dirs, &kube, &facts, &mut signals).await?);
    let record = volume::join_record(&listing, data, &identity.data_dir)?;
    // Read again from here until the boot is decided: a set scaled back up while the pod
    // waits lets the others return.
    let (bound, bound_task) =
        api::watch_bound(&kube, bound_refresh, identity.pod.ordinal, seeding.replicas);
    let (dc, rack) = or_end!(
        place::place_unless_stopped(
            &mut kube,
            &mut facts,
            &mut signals,
            topology,
            dc.as_deref(),
            rack.as_deref(),
            record.as_ref(),
        )
        .await
    );
    // After `place`: a wait for the labels may have learned the pod's UID only later.
    let events = kube.events(&facts.own_pod);
    let api_record = boot::record_facts(&ring, &facts, &events, cleared.as_ref());
    let report = or_end!(
        boot::wait_for_plan(
            &ring,
            data,
            record.as_ref(),
            &api_record,
            bound,
            &events,
            &mut signals,
        )
        .await?
    );
    if let Some(task) = bound_task {
        task.abort();
    }
    let boot::Decided { mode, seeds, event } =
        or_end!(boot::decided(&report, &events, data, identity.pod_ip).await);

    volume::clear_backup_snapshots(&identity.data_dir);
    launch::render_config(template, seeds, identity.pod_ip, &conf_out, &dc, &rack)?;
    let launch = launch::prepare(
        command,
        mode,
        &identity.data_dir,
        &conf_out,
        memory_limit,
        inputs,
    )?;
    if exec {
        return Err(launch::exec(&launch, event, &run).await);
    }
    let plan = launch::stop_plan(
        log_format,
        kube_api,
        &identity,
        &run_dir,
        &seeding.cql,
        &drain,
        &run,
    )?;
    // Built only for a supervised Cassandra: it watches for the join and keeps the records.
    let taker_events = events.clone();
    let recorder = record::Recorder::new(&identity, &cql, record, &kube, &facts, events, mode);
    let watcher = tokio::spawn(recorder.run());
    let taker = backup_requests
        .map(|requests| {
            backups::Taker::new(
                requests,
                &identity,
                &seeding.cql,
                &cql,
                &drain.jmx,
                taker_events,
            )
        })
        .map(|taker| tokio::spawn(taker.run()));
    let ended = process::supervise(&launch, signals, plan).await;
    watcher.abort();
    if let Some(taker) = taker {
        // No new part is started; one being taken runs until it ends or the container
        // stops (then incomplete, taken again after the next start).
        taker.abort();
    }
    // Long published unless Cassandra ended at once (bounded by the API timeout).
    if let Some(event) = event {
        let _ = event.await;
    }
    Ok(shutdown::outcome(ended?, &run))
}

/// The run directory, emptied: what an earlier start of this pod left (a drain marker,
/// an old PID) must not make this one look drained.
fn fresh_run_dir(run_dir: &Path) -> anyhow::Result<RunDir> {
    let run = RunDir::new(run_dir);
    run.reset()
        .with_context(|| format!("--run-dir {}", run_dir.display()))?;
    Ok(run)
}
