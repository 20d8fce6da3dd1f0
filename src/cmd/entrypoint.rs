//! `ringkeeper entrypoint -- <command>`: the pod's entrypoint. Decides how the node
//! boots, renders the configuration, then starts Cassandra and supervises it (or execs
//! it with `--exec`).

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tracing::{debug, info, warn};

use crate::cli::LogFormat;
use crate::config::{EntrypointConfig, Inputs, KubeApi, Seeding};
use crate::decide::api_facts::{ApiFacts, Fact, SetFacts, Wants, gaps};
use crate::decide::cluster_record::PodEntry;
use crate::decide::data::{JoinRecord, identity_changes, record_of};
use crate::decide::decommissioned::{self, LeftCheck, VolumeCheck};
use crate::decide::drain::shutdown_verdict;
use crate::decide::events;
use crate::decide::heap::{self, Heap};
use crate::decide::placement::{self, Decision, Topology};
use crate::decide::replacing::{self, ReplaceCheck, Replacing, Unfinished};
use crate::decide::ring::Bootstrapped;
use crate::decide::seeds::{BootMode, Cql, DataState, RecordUse, Verdict, Waiting};
use crate::decide::supervise::{self, Signal};
use crate::edge::cql::{self, CqlError, CqlSettings};
use crate::edge::kube::{Events, Kube, REGION_LABEL, ZONE_LABEL, log_gaps, replica_bound};
use crate::edge::process::{self, Ended, Launch, Signals, StopPlan};
use crate::edge::rundir::{ProcessRecord, RunDir};
use crate::edge::{confdir, datadir, dns::Dns};
use crate::env;
use crate::exit::Outcome;
use crate::gather::{
    Until, classify_logged, identity_record, probe_settings, report_waiting, resolve,
};
use crate::render::{self, YamlSettings};

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
        command,
    } = cfg;
    // Installed first: a SIGTERM while we wait for seeds must stop us, not be lost.
    let mut signals = Signals::install()?;
    // What an earlier start of this pod left (a drain marker, an old PID) must not make
    // this one look drained.
    let run = RunDir::new(&run_dir);
    run.reset()
        .with_context(|| format!("--run-dir {}", run_dir.display()))?;

    let template = confdir::read_template(&conf_template)?;
    let yaml = render::parse_yaml(&template.yaml)
        .with_context(|| format!("{}/cassandra.yaml", conf_template.display()))?;
    let dirs = render::data_dirs(&yaml, &identity.data_dir)
        .with_context(|| format!("{}/cassandra.yaml", conf_template.display()))?;
    let template_cluster_name = yaml
        .get("cluster_name")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    // `Some` overrides the template's name; `None` keeps it. `expected_cluster` below is
    // the name this node will run with, which every candidate must share.
    let cluster_name = match seeding.cluster_name.clone() {
        Some(name) => Some(name),
        None => match template_cluster_name.as_deref() {
            Some(name) => {
                if name == "Test Cluster" {
                    warn!(
                        cluster_name = name,
                        "the template's cluster_name is Cassandra's default: clusters that share it can merge by accident; set --cluster-name"
                    );
                }
                None
            }
            None => anyhow::bail!(
                "no cluster name: set --cluster-name (env {}) or cluster_name in {}/cassandra.yaml. \
                 Without one every node would use Cassandra's default, and unrelated clusters could merge",
                env::CLUSTER_NAME,
                conf_template.display()
            ),
        },
    };
    let expected_cluster = cluster_name.clone().or(template_cluster_name);
    // A volume whose node was decommissioned never starts Cassandra as it is: once the
    // ring confirms that the node left (below, with the API's Events at hand), its
    // snapshots and backups are kept and the rest is cleared; the pod joins as a new node.
    let decommissioned = datadir::read_decommissioned(&identity.data_dir)?;
    let to_clear = match decommissioned::boot_check(
        decommissioned.as_ref(),
        expected_cluster.as_deref().unwrap_or_default(),
        datadir::read_record(&identity.data_dir)?
            .record()
            .map(|r| r.host_id.as_str()),
    ) {
        VolumeCheck::Use => None,
        VolumeCheck::Refuse(reason) => {
            return Ok(Outcome::Refused {
                stdout: None,
                reason,
            });
        }
        VolumeCheck::ConfirmLeft {
            what,
            host_id,
            kept,
        } => {
            // Checked before any wait: a clear never walks a directory off the volume.
            if let Err(why) = datadir::within_volume(&dirs, &identity.data_dir) {
                return Ok(Outcome::Refused {
                    stdout: None,
                    reason: format!(
                        "a person must act: this volume holds a node that was decommissioned \
                         ({what}), but {why}; cassandra was not started and nothing was deleted"
                    ),
                });
            }
            Some((what, host_id, kept))
        }
    };
    let dns = Dns::from_system_conf()?;
    let cql = probe_settings(&seeding)?;
    // The Kubernetes API (optional): the ordinal bound, where the node runs, and the Pod
    // for Events. One round trip or two, bounded; without it, flags and defaults as before.
    let mut kube = Kube::connect(kube_api, &identity.namespace, &identity.pod.to_string());
    let wants = Wants {
        own_pod: true,
        events: true,
        set: seeding.replicas.is_none().then(|| identity.pod.set.clone()),
        // Only on request: with `--topology flags` the Node is never asked, so an install
        // without the node-topology ClusterRole sends no request and logs no denial.
        node: topology == Topology::NodeLabels && (dc.is_none() || rack.is_none()),
        pods: false,
        record: Some(identity.pod.set.clone()),
    };
    // Asked again when late (a busy or starting API server): without the identity record,
    // ordinal 0 falls back to the rules under which an empty disk can found a second
    // cluster, and without the pod no Event names it.
    let facts = kube.own_facts(&wants).await;
    let (kube_after, mut facts) = kube.ask_again_if_late(&wants, facts, Duration::MAX).await;
    kube = kube_after;
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
    // The decommissioned volume: cleared only once the ring confirms that its node left.
    let reinitialized = match to_clear {
        None => None,
        Some((what, host_id, kept)) => {
            let events = kube.events(&facts.own_pod);
            let cluster = expected_cluster.clone().unwrap_or_default();
            let confirmed = tokio::select! {
                by = confirm_left(&identity, &seeding, &dns, &cql, &host_id, &cluster, &events) => by?,
                sig = signals.stop_requested() => {
                    warn!(signal = ?sig, "stopped while waiting for the ring to confirm that the volume's node left; nothing was deleted, cassandra was not started");
                    return Ok(Outcome::Exit(supervise::exit_code(supervise::ChildEnd::Signaled(signal_number(sig)))));
                }
            };
            let moved =
                datadir::clear_decommissioned(&dirs, &identity.data_dir, &kept).map_err(|e| {
                    anyhow::anyhow!(
                        "clearing the volume of a decommissioned node in --data-dir {}: {e}",
                        identity.data_dir.display()
                    )
                })?;
            for path in &moved {
                warn!(kept = %path.display(), "a snapshot or backup of the node that left was kept (moved, not deleted); remove it when no longer needed");
            }
            if !moved.is_empty() {
                let _ = events.spawn(events::snapshots_kept(
                    &identity.data_dir.join(decommissioned::KEPT_DIR).join(&kept),
                    moved.len(),
                ));
            }
            warn!(
                node = %what,
                confirmed_by = ?confirmed,
                kept = moved.len(),
                "the volume held a node that was decommissioned (it left the ring, its data streamed to the others): cleared; this pod joins as a new node"
            );
            Some((what, Some(host_id)))
        }
    };
    let listing = datadir::list(&dirs, &identity.data_dir)?;
    let data = classify_logged(&listing);
    // A replace that did not finish is resumed as a replace, never restarted as a plain
    // bootstrap beside the member it should have replaced (`decide::replacing`).
    let replacing = datadir::read_replacing(&identity.data_dir)?;
    let (listing, data) = match replacing::boot_check(replacing.as_ref(), data) {
        ReplaceCheck::Go => (listing, data),
        ReplaceCheck::RemoveStale => {
            datadir::remove_replacing(&identity.data_dir)?;
            info!(
                "the replace recorded on the volume finished (its join is confirmed): marker removed"
            );
            (listing, data)
        }
        ReplaceCheck::Refuse(reason) => {
            return Ok(Outcome::Refused {
                stdout: None,
                reason,
            });
        }
        ReplaceCheck::ClearPartial(why) => {
            if let Err(e) = datadir::within_volume(&dirs, &identity.data_dir) {
                return Ok(Outcome::Refused {
                    stdout: None,
                    reason: format!(
                        "a person must act: {why}, but {e}; cassandra was not started and \
                         nothing was deleted"
                    ),
                });
            }
            let Some(Ok(marker)) = replacing.clone() else {
                unreachable!("ClearPartial is decided from a readable marker");
            };
            // Cleared only while the ring still lists the replaced node: a replace that
            // finished (its join record not written before the pod stopped) keeps its data.
            let events = kube.events(&facts.own_pod);
            let cluster = expected_cluster.clone().unwrap_or_default();
            let judged = tokio::select! {
                judged = ask_ring(&identity, &seeding, &dns, &cql, &events, |candidates| {
                    match replacing::unfinished(&marker, identity.pod_ip, identity.pod.ordinal, &cluster, candidates) {
                        Unfinished::Wait(reason) => Err(reason),
                        other => Ok(other),
                    }
                }) => judged?,
                sig = signals.stop_requested() => {
                    warn!(signal = ?sig, "stopped while waiting for the ring to tell whether the unfinished replace finished; nothing was deleted, cassandra was not started");
                    return Ok(Outcome::Exit(supervise::exit_code(supervise::ChildEnd::Signaled(signal_number(sig)))));
                }
            };
            match judged {
                Unfinished::Refuse(reason) => {
                    return Ok(Outcome::Refused {
                        stdout: None,
                        reason,
                    });
                }
                Unfinished::Finished { by } => {
                    datadir::remove_replacing(&identity.data_dir)?;
                    warn!(seen = ?by, "the replace recorded on the volume finished (the replaced address left the ring); only its join was not recorded: the data is kept and the node restarts with it");
                    (listing, data)
                }
                Unfinished::Clear { by } => {
                    let moved = datadir::clear_unfinished_replace(
                        &dirs,
                        &identity.data_dir,
                        &format!("unfinished-replace-{}", marker.started_at),
                    )
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "clearing what an unfinished replace wrote in --data-dir {}: {e}",
                            identity.data_dir.display()
                        )
                    })?;
                    warn!(
                        %why, seen = ?by, kept = moved.len(),
                        "the replaced node is still in the ring: cleared what the unfinished replace wrote; the boot plan decides again (it replaces again once the ring still confirms the old node down, and never bootstraps beside it)"
                    );
                    let listing = datadir::list(&dirs, &identity.data_dir)?;
                    let data = classify_logged(&listing);
                    (listing, data)
                }
                Unfinished::Wait(_) => unreachable!("ask_ring returns only once judged"),
            }
        }
    };
    if listing.joined.exists() && listing.system_local_sstables == 0 {
        // The state it vouched for is gone (data wiped): left in place, it would vouch for
        // whatever the next first boot leaves behind, even an interrupted bootstrap.
        datadir::remove_joined_marker(&identity.data_dir)?;
        warn!(
            ?data,
            "removed the join record of a node whose state is gone"
        );
    }
    let record = listing
        .joined
        .record()
        .filter(|_| data == DataState::Present)
        .cloned();
    let (bound, bound_task) = match bound_refresh {
        Some(set) => {
            let (rx, task) =
                refresh_bound(kube.again(), set, identity.pod.ordinal, seeding.replicas);
            (Some(rx), Some(task))
        }
        None => (None, None),
    };
    let (dc, rack) = tokio::select! {
        placed = place(&mut kube, &mut facts, topology, dc.as_deref(), rack.as_deref(), record.as_ref()) => placed,
        sig = signals.stop_requested() => {
            warn!(signal = ?sig, "stopped while waiting for the Node's topology labels; cassandra was not started");
            return Ok(Outcome::Exit(supervise::exit_code(supervise::ChildEnd::Signaled(signal_number(sig)))));
        }
    };
    // After `place`: a wait for the labels may have learned the pod's UID only later.
    let events = kube.events(&facts.own_pod);
    if let Some((what, _)) = &reinitialized {
        let _ = events.spawn(events::reinitialized(what));
    }
    // The identity record in the API: who this pod was, and whether the cluster exists
    // (never the node this volume held until it was decommissioned).
    let api_record = identity_record(&facts, &identity, expected_cluster.as_deref())
        .without_decommissioned(reinitialized.as_ref().and_then(|(_, h)| h.as_deref()));
    for why in &api_record.ignored {
        let _ = events.spawn(events::record_ignored(why));
    }

    let mut recorder = Recorder {
        ip: identity.pod_ip,
        settings: cql.clone(),
        data_dir: identity.data_dir.clone(),
        last: record.clone(),
        joined: None,
        identity: IdentityWriter::new(&kube, &facts, &identity.pod.set, &events),
    };

    // Refusals that other pods can end are waited out here, never exited on (see
    // `decide::seeds::Refusal`); each wait report goes through `on_wait`: a log line and
    // a `Waiting` Event (published in the background, never delaying the boot).
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
    let report = tokio::select! {
        report = resolve(&identity, &seeding, expected_cluster.as_deref(), data, record.as_ref(), &api_record, bound, &dns, &cql, Until::StartOrPersonMustAct, &mut on_wait, &mut on_record) => report?,
        sig = signals.stop_requested() => {
            warn!(signal = ?sig, "stopped while waiting for seeds; cassandra was not started");
            return Ok(Outcome::Exit(supervise::exit_code(supervise::ChildEnd::Signaled(signal_number(sig)))));
        }
    };
    if let Some(task) = bound_task {
        task.abort();
    }
    let boot_event = announce(&events, &report.plan.verdict).await;
    let (mode, seeds) = match &report.plan.verdict {
        Verdict::Seeds { mode, seeds } => (*mode, seeds.clone()),
        Verdict::Refuse { reason, refusal } => {
            return Ok(Outcome::Refused {
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
            BootMode::Restart
                if data == DataState::Unconfirmed && seeds.contains(&identity.pod_ip) =>
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

    let (yaml_text, overridden) = render::render_yaml(
        yaml,
        &YamlSettings {
            cluster_name,
            seeds,
            pod_ip: identity.pod_ip,
            dirs,
        },
    )
    .with_context(|| format!("{}/cassandra.yaml", conf_template.display()))?;
    for (key, old) in &overridden {
        info!(key = %key, template_value = %old, "template value overridden by ringkeeper");
    }
    let rackdc = render::render_rackdc(&template.rackdc, &dc, &rack);
    confdir::write(
        &conf_template,
        &conf_out,
        &[
            ("cassandra.yaml", &yaml_text),
            ("cassandra-rackdc.properties", &rackdc),
        ],
    )?;
    info!(conf_out = %conf_out.display(), dc = %dc, rack = %rack, "configuration rendered");

    // Boot decisions that need JVM properties append them here. `_first_boot` is ignored
    // by Cassandra once the node has bootstrapped, so a restart after the replace is safe.
    let jvm_opts: Vec<String> = match mode {
        BootMode::Replace { address } => {
            // Remembered on the volume until the join is confirmed: a start cut short
            // resumes the replace instead of bootstrapping plainly beside the dead node.
            datadir::write_replacing(
                &identity.data_dir,
                &Replacing {
                    address,
                    started_at: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                },
            )?;
            vec![format!("-Dcassandra.replace_address_first_boot={address}")]
        }
        _ => Vec::new(),
    };
    let mut launch_env = vec![(
        env::CASSANDRA_CONF.to_owned(),
        conf_out.display().to_string(),
    )];
    launch_env.extend(heap_env(memory_limit, inputs));
    if !jvm_opts.is_empty() {
        let mut all: Vec<String> = inputs.jvm_extra_opts.iter().cloned().collect();
        all.extend(jvm_opts);
        launch_env.push((env::JVM_EXTRA_OPTS.to_owned(), all.join(" ")));
    }
    let launch = Launch {
        command,
        env: launch_env,
    };
    if exec {
        warn!(
            "with --exec nothing confirms that this node finishes joining or records its ring: \
             later restarts will not list it as its own seed, nor check the ring they join"
        );
        info!(command = ?launch.command, "exec cassandra (no supervision)");
        // Published before the process is replaced (bounded by the API timeout).
        if let Some(event) = boot_event {
            let _ = event.await;
        }
        // Cassandra keeps this PID and start time: `drain` can verify and signal it.
        if let Err(e) = ProcessRecord::of_self().and_then(|record| run.record_cassandra(&record)) {
            warn!(error = %e, "cannot record the PID: a drain cut short cannot stop cassandra");
        }
        return Err(process::exec(&launch));
    }
    let drain_command = {
        let exe = std::env::current_exe().context("cannot find ringkeeper's own executable")?;
        let mut fixed: Vec<OsString> = vec![
            "--log-format".into(),
            match log_format {
                LogFormat::Json => "json".into(),
                LogFormat::Plain => "plain".into(),
            },
            "--kube-api".into(),
            kube_api.as_arg().into(),
            "drain".into(),
            "--pod-name".into(),
            identity.pod.to_string().into(),
            "--namespace".into(),
            identity.namespace.clone().into(),
            "--host".into(),
            identity.pod_ip.to_string().into(),
            "--run-dir".into(),
            run_dir.clone().into(),
            "--data-dir".into(),
            identity.data_dir.clone().into(),
        ];
        fixed.extend(seeding.cql.to_args());
        let drain = drain.clone();
        Box::new(move |grace_left: Duration| {
            let mut command = vec![exe.clone().into_os_string()];
            command.extend(fixed.iter().cloned());
            command.extend(drain.to_args(grace_left));
            Launch {
                command,
                env: Vec::new(),
            }
        })
    };
    let plan = StopPlan {
        run: run.clone(),
        grace_period: drain.grace_period,
        drain: drain_command,
    };
    recorder.joined = Some((events, mode));
    let watcher = tokio::spawn(recorder.run());
    let ended = process::supervise(&launch, signals, plan).await;
    watcher.abort();
    // Long published unless Cassandra ended at once (bounded by the API timeout).
    if let Some(event) = boot_event {
        let _ = event.await;
    }
    let Ended {
        end,
        stop_requested,
        killed,
    } = ended?;
    let mut code = supervise::exit_code(end);
    // A drain that could not finish stops Cassandra itself (SIGTERM): a shutdown too.
    let marker = run.marker().ok().flatten();
    if !stop_requested && marker.is_none() {
        warn!(
            ?end,
            exit_code = code,
            "cassandra exited without being asked to stop"
        );
        return Ok(Outcome::Exit(code));
    }
    // The last word on the shutdown: drained (nothing for the next start to replay), or not.
    let outcome = marker.and_then(|m| m.outcome);
    let verdict = shutdown_verdict(outcome.as_ref(), killed);
    if verdict.clean {
        code = 0;
        info!(
            ?end,
            exit_code = code,
            "cassandra stopped cleanly: drained, commit log recycled (the next start replays nothing)"
        );
    } else {
        warn!(
            ?end,
            exit_code = code,
            why = verdict.why.as_deref().unwrap_or_default(),
            "cassandra stopped WITHOUT a clean drain: the next start replays the commit log"
        );
    }
    Ok(Outcome::Exit(code))
}

/// The heap settings for Cassandra's environment (`decide::heap`), logged once.
fn heap_env(memory_limit: Option<u64>, inputs: &Inputs) -> Vec<(String, String)> {
    // The cores this container may use (its CPU limit, where the platform says).
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    let decided = heap::heap(&heap::Facts {
        memory_limit,
        cores,
        max_heap_size: inputs.max_heap_size.as_deref(),
        heap_newsize: inputs.heap_newsize.as_deref(),
    });
    match decided {
        Heap::Untouched => {
            info!(
                "no --memory-limit: cassandra-env.sh sizes the heap (from the machine's memory, \
                 not the container's limit)"
            );
            Vec::new()
        }
        Heap::FromEnvironment { max_heap_size } => {
            info!(
                max_heap_size = %max_heap_size,
                heap_newsize = inputs.heap_newsize.as_deref().unwrap_or("unset"),
                memory_limit,
                "heap: MAX_HEAP_SIZE from the environment wins over --memory-limit"
            );
            Vec::new()
        }
        Heap::Set {
            max_heap_size,
            heap_newsize,
        } => {
            info!(
                max_heap_size = %max_heap_size,
                heap_newsize = heap_newsize
                    .as_deref()
                    .or(inputs.heap_newsize.as_deref())
                    .unwrap_or_default(),
                memory_limit,
                cores,
                "heap from --memory-limit: half the limit (at most 31 GiB); young generation \
                 min(100 MiB per core, a quarter of the heap)"
            );
            let mut vars = vec![(env::MAX_HEAP_SIZE.to_owned(), max_heap_size)];
            if let Some(new) = heap_newsize {
                vars.push((env::HEAP_NEWSIZE.to_owned(), new));
            }
            vars
        }
    }
}

/// How often the entrypoint asks the local node whether it has joined.
const JOIN_POLL: Duration = Duration::from_secs(3);
/// How often it reads the ring again to keep the record current once joined: members
/// join, leave and change addresses over the node's life, and a restart compares
/// candidates with the ring as last seen.
const RECORD_REFRESH: Duration = Duration::from_secs(30);
/// How long the join may stay unconfirmed before each warning (a bootstrap or replace
/// streams for as long as the data takes, without CQL).
const JOIN_WARN_EVERY: Duration = Duration::from_secs(600);
/// How often after the node rejected the credentials: roles may appear later (the
/// default superuser is created `superuser_setup_delay_ms` after the first start, an
/// operator may create the probe's role later), but failed logins are logged by the node.
const JOIN_POLL_AFTER_AUTH_ERROR: Duration = Duration::from_secs(30);

/// How often the StatefulSet's replica count is read again while the boot waits.
const BOUND_REFRESH: Duration = Duration::from_secs(10);

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

/// Keeps the join record (`ringkeeper-joined` in `--data-dir`) for the node it
/// supervises. A node that started without a confirmed join (new, replacing, or restarting
/// after an interrupted bootstrap) is watched until `system.local` says COMPLETED; then,
/// and every `RECORD_REFRESH` while it runs, its host ID and the ring members it sees are
/// written whenever they changed. Later restarts list the node as its own seed only with
/// a record, and take as seeds only candidates whose ring lists this host ID.
struct Recorder {
    ip: IpAddr,
    settings: CqlSettings,
    data_dir: PathBuf,
    /// The record on disk, once there is one.
    last: Option<JoinRecord>,
    /// Where to announce the first record (a confirmed join), and how the node booted.
    joined: Option<(Events, BootMode)>,
    /// Keeps this pod's entry in the identity record in the Kubernetes API, when there
    /// is access.
    identity: Option<IdentityWriter>,
}

/// This pod's entry in the identity record (`decide::cluster_record`): written once the
/// node is NORMAL (its join confirmed) at each start, again when what it says changes (an
/// address, a rack) or its data volume's free space moved by 1 % of the volume (a
/// scale-down judges the room there from it, `decide::scale_down::room`), and every `IDENTITY_REFRESH` in any case (so an entry someone removed
/// comes back, and `last_seen` stays current). Whether or not the record could be read at
/// boot in time: an API server that was slow then must not leave this pod without an entry for its
/// whole run (had it then lost its disk, nothing would replace it). A failed write is
/// retried at each of the Recorder's refreshes, logged once and raised once as a Warning
/// Event, and a write that succeeds after failures is raised as a Normal Event.
struct IdentityWriter {
    kube: Kube,
    set: SetFacts,
    events: Events,
    /// The entry last written by this process, and when.
    written: Option<(PodEntry, tokio::time::Instant)>,
    /// Writes that failed since the last one that succeeded.
    failures: u32,
}

/// How often this pod's entry is written again although it did not change.
const IDENTITY_REFRESH: Duration = Duration::from_secs(600);

impl IdentityWriter {
    /// A writer whenever the API can be asked; the set as the API described it, or by the
    /// name parsed from the pod name (the record's name is all a write needs).
    fn new(
        kube: &Kube,
        facts: &ApiFacts,
        parsed_set: &str,
        events: &Events,
    ) -> Option<IdentityWriter> {
        // No client at all (not in a cluster, no token, off), or a definite "no" to the
        // read (denied): the one line about the API's gaps said "no identity record", and
        // a write would only fail the same way. A read that came late or not at all is no
        // answer: the writes go on in the background.
        let readable = match &facts.record {
            Fact::Known(_) => true,
            Fact::Unknown(u) => u.missing == crate::decide::api_facts::Missing::Late,
            Fact::NotAsked => false,
        };
        if !readable || !matches!(kube.access(), crate::decide::api_facts::Access::Connected) {
            return None;
        }
        let set = match &facts.set {
            Fact::Known(set) => set.clone(),
            _ => SetFacts {
                name: parsed_set.to_owned(),
                ..SetFacts::default()
            },
        };
        Some(IdentityWriter {
            kube: kube.again(),
            set,
            events: events.clone(),
            written: None,
            failures: 0,
        })
    }

    async fn keep(&mut self, record: &JoinRecord, tokens: usize, space: Option<(u64, u64)>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(entry) = PodEntry::of(record, tokens, now) else {
            debug!("no cluster name or address yet: identity record not written");
            return;
        };
        let entry = entry.with_space(space);
        if self.written.as_ref().is_some_and(|(w, at)| {
            w.same_node(&entry) && !entry.space_moved(w) && at.elapsed() < IDENTITY_REFRESH
        }) {
            return;
        }
        let configmap = crate::decide::cluster_record::configmap_name(&self.set.name);
        // A fresh mark each time: a client that once went unanswered sends nothing more
        // (`Kube::again`), and these writes are the ones that must go on trying.
        match self.kube.again().write_identity(&self.set, &entry).await {
            Ok(()) => {
                let first = self.written.is_none();
                if first || self.failures > 0 {
                    info!(
                        %configmap, host_id = %entry.host_id, address = %entry.address,
                        failed_before = self.failures,
                        "identity record written: a later boot of this pod without its data replaces this node, and ordinal 0 never founds a second cluster"
                    );
                } else {
                    debug!(%configmap, "identity record entry refreshed");
                }
                if self.failures > 0 {
                    let _ = self
                        .events
                        .spawn(events::record_written(&configmap, self.failures));
                }
                self.written = Some((entry, tokio::time::Instant::now()));
                self.failures = 0;
            }
            Err(why) => {
                self.failures += 1;
                if self.failures == 1 {
                    warn!(why = %why, %configmap, "identity record not written; retrying every 30 s while the node runs");
                    let _ = self
                        .events
                        .spawn(events::record_not_written(&configmap, &why));
                } else {
                    debug!(why = %why, failures = self.failures, "identity record still not written");
                }
            }
        }
    }
}

impl Recorder {
    async fn run(mut self) {
        let mut pause = self.next_read();
        let mut auth_warned = false;
        let mut next_warning = tokio::time::Instant::now() + JOIN_WARN_EVERY;
        let mut last_answer = String::from("no answer yet");
        loop {
            tokio::time::sleep(pause).await;
            pause = self.next_read();
            if self.last.is_none() && tokio::time::Instant::now() >= next_warning {
                warn!(
                    last_answer = %last_answer,
                    "the join is still not confirmed (a bootstrap may still be streaming); until it \
                     is, restarts will not list this node as its own seed"
                );
                next_warning += JOIN_WARN_EVERY;
            }
            let observed = async {
                let node = cql::connect(self.ip, &self.settings).await?;
                let local = node.local().await?;
                if Bootstrapped::parse(local.bootstrapped.as_deref()) != Bootstrapped::Completed {
                    return Ok((local, None));
                }
                let peers = node.peers().await?;
                Ok::<_, CqlError>((local, Some(peers)))
            };
            match observed.await {
                Ok((local, Some(peers))) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    match record_of(&local, &peers, now) {
                        Some(record) => {
                            self.keep(record);
                            if let (Some(writer), Some(kept)) = (&mut self.identity, &self.last) {
                                let space = datadir::space(&self.data_dir)
                                    .inspect_err(
                                        |e| debug!(error = %e, "the data volume's free space"),
                                    )
                                    .ok();
                                writer.keep(kept, local.tokens, space).await;
                            }
                        }
                        None => debug!("the local node reports no host ID yet"),
                    }
                }
                Ok((local, None)) => {
                    debug!(bootstrapped = ?local.bootstrapped, "node has not joined yet");
                    last_answer = format!("bootstrapped = {:?}", local.bootstrapped);
                }
                Err(CqlError::Auth { .. }) => {
                    last_answer = "the local node rejected the CQL credentials".to_owned();
                    if !auth_warned {
                        warn!(
                            "the local node rejected the CQL credentials: the join is not recorded \
                             or kept current; retrying every 30 s"
                        );
                        auth_warned = true;
                    }
                    pause = JOIN_POLL_AFTER_AUTH_ERROR;
                }
                Err(e) => {
                    debug!(error = %e, "local node not answering CQL");
                    last_answer = e.to_string();
                }
            }
        }
    }

    /// How long until the next read: polling for the join until there is a record, then
    /// the slower refresh.
    fn next_read(&self) -> Duration {
        if self.last.is_some() {
            RECORD_REFRESH
        } else {
            JOIN_POLL
        }
    }

    /// Writes `record` if it differs from the last one written.
    fn keep(&mut self, record: JoinRecord) {
        if self
            .last
            .as_ref()
            .is_some_and(|last| last.same_ring(&record))
        {
            return;
        }
        if let Some(last) = &self.last {
            for (address, before, now) in identity_changes(last, &record) {
                warn!(
                    %address,
                    before = %before,
                    now = %now,
                    "a ring member changed host ID at the same address without a replace (a replace \
                     there keeps the host ID): a node that founded a new, empty cluster may have merged \
                     into this ring; check `ringkeeper status` and Cassandra's \"Changing ...'s host ID\" log"
                );
            }
        }
        let peers = record.peers.as_ref().map_or(0, Vec::len);
        match datadir::write_record(&self.data_dir, &record) {
            Ok(()) if self.last.is_none() => {
                info!(
                    host_id = %record.host_id,
                    peers,
                    "node joined the ring: join recorded in --data-dir"
                );
                // A replace, if this start was one, is over.
                if let Err(e) = datadir::remove_replacing(&self.data_dir) {
                    warn!(error = %e, "cannot remove the replace marker: the next start removes it (the join record shows the replace finished)");
                }
                if let Some((events, mode)) = &self.joined
                    && let Some(event) = events::joined(mode, &record.host_id, peers)
                {
                    events.spawn(event);
                }
            }
            Ok(()) => info!(
                host_id = %record.host_id,
                peers,
                "ring changed: join record updated"
            ),
            Err(e) => {
                warn!(
                    error = %e,
                    data_dir = %self.data_dir.display(),
                    "cannot write the join record: later restarts will not list this node as its own seed, or check the ring against an old record"
                );
                return;
            }
        }
        self.last = Some(record);
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

fn signal_number(sig: Signal) -> i32 {
    match sig {
        Signal::Term => 15,
        Signal::Int => 2,
        Signal::Hup => 1,
        Signal::Quit => 3,
    }
}

/// Asks the other pods of the set over CQL, round after round, until `judge` can tell
/// from their answers (`Err(reason)`: not yet). Never gives up: meanwhile the pod waits,
/// not ready, with a report every `WAIT_REPORT_EVERY` (log and a `Waiting` Event), and
/// Cassandra is not started. Used where the boot must not act on a volume before the ring
/// confirms what it holds (`decide::decommissioned`, `decide::replacing`).
async fn ask_ring<T>(
    identity: &crate::config::Identity,
    seeding: &Seeding,
    dns: &Dns,
    cql: &CqlSettings,
    events: &Events,
    mut judge: impl FnMut(&[crate::decide::seeds::Candidate]) -> Result<T, String>,
) -> anyhow::Result<T> {
    let names = std::sync::Arc::new(seeding.candidates(identity));
    let start = std::time::Instant::now();
    let mut next_report = start;
    let mut rounds = 0;
    loop {
        let mut candidates = crate::gather::lookup_all(dns, &names, Duration::from_secs(5)).await;
        crate::gather::probe_all(&mut candidates, identity, cql, false).await?;
        rounds += 1;
        let reason = match judge(&candidates) {
            Ok(answer) => return Ok(answer),
            Err(reason) => reason,
        };
        let now = std::time::Instant::now();
        if now >= next_report {
            let waiting = Waiting {
                reason,
                seen: candidates
                    .iter()
                    .filter(|c| c.ordinal != Some(identity.pod.ordinal))
                    .map(|c| {
                        let answer = match &c.cql {
                            Cql::Member { .. } => "member",
                            Cql::NoAnswer { .. } => "no CQL answer",
                            Cql::NotAsked => "not resolved",
                        };
                        format!("{}: {answer}", c.name)
                    })
                    .collect(),
                seed_wait_over: false,
                waited: now.duration_since(start),
                rounds,
            };
            report_waiting(&waiting);
            let _ = events.spawn(events::waiting(&waiting));
            next_report = now + crate::gather::WAIT_REPORT_EVERY;
        }
        tokio::time::sleep(crate::decide::retry::KEEP_WAITING).await;
    }
}

/// Waits until the ring confirms that the host a decommission marker names left
/// (`decommissioned::left`); returns what each confirming member showed.
async fn confirm_left(
    identity: &crate::config::Identity,
    seeding: &Seeding,
    dns: &Dns,
    cql: &CqlSettings,
    host_id: &str,
    cluster: &str,
    events: &Events,
) -> anyhow::Result<Vec<String>> {
    let by = ask_ring(
        identity,
        seeding,
        dns,
        cql,
        events,
        |candidates| match decommissioned::left(host_id, cluster, identity.pod.ordinal, candidates)
        {
            LeftCheck::Left { by } => Ok(by),
            LeftCheck::Wait { reason } => Err(reason),
        },
    )
    .await?;
    info!(%host_id, confirmed_by = ?by, "the ring confirms that the volume's node left");
    Ok(by)
}
