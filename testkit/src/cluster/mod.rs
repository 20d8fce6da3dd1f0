//! A test Kubernetes cluster without a kubelet or container runtime: a real API server
//! ([`control_plane`]), a network laid out like a CNI's ([`network`]), the cluster DNS
//! (the real DNS server of [`crate::dns`], answering for headless Services' pods), and a
//! pod runner that plays the StatefulSet controller ([`statefulset`]) and the kubelet
//! ([`kubelet`]) from the objects in the API server, running each container as
//! [`crate::container`] does, with the image stood in for by [`image`].
//!
//! The runner lives on a tokio runtime whose threads joined the node's network namespace,
//! so every connection it opens (to the API server, to pods) is made there.

pub mod api_gate;
pub mod control_plane;
pub mod gc;
pub mod image;
pub mod kubelet;
pub mod network;
pub mod quantity;
pub mod statefulset;

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use nix::sched::{CloneFlags, setns};

use crate::dns::{DnsThread, Zone, ZoneSource};
use crate::netns::pod_resolv_conf;
use crate::ring::Cassandra;
use control_plane::ControlPlane;
use network::{GATEWAY, Network};

/// A node of the cluster: the pod runner runs its pods; its labels carry the topology.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Node name.
    pub name: String,
    /// `topology.kubernetes.io/region`.
    pub region: Option<String>,
    /// `topology.kubernetes.io/zone`.
    pub zone: Option<String>,
}

/// How the cluster is made.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// State directory (control plane, pods, PVCs, logs).
    pub dir: PathBuf,
    /// Short prefix of every network namespace (`<prefix>-node`, `<prefix>-p<N>`).
    pub prefix: String,
    /// Cluster DNS domain.
    pub domain: String,
    /// The ringkeeper binary the image holds.
    pub ringkeeper: PathBuf,
    /// The `rk-testkit` binary (container shim).
    pub testkit: PathBuf,
    /// The Cassandra the image holds.
    pub cassandra: Cassandra,
    /// Nodes (pods are bound to them round-robin by ordinal).
    pub nodes: Vec<NodeSpec>,
}

/// What the runner's parts share.
pub struct Shared {
    /// Admin client (the controller and kubelet act with cluster-admin rights).
    pub client: kube::Client,
    /// State directory.
    pub dir: PathBuf,
    /// Cluster DNS domain.
    pub domain: String,
    /// The cluster CA, given to pods as `ca.crt`.
    pub ca: PathBuf,
    /// See [`ClusterSpec::ringkeeper`].
    pub ringkeeper: PathBuf,
    /// See [`ClusterSpec::testkit`].
    pub testkit: PathBuf,
    /// See [`ClusterSpec::cassandra`].
    pub cassandra: Cassandra,
    /// The pods' way to the API server, which a test can hold.
    pub api_gate: api_gate::ApiGate,
    nodes: Vec<String>,
    network: Mutex<Network>,
    zone_file: PathBuf,
    zone_lock: Mutex<()>,
    ids: AtomicU32,
    log: Mutex<File>,
    events: Mutex<Vec<RunnerEvent>>,
}

/// Things the runner saw that tests assert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerEvent {
    /// A preStop hook ended (pod, duration, exit code if it exited).
    PreStop(String, Duration, Option<i32>),
    /// A container was killed at the end of its grace period.
    SigKill(String),
}

impl Shared {
    /// Appends a line to the runner's log (`<dir>/runner.log`).
    pub fn log(&self, text: &str) {
        let mut f = self.log.lock().expect("log lock");
        let _ = writeln!(f, "{} {text}", kubelet::now_rfc3339());
    }

    fn log_probe(&self, pod: &str, kind: &str, text: &str) {
        let text = text.trim();
        if !text.is_empty() {
            self.log(&format!("pod {pod}: {kind} probe failed: {text}"));
        }
    }

    fn record_prestop(&self, pod: &str, took: Duration, code: Option<i32>) {
        self.events
            .lock()
            .expect("events lock")
            .push(RunnerEvent::PreStop(pod.into(), took, code));
    }

    fn record_sigkill(&self, pod: &str) {
        self.events
            .lock()
            .expect("events lock")
            .push(RunnerEvent::SigKill(pod.into()));
    }

