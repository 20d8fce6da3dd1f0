//! A rolling restart the way a StatefulSet's RollingUpdate does it, under client load:
//! pods from the highest ordinal down, each stopped the way the kubelet stops a pod
//! (preStop hook, SIGTERM to PID 1, SIGKILL at the end of the grace period), started
//! again through the entrypoint, and the next one only once `ringkeeper ready` passes.
//! Afterwards every acknowledged write is read back. Used by tests/ring.rs (one pod on
//! 4.1) and by `rk-testkit rolling` (scripts/bench-rolling).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use scylla::statement::Consistency;
use serde::Serialize;

use crate::load::{Load, LoadReport, LoadSpec, missing_writes};
use crate::ring::{NodeOpts, PreStop, Ring};

/// How one pod's restart went.
#[derive(Debug, Clone, Serialize)]
pub struct PodRestart {
    /// Ordinal.
    pub ordinal: u32,
    /// When its stop began (the preStop hook started), seconds since the Unix epoch: places
    /// it against the load's failure timeline.
    pub stopped_unix: f64,
    /// The preStop hook's exit code.
    pub prestop_code: Option<i32>,
    /// How long the hook ran (s).
    pub prestop_s: f64,
    /// From the hook's start to the container's exit (s).
    pub stop_s: f64,
    /// Killed at the end of the grace period.
    pub killed: bool,
    /// The entrypoint's exit code.
    pub exit_code: Option<i32>,
    /// From the start again to `ready` passing (s).
    pub back_ready_s: f64,
    /// `ringkeeper drain`'s summary, when it was the hook.
    pub drain: Option<serde_json::Value>,
    /// The restart's commit log replay lines from Cassandra's log.
    pub replay: Vec<String>,
}

impl PodRestart {
    /// True when the restart replayed no mutation from the commit log (a drained node
    /// leaves one empty segment behind, replayed as 0 mutations).
    pub fn replayed_nothing(&self) -> bool {
        replays_nothing(&self.replay)
    }
}

/// True when replay lines (from [`replay_lines`]) show a start that replayed no mutation.
pub fn replays_nothing(lines: &[String]) -> bool {
    !lines.is_empty()
        && lines
            .iter()
            .all(|l| l.contains("No commitlog files found") || l.contains(" 0 replayed mutations"))
}

/// The commit log replay lines of a system.log excerpt.
pub fn replay_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("replayed mutations") || l.contains("No commitlog files found"))
        .map(str::to_owned)
        .collect()
}

/// How a rolling restart went.
#[derive(Debug, Clone, Serialize)]
pub struct RollingReport {
    /// Which preStop hook.
    pub prestop: String,
    /// What the clients saw.
    pub load: LoadReport,
    /// Acknowledged writes not found afterwards at QUORUM.
    pub missing: usize,
    /// Each pod's restart, in order.
    pub pods: Vec<PodRestart>,
}

impl RollingReport {
    /// The failures (Unix seconds, kind) that came outside every pod's stop (from its
    /// preStop hook's start to `after` past its container's exit): failures a drain does
    /// not explain.
    pub fn failures_outside_stops(&self, after: f64) -> Vec<(f64, String)> {
        self.load
            .failure_timeline
            .iter()
            .map(|f| (self.load.started_unix + f.at, f.kind.clone()))
            .filter(|(t, _)| {
                !self
                    .pods
                    .iter()
                    .any(|p| *t >= p.stopped_unix && *t <= p.stopped_unix + p.stop_s + after)
            })
            .collect()
    }
}

/// A short label for a hook.
pub fn label(prestop: &PreStop) -> String {
    match prestop {
        PreStop::NodetoolDrain => "nodetool drain".into(),
        PreStop::Ringkeeper(_) => "ringkeeper drain".into(),
    }
}

