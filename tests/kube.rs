//! Kubernetes in the loop: a real kube-apiserver (built from the Go module proxy by
//! tests/kube/build), and the pod runner of testkit playing the StatefulSet controller and
//! the kubelet from the objects in it.

use std::time::Duration;

mod common;

use common::kube::*;
use ringkeeper_testkit::cluster::Cluster;
use ringkeeper_testkit::ring::repo_root;

#[test]
#[ignore = "needs root and the test API server (scripts/test runs it)"]
fn the_pod_runner_runs_a_statefulset_as_its_spec_says() {
    let mut c = cluster("smoke", "rks");
    record_figure(
        "control_plane_start_s",
        c.plane.started_in.as_secs_f64().into(),
    );
    let ns = "smoke";
    restricted_namespace(&c, ns);
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
#[test]
#[ignore = "needs root, Java, the test API server and real Cassandra nodes: run scripts/test"]
fn manifests_applied_as_is_run_a_ring_that_restarts_and_rolls_without_losing_a_request() {
    // Built (or found in the cache) before the nodes are reserved.
    let s3_gateway = common::s3::gateway_binary();
    let _nodes = common::nodes(3);
    let mut c = cluster("ring", "rkk");
    restricted_namespace(&c, NS);
    let kustomization =
        user_kustomization(&c, NS, &["components/node-topology", "components/backup"]);
    backup_store(&c, NS, &kustomization, "cass");
    let node_ns = ringkeeper_testkit::netns::Netns::existing(c.node_netns());
    let gateway = common::s3::start(
        &s3_gateway,
        &node_ns,
        std::net::SocketAddr::new(GATEWAY.into(), S3_PORT),
        &c.dir().join("s3"),
    );
    let dir = kustomization.to_str().unwrap();

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
    assert!(ring.iter().all(StatusLine::is_un), "{ring:?}");

    // Scenario 5: each pod's rack is its node's zone (DC: the region).
    for p in &ready {
        let node = p["spec"]["nodeName"].as_str().unwrap();
        let ip = p["status"]["podIP"].as_str().unwrap();
        let zone = node.replace("node-", "zone-");
        let member = ring.iter().find(|m| m.address == ip).unwrap();
        assert_eq!(member.rack, zone, "{} on {node}: {ring:?}", name_of(p));
    }

    // Events say who founded and who joined. A pod can be Ready before its entrypoint's
    // next look at `system.local` records the join and posts the Event, so wait for them.
    common::eventually(Duration::from_secs(60), || {
        let evs = events(&c, NS);
        let has = |pod: &str, reason: &str| evs.iter().any(|e| e.pod == pod && e.reason == reason);
        (has("cassandra-0", "Founded")
            && has("cassandra-1", "Joined")
            && has("cassandra-2", "Joined"))
        .then_some(())
        .ok_or_else(|| format!("{evs:?}"))
    });

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

    // Scenario 3: a pod deleted by hand (spec.replicas unchanged) drains in preStop, no
    // decommission, and comes back on its volume with the same host ID.
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
    let (log, summary) = prestop(&c, "cassandra-1", old_uid.as_str().unwrap());
    let reason = assert_drain(&summary, &log, "drained", "drain");
    assert!(reason.contains("ordinal 1 < spec.replicas 3"), "{summary}");
    assert!(
        !prestops
            .iter()
            .any(|e| matches!(e, ringkeeper_testkit::cluster::RunnerEvent::SigKill(_))),
        "{prestops:?}"
    );
    c.wait_for("3 UN after the restart", Duration::from_secs(120), |c| {
        let ring = ring_of(c, NS, "cassandra-0");
        Ok((ring.len() == 3 && ring.iter().all(StatusLine::is_un)).then_some(()))
    })
    .unwrap();
    assert_eq!(host_ids(&c, NS), before);
    assert!(
        events(&c, NS)
            .iter()
            .any(|e| e.pod == "cassandra-1" && e.reason == "Restarted"),
        "{:?}",
        events(&c, NS)
    );

    // Scenario 2: a rolling update (an env change in the pod template) under QUORUM
    // loads: pods replaced from the highest ordinal down, each through preStop and back
    // to Ready before the next, no acknowledged write lost. Two clients side by side, on
    // the `scylla` driver with its defaults: one whose statements are marked idempotent
    // (the driver may retry them on the next node) must see no failed request at all; one
    // whose statements are not (most applications) may lose only the requests in flight
    // at the instant a node closes its native transport, since that driver keeps sending
    // to a node announced down until its connections close.
    let rolled_pods: Vec<(String, String)> = pods(&c, NS)
        .iter()
        .map(|p| {
            (
                name_of(p),
                p["metadata"]["uid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
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
    spec.rate = ringkeeper_testkit::load::CORRECTNESS_RATE;
    let load = ringkeeper_testkit::load::Load::start(Some(&node_ns), spec).unwrap();
    let mut spec = ringkeeper_testkit::load::LoadSpec::new(contact.clone());
    spec.keyspace = "load_idempotent".into();
    spec.rate = ringkeeper_testkit::load::CORRECTNESS_RATE / 2;
    spec.idempotent = true;
    let idempotent_load = ringkeeper_testkit::load::Load::start(Some(&node_ns), spec).unwrap();
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
    let idempotent_report = idempotent_load.stop().unwrap();
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
            "failure_timeline": report.failure_timeline,
            "idempotent": {
                "rate": ringkeeper_testkit::load::CORRECTNESS_RATE / 2,
                "failed_requests": idempotent_report.failed(),
                "failures": idempotent_report.failures,
                "writes_ok": idempotent_report.writes_ok,
                "reads_ok": idempotent_report.reads_ok,
                "longest_gap_s": idempotent_report.longest_gap.as_secs_f64(),
                "failure_timeline": idempotent_report.failure_timeline,
            },
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
    for (keyspace, r) in [("load", &report), ("load_idempotent", &idempotent_report)] {
        let missing = ringkeeper_testkit::load::missing_writes(
            Some(&node_ns),
            &now,
            keyspace,
            &r.acked,
            scylla::statement::Consistency::Quorum,
        )
        .unwrap();
        assert!(
            missing.is_empty(),
            "{} acknowledged writes missing in {keyspace}",
            missing.len()
        );
    }
    assert_eq!(
        idempotent_report.failed(),
        0,
        "the idempotent client's failures during the rolling update: {:?} {:?}",
        idempotent_report.failures,
        idempotent_report.failure_timeline
    );
    // Each pod's drain log says when it closed its native transport.
    let windows: Vec<_> = rolled_pods
        .iter()
        .flat_map(|(pod, uid)| {
            let dir = c.pod_dir(pod, uid);
            std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("prestop-"))
                .flat_map(|e| {
                    ringkeeper_testkit::closes::close_windows(
                        &std::fs::read_to_string(e.path()).unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(windows.len(), 3, "{windows:?}");
    let elsewhere =
        ringkeeper_testkit::closes::outside_windows(&report, &windows, Duration::from_secs(1));
    assert!(
        elsewhere.is_empty(),
        "failures of the non-idempotent client away from any native transport close: \
         {elsewhere:?} (load started at {}; closes {windows:?})",
        report.started_unix
    );

    // Scenario 7: backups of the set and a restore of the whole set.
    the_set_is_backed_up_under_load_and_restored_whole(
        &c,
        &kustomization,
        &node_ns,
        &gateway.bucket.join("cass"),
    );

    // Scenario 6, from what happened: every request the pods made was made with their
    // ServiceAccount's own token and allowed, and they are exactly what the Role (and
    // the optional ClusterRole) grant. The backups added none: their requests and parts
    // live in the store.
    least_privilege(&c, NS, true);
}

/// The CQL address of each pod.
fn contact_points(c: &Cluster) -> Vec<std::net::SocketAddr> {
    pods(c, NS)
        .iter()
        .map(|p| {
            std::net::SocketAddr::new(
                p["status"]["podIP"].as_str().unwrap().parse().unwrap(),
                9042,
            )
        })
        .collect()
}

/// `ringkeeper backup <args>` in `pod` (the pods have the store in their environment).
fn backup_in(c: &Cluster, pod: &str, args: &[&str]) -> (i32, String, String) {
    let mut argv = vec!["ringkeeper", "backup"];
    argv.extend_from_slice(args);
    c.exec(NS, pod, &argv).unwrap()
}

/// Asks for a backup of the set from a pod (what the component's CronJob runs) and waits
/// until every pod's entrypoint has taken its part.
fn request_and_wait(c: &Cluster, name: &str) -> std::time::Duration {
    let asked = std::time::Instant::now();
    let (code, out, err) = backup_in(c, "cassandra-0", &["request", name, "--replicas", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    wait_complete(c, name);
    asked.elapsed()
}

/// Waits until every part of the backup `name` is complete.
fn wait_complete(c: &Cluster, name: &str) {
    c.wait_for(
        &format!("backup {name} complete"),
        Duration::from_secs(300),
        |c| {
            let (code, _, _) = backup_in(c, "cassandra-0", &["status", name]);
            Ok((code == 0).then_some(()))
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e:#}\n{:?}\n{}",
            backup_in(c, "cassandra-0", &["status", name]),
            container_logs_tail(c, NS)
        )
    });
}

/// One pod's manifest in the store (the bucket's directory on the gateway's disk).
fn manifest_of(bucket: &std::path::Path, backup: &str, pod: &str) -> serde_json::Value {
    json(
        &std::fs::read_to_string(bucket.join(format!("backups/{backup}/members/{pod}.json")))
            .unwrap(),
    )
}

/// Issue 19's scenarios 1 and 3 on the ring the manifests made, through the backup
/// component (requests written by `ringkeeper backup request` as its CronJob does, the
/// store and its credentials from its ConfigMap and Secret):
/// 1. under a QUORUM load, a backup of the set completes with no failed request; a second
///    one after more writes uploads only files the store lacks;
/// 3. the StatefulSet, its volumes and its identity record deleted, the same manifests
///    with RINGKEEPER_RESTORE_BACKUP restore every pod before Cassandra starts: the same
///    host IDs and tokens, no pod founds, joins or streams, every write acknowledged
///    before the request readable at QUORUM, and at ONE through each node alone.
fn the_set_is_backed_up_under_load_and_restored_whole(
    c: &Cluster,
    kustomization: &std::path::Path,
    node_ns: &ringkeeper_testkit::netns::Netns,
    bucket: &std::path::Path,
) {
    use ringkeeper_testkit::load::{self, Load, LoadSpec};
    use scylla::statement::Consistency;

    let mut spec = LoadSpec::new(contact_points(c));
    spec.keyspace = "backed".into();
    spec.rate = load::CORRECTNESS_RATE;
    let writes = Load::start(Some(node_ns), spec).unwrap();
    // A second table, for scenario 2 (one table dropped, another truncated).
    write_notes(node_ns, contact_points(c));
    std::thread::sleep(Duration::from_secs(10));
    // Acknowledged before the request: what the backup must hold.
    let before = writes.snapshot();
    let first_took = request_and_wait(c, "set-1");
    // More writes, then the second backup.
    std::thread::sleep(Duration::from_secs(10));
    let second_took = request_and_wait(c, "set-2");
    let report = writes.stop().unwrap();
    assert_eq!(
        report.failed(),
        0,
        "requests failed while the set was backed up: {:?} {:?}",
        report.failures,
        report.failure_timeline
    );
    assert!(!before.acked.is_empty());

    // The second backup uploaded only contents no earlier backup holds.
    let members = ["cassandra-0", "cassandra-1", "cassandra-2"];
    let hashes = |backup: &str, pod: &str| -> std::collections::BTreeMap<String, u64> {
        manifest_of(bucket, backup, pod)["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["sha256"].as_str().unwrap().to_owned(),
                    f["size"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let first: std::collections::BTreeSet<String> = members
        .iter()
        .flat_map(|p| hashes("set-1", p).into_keys())
        .collect();
    let (mut full, mut uploaded) = (0, 0);
    for pod in members {
        let second = manifest_of(bucket, "set-2", pod);
        let new: u64 = hashes("set-2", pod)
            .iter()
            .filter(|(h, _)| !first.contains(*h))
            .map(|(_, size)| size)
            .sum();
        let sent = second["transfer"]["uploaded"]["bytes"].as_u64().unwrap();
        assert!(
            sent <= new,
            "{pod}: {sent} bytes uploaded, {new} new: {second}"
        );
        uploaded += sent;
        full += manifest_of(bucket, "set-1", pod)["transfer"]["uploaded"]["bytes"]
            .as_u64()
            .unwrap();
    }
    record_figure(
        "set_backup",
        serde_json::json!({
            "first_s": first_took.as_secs_f64(),
            "second_s": second_took.as_secs_f64(),
            "first_uploaded_bytes": full,
            "second_uploaded_bytes": uploaded,
            "writes_ok": report.writes_ok,
            "reads_ok": report.reads_ok,
        }),
    );

    bad_input_in_a_pod(c);
    an_upload_cut_by_a_pod_deletion_is_never_complete(c, node_ns, bucket);

    // The whole set gone: StatefulSet (its pods drained away), volumes, identity record.
    let ids = host_ids(c, NS);
    delete_set_and_record(c);
    delete_volumes(c, &["cassandra-0", "cassandra-1", "cassandra-2"]);
    // Pod 2's new volume is a 1 GiB filesystem of its own (the others are the host's
    // disk), so that it can be filled for the refusal below.
    let _sized = c
        .shared
        .sized_volume(NS, "data-cassandra-2", 1 << 30)
        .unwrap();

    // The same manifests, asked to restore set-1; first under another cluster name.
    set_env(kustomization, "RINGKEEPER_RESTORE_BACKUP", "set-1");
    another_clusters_backup_is_refused(c, kustomization);
    let restoring = std::time::Instant::now();
    c.kubectl(&["apply", "-k", kustomization.to_str().unwrap()])
        .unwrap();
    let ready = wait_ready(c, NS, 3, UP);
    let restored_in = restoring.elapsed();
    assert_eq!(host_ids(c, NS), ids, "host IDs after the restore");
    for p in &ready {
        let pod = name_of(p);
        let manifest = manifest_of(bucket, "set-1", &pod);
        assert_eq!(ids[&pod], manifest["node"]["host_id"].as_str().unwrap());
        let (code, out, err) = c.exec(NS, &pod, &["nodetool", "info", "-T"]).unwrap();
        assert_eq!(code, 0, "{out}{err}");
        let (tokens, want) = common::tokens_of(&out, &manifest);
        assert_eq!(tokens, want, "{pod}'s tokens");
        let reasons = reasons_of_uid(c, NS, p["metadata"]["uid"].as_str().unwrap());
        assert!(
            reasons
                .iter()
                .all(|r| r != "Founded" && r != "Joined" && r != "Replaced"),
            "{pod} founded, joined or replaced: {reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r == "Restored"),
            "{pod}: no Restored Event: {reasons:?}"
        );
        // No bootstrap, no streaming: the node started from the restored files and its
        // saved tokens.
        let (_, log, _) = c
            .exec(NS, &pod, &["cat", "/var/log/cassandra/system.log"])
            .unwrap();
        assert!(log.contains("Using saved tokens"), "{pod}: {log}");
        assert!(!log.contains("Starting to bootstrap"), "{pod} bootstrapped");
    }
    let now = contact_points(c);
    let missing = load::missing_writes(
        Some(node_ns),
        &now,
        "backed",
        &before.acked,
        Consistency::Quorum,
    )
    .unwrap();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost",
        missing.len()
    );
    // Each node alone: a read at ONE is served by its coordinator, a replica of every key
    // here, unless a speculative retry asks another one: none for this check.
    common::cql_in_netns(node_ns, now.clone(), false, |session| {
        Box::pin(async move {
            session
                .query_unpaged("ALTER TABLE backed.kv WITH speculative_retry = 'NONE'", &[])
                .await
                .unwrap();
        })
    });
    for addr in &now {
        let missing = load::missing_writes_through(
            Some(node_ns),
            *addr,
            "backed",
            &before.acked,
            Consistency::One,
        )
        .unwrap();
        assert!(
            missing.is_empty(),
            "{} acknowledged writes not on {addr} alone",
            missing.len()
        );
    }
    // Again, now that any Event a join would post has had its time (a pod can be Ready
    // before its entrypoint posts one).
    for p in &ready {
        let reasons = reasons_of_uid(c, NS, p["metadata"]["uid"].as_str().unwrap());
        assert!(
            reasons
                .iter()
                .all(|r| r != "Founded" && r != "Joined" && r != "Replaced"),
            "{} founded, joined or replaced: {reasons:?}",
            name_of(p)
        );
    }
    record_figure(
        "set_restore",
        serde_json::json!({
            "apply_to_3_ready_s": restored_in.as_secs_f64(),
            "bytes": full,
        }),
    );

    tables_back_online(c, node_ns, &before.acked);
    a_part_without_room_is_refused(c);
}

/// Deletes the StatefulSet (its pods drained away) and its identity record; the volumes stay.
fn delete_set_and_record(c: &Cluster) {
    delete_set(c, &[]);
    c.kubectl(&[
        "-n",
        NS,
        "delete",
        "configmap",
        "cassandra-identity",
        "--ignore-not-found",
    ])
    .unwrap();
}

/// Issue 19's scenario 6 through the manifests: the set applied under another cluster name
/// and asked to restore set-1 (a backup of cluster "cassandra"). Every pod refuses before
/// Cassandra starts, with a `Refused` Event that names both clusters, and leaves its empty
/// volume empty. The set is then deleted and the manifests put back as they were.
fn another_clusters_backup_is_refused(c: &Cluster, kustomization: &std::path::Path) {
    let file = kustomization.join("kustomization.yaml");
    let as_it_was = std::fs::read_to_string(&file).unwrap();
    set_env(kustomization, "CASSANDRA_CLUSTER_NAME", "another");
    c.kubectl(&["apply", "-k", kustomization.to_str().unwrap()])
        .unwrap();
    let members = ["cassandra-0", "cassandra-1", "cassandra-2"];
    c.wait_for(
        "every pod refuses to restore another cluster's backup",
        Duration::from_secs(120),
        |c| {
            let evs = events(c, NS);
            Ok(members
                .iter()
                .all(|pod| {
                    evs.iter().any(|e| {
                        e.pod == *pod
                            && e.reason == "Refused"
                            && e.kind == "Warning"
                            && e.note.contains(
                                "restore refused: backup set-1 is of cluster \"cassandra\", \
                                 this set's is \"another\"",
                            )
                    })
                })
                .then_some(()))
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}\n{:?}\n{}", events(c, NS), container_logs_tail(c, NS)));
    // Nothing written: no file restored, and no Cassandra started (it would have made its
    // directories there).
    for pod in members {
        let volume = c.shared.pvc_dir(NS, &format!("data-{pod}"));
        let left: Vec<_> = std::fs::read_dir(&volume)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{pod}'s volume was written: {left:?}");
        assert!(
            container_logs_of(c, pod).contains("restore refused"),
            "{pod}: {}",
            container_logs_tail(c, NS)
        );
    }
    delete_set_and_record(c);
    std::fs::write(&file, as_it_was).unwrap();
}

/// Issue 19: a part is never taken when its snapshot could fill the volume. Pod 2's volume
/// (1 GiB since the restore) filled up to 64 MiB free: asked for backup set-3, pod 2
/// refuses its part with a `BackupRefused` Event saying how much is free and how much its
/// files take, once per try (three), while the other pods take theirs; set-3 stays
/// incomplete, also after room is made (a refused part is not retried forever).
fn a_part_without_room_is_refused(c: &Cluster) {
    let volume = c.shared.pvc_dir(NS, "data-cassandra-2");
    let ballast = fill_volume(&volume, 64 << 20);
    let (code, out, err) = backup_in(c, "cassandra-0", &["request", "set-3", "--replicas", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    let refusals = |c: &Cluster| {
        container_logs_of(c, "cassandra-2")
            .lines()
            .filter(|l| {
                l.contains("this pod's part of the backup was refused") && l.contains("set-3")
            })
            .count()
    };
    c.wait_for(
        "pod 2 spends its three tries of set-3",
        Duration::from_secs(120),
        |c| Ok((refusals(c) >= 3).then_some(())),
    )
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(c, NS)));
    std::fs::remove_file(&ballast).unwrap();
    let note = events(c, NS)
        .into_iter()
        .find(|e| e.pod == "cassandra-2" && e.reason == "BackupRefused" && e.note.contains("set-3"))
        .map(|e| e.note)
        .unwrap_or_else(|| panic!("no BackupRefused Event: {:?}", events(c, NS)));
    assert!(
        note.contains("free and the node's files take") && note.contains("grow the volume"),
        "{note}"
    );
    // The other parts are taken; pod 2's never is, room or not.
    let states = |c: &Cluster| -> std::collections::BTreeMap<String, String> {
        let (_, out, _) = backup_in(c, "cassandra-0", &["status", "set-3", "--format", "json"]);
        serde_json::from_str::<serde_json::Value>(&out).map_or_else(
            |_| Default::default(),
            |v| {
                v["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        (
                            p["pod"].as_str().unwrap_or_default().to_owned(),
                            p["state"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            },
        )
    };
    c.wait_for("the other parts of set-3", Duration::from_secs(120), |c| {
        let now = states(c);
        Ok(["cassandra-0", "cassandra-1"]
            .iter()
            .all(|pod| now.get(*pod).is_some_and(|s| s == "complete"))
            .then_some(()))
    })
    .unwrap();
    // One poll more (5 s) with room: no fourth try.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(refusals(c), 3, "tried again after three refusals");
    assert_eq!(
        states(c).get("cassandra-2").map(String::as_str),
        Some("not started")
    );
    let (code, out, err) = backup_in(c, "cassandra-0", &["status", "set-3"]);
    assert_ne!(code, 0, "set-3 complete without pod 2's part: {out}{err}");
}

/// Issue 19's scenario 6 in a pod of the set, as a person with `kubectl exec` meets it: an
/// unknown backup, wrong keys and a store that does not answer are errors (exit 2) that
/// name the input and never show a key; a table restore from a backup with no part for
/// the pod is refused (exit 1) before anything is written.
fn bad_input_in_a_pod(c: &Cluster) {
    let (code, _, err) = backup_in(c, "cassandra-0", &["status", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no backup named \"nope\""), "{err}");
    let (code, _, err) = c
        .exec(
            NS,
            "cassandra-0",
            &[
                "env",
                "AWS_SECRET_ACCESS_KEY=not-the-secret",
                "ringkeeper",
                "backup",
                "list",
            ],
        )
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the store refused the credentials"), "{err}");
    assert!(
        !err.contains("not-the-secret") && !err.contains(common::s3::SECRET),
        "{err}"
    );
    let nowhere = format!("AWS_ENDPOINT_URL=http://{GATEWAY}:1");
    let (code, _, err) = c
        .exec(
            NS,
            "cassandra-0",
            &["env", &nowhere, "ringkeeper", "backup", "list"],
        )
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("backup store s3://ringkeeper/"), "{err}");
    let (code, _, err) = backup_in(c, "cassandra-1", &["restore-table", "nope", "backed.kv"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("backup nope has no complete part for pod cassandra-1"),
        "{err}"
    );
}

/// Rows in the second table, `backed.notes`, written at QUORUM before set-1.
const NOTES: i32 = 300;

/// Writes `backed.notes` (the load made the keyspace, replication factor 3).
fn write_notes(node_ns: &ringkeeper_testkit::netns::Netns, contact: Vec<std::net::SocketAddr>) {
    common::cql_in_netns(node_ns, contact, false, |session| {
        Box::pin(async move {
            session
                .query_unpaged(
                    "CREATE TABLE IF NOT EXISTS backed.notes (k int PRIMARY KEY, v text)",
                    &[],
                )
                .await
                .unwrap();
            let mut insert =
                scylla::statement::Statement::new("INSERT INTO backed.notes (k, v) VALUES (?, ?)");
            insert.set_consistency(scylla::statement::Consistency::Quorum);
            let insert = session.prepare(insert).await.unwrap();
            for k in 0..NOTES {
                session
                    .execute_unpaged(&insert, (k, format!("note {k}")))
                    .await
                    .unwrap();
            }
        })
    });
}

/// The rows of `backed.notes` readable at QUORUM.
fn notes_readable(
    node_ns: &ringkeeper_testkit::netns::Netns,
    contact: Vec<std::net::SocketAddr>,
) -> usize {
    common::cql_in_netns(node_ns, contact, false, |session| {
        Box::pin(async move {
            let mut select = scylla::statement::Statement::new("SELECT k, v FROM backed.notes");
            select.set_consistency(scylla::statement::Consistency::Quorum);
            let rows = session.query_unpaged(select, &[]).await.unwrap();
            let rows = rows.into_rows_result().unwrap();
            rows.rows::<(i32, String)>()
                .unwrap()
                .filter(|row| {
                    let (k, v) = row.as_ref().unwrap();
                    *v == format!("note {k}")
                })
                .count()
        })
    })
}

/// Issue 19's scenario 2 on the restored ring: `backed.kv` truncated and `backed.notes`
/// dropped, then each restored from set-1 by `ringkeeper backup restore-table` in every
/// pod (the dropped table created from the backup's schema by the first pod only): every
/// write acknowledged before the backup's request readable again at QUORUM, and no pod or
/// Cassandra restarted.
fn tables_back_online(c: &Cluster, node_ns: &ringkeeper_testkit::netns::Netns, acked: &[i64]) {
    use ringkeeper_testkit::load;
    use scylla::statement::Consistency;

    let members = ["cassandra-0", "cassandra-1", "cassandra-2"];
    // Who runs now: each pod's UID and restarts, and each node's starts in its log.
    let running = |c: &Cluster| -> Vec<(String, String, u64, usize)> {
        pods(c, NS)
            .iter()
            .map(|p| {
                let pod = name_of(p);
                let (_, log, _) = c
                    .exec(NS, &pod, &["cat", "/var/log/cassandra/system.log"])
                    .unwrap();
                (
                    pod,
                    p["metadata"]["uid"].as_str().unwrap().to_owned(),
                    p["status"]["containerStatuses"][0]["restartCount"]
                        .as_u64()
                        .unwrap(),
                    log.matches("Startup complete").count(),
                )
            })
            .collect()
    };
    let before = running(c);
    assert_eq!(notes_readable(node_ns, contact_points(c)), NOTES as usize);
    common::cql_in_netns(node_ns, contact_points(c), false, |session| {
        Box::pin(async move {
            for statement in ["TRUNCATE backed.kv", "DROP TABLE backed.notes"] {
                session.query_unpaged(statement, &[]).await.unwrap();
            }
        })
    });
    let missing = || {
        load::missing_writes(
            Some(node_ns),
            &contact_points(c),
            "backed",
            acked,
            Consistency::Quorum,
        )
        .unwrap()
    };
    assert_eq!(missing().len(), acked.len(), "TRUNCATE left rows");

    let restore = |pod: &str, table: &str, extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["restore-table", "set-1", table];
        args.extend_from_slice(extra);
        let (code, out, err) = backup_in(c, pod, &args);
        assert_eq!(code, 0, "{pod} {table}: {out}{err}");
        json(&out)
    };
    let started = std::time::Instant::now();
    let mut parts = Vec::new();
    for pod in members {
        parts.push(restore(pod, "backed.kv", &[]));
    }
    let kv_s = started.elapsed().as_secs_f64();
    let missing = missing();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes not back after the TRUNCATE",
        missing.len()
    );

    // The dropped table: without --create-table a pod refuses (two pods creating it at once
    // could give it two IDs); one pod creates it, then every pod loads its files.
    let (code, _, err) = backup_in(
        c,
        "cassandra-1",
        &["restore-table", "set-1", "backed.notes"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the table is gone: give --create-table"),
        "{err}"
    );
    let started = std::time::Instant::now();
    parts.push(restore("cassandra-0", "backed.notes", &["--create-table"]));
    for pod in &members[1..] {
        parts.push(restore(pod, "backed.notes", &[]));
    }
    let notes_s = started.elapsed().as_secs_f64();
    assert_eq!(
        notes_readable(node_ns, contact_points(c)),
        NOTES as usize,
        "backed.notes after the DROP"
    );
    assert_eq!(running(c), before, "a pod or a node restarted");
    record_figure(
        "table_restore",
        serde_json::json!({
            "kv_all_pods_s": kv_s,
            "notes_all_pods_s": notes_s,
            "parts": parts,
        }),
    );
}

/// Issue 19's scenario 4: a pod deleted while it uploads its part leaves that part
/// without a manifest (the backup is not complete, so no restore takes it); its next start
/// removes the cut part's snapshot before Cassandra starts, then takes the part again, and
/// the backup completes with no backup snapshot left on any volume.
fn an_upload_cut_by_a_pod_deletion_is_never_complete(
    c: &Cluster,
    node_ns: &ringkeeper_testkit::netns::Netns,
    bucket: &std::path::Path,
) {
    // 30 MiB more on every node (replication factor 3, incompressible), so that a part's
    // upload at the test's 1 MiB/s (RINGKEEPER_BACKUP_MAX_RATE) outlasts the deleted
    // pod's drain.
    common::cql_in_netns(node_ns, contact_points(c), false, |session| {
        Box::pin(async move {
            for statement in [
                "CREATE KEYSPACE IF NOT EXISTS bulk WITH replication = \
                 {'class': 'SimpleStrategy', 'replication_factor': 3}",
                "CREATE TABLE IF NOT EXISTS bulk.blobs (k int PRIMARY KEY, v blob)",
            ] {
                session.query_unpaged(statement, &[]).await.unwrap();
            }
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for k in 0..300 {
                let v: Vec<u8> = (0..100 * 1024)
                    .map(|_| {
                        // xorshift: bytes no compressor shrinks.
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                session
                    .query_unpaged("INSERT INTO bulk.blobs (k, v) VALUES (?, ?)", (k, v))
                    .await
                    .unwrap();
            }
        })
    });
    let old = pods(c, NS)
        .into_iter()
        .find(|p| name_of(p) == "cassandra-1")
        .unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    // What the component's CronJob runs, word for word: the backup names itself.
    let (code, out, err) = backup_in(
        c,
        "cassandra-0",
        &["request", "--set", "cassandra", "--replicas", "3"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let name = json(&out)["backup"].as_str().unwrap().to_owned();
    assert!(name.starts_with("scheduled-"), "{out}");
    let pending = bucket.join(format!("backups/{name}/pending/cassandra-1.json"));
    let member = bucket.join(format!("backups/{name}/members/cassandra-1.json"));
    c.wait_for("cassandra-1 uploading", Duration::from_secs(120), |_| {
        Ok(pending.exists().then_some(()))
    })
    .unwrap();
    // Stopped within seconds, mid-upload: a 5 s grace period (its drain is cut short too,
    // the harshest stop short of a crash) against a part that takes about 30 s.
    c.kubectl(&[
        "-n",
        NS,
        "delete",
        "pod",
        "cassandra-1",
        "--grace-period=5",
        "--wait=false",
    ])
    .unwrap();
    c.wait_for("the old cassandra-1 gone", Duration::from_secs(300), |c| {
        let gone = pods(c, NS).iter().all(|p| p["metadata"]["uid"] != old);
        Ok(gone.then_some(()))
    })
    .unwrap();
    assert!(
        !member.exists(),
        "the part finished before the pod was stopped: the upload was not cut"
    );
    let (code, out, err) = backup_in(c, "cassandra-0", &["status", &name]);
    assert_eq!(code, 1, "an incomplete backup: {out}{err}");
    back_ready(c, "cassandra-1", &old);
    let new = pods(c, NS)
        .into_iter()
        .find(|p| name_of(p) == "cassandra-1")
        .unwrap();
    let dir = c.pod_dir("cassandra-1", new["metadata"]["uid"].as_str().unwrap());
    let log: String = (0..10)
        .filter_map(|i| std::fs::read_to_string(dir.join(format!("container-{i}.log"))).ok())
        .collect();
    assert!(
        log.contains("a backup's leftover snapshot removed"),
        "the cut part's snapshot was not removed at the next start: {log}"
    );
    wait_complete(c, &name);
    // Each part clears its snapshot after its manifest (the manifest makes the part
    // exist; `nodetool clearsnapshot` follows): give the last one its few seconds.
    for i in 0..3 {
        let volume = c.shared.pvc_dir(NS, &format!("data-cassandra-{i}"));
        assert!(volume.join("data/system").is_dir(), "{}", volume.display());
        common::eventually(Duration::from_secs(60), || {
            let left = backup_snapshots(&volume);
            left.is_empty()
                .then_some(())
                .ok_or_else(|| format!("cassandra-{i} keeps {left:?}"))
        });
    }
}

/// The backup snapshots on a data volume (`data/<ks>/<table>/snapshots/ringkeeper-backup-*`).
fn backup_snapshots(volume: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let dirs = |d: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    };
    for keyspace in dirs(&volume.join("data")) {
        for table in dirs(&keyspace) {
            for snapshot in dirs(&table.join("snapshots")) {
                if snapshot
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("ringkeeper-backup-"))
                {
                    found.push(snapshot);
                }
            }
        }
    }
    found
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
        // The identity record (shipped with the manifests): read at each boot, each
        // pod's entry patched in; never created by a pod.
        ("", "configmaps", "get"),
        ("", "configmaps", "patch"),
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
        &["get", "configmaps/cassandra-identity"],
        &["patch", "configmaps/cassandra-identity"],
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
        &["get", "configmaps/cassandra-config"],
        &["patch", "configmaps/cassandra-config"],
        &["update", "configmaps/cassandra-identity"],
        &["delete", "configmaps/cassandra-identity"],
        &["create", "configmaps"],
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
    // Two pods: a founding and a join in order, and a drain, each without the API; a third
    // pod would only join the same way. Two nodes leave the machine's third to a one-node
    // test beside this one.
    let _nodes = common::nodes(2);
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
    assert_eq!(rendered.matches("replicas: 3").count(), 1, "{rendered}");
    let ordered = rendered
        .replace(
            "podManagementPolicy: Parallel",
            "podManagementPolicy: OrderedReady",
        )
        .replace("replicas: 3", "replicas: 2");
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
    let ready = wait_ready(&c, ns, 2, UP);
    record_figure(
        "apply_to_2_ready_ordered_s",
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
    assert_eq!(ring.len(), 2, "{ring:?}");
    assert!(ring.iter().all(StatusLine::is_un), "{ring:?}");
    // Without topology the racks are the defaults.
    assert!(ring.iter().all(|m| m.rack == "rack1"), "{ring:?}");

    // Drain still works: a pod deleted by hand drains in preStop and comes back.
    let old = ready.iter().find(|p| name_of(p) == "cassandra-1").unwrap();
    let old_uid = old["metadata"]["uid"].clone();
    c.kubectl(&["-n", ns, "delete", "pod", "cassandra-1", "--wait=false"])
        .unwrap();
    c.wait_for("cassandra-1 replaced", UP, |c| {
        let back = pods(c, ns)
            .into_iter()
            .find(|p| name_of(p) == "cassandra-1" && p["metadata"]["uid"] != old_uid);
        Ok(back.filter(is_ready).map(|_| ()))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(&c, ns)));
    let runner_events = c.events();
    assert!(
        runner_events.iter().any(|e| matches!(e, ringkeeper_testkit::cluster::RunnerEvent::PreStop(p, _, Some(0)) if p == "cassandra-1")),
        "{runner_events:?}"
    );

    // One clear line about the API per command, and no Event was written.
    let old_dir = c.pod_dir("cassandra-1", old_uid.as_str().unwrap());
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
    // No Event from ringkeeper (the API server's own, e.g. its cluster IP repair loop's
    // ClusterIPNotAllocated on a Service, are not the pods').
    let from_pods: Vec<_> = events(&c, ns)
        .into_iter()
        .filter(|e| {
            e.pod
                .strip_prefix("cassandra-")
                .is_some_and(|o| o.parse::<u32>().is_ok())
        })
        .collect();
    assert!(from_pods.is_empty(), "{from_pods:?}");
    // `ready` answers from the local node alone. Asked once right after a neighbour came
    // back, a busy node on two shared cores may take longer than the probe's 2 s to
    // answer (the kubelet's failureThreshold absorbs that), so ask until it says ready;
    // no attempt may mention the API.
    common::eventually(Duration::from_secs(60), || {
        let (code, out, err) = c
            .exec(ns, "cassandra-0", &["ringkeeper", "ready"])
            .map_err(|e| format!("{e:#}"))?;
        assert_eq!(
            err.lines().filter(|l| l.contains("Kubernetes API")).count(),
            0,
            "ready asks no API: {err}"
        );
        (code == 0)
            .then_some(())
            .ok_or(format!("{code}: {out}{err}"))
    });
}