    fn next_id(&self) -> u32 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// The host directory that holds a PVC's data (outlives pods).
    pub fn pvc_dir(&self, namespace: &str, claim: &str) -> PathBuf {
        self.dir.join("pvc").join(namespace).join(claim)
    }

    /// Gives claim `claim` a volume of `bytes` (a tmpfs on its directory), for a test
    /// that must see a volume fill up: the runner otherwise gives every claim a directory
    /// on the host's disk, whose free space is the machine's. Call it before a pod uses
    /// the claim (the containers' mount namespaces copy the mounts at their start).
    /// Unmounted when the guard drops, or by the next run's cleanup.
    pub fn sized_volume(&self, namespace: &str, claim: &str, bytes: u64) -> Result<SizedVolume> {
        let dir = self.pvc_dir(namespace, claim);
        fs::create_dir_all(&dir)?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&dir)
            .status()?;
        anyhow::ensure!(
            status.success(),
            "mount tmpfs on {}: {status}",
            dir.display()
        );
        Ok(SizedVolume { dir })
    }

    fn node_for(&self, ordinal: u32) -> String {
        self.nodes[ordinal as usize % self.nodes.len()].clone()
    }

    /// Publishes (or withdraws) a DNS name.
    fn publish(&self, name: &str, ip: Option<&str>) -> Result<()> {
        let _guard = self.zone_lock.lock().expect("zone lock");
        let mut zone = Zone::parse(&fs::read_to_string(&self.zone_file).unwrap_or_default())?;
        match ip {
            Some(ip) => zone.set(name, &[ip.parse::<IpAddr>()?]),
            None => zone.remove(name),
        }
        let tmp = self.zone_file.with_extension("tmp");
        fs::write(&tmp, zone.to_text())?;
        fs::rename(tmp, &self.zone_file)?;
        Ok(())
    }
}

/// The cluster; everything stops (pods killed, namespaces deleted) on drop.
pub struct Cluster {
    /// How it was made.
    pub spec: ClusterSpec,
    /// The API server.
    pub plane: ControlPlane,
    /// The runner's shared state.
    pub shared: Arc<Shared>,
    runtime: tokio::runtime::Runtime,
    node_netns: String,
    runner: Option<tokio::task::JoinHandle<()>>,
    _dns: DnsThread,
}