/// Restarts `ordinals` (highest first) one by one under `load`, with `prestop` as the
/// hook and `grace` as terminationGracePeriodSeconds; `settle` of steady load comes
/// before the first stop and after the last pod is ready again.
pub fn rolling_restart(
    ring: &mut Ring,
    ordinals: &[u32],
    prestop: &PreStop,
    grace: Duration,
    load: LoadSpec,
    settle: Duration,
) -> Result<RollingReport> {
    let nodes: Vec<SocketAddr> = load.nodes.clone();
    let keyspace = load.keyspace.clone();
    let running = Load::start(Some(ring.netns()), load)?;
    std::thread::sleep(settle);
    let mut pods = Vec::new();
    let mut order = ordinals.to_vec();
    order.sort_unstable_by(|a, b| b.cmp(a));
    for o in order {
        let stopped_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let stop = ring.stop_like_kubelet(o, Some(prestop), grace)?;
        let ip = ring.node(o)?.ip;
        let back = Instant::now();
        let log_len = ring.system_log(o).len();
        ring.start(o, ip, &NodeOpts::default())?;
        wait_ready(ring, o, Duration::from_secs(240))?;
        let replay = replay_lines(ring.system_log(o).get(log_len..).unwrap_or_default());
        let hook = stop.hook.as_ref();
        pods.push(PodRestart {
            ordinal: o,
            stopped_unix,
            prestop_code: hook.map(|h| h.code),
            prestop_s: hook.map_or(0.0, |h| h.took.as_secs_f64()),
            stop_s: stop.took.as_secs_f64(),
            killed: stop.killed,
            exit_code: stop.status.code(),
            back_ready_s: back.elapsed().as_secs_f64(),
            drain: hook
                .filter(|_| matches!(prestop, PreStop::Ringkeeper(_)))
                .and_then(|h| serde_json::from_str(h.stdout.trim()).ok()),
            replay,
        });
    }
    std::thread::sleep(settle);
    let report = running.stop()?;
    let missing = missing_writes(
        Some(ring.netns()),
        &nodes,
        &keyspace,
        &report.acked,
        Consistency::Quorum,
    )?;
    Ok(RollingReport {
        prestop: label(prestop),
        load: report,
        missing: missing.len(),
        pods,
    })
}

/// Waits until `ringkeeper ready` passes for the pod, as the StatefulSet controller
/// waits for Ready before it moves on.
fn wait_ready(ring: &mut Ring, ordinal: u32, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = ring.try_exit(ordinal)? {
            bail!(
                "pod {ordinal} exited ({status}) before it was ready again\n{}",
                ring.logs_tail(ordinal)
            );
        }
        if ring.ready(ordinal)?.0 == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "pod {ordinal} not ready after {timeout:?}\n{}",
                ring.logs_tail(ordinal)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The side-by-side table of two or more runs, in Markdown.
pub fn table(version: &str, runs: &[RollingReport]) -> String {
    let mut out = format!(
        "| Cassandra {version}, rolling restart of 3 pods | {} |\n|---|{}\n",
        runs.iter()
            .map(|r| format!("preStop `{}`", r.prestop))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(runs.len())
    );
    let row = |name: &str, f: &dyn Fn(&RollingReport) -> String| {
        format!(
            "| {name} | {} |\n",
            runs.iter().map(f).collect::<Vec<_>>().join(" | ")
        )
    };
    out += &row("requests ok (writes + reads)", &|r| {
        format!("{}", r.load.writes_ok + r.load.reads_ok)
    });
    out += &row("failed requests", &|r| format!("{}", r.load.failed()));
    out += &row("failed, by kind", &|r| {
        if r.load.failures.is_empty() {
            "none".into()
        } else {
            r.load
                .failures
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    });
    out += &row("acknowledged writes lost", &|r| format!("{}", r.missing));
    out += &row("latency p50 / p99 / max", &|r| {
        format!(
            "{:.1} / {:.1} / {:.0} ms",
            r.load.latency_p50, r.load.latency_p99, r.load.latency_max
        )
    });
    out += &row("longest gap without a success", &|r| {
        format!("{:.2} s", r.load.longest_gap.as_secs_f64())
    });
    out += &row("preStop per pod (s)", &|r| {
        r.pods
            .iter()
            .map(|p| format!("{:.1}", p.prestop_s))
            .collect::<Vec<_>>()
            .join(", ")
    });
    out += &row("preStop start to exit per pod (s)", &|r| {
        r.pods
            .iter()
            .map(|p| format!("{:.1}", p.stop_s))
            .collect::<Vec<_>>()
            .join(", ")
    });
    out += &row("`ringkeeper drain` stages, median of the pods (s)", &|r| {
        stage_medians(r).unwrap_or_else(|| "n/a".into())
    });
    out += &row("restarts that replayed nothing from the commit log", &|r| {
        format!(
            "{} of {}",
            r.pods.iter().filter(|p| p.replayed_nothing()).count(),
            r.pods.len()
        )
    });
    out += &row("whole run (s)", &|r| {
        format!("{:.0}", r.load.duration.as_secs_f64())
    });
    out
}

/// Each `ringkeeper drain` stage's median duration over the pods, in order, or `None`
/// when the hook was not `ringkeeper drain`.
fn stage_medians(run: &RollingReport) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    let mut times: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for pod in &run.pods {
        for stage in pod.drain.as_ref()?["stages"].as_array()? {
            let name = stage["stage"].as_str()?.to_owned();
            if !names.contains(&name) {
                names.push(name.clone());
            }
            let ms = stage["ms"].as_f64()?;
            times.entry(name).or_default().push(ms / 1000.0);
        }
    }
    let parts: Vec<String> = names
        .iter()
        .map(|n| {
            let mut v = times[n].clone();
            v.sort_by(f64::total_cmp);
            format!("{n} {:.1}", v[v.len() / 2])
        })
        .collect();
    Some(parts.join(", "))
}
