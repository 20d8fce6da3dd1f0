//! Shared by the Kubernetes test files: the test cluster (a real kube-apiserver and the
//! pod runner), and reading what it shows (pods, the ring inside them, Events, figures).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use ringkeeper_testkit::cluster::{Cluster, ClusterSpec, NodeSpec};
use ringkeeper_testkit::netns::Netns;
pub use ringkeeper_testkit::nodetool_status::{self, StatusLine};
use ringkeeper_testkit::ring::{Cassandra, repo_root};

/// The Cassandra version the Kubernetes tests run: 5.0.8, or `RINGKEEPER_KUBE_CASSANDRA`
/// (e.g. 4.1.10) to run a file on another version by hand; CI runs 5.0.8 only, for time.
#[allow(clippy::disallowed_methods)] // a test knob, not product configuration
fn version() -> String {
    std::env::var("RINGKEEPER_KUBE_CASSANDRA").unwrap_or_else(|_| "5.0.8".into())
}

pub fn cluster(name: &str, prefix: &str) -> Cluster {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kube-{name}"));
    let testkit = Path::new(env!("CARGO_BIN_EXE_ringkeeper"))
        .parent()
        .expect("target dir")
        .join("rk-testkit");
    let spec = ClusterSpec {
        dir,
        prefix: prefix.into(),
        domain: "cluster.local".into(),
        ringkeeper: env!("CARGO_BIN_EXE_ringkeeper").into(),
        testkit,
        cassandra: Cassandra::fetch(&version()).expect("cassandra jars"),
        nodes: ["a", "b", "c"]
            .iter()
            .map(|z| NodeSpec {
                name: format!("node-{z}"),
                region: Some("region-1".into()),
                zone: Some(format!("zone-{z}")),
            })
            .collect(),
    };
    Cluster::start(spec).expect("cluster (run as root)")
}

pub fn ready_pods(c: &Cluster, ns: &str) -> anyhow::Result<Vec<String>> {
    let out = c.kubectl(&["-n", ns, "get", "pods", "-o", "json"])?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    Ok(v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .collect())
}

pub const NS: &str = "cass";
/// How long 3 pods may take to come up (the runner, Cassandra's start, joins).
pub const UP: Duration = Duration::from_secs(420);

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A namespace as a platform team makes one: Pod Security `restricted` enforced, so a
/// manifest that asks for more than that is rejected by the API server.
pub fn restricted_namespace(c: &Cluster, ns: &str) {
    c.kubectl(&["create", "namespace", ns]).unwrap();
    c.kubectl(&[
        "label",
        "namespace",
        ns,
        "pod-security.kubernetes.io/enforce=restricted",
    ])
    .unwrap();
}

/// A user's kustomization of manifests/: the namespace set (so the optional component's
/// ClusterRoleBinding names the right ServiceAccount), components as given.
pub fn user_kustomization(c: &Cluster, ns: &str, components: &[&str]) -> std::path::PathBuf {
    let dir = c.dir().join(format!("kustomize-{ns}"));
    std::fs::create_dir_all(&dir).unwrap();
    // Kustomize takes bases by relative path only.
    let up = "../".repeat(dir.components().count() - 1);
    let manifests = format!(
        "{up}{}",
        repo_root()
            .join("manifests")
            .display()
            .to_string()
            .trim_start_matches('/')
    );
    let mut text = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {ns}\nresources:\n- {manifests}\n"
    );
    if !components.is_empty() {
        text.push_str("components:\n");
        for comp in components {
            text.push_str(&format!("- {manifests}/{comp}\n"));
        }
    }
    std::fs::write(dir.join("kustomization.yaml"), text).unwrap();
    dir
}

/// Applies the kustomization in `dir` as kubectl renders it, with the StatefulSet's
/// `replicas` set to `replicas` (a set applied again, or started with fewer pods).
pub fn apply_with_replicas(c: &Cluster, dir: &Path, replicas: u32) {
    let rendered = c
        .kubectl(&["kustomize", dir.to_str().unwrap()])
        .unwrap()
        .replace("replicas: 3", &format!("replicas: {replicas}"));
    let file = dir.join("rendered.yaml");
    std::fs::write(&file, rendered).unwrap();
    c.kubectl(&["apply", "-f", file.to_str().unwrap()]).unwrap();
}