impl Cluster {
    /// Network, DNS, control plane and Node objects. The pod runner starts with
    /// [`Cluster::run_pods`].
    pub fn start(spec: ClusterSpec) -> Result<Cluster> {
        reap_leftovers(&spec.dir);
        if spec.dir.exists() {
            fs::remove_dir_all(&spec.dir)?;
        }
        fs::create_dir_all(&spec.dir)?;
        let resolv = pod_resolv_conf("default", &spec.domain, &GATEWAY.to_string());
        let network = Network::create(&spec.prefix, &resolv)?;
        let zone_file = spec.dir.join("zone");
        fs::write(&zone_file, "")?;
        let dns = DnsThread::start(
            SocketAddr::new(IpAddr::V4(GATEWAY), 53),
            Some(&network.node),
            ZoneSource::File(zone_file.clone()),
        )?;
        let plane = ControlPlane::start(
            &spec.dir.join("control-plane"),
            &network.node,
            IpAddr::V4(GATEWAY),
        )?;
        let node_netns = network.node.name.clone();
        let ns_file = File::open(PathBuf::from("/run/netns").join(&node_netns))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                // Every thread of this runtime lives in the node's network namespace.
                setns(&ns_file, CloneFlags::CLONE_NEWNET).expect("joining the node namespace");
            })
            .build()?;
        let kubeconfig = plane.kubeconfig.clone();
        let client = runtime.block_on(runtime.spawn(async move {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig)?;
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
            anyhow::Ok(kube::Client::try_from(config)?)
        }))??;
        let api_gate = runtime.block_on(runtime.spawn(api_gate::ApiGate::start()))??;
        let shared = Arc::new(Shared {
            client,
            api_gate,
            dir: spec.dir.clone(),
            domain: spec.domain.clone(),
            ca: plane.ca.clone(),
            ringkeeper: spec.ringkeeper.clone(),
            testkit: spec.testkit.clone(),
            cassandra: spec.cassandra.clone(),
            nodes: spec.nodes.iter().map(|n| n.name.clone()).collect(),
            network: Mutex::new(network),
            zone_file,
            zone_lock: Mutex::new(()),
            ids: AtomicU32::new(0),
            log: Mutex::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(spec.dir.join("runner.log"))?,
            ),
            events: Mutex::new(Vec::new()),
        });
        let cluster = Cluster {
            spec,
            plane,
            shared,
            runtime,
            node_netns,
            runner: None,
            _dns: dns,
        };
        let nodes = cluster.spec.nodes.clone();
        let client = cluster.shared.client.clone();
        cluster.block_on(async move {
            let api: Api<Node> = Api::all(client);
            for n in nodes {
                let mut labels = serde_json::Map::new();
                labels.insert("kubernetes.io/hostname".into(), n.name.clone().into());
                if let Some(r) = &n.region {
                    labels.insert("topology.kubernetes.io/region".into(), r.clone().into());
                }
                if let Some(z) = &n.zone {
                    labels.insert("topology.kubernetes.io/zone".into(), z.clone().into());
                }
                let node: Node = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": n.name, "labels": labels},
                }))?;
                api.create(&PostParams::default(), &node).await?;
            }
            anyhow::Ok(())
        })?;
        Ok(cluster)
    }

    /// Runs `fut` on the runner's runtime (so in the node's network namespace).
    pub fn block_on<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.runtime.block_on(self.runtime.spawn(fut))?
    }

    /// The admin client (use inside [`Cluster::block_on`]).
    pub fn client(&self) -> kube::Client {
        self.shared.client.clone()
    }

    /// The node namespace's name (the load generator runs there to reach pod IPs).
    pub fn node_netns(&self) -> &str {
        &self.node_netns
    }

    /// Starts the pod runner for `namespace`: the controllers every 500 ms and
    /// a kubelet worker for every new Pod bound to one of the cluster's nodes.
    pub fn run_pods(&mut self, namespace: &str) {
        let shared = self.shared.clone();
        let namespace = namespace.to_owned();
        self.runner = Some(self.runtime.spawn(async move {
            let mut started: BTreeSet<String> = BTreeSet::new();
            loop {
                if let Err(e) = pass(&shared, &namespace, &mut started).await {
                    shared.log(&format!("runner pass failed: {e:#}"));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }));
    }

    /// Runner events so far (preStop runs, SIGKILLs).
    pub fn events(&self) -> Vec<RunnerEvent> {
        self.shared.events.lock().expect("events lock").clone()
    }

    /// Runs `argv` inside the running container of `pod` (like `kubectl exec`), as the
    /// container's user; returns (exit code, stdout, stderr).
    pub fn exec(&self, namespace: &str, pod: &str, argv: &[&str]) -> Result<(i32, String, String)> {
        let (pid, spec) = self.container_of(namespace, pod)?;
        let argv: Vec<String> = argv.iter().map(|s| (*s).to_owned()).collect();
        let out = crate::container::exec_command(pid, spec.uid, spec.gid, &spec.env, &argv)
            .output()
            .context("nsenter")?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// The running container of `pod`: PID 1's host PID and its spec.
    pub fn container_of(
        &self,
        namespace: &str,
        pod: &str,
    ) -> Result<(i32, crate::container::ContainerSpec)> {
        let uid = self
            .pod(namespace, pod)?
            .and_then(|p| p.metadata.uid)
            .context("no such pod")?;
        let dir = self.pod_dir(pod, &uid);
        let latest = (0..1000)
            .take_while(|i| dir.join(format!("container-{i}.json")).exists())
            .last()
            .with_context(|| format!("pod {pod} has no container yet"))?;
        let spec =
            crate::container::ContainerSpec::read(&dir.join(format!("container-{latest}.json")))?;
        let pid = fs::read_to_string(&spec.pid_file)?.trim().parse()?;
        Ok((pid, spec))
    }

    /// The runner's directory for one pod object.
    pub fn pod_dir(&self, pod: &str, uid: &str) -> PathBuf {
        self.spec
            .dir
            .join("pods")
            .join(format!("{pod}-{}", &uid[..8.min(uid.len())]))
    }

    /// The Pod object, if there is one.
    pub fn pod(&self, namespace: &str, name: &str) -> Result<Option<Pod>> {
        let api: Api<Pod> = Api::namespaced(self.client(), namespace);
        let name = name.to_owned();
        self.block_on(async move { Ok(api.get_opt(&name).await?) })
    }

    /// Waits until `check` (run every 500 ms) returns `Some`, or fails after `timeout`
    /// with `what` and the runner's log tail.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Cluster) -> Result<Option<T>>,
    ) -> Result<T> {
        match crate::poll::until(timeout, Duration::from_millis(500), || check(self))? {
            Some(v) => Ok(v),
            None => bail!(
                "{what}: not after {timeout:?}\n{}",
                self.runner_log_tail(40)
            ),
        }
    }

    /// The last `n` lines of the runner's log.
    pub fn runner_log_tail(&self, n: usize) -> String {
        let text = fs::read_to_string(self.spec.dir.join("runner.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Admin `kubectl` in the node namespace.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        self.plane.kubectl_ok(args)
    }

    /// The directory of the test's files (for kubeconfigs etc.).
    pub fn dir(&self) -> &Path {
        &self.spec.dir
    }
}

/// One pass: the controller over every StatefulSet, the garbage collector and
/// pvc-protection, then a kubelet for each new Pod.
async fn pass(shared: &Arc<Shared>, namespace: &str, started: &mut BTreeSet<String>) -> Result<()> {
    let sets: Api<StatefulSet> = Api::namespaced(shared.client.clone(), namespace);
    for sts in sets.list(&ListParams::default()).await?.items {
        if sts.metadata.deletion_timestamp.is_none() {
            statefulset::reconcile(shared, &sts).await?;
        }
    }
    gc::collect(shared, namespace).await?;
    let pods: Api<Pod> = Api::namespaced(shared.client.clone(), namespace);
    for pod in pods.list(&ListParams::default()).await?.items {
        let Some(uid) = pod.metadata.uid.clone() else {
            continue;
        };
        let ours = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_ref())
            .is_some_and(|n| shared.nodes.contains(n));
        if ours && pod.metadata.deletion_timestamp.is_none() && started.insert(uid) {
            tokio::spawn(kubelet::run(shared.clone(), pod));
        }
    }
    Ok(())
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(r) = self.runner.take() {
            r.abort();
        }
        // Kill every container (SIGKILL of a PID 1 ends its whole PID namespace).
        for entry in walk_pid_files(&self.spec.dir.join("pods")) {
            if let Ok(pid) = fs::read_to_string(&entry).map(|t| t.trim().parse::<i32>())
                && let Ok(pid) = pid
                && still_a_container(pid, &entry)
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A claim's volume of a fixed size ([`Shared::sized_volume`]), unmounted when dropped.
pub struct SizedVolume {
    dir: PathBuf,
}

impl Drop for SizedVolume {
    fn drop(&mut self) {
        unmount_lazily(&self.dir);
    }
}

/// Detaches the mount at `dir` (the files in use by processes still running stay theirs).
fn unmount_lazily(dir: &Path) {
    let _ = std::process::Command::new("umount")
        .arg("-l")
        .arg(dir)
        .status();
}

/// Mount points below `dir`, deepest first.
fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir) && p != dir)
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// Kills what an earlier run in `dir` left running when it could not clean up (a test
/// process killed mid-run): its control plane and containers, each by its recorded PID
/// and only when that process still is what was recorded; and detaches its sized volumes.
fn reap_leftovers(dir: &Path) {
    for mount in mounts_below(dir) {
        unmount_lazily(&mount);
    }
    let plane = dir.join("control-plane");
    for name in ["kube-apiserver.pid", "etcd.pid"] {
        if let Ok(Ok(pid)) = fs::read_to_string(plane.join(name)).map(|t| t.trim().parse::<i32>()) {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&*plane.to_string_lossy()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
    for entry in walk_pid_files(&dir.join("pods")) {
        if let Ok(Ok(pid)) = fs::read_to_string(&entry).map(|t| t.trim().parse::<i32>())
            && still_a_container(pid, &entry)
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn walk_pid_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for pod in fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in fs::read_dir(pod.path()).into_iter().flatten().flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "pid") {
                out.push(p);
            }
        }
    }
    out
}

/// True when `pid` is still the container whose PID file is `pid_file`: its root is that
/// pod's scratch root, so a recycled PID of an unrelated process is never signalled.
fn still_a_container(pid: i32, pid_file: &Path) -> bool {
    let Some(pod_dir) = pid_file.parent() else {
        return false;
    };
    fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|root| root.starts_with(pod_dir))
}
