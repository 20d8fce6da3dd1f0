//! Kubernetes in the loop: a real kube-apiserver (built from the Go module proxy by
//! tests/kube/build), and the pod runner of testkit playing the StatefulSet controller and
//! the kubelet from the objects in it.

use std::path::Path;
use std::time::Duration;

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