/// Adds `name=value` to the Cassandra container's environment in the kustomization in
/// `dir` (a test-friendly setting, justified where it is used).
pub fn set_env(dir: &Path, name: &str, value: &str) {
    add_patch(
        dir,
        &format!(
            "- op: add\n  path: /spec/template/spec/containers/0/env/-\n  \
             value: {{name: {name}, value: \"{value}\"}}"
        ),
    );
}

/// Probes every 2 s instead of every 10 s. The probes run the same commands with the
/// same thresholds; only the kubelet's schedule is shorter, so a pod is seen Ready (and
/// the next ordinal created, a test's wait ended) within 2 s of passing, not within 10.
pub fn quick_probes(dir: &Path) {
    let ops: Vec<String> = ["startupProbe", "livenessProbe", "readinessProbe"]
        .iter()
        .map(|probe| {
            format!(
                "- op: replace\n  path: /spec/template/spec/containers/0/{probe}/periodSeconds\n  value: 2"
            )
        })
        .collect();
    add_patch(dir, &ops.join("\n"));
}

/// Adds a JSON patch (`ops`, a YAML list) of the StatefulSet to the kustomization in
/// `dir`, after the patches it already has.
fn add_patch(dir: &Path, ops: &str) {
    add_patch_of(dir, "StatefulSet", "cassandra", ops);
}

/// The backup component's store in the kustomization in `dir`: the test S3 gateway on the
/// cluster's bridge (`s3://ringkeeper/<prefix>`), its keys in the Secret the component
/// references (created in `ns`), and the pods looking for requests every 5 s instead of
/// 30 s (only the schedule of a look is shorter; what a pod does with a request is not),
/// uploading at 1 MiB/s.
pub fn backup_store(c: &Cluster, ns: &str, dir: &Path, prefix: &str) {
    c.kubectl(&[
        "-n",
        ns,
        "create",
        "secret",
        "generic",
        "cassandra-backup-credentials",
        &format!("--from-literal=AWS_ACCESS_KEY_ID={}", super::s3::ACCESS),
        &format!("--from-literal=AWS_SECRET_ACCESS_KEY={}", super::s3::SECRET),
    ])
    .unwrap();
    add_patch_of(
        dir,
        "ConfigMap",
        "cassandra-backup",
        &format!(
            "- op: replace\n  path: /data/RINGKEEPER_BACKUP_STORE\n  value: s3://{}/{prefix}\n\
             - op: add\n  path: /data/AWS_ENDPOINT_URL\n  value: http://{GATEWAY}:{S3_PORT}\n\
             - op: add\n  path: /data/AWS_ALLOW_HTTP\n  value: \"true\"",
            super::s3::BUCKET
        ),
    );
    set_env(dir, "RINGKEEPER_BACKUP_POLL", "5s");
    // Uploads at 1 MiB/s (the default is 50): a part of tens of MiB then takes longer than
    // a pod's drain, so a test can stop a pod in the middle of its upload.
    set_env(dir, "RINGKEEPER_BACKUP_MAX_RATE", "1MiB");
}

/// Where the test S3 gateway listens: the cluster's bridge, reachable from every pod.
pub const S3_PORT: u16 = 7070;
pub const GATEWAY: std::net::Ipv4Addr = ringkeeper_testkit::cluster::network::GATEWAY;

/// Adds a JSON patch (`ops`, a YAML list) of the object `kind`/`name` to the kustomization
/// in `dir`, after the patches it already has.
fn add_patch_of(dir: &Path, kind: &str, name: &str, ops: &str) {
    let kustomization = dir.join("kustomization.yaml");
    let mut text = std::fs::read_to_string(&kustomization).unwrap();
    if !text.contains("\npatches:\n") {
        text.push_str("patches:\n");
    }
    let ops: String = ops.lines().map(|l| format!("    {l}\n")).collect();
    text.push_str(&format!(
        "- target: {{kind: {kind}, name: {name}}}\n  patch: |-\n{ops}"
    ));
    std::fs::write(&kustomization, text).unwrap();
}

