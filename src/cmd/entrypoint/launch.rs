//! The decided plan turned into the launch: cassandra.yaml and the rackdc file rendered
//! from the template, the environment (the heap, the JVM options a replace needs), the
//! command exec'd with `--exec`, and how the supervisor stops Cassandra (`StopPlan`: the
//! drain it runs on SIGTERM).

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tracing::{info, warn};

use super::template::Template;
use crate::cli::LogFormat;
use crate::config::{CqlConfig, DrainSettings, Identity, Inputs, KubeApi};
use crate::decide::heap::{self, Heap};
use crate::decide::replacing::Replacing;
use crate::decide::seeds::BootMode;
use crate::edge::process::{self, Launch, StopPlan};
use crate::edge::rundir::{ProcessRecord, RunDir};
use crate::edge::{confdir, datadir};
use crate::env;
use crate::render::{self, YamlSettings};

/// Renders cassandra.yaml (the template with what ringkeeper decides: cluster name,
/// seeds, addresses, directories) and cassandra-rackdc.properties into `conf_out`.
pub(super) fn render_config(
    template: Template,
    seeds: Vec<IpAddr>,
    pod_ip: IpAddr,
    conf_out: &Path,
    dc: &str,
    rack: &str,
) -> anyhow::Result<()> {
    let Template {
        dir,
        files,
        yaml,
        dirs,
        cluster_name,
        ..
    } = template;
    let (yaml_text, overridden) = render::render_yaml(
        yaml,
        &YamlSettings {
            cluster_name,
            seeds,
            pod_ip,
            dirs,
        },
    )
    .with_context(|| format!("{}/cassandra.yaml", dir.display()))?;
    for (key, old) in &overridden {
        info!(key = %key, template_value = %old, "template value overridden by ringkeeper");
    }
    let rackdc = render::render_rackdc(&files.rackdc, dc, rack);
    confdir::write(
        &dir,
        conf_out,
        &[
            ("cassandra.yaml", &yaml_text),
            ("cassandra-rackdc.properties", &rackdc),
        ],
    )?;
    info!(conf_out = %conf_out.display(), dc = %dc, rack = %rack, "configuration rendered");
    Ok(())
}

/// The command and its environment: the rendered configuration's directory, the heap
/// (`heap_env`), and the JVM options the boot mode needs. A replace is first remembered
/// on the volume (`data_dir`) until its join is confirmed.
pub(super) fn prepare(
    command: Vec<OsString>,
    mode: BootMode,
    data_dir: &Path,
    conf_out: &Path,
    memory_limit: Option<u64>,
    inputs: &Inputs,
) -> anyhow::Result<Launch> {
    // Boot decisions that need JVM properties append them here. `_first_boot` is ignored
    // by Cassandra once the node has bootstrapped, so a restart after the replace is safe.
    let jvm_opts: Vec<String> = match mode {
        BootMode::Replace { address } => {
            // Remembered on the volume until the join is confirmed: a start cut short
            // resumes the replace instead of bootstrapping plainly beside the dead node.
            datadir::write_replacing(
                data_dir,
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
    Ok(Launch {
        command,
        env: launch_env,
    })
}

/// `--exec`: replaces this process with Cassandra, unsupervised. Returns only the error
/// that kept it from doing so.
pub(super) async fn exec(
    launch: &Launch,
    boot_event: Option<tokio::task::JoinHandle<()>>,
    run: &RunDir,
) -> anyhow::Error {
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
    process::exec(launch)
}

/// How the supervisor stops Cassandra: on SIGTERM without a preStop drain it runs
/// `ringkeeper drain` for this pod (this binary, with the same log format, API mode, CQL
/// access and drain settings), given the grace period it has left.
pub(super) fn stop_plan(
    log_format: LogFormat,
    kube_api: KubeApi,
    identity: &Identity,
    run_dir: &Path,
    cql: &CqlConfig,
    drain: &DrainSettings,
    run: &RunDir,
) -> anyhow::Result<StopPlan> {
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
            run_dir.to_path_buf().into(),
            "--data-dir".into(),
            identity.data_dir.clone().into(),
        ];
        fixed.extend(cql.to_args());
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
    Ok(StopPlan {
        run: run.clone(),
        grace_period: drain.grace_period,
        drain: drain_command,
    })
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
