//! Kubernetes in the loop: a real kube-apiserver (built from the Go module proxy by
//! tests/kube/build), and the pod runner of testkit playing the StatefulSet controller and
//! the kubelet from the objects in it.

use std::path::Path;
use std::time::Duration;

mod common;

use ringkeeper_testkit::cluster::{Cluster, ClusterSpec, NodeSpec};
use ringkeeper_testkit::ring::{Cassandra, repo_root};

fn cluster(name: &str, prefix: &str) -> Cluster {
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
        cassandra: Cassandra::fetch("5.0.8").expect("cassandra jars"),
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

fn ready_pods(c: &Cluster, ns: &str) -> anyhow::Result<Vec<String>> {
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

#[test]
#[ignore = "needs root and the test API server (scripts/test runs it)"]
fn the_pod_runner_runs_a_statefulset_as_its_spec_says() {
    let mut c = cluster("smoke", "rks");
    record_figure(
        "control_plane_start_s",
        c.plane.started_in.as_secs_f64().into(),
    );
    let ns = "smoke";
    c.kubectl(&["create", "namespace", ns]).unwrap();
    c.kubectl(&[
        "label",
        "namespace",
        ns,
        "pod-security.kubernetes.io/enforce=restricted",
    ])
    .unwrap();
    c.kubectl(&["-n", ns, "create", "serviceaccount", "default"])
        .unwrap();
    let manifest = repo_root().join("tests/kube/smoke/statefulset.yaml");
    c.kubectl(&["-n", ns, "apply", "-f", manifest.to_str().unwrap()])
        .unwrap();
    c.run_pods(ns);
    c.wait_for("2 Ready pods", Duration::from_secs(60), |c| {
        let ready = ready_pods(c, ns)?;
        Ok((ready.len() == 2).then_some(()))
    })
    .unwrap();
    let (code, who, _) = c
        .exec(
            ns,
            "web-1",
            &["cat", "/data/who", "/data/uid", "/data/root"],
        )
        .unwrap();
    assert_eq!(code, 0);
    let lines: Vec<&str> = who.lines().collect();
    assert!(lines[0].starts_with("web-1 10.244.0."), "{who}");
    assert!(lines[0].ends_with(" 64"), "{who}");
    assert_eq!(lines[1], "999");
    assert_eq!(lines[2], "ro");
    c.kubectl(&["-n", ns, "delete", "pod", "web-1", "--wait=false"])
        .unwrap();
    c.wait_for("web-1 back", Duration::from_secs(60), |c| {
        let ready = ready_pods(c, ns)?;
        let pvc = c.shared.pvc_dir(ns, "data-web-1");
        Ok((ready.len() == 2 && pvc.join("prestop").exists()).then_some(()))
    })
    .unwrap();
}

// --- Cassandra from manifests/ ---------------------------------------------------------

/// The namespace the scenarios apply manifests/ into.
const NS: &str = "cass";
/// How long 3 pods may take to come up (the runner, Cassandra's start, joins).
const UP: Duration = Duration::from_secs(420);

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A namespace as a platform team makes one: Pod Security `restricted` enforced, so a
/// manifest that asks for more than that is rejected by the API server.
fn restricted_namespace(c: &Cluster, ns: &str) {
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
fn user_kustomization(c: &Cluster, ns: &str, components: &[&str]) -> std::path::PathBuf {
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

/// The pods' JSON.
fn pods(c: &Cluster, ns: &str) -> Vec<serde_json::Value> {
    let v = json(&c.kubectl(&["-n", ns, "get", "pods", "-o", "json"]).unwrap());
    v["items"].as_array().cloned().unwrap_or_default()
}

fn is_ready(p: &serde_json::Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
        && p["metadata"]["deletionTimestamp"].is_null()
}

fn name_of(p: &serde_json::Value) -> String {
    p["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn restarts(p: &serde_json::Value) -> i64 {
    p["status"]["containerStatuses"][0]["restartCount"]
        .as_i64()
        .unwrap_or(0)
}

/// Waits for `n` Ready pods; returns them.
fn wait_ready(c: &Cluster, ns: &str, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
    c.wait_for(&format!("{n} Ready pods in {ns}"), timeout, |c| {
        let all = pods(c, ns);
        let ready: Vec<_> = all.iter().filter(|p| is_ready(p)).cloned().collect();
        Ok((ready.len() == n && all.len() == n).then_some(ready))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(c, ns)))
}

/// The last lines of every pod's current container log (for failure messages).
fn container_logs_tail(c: &Cluster, ns: &str) -> String {
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

/// `nodetool status` inside `pod`: (state, address, host ID, rack) per member.
fn ring_of(c: &Cluster, ns: &str, pod: &str) -> Vec<(String, String, String, String)> {
    let (code, out, err) = c.exec(ns, pod, &["nodetool", "status"]).unwrap();
    assert_eq!(code, 0, "nodetool status in {pod}: {out}{err}");
    out.lines()
        .filter_map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            let state = *w.first()?;
            let valid =
                state.len() == 2 && "UD".contains(&state[..1]) && "NLJM".contains(&state[1..]);
            (valid && w.len() >= 8).then(|| {
                (
                    state.to_owned(),
                    w[1].to_owned(),
                    w[w.len() - 2].to_owned(),
                    w[w.len() - 1].to_owned(),
                )
            })
        })
        .collect()
}

/// Host ID of each pod (by pod IP), from `pod`'s view of the ring.
fn host_ids(c: &Cluster, ns: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let ring = ring_of(c, ns, "cassandra-0");
    for p in pods(c, ns) {
        let ip = p["status"]["podIP"].as_str().unwrap_or_default().to_owned();
        if let Some(m) = ring.iter().find(|m| m.1 == ip) {
            out.insert(name_of(&p), m.2.clone());
        }
    }
    out
}

/// events.k8s.io Events in `ns`: (regarding pod, reason, note, type).
fn events(c: &Cluster, ns: &str) -> Vec<(String, String, String, String)> {
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
            (
                s(&e["regarding"]["name"]),
                s(&e["reason"]),
                s(&e["note"]),
                s(&e["type"]),
            )
        })
        .collect()
}

/// Figures for BENCHMARKS.md (scripts/bench-kube prints them).
fn record_figure(name: &str, value: serde_json::Value) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kube-figures.json");
    let mut all: serde_json::Map<String, serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    all.insert(name.into(), value);
    std::fs::write(&path, serde_json::to_vec_pretty(&all).unwrap()).unwrap();
}

#[test]
#[ignore = "needs root, Java, the test API server and real Cassandra nodes: run scripts/test"]
fn manifests_applied_as_is_run_a_ring_that_restarts_and_rolls_without_losing_a_request() {
    let _turn = common::turn();
    let mut c = cluster("ring", "rkk");
    restricted_namespace(&c, NS);
    let dir = user_kustomization(&c, NS, &["components/node-topology"]);
    let dir = dir.to_str().unwrap();

    // Scenario 1: dry run on the server first (a manifest the API server rejects fails
    // here), then apply; the runner brings the set up with its own podManagementPolicy.
    c.kubectl(&["apply", "-k", dir, "--dry-run=server"])
        .unwrap();
    let applied = std::time::Instant::now();
    c.kubectl(&["apply", "-k", dir]).unwrap();
    c.run_pods(NS);
    let ready = wait_ready(&c, NS, 3, UP);
    let up = applied.elapsed();
    record_figure("apply_to_3_ready_parallel_s", up.as_secs_f64().into());
    for p in &ready {
        assert_eq!(
            restarts(p),
            0,
            "{} restarted\n{}",
            name_of(p),
            c.runner_log_tail(60)
        );
    }
    let ring = ring_of(&c, NS, "cassandra-0");
    assert_eq!(ring.len(), 3, "{ring:?}");
    assert!(ring.iter().all(|m| m.0 == "UN"), "{ring:?}");

    // Scenario 5: each pod's rack is its node's zone (DC: the region).
    for p in &ready {
        let node = p["spec"]["nodeName"].as_str().unwrap();
        let ip = p["status"]["podIP"].as_str().unwrap();
        let zone = node.replace("node-", "zone-");
        let member = ring.iter().find(|m| m.1 == ip).unwrap();
        assert_eq!(member.3, zone, "{} on {node}: {ring:?}", name_of(p));
    }

    // Events say who founded and who joined.
    let evs = events(&c, NS);
    let reasons = |pod: &str| -> Vec<String> {
        evs.iter()
            .filter(|e| e.0 == pod)
            .map(|e| e.1.clone())
            .collect()
    };
    assert!(
        reasons("cassandra-0").contains(&"Founded".to_string()),
        "{evs:?}"
    );
    assert!(
        reasons("cassandra-1").contains(&"Joined".to_string()),
        "{evs:?}"
    );
    assert!(
        reasons("cassandra-2").contains(&"Joined".to_string()),
        "{evs:?}"
    );

    // `status` from inside a pod shows each pod's phase and readiness from the API beside
    // the ring.
    let (code, out, err) = c
        .exec(
            NS,
            "cassandra-0",
            &["ringkeeper", "status", "--output", "json"],
        )
        .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let status = json(&out);
    let listed = status["pods"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 3, "{status}");
    for p in &listed {
        assert_eq!(
            (&p["object"], &p["phase"], &p["ready"], &p["state"]),
            (
                &"found".into(),
                &"Running".into(),
                &true.into(),
                &"UN".into()
            ),
            "{p}"
        );
    }

    // Scenario 3: a pod deleted by hand drains in preStop and comes back on its volume
    // with the same host ID.
    let before = host_ids(&c, NS);
    assert_eq!(before.len(), 3, "{before:?}");
    let old_uid = ready
        .iter()
        .find(|p| name_of(p) == "cassandra-1")
        .map(|p| p["metadata"]["uid"].clone())
        .unwrap();
    c.kubectl(&["-n", NS, "delete", "pod", "cassandra-1", "--wait=false"])
        .unwrap();
    c.wait_for("cassandra-1 replaced", UP, |c| {
        let back = pods(c, NS)
            .into_iter()
            .find(|p| name_of(p) == "cassandra-1" && p["metadata"]["uid"] != old_uid);
        Ok(back.filter(is_ready).map(|_| ()))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(&c, NS)));
    let prestops: Vec<_> = c.events();
    assert!(
        prestops.iter().any(|e| matches!(e, ringkeeper_testkit::cluster::RunnerEvent::PreStop(p, _, Some(0)) if p == "cassandra-1")),
        "{prestops:?}"
    );
    assert!(
        !prestops
            .iter()
            .any(|e| matches!(e, ringkeeper_testkit::cluster::RunnerEvent::SigKill(_))),
        "{prestops:?}"
    );
    c.wait_for("3 UN after the restart", Duration::from_secs(120), |c| {
        let ring = ring_of(c, NS, "cassandra-0");
        Ok((ring.len() == 3 && ring.iter().all(|m| m.0 == "UN")).then_some(()))
    })
    .unwrap();
    assert_eq!(host_ids(&c, NS), before);
    assert!(
        events(&c, NS)
            .iter()
            .any(|e| e.0 == "cassandra-1" && e.1 == "Restarted"),
        "{:?}",
        events(&c, NS)
    );

    // Scenario 2: a rolling update (an env change in the pod template) under a QUORUM
    // load: pods replaced from the highest ordinal down, each through preStop and back to
    // Ready before the next, no failed request, no acknowledged write lost.
    let node_ns = ringkeeper_testkit::netns::Netns::existing(c.node_netns());
    let contact: Vec<std::net::SocketAddr> = pods(&c, NS)
        .iter()
        .map(|p| {
            std::net::SocketAddr::new(
                p["status"]["podIP"].as_str().unwrap().parse().unwrap(),
                9042,
            )
        })
        .collect();
    let mut spec = ringkeeper_testkit::load::LoadSpec::new(contact.clone());
    spec.rate = 200;
    let load = ringkeeper_testkit::load::Load::start(Some(&node_ns), spec).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let prestops_before = c.events().len();
    let old_revision = json(
        &c.kubectl(&["-n", NS, "get", "statefulset", "cassandra", "-o", "json"])
            .unwrap(),
    )["status"]["currentRevision"]
        .clone();
    let rolled = std::time::Instant::now();
    c.kubectl(&["-n", NS, "set", "env", "statefulset/cassandra", "ROLL=1"])
        .unwrap();
    c.wait_for("the rolling update done", Duration::from_secs(900), |c| {
        let s = json(&c.kubectl(&["-n", NS, "get", "statefulset", "cassandra", "-o", "json"])?);
        let st = &s["status"];
        let done = st["observedGeneration"] == s["metadata"]["generation"]
            && st["currentRevision"] != old_revision
            && st["updateRevision"] == st["currentRevision"]
            && st["readyReplicas"] == 3
            && st["updatedReplicas"] == 3;
        Ok(done.then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(&c, NS)));
    let roll = rolled.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    let report = load.stop().unwrap();
    let order: Vec<String> = c.events()[prestops_before..]
        .iter()
        .map(|e| match e {
            ringkeeper_testkit::cluster::RunnerEvent::PreStop(p, _, code) => {
                assert_eq!(*code, Some(0), "preStop of {p}");
                p.clone()
            }
            ringkeeper_testkit::cluster::RunnerEvent::SigKill(p) => panic!("{p} killed"),
        })
        .collect();
    assert_eq!(order, ["cassandra-2", "cassandra-1", "cassandra-0"]);
    record_figure(
        "rolling_update",
        serde_json::json!({
            "duration_s": roll.as_secs_f64(),
            "failed_requests": report.failed(),
            "failures": report.failures,
            "writes_ok": report.writes_ok,
            "reads_ok": report.reads_ok,
            "longest_gap_s": report.longest_gap.as_secs_f64(),
        }),
    );
    assert_eq!(
        host_ids(&c, NS),
        before,
        "host IDs after the rolling update"
    );
    let now: Vec<std::net::SocketAddr> = pods(&c, NS)
        .iter()
        .map(|p| {
            std::net::SocketAddr::new(
                p["status"]["podIP"].as_str().unwrap().parse().unwrap(),
                9042,
            )
        })
        .collect();
    let missing = ringkeeper_testkit::load::missing_writes(
        Some(&node_ns),
        &now,
        "load",
        &report.acked,
        scylla::statement::Consistency::Quorum,
    )
    .unwrap();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes missing",
        missing.len()
    );
    assert_eq!(
        report.failed(),
        0,
        "failed requests during the rolling update: {:?}",
        report.failures
    );

    // Scenario 6, from what happened: every request the pods made was made with their
    // ServiceAccount's own token and allowed, and they are exactly what the Role (and
    // the optional ClusterRole) grant.
    least_privilege(&c, NS, true);
}

/// What the ServiceAccount may do: exactly what ringkeeper uses (read from the audit log
/// of the scenarios just run), and nothing of a list of things it must never do.
fn least_privilege(c: &Cluster, ns: &str, with_topology: bool) {
    let user = format!("system:serviceaccount:{ns}:cassandra");
    let requests: Vec<_> = c
        .plane
        .audit()
        .unwrap()
        .into_iter()
        .filter(|r| r.user == user)
        .collect();
    assert!(
        !requests.is_empty(),
        "the pods made no API request with their token"
    );
    let denied: Vec<_> = requests.iter().filter(|r| r.code == 403).collect();
    assert!(denied.is_empty(), "denied: {denied:?}");
    let used: std::collections::BTreeSet<(String, String, String)> = requests
        .iter()
        .map(|r| (r.group.clone(), r.resource.clone(), r.verb.clone()))
        .collect();
    let mut granted: std::collections::BTreeSet<(String, String, String)> = [
        ("", "pods", "get"),
        ("apps", "statefulsets", "get"),
        ("events.k8s.io", "events", "create"),
    ]
    .iter()
    .map(|(g, r, v)| ((*g).into(), (*r).into(), (*v).into()))
    .collect();
    if with_topology {
        granted.insert(("".into(), "nodes".into(), "get".into()));
    }
    // `patch` on events is granted for repeats of an Event; a run may not repeat one.
    let used_without_patch: std::collections::BTreeSet<_> = used
        .iter()
        .filter(|(g, r, v)| !(g == "events.k8s.io" && r == "events" && v == "patch"))
        .cloned()
        .collect();
    assert_eq!(used_without_patch, granted, "requests made vs. granted");

    // With the ServiceAccount's own token: allowed for every request ringkeeper makes,
    // denied for the rest.
    let token = c
        .kubectl(&["-n", ns, "create", "token", "cassandra"])
        .unwrap();
    let kubeconfig = c.dir().join(format!("sa-{ns}.kubeconfig"));
    ringkeeper_testkit::cluster::control_plane::write_kubeconfig(
        &kubeconfig,
        &c.plane.server(),
        &c.plane.ca,
        token.trim(),
        ns,
    )
    .unwrap();
    let can = |args: &[&str]| -> bool {
        let mut full = vec!["auth", "can-i"];
        full.extend_from_slice(args);
        let out = c.plane.kubectl_with(&kubeconfig, &full).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "yes"
    };
    for allowed in [
        &["get", "pods/cassandra-0"][..],
        &["get", "statefulsets.apps/cassandra"],
        &["create", "events.events.k8s.io"],
        &["patch", "events.events.k8s.io"],
    ] {
        assert!(can(allowed), "{allowed:?} should be allowed");
    }
    assert_eq!(can(&["get", "nodes/node-a"]), with_topology, "get nodes");
    for denied in [
        &["get", "secrets"][..],
        &["list", "secrets"],
        &["list", "pods"],
        &["watch", "pods"],
        &["delete", "pods"],
        &["create", "pods"],
        &["patch", "statefulsets.apps"],
        &["update", "statefulsets.apps"],
        &["delete", "statefulsets.apps"],
        &["get", "configmaps"],
        &["create", "events"],
        &["delete", "events.events.k8s.io"],
        &["list", "nodes"],
        &["patch", "nodes"],
        &["get", "namespaces"],
        &["get", "pods", "-n", "kube-system"],
        &["get", "persistentvolumeclaims"],
        &["create", "serviceaccounts/token"],
    ] {
        assert!(!can(denied), "{denied:?} should be denied");
    }
}

#[test]
#[ignore = "needs root, Java, the test API server and real Cassandra nodes: run scripts/test"]
fn ordered_ready_without_api_access_still_boots_serves_and_drains() {
    let _turn = common::turn();
    let mut c = cluster("noapi", "rkn");
    let ns = "cass2";
    restricted_namespace(&c, ns);
    // The other podManagementPolicy, and the RoleBinding removed: the pods' token is
    // valid but may do nothing.
    let rendered = c
        .kubectl(&["kustomize", repo_root().join("manifests").to_str().unwrap()])
        .unwrap();
    assert!(
        rendered.contains("podManagementPolicy: Parallel"),
        "{rendered}"
    );
    let ordered = rendered.replace(
        "podManagementPolicy: Parallel",
        "podManagementPolicy: OrderedReady",
    );
    let file = c.dir().join("ordered.yaml");
    std::fs::write(&file, ordered).unwrap();
    let file = file.to_str().unwrap();
    c.kubectl(&["-n", ns, "apply", "-f", file, "--dry-run=server"])
        .unwrap();
    c.kubectl(&["-n", ns, "apply", "-f", file]).unwrap();
    c.kubectl(&["-n", ns, "delete", "rolebinding", "ringkeeper"])
        .unwrap();
    let applied = std::time::Instant::now();
    c.run_pods(ns);
    let ready = wait_ready(&c, ns, 3, UP);
    record_figure(
        "apply_to_3_ready_ordered_s",
        applied.elapsed().as_secs_f64().into(),
    );
    for p in &ready {
        assert_eq!(
            restarts(p),
            0,
            "{} restarted\n{}",
            name_of(p),
            c.runner_log_tail(60)
        );
    }
    let ring = ring_of(&c, ns, "cassandra-0");
    assert_eq!(ring.len(), 3, "{ring:?}");
    assert!(ring.iter().all(|m| m.0 == "UN"), "{ring:?}");
    // Without topology the racks are the defaults.
    assert!(ring.iter().all(|m| m.3 == "rack1"), "{ring:?}");

    // Drain still works: a pod deleted by hand drains in preStop and comes back.
    let old = ready.iter().find(|p| name_of(p) == "cassandra-2").unwrap();
    let old_uid = old["metadata"]["uid"].clone();
    c.kubectl(&["-n", ns, "delete", "pod", "cassandra-2", "--wait=false"])
        .unwrap();
    c.wait_for("cassandra-2 replaced", UP, |c| {
        let back = pods(c, ns)
            .into_iter()
            .find(|p| name_of(p) == "cassandra-2" && p["metadata"]["uid"] != old_uid);
        Ok(back.filter(is_ready).map(|_| ()))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(&c, ns)));
    let runner_events = c.events();
    assert!(
        runner_events.iter().any(|e| matches!(e, ringkeeper_testkit::cluster::RunnerEvent::PreStop(p, _, Some(0)) if p == "cassandra-2")),
        "{runner_events:?}"
    );

    // One clear line about the API per command, and no Event was written.
    let old_dir = c.pod_dir("cassandra-2", old_uid.as_str().unwrap());
    let entrypoint_log = std::fs::read_to_string(old_dir.join("container-0.log")).unwrap();
    let api_lines: Vec<&str> = entrypoint_log
        .lines()
        .filter(|l| l.contains("Kubernetes API"))
        .collect();
    assert_eq!(api_lines.len(), 1, "{api_lines:#?}");
    let prestop_log = std::fs::read_dir(&old_dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("prestop-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .unwrap();
    let api_lines: Vec<&str> = prestop_log
        .lines()
        .filter(|l| l.contains("Kubernetes API"))
        .collect();
    assert_eq!(api_lines.len(), 1, "{prestop_log}");
    assert!(events(&c, ns).is_empty(), "{:?}", events(&c, ns));
    let (code, out, err) = c.exec(ns, "cassandra-0", &["ringkeeper", "ready"]).unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        err.lines().filter(|l| l.contains("Kubernetes API")).count(),
        0,
        "ready asks no API: {err}"
    );
}