/// The ConfigMap `name` in `ns`, as JSON (the identity record).
pub fn configmap(c: &Cluster, ns: &str, name: &str) -> serde_json::Value {
    json(
        &c.kubectl(&["-n", ns, "get", "configmap", name, "-o", "json"])
            .unwrap(),
    )
}

/// Waits until a pod `pod` other than the object `old_uid` is Ready (a pod deleted and
/// made again by the StatefulSet).
pub fn back_ready(c: &Cluster, pod: &str, old_uid: &str) {
    c.wait_for(&format!("{pod} back"), UP, |c| {
        let back = pods(c, NS)
            .into_iter()
            .find(|p| name_of(p) == pod && p["metadata"]["uid"] != old_uid);
        Ok(back.filter(is_ready).map(|_| ()))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(c, NS)));
}

/// Deletes the StatefulSet `cassandra` in `NS` (with `extra` flags, e.g.
/// `--cascade=foreground`) and waits until every pod of it is gone, each through its
/// preStop.
pub fn delete_set(c: &Cluster, extra: &[&str]) {
    let mut args = vec![
        "-n",
        NS,
        "delete",
        "statefulset",
        "cassandra",
        "--wait=false",
    ];
    args.extend_from_slice(extra);
    c.kubectl(&args).unwrap();
    c.wait_for("every pod gone", Duration::from_secs(300), |c| {
        Ok(pods(c, NS).is_empty().then_some(()))
    })
    .unwrap();
}

/// The pods' JSON.
pub fn pods(c: &Cluster, ns: &str) -> Vec<serde_json::Value> {
    let v = json(&c.kubectl(&["-n", ns, "get", "pods", "-o", "json"]).unwrap());
    v["items"].as_array().cloned().unwrap_or_default()
}

pub fn is_ready(p: &serde_json::Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
        && p["metadata"]["deletionTimestamp"].is_null()
}

pub fn name_of(p: &serde_json::Value) -> String {
    p["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

pub fn restarts(p: &serde_json::Value) -> i64 {
    p["status"]["containerStatuses"][0]["restartCount"]
        .as_i64()
        .unwrap_or(0)
}

/// Waits for `n` Ready pods; returns them.
pub fn wait_ready(c: &Cluster, ns: &str, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
    c.wait_for(&format!("{n} Ready pods in {ns}"), timeout, |c| {
        let all = pods(c, ns);
        let ready: Vec<_> = all.iter().filter(|p| is_ready(p)).cloned().collect();
        Ok((ready.len() == n && all.len() == n).then_some(ready))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(c, ns)))
}

/// Every container log of the pod `pod` (in NS) as it is now, oldest first: what
/// `kubectl logs` and `--previous` show of it.
pub fn container_logs_of(c: &Cluster, pod: &str) -> String {
    let dir = c.pod_dir(pod, &uid_of(c, pod));
    (0..50)
        .map_while(|i| std::fs::read_to_string(dir.join(format!("container-{i}.log"))).ok())
        .collect()
}

/// The last lines of every pod's current container log (for failure messages).
pub fn container_logs_tail(c: &Cluster, ns: &str) -> String {
    let mut out = String::new();
    for p in pods(c, ns) {
        let name = name_of(&p);
        let uid = p["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
        let dir = c.pod_dir(&name, &uid);
        for i in (0..50).rev() {
            let log = dir.join(format!("container-{i}.log"));
            if let Ok(text) = std::fs::read_to_string(&log) {
                let lines: Vec<&str> = text.lines().collect();
                out.push_str(&format!(
                    "--- {name} container-{i}.log\n{}\n",
                    lines[lines.len().saturating_sub(15)..].join("\n")
                ));
                break;
            }
        }
    }
    out
}

/// `nodetool status` inside `pod`, one line per member.
pub fn ring_of(c: &Cluster, ns: &str, pod: &str) -> Ring {
    let (code, out, err) = c.exec(ns, pod, &["nodetool", "status"]).unwrap();
    assert_eq!(code, 0, "nodetool status in {pod}: {out}{err}");
    nodetool_status::parse(&out)
}

/// Host ID of each pod (by pod IP), from `pod`'s view of the ring.
pub fn host_ids(c: &Cluster, ns: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let ring = ring_of(c, ns, "cassandra-0");
    for p in pods(c, ns) {
        let ip = p["status"]["podIP"].as_str().unwrap_or_default().to_owned();
        if let Some(m) = ring.iter().find(|m| m.address == ip) {
            out.insert(name_of(&p), m.host_id.clone());
        }
    }
    out
}

/// An Event of the namespace (events.k8s.io), as a person on call reads it.
#[derive(Debug, Clone)]
pub struct PodEvent {
    /// The object it is about (`regarding.name`): for ringkeeper's, the pod.
    pub pod: String,
    pub reason: String,
    pub note: String,
    /// `Normal` or `Warning`.
    pub kind: String,
}

/// Every Event of the namespace.
pub fn events(c: &Cluster, ns: &str) -> Vec<PodEvent> {
    let v = json(
        &c.kubectl(&["-n", ns, "get", "events.events.k8s.io", "-o", "json"])
            .unwrap(),
    );
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_owned();
            PodEvent {
                pod: s(&e["regarding"]["name"]),
                reason: s(&e["reason"]),
                note: s(&e["note"]),
                kind: s(&e["type"]),
            }
        })
        .collect()
}

/// Reasons of the Events about one pod object (`uid`: one incarnation).
pub fn reasons_of_uid(c: &Cluster, ns: &str, uid: &str) -> Vec<String> {
    let v = json(
        &c.kubectl(&["-n", ns, "get", "events.events.k8s.io", "-o", "json"])
            .unwrap(),
    );
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["regarding"]["uid"] == uid)
        .filter_map(|e| e["reason"].as_str().map(str::to_owned))
        .collect()
}

/// Figures for BENCHMARKS.md (scripts/bench-kube prints them).
pub fn record_figure(name: &str, value: serde_json::Value) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kube-figures.json");
    let mut all: serde_json::Map<String, serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    all.insert(name.into(), value);
    std::fs::write(&path, serde_json::to_vec_pretty(&all).unwrap()).unwrap();
}

/// Runs CQL against the Ready pods from the node's network namespace (where pod IPs
/// route).
pub fn cql<T: Send + 'static>(
    c: &Cluster,
    work: impl FnOnce(
        scylla::client::session::Session,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>
    + Send
    + 'static,
) -> T {
    let contact: Vec<SocketAddr> = pods(c, NS)
        .iter()
        .filter(|p| is_ready(p))
        .filter_map(|p| p["status"]["podIP"].as_str()?.parse().ok())
        .map(|ip| SocketAddr::new(ip, 9042))
        .collect();
    super::cql_in_netns(&Netns::existing(c.node_netns()), contact, false, work)
}

/// Runs each statement (schema changes) in order.
pub fn schema(c: &Cluster, statements: &[&str]) {
    let statements: Vec<String> = statements.iter().map(|s| (*s).to_owned()).collect();
    cql(c, move |s| {
        Box::pin(async move {
            for st in statements {
                s.query_unpaged(st.as_str(), &[])
                    .await
                    .unwrap_or_else(|e| panic!("{st}: {e}"));
            }
            s.await_schema_agreement().await.unwrap();
        })
    });
}

/// The pod's UID (to find its directory once it is gone).
pub fn uid_of(c: &Cluster, pod: &str) -> String {
    pods(c, NS)
        .iter()
        .find(|p| name_of(p) == pod)
        .and_then(|p| p["metadata"]["uid"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no pod {pod}"))
}

/// The preStop log of one pod object, and the JSON summary `drain` printed in it.
pub fn prestop(c: &Cluster, pod: &str, uid: &str) -> (String, serde_json::Value) {
    let dir = c.pod_dir(pod, uid);
    let log: String = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("prestop-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let summary = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("exit_code").is_some())
        .unwrap_or_else(|| panic!("no drain summary in {pod}'s preStop log:\n{log}"));
    (log, summary)
}

/// Asserts the drain summary's outcome and decision, and its exit 0 (a drain or a
/// decommission that completed), with the preStop log shown when they differ; returns the
/// decision's reason.
pub fn assert_drain(
    summary: &serde_json::Value,
    log: &str,
    outcome: &str,
    decision: &str,
) -> String {
    assert_eq!(
        (
            &summary["outcome"],
            &summary["decision"],
            &summary["exit_code"]
        ),
        (&outcome.into(), &decision.into(), &0.into()),
        "{summary}\n{log}"
    );
    summary["decision_reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no decision_reason: {summary}"))
        .to_owned()
}

/// Waits until every pod's own readiness check answers within its bound: on the shared
/// 2-core test machine a node that just restarted (commit log replay, JIT) starves the
/// others and the API server for a while.
pub fn settled(c: &Cluster) {
    super::eventually(Duration::from_secs(120), || {
        for p in pods(c, NS) {
            let (code, out, err) = c
                .exec(NS, &name_of(&p), &["ringkeeper", "ready"])
                .map_err(|e| format!("{e:#}"))?;
            if code != 0 {
                return Err(format!("{}: {out}{err}", name_of(&p)));
            }
        }
        Ok(())
    });
}

/// Scales the set and waits until exactly the pods `0..n` exist, Ready.
pub fn scale(c: &Cluster, n: usize, timeout: Duration) -> Duration {
    let start = Instant::now();
    c.kubectl(&[
        "-n",
        NS,
        "scale",
        "statefulset",
        "cassandra",
        &format!("--replicas={n}"),
    ])
    .unwrap();
    wait_ready(c, NS, n, timeout);
    start.elapsed()
}

/// Deletes the volumes (PVCs `data-<pod>`) of `pods`, as a person deleting them would,
/// and waits until the API lists none of them and their directories are gone.
pub fn delete_volumes(c: &Cluster, pods: &[&str]) {
    let names: Vec<String> = pods.iter().map(|p| format!("data-{p}")).collect();
    let mut args = vec!["-n", NS, "delete", "pvc"];
    args.extend(names.iter().map(String::as_str));
    args.push("--wait=false");
    c.kubectl(&args).unwrap();
    c.wait_for("the volumes gone", Duration::from_secs(60), |c| {
        let listed = pvcs(c);
        Ok(names
            .iter()
            .all(|n| !listed.contains(n) && !c.shared.pvc_dir(NS, n).exists())
            .then_some(()))
    })
    .unwrap();
}

pub fn pvcs(c: &Cluster) -> Vec<String> {
    let v = json(&c.kubectl(&["-n", NS, "get", "pvc", "-o", "json"]).unwrap());
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

/// `nodetool status` members.
pub type Ring = Vec<StatusLine>;

/// Every pod's view of the ring: (pod, members).
pub fn views(c: &Cluster) -> Vec<(String, Ring)> {
    pods(c, NS)
        .iter()
        .filter(|p| is_ready(p))
        .map(|p| (name_of(p), ring_of(c, NS, &name_of(p))))
        .collect()
}

/// Fills the volume at `dir` with a file until `leave` bytes remain free; returns it.
pub fn fill_volume(dir: &std::path::Path, leave: u64) -> std::path::PathBuf {
    use std::io::Write;
    let stat = nix::sys::statvfs::statvfs(dir).unwrap();
    let free = stat.blocks_available() * stat.fragment_size();
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).unwrap();
    // Written, not sized: a sparse file takes no room on a tmpfs.
    let chunk = vec![1u8; 1 << 20];
    let mut left = free.saturating_sub(leave);
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    f.sync_all().unwrap();
    path
}
