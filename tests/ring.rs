//! Real Cassandra nodes, each started by `ringkeeper entrypoint` in a network namespace
//! with a pod-style resolv.conf and a real DNS server playing the headless Service.
//! Needs root, Java 17 and the cassandra-all jars (fetched and cached by
//! tests/cassandra/fetch): run through `scripts/test`. At most 3 nodes at once.

#![allow(clippy::print_stderr)] // Progress lines (timings, restarts) for the test log.

mod common;

use std::time::{Duration, Instant};

use common::{
    BOOT, CASSANDRA, CASSANDRA_4_1, cql_in_ring, eventually, new_ring, new_ring_of, nodes,
};

use nix::sys::signal::Signal;
use ringkeeper_testkit::ring::{self, NodeOpts, Ring};

/// Starts every pod at once (like `podManagementPolicy: Parallel`) and plays the kubelet
/// until all answer CQL; returns the restarts each pod needed (none: a pod with no ring to
/// join yet waits for one instead of exiting).
fn start_at_once(
    ring: &mut Ring,
    ips: &[std::net::IpAddr],
    what: &str,
    timeout: Duration,
) -> std::collections::BTreeMap<u32, u32> {
    let ordinals: Vec<u32> = (0..ips.len() as u32).collect();
    let start = Instant::now();
    for &o in &ordinals {
        ring.start(o, ips[o as usize], &NodeOpts::default())
            .unwrap();
    }
    let restarts = ring
        .run_until_ready(&ordinals, Duration::from_secs(2), timeout)
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "{what}: all ready after {:?}, restarts {restarts:?}",
        start.elapsed()
    );
    restarts
}

/// `ringkeeper status --output json` as pod `ordinal` would run it, with 3 replicas.
fn status_json(ring: &Ring, ordinal: u32) -> (i32, String, String) {
    let ip = ring::default_ip(ordinal).to_string();
    let pod = format!("cassandra-{ordinal}");
    ring.ringkeeper(&[
        "status",
        "--pod-name",
        &pod,
        "--namespace",
        "default",
        "--pod-ip",
        &ip,
        "--replicas",
        "3",
        "--output",
        "json",
    ])
    .unwrap()
}

/// Waits until `status`, run as pod `ordinal`, says the ring is healthy; returns the report.
fn healthy_status(ring: &Ring, ordinal: u32, timeout: Duration) -> serde_json::Value {
    eventually(timeout, || {
        let (code, out, err) = status_json(ring, ordinal);
        (code == 0)
            .then(|| serde_json::from_str::<serde_json::Value>(&out).unwrap())
            .ok_or(format!("{err}\n{out}"))
    })
}

fn boot_decision(ring: &Ring, ordinal: u32) -> serde_json::Value {
    ring.entrypoint_log(ordinal)
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["message"] == "boot decision")
        .unwrap_or_else(|| {
            panic!(
                "no boot decision logged by node {ordinal}\n{}",
                ring.logs_tail(ordinal)
            )
        })
}

/// Scenarios 1 and 5, then issue 7's on the same ring (its data and join records are what
/// that scenario needs: a Cassandra start paid once).
#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn three_pods_form_one_ring_and_a_pod_that_founded_anew_never_merges_with_it() {
    let _nodes = nodes(3);
    let mut ring = three_pods_one_after_another(CASSANDRA, "three");
    founded_anew_never_merges(&mut ring);
}

/// Scenario 9: the same on Cassandra 4.1 (JDK 11): scenarios 1 and 5, `ready`, `status`,
/// and a pod restarted under load through `ringkeeper drain`.
#[test]
#[ignore = "needs root, Java, python3 (pip) and real Cassandra nodes: run scripts/test"]
fn cassandra_4_1_three_pods_form_one_ring_and_a_restart_on_a_new_ip_keeps_its_host_id() {
    let _nodes = nodes(3);
    let mut ring = three_pods_one_after_another(CASSANDRA_4_1, "three41");
    backed_up_and_restored(&mut ring);
}

/// Issue 19 on 4.1 (its SSTable format, `nodetool import` and system tables differ from
/// 5.0's; 5.0's scenarios run in tests/backup.rs and tests/kube.rs): each node's part of
/// one backup taken by `ringkeeper backup create` (RF 3); one table truncated and another
/// dropped, each restored online on every node with no node restarted; then one node's
/// volume lost and restored before Cassandra starts: the same host ID and tokens, no
/// bootstrap, every row back.
fn backed_up_and_restored(ring: &mut Ring) {
    const ROWS: usize = 200;
    let ips: Vec<std::net::IpAddr> = (0..3).map(|o| ring.node(o).unwrap().ip).collect();
    let store = ring.spec.dir.join("store");
    let cql = |ring: &Ring, statements: Vec<String>| {
        cql_in_ring(ring, ips[0], move |session| {
            Box::pin(async move {
                for statement in statements {
                    session.query_unpaged(statement, &[]).await.unwrap();
                }
            })
        })
    };
    let mut setup = vec![
        "CREATE KEYSPACE IF NOT EXISTS bk WITH replication = \
         {'class': 'SimpleStrategy', 'replication_factor': 3}"
            .to_owned(),
    ];
    for table in ["t", "u"] {
        setup.push(format!(
            "CREATE TABLE IF NOT EXISTS bk.{table} (k int PRIMARY KEY, v text)"
        ));
        setup.extend(
            (0..ROWS).map(|k| format!("INSERT INTO bk.{table} (k, v) VALUES ({k}, 'row {k}')")),
        );
    }
    cql(ring, setup);
    // The driver's default consistency, LOCAL_QUORUM: two of the three replicas.
    let rows =
        |ring: &Ring, table: &str| common::count_rows_of(ring, ips[0], format!("bk.{table}"));
    let backup = |ring: &Ring, ordinal: u32, args: &[&str]| -> serde_json::Value {
        let out = common::backup_command(ring, &format!("cassandra-{ordinal}"), &store)
            .args(args)
            .args(common::backup_node_args(
                ring,
                ordinal,
                ips[ordinal as usize],
            ))
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} on {ordinal}: {stdout}{stderr}"
        );
        serde_json::from_str(stdout.trim()).unwrap()
    };
    for o in 0..3 {
        let part = backup(ring, o, &["create", "b41"]);
        eprintln!("4.1 part: {part}");
    }
    let manifest = |o: u32| -> serde_json::Value {
        let path = store.join(format!("backups/b41/members/cassandra-{o}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    for o in 0..3 {
        assert_eq!(manifest(o)["node"]["cassandra_version"], CASSANDRA_4_1);
    }

    // One table truncated, another dropped; each back on every node, online.
    let starts = |ring: &Ring| -> Vec<usize> {
        (0..3)
            .map(|o| ring.system_log(o).matches("Startup complete").count())
            .collect()
    };
    let before = starts(ring);
    cql(ring, vec!["TRUNCATE bk.t".into(), "DROP TABLE bk.u".into()]);
    assert_eq!(rows(ring, "t"), 0);
    for o in 0..3 {
        backup(ring, o, &["restore-table", "b41", "bk.t"]);
    }
    assert_eq!(rows(ring, "t"), ROWS, "bk.t after the TRUNCATE");
    backup(ring, 0, &["restore-table", "b41", "bk.u", "--create-table"]);
    for o in 1..3 {
        backup(ring, o, &["restore-table", "b41", "bk.u"]);
    }
    assert_eq!(rows(ring, "u"), ROWS, "bk.u after the DROP");
    assert_eq!(starts(ring), before, "a node restarted");

    // Ordinal 1's volume lost: restored from its part before Cassandra starts.
    let host_id = manifest(1)["node"]["host_id"].as_str().unwrap().to_owned();
    ring.stop(1, Duration::from_secs(90)).unwrap();
    let volume = ring.spec.data_dir(1);
    std::fs::remove_dir_all(&volume).unwrap();
    std::fs::create_dir_all(&volume).unwrap();
    let log_before = ring.system_log(1).len();
    let opts = NodeOpts {
        args: vec![
            "--restore-backup".into(),
            "b41".into(),
            "--backup-store".into(),
            store.display().to_string(),
        ],
        ..Default::default()
    };
    ring.start(1, ips[1], &opts).unwrap();
    ring.wait_ready(1, BOOT).unwrap_or_else(|e| panic!("{e:#}"));
    let info = ring.nodetool(1, &["info", "-T"]).unwrap();
    assert!(info.contains(&host_id), "another host ID: {info}");
    let (tokens, want) = common::tokens_of(&info, &manifest(1));
    assert_eq!(tokens, want, "ordinal 1's tokens");
    let system = ring.system_log(1)[log_before..].to_owned();
    assert!(system.contains("Using saved tokens"), "{system}");
    assert!(
        !system.contains("Starting to bootstrap"),
        "ordinal 1 bootstrapped"
    );
    assert_eq!((rows(ring, "t"), rows(ring, "u")), (ROWS, ROWS));
}

/// Scenarios 1 and 5 on `version`, plus `ready`, `status`, SIGTERM and the refusal of an
/// empty pod whose IP a live member holds. Returns the ring, every pod running and ready
/// (ordinal 2 on a new IP).
fn three_pods_one_after_another(version: &str, name: &str) -> Ring {
    let mut ring = new_ring_of(version, name);
    // The grace period the manifests set: the restart under load at the end drains with
    // the load and three nodes on two cores, where each nodetool JVM takes 5-10 s.
    ring.spec.grace_period = Duration::from_secs(60);
    let ips: Vec<_> = (0..3).map(ring::default_ip).collect();

    // Pods start one after another, like an OrderedReady StatefulSet.
    for ordinal in 0..3 {
        ring.start_ready(ordinal, BOOT)
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
    assert_eq!(boot_decision(&ring, 0)["mode"], "Found");
    for ordinal in 1..3 {
        let decision = boot_decision(&ring, ordinal);
        assert_eq!(decision["mode"], "Join", "{decision}");
        let seeds = decision["seeds"].as_str().unwrap();
        assert!(
            !seeds.contains(&ips[ordinal as usize].to_string()),
            "node {ordinal} seeded itself: {seeds}"
        );
    }

    // Every node sees the same three nodes Up/Normal, one cluster name, one schema. (Asked
    // of the three at once: each answer is two nodetool JVMs.)
    std::thread::scope(|scope| {
        for ordinal in 0..3 {
            let (ring, ips) = (&ring, &ips);
            scope.spawn(move || {
                eventually(Duration::from_secs(90), || {
                    let states = ring.ring_states(ordinal).map_err(|e| e.to_string())?;
                    let mut up: Vec<_> = states
                        .iter()
                        .filter(|(s, _)| s == "UN")
                        .map(|(_, ip)| *ip)
                        .collect();
                    up.sort();
                    (states.len() == 3 && up == *ips)
                        .then_some(())
                        .ok_or(format!("node {ordinal} sees {states:?}"))
                });
                eventually(Duration::from_secs(60), || {
                    let (name, schemas) =
                        ring.describe_cluster(ordinal).map_err(|e| e.to_string())?;
                    (name == "ringkeeper-test" && schemas == 1)
                        .then_some(())
                        .ok_or(format!(
                            "node {ordinal}: cluster {name:?}, {schemas} schema versions"
                        ))
                });
            });
        }
    });

    // `ready` says yes on every node; `status` sees three UN pods and nothing else.
    for ip in &ips {
        let (code, out, err) = ring
            .ringkeeper(&["ready", "--host", &ip.to_string()])
            .unwrap();
        assert_eq!((code, out.trim()), (0, "ready"), "ready on {ip}: {err}");
    }
    // Liveness comes from heartbeats seen to advance, and views are compared between
    // nodes; a live member must never look down because one read came before the next
    // gossip round, nor views differ that do not: ask repeatedly, from each node.
    for round in 0..15 {
        let (code, out, err) = status_json(&ring, round % 3);
        assert_eq!(code, 0, "status round {round}: {err}\n{out}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            report["views"].as_array().map(Vec::len),
            Some(3),
            "{report}"
        );
        assert_eq!(report["splits"], serde_json::json!([]), "{report}");
    }
    let status = status_json(&ring, 0);
    assert_eq!(status.0, 0, "{}", status.1);
    let report: serde_json::Value = serde_json::from_str(&status.1).unwrap();
    assert_eq!(report["healthy"], true, "{report}");
    assert_eq!(report["cluster_name"], "ringkeeper-test");
    let states: Vec<&str> = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["UN", "UN", "UN"]);
    assert_eq!(report["schema_versions"], 1);
    assert_eq!(report["gossip"], true, "gossip_info is read on 4.1+");
    assert_eq!(report["pods"][0]["member"]["release_version"], version);

    // A pod with an empty disk whose IP a live member holds is refused at once: Cassandra
    // would otherwise start a second node on that address.
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = ring
        .ringkeeper(&[
            "seeds",
            "--pod-name",
            "cassandra-1",
            "--namespace",
            "default",
            "--pod-ip",
            &ips[1].to_string(),
            "--data-dir",
            empty.path().to_str().unwrap(),
        ])
        .unwrap();
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains(&format!(
            "this pod's IP {} belongs to a live member of the ring",
            ips[1]
        )),
        "{err}"
    );

    // SIGTERM to the entrypoint (the pod's PID 1) without a preStop drain: the entrypoint
    // drains the node first, then stops Cassandra, and exits 0 after the clean shutdown.
    ring.signal(2, Signal::SIGTERM).unwrap();
    let status = ring.wait_exit(2, Duration::from_secs(120)).unwrap();
    assert_eq!(status.code(), Some(0), "{}", ring.logs_tail(2));
    // The last line a final drain logs: 5.0 says so; 4.1's drain is silent after it pauses
    // hint dispatch (its DRAINED mode change is not logged on the final shutdown).
    let drained = if version.starts_with("4.") {
        "Paused hints dispatch"
    } else {
        "Cassandra shutdown complete"
    };
    let log = ring.system_log(2);
    assert!(
        log.contains(drained),
        "no clean shutdown:\n{}",
        ring.logs_tail(2)
    );
    let entry = ring.entrypoint_log(2);
    assert!(
        entry.contains("draining first") && entry.contains("cassandra stopped cleanly"),
        "{entry}"
    );
    eventually(Duration::from_secs(60), || {
        let states = ring.ring_states(0).map_err(|e| e.to_string())?;
        states
            .contains(&("DN".to_owned(), ips[2]))
            .then_some(())
            .ok_or(format!("{states:?}"))
    });

    // A drained, stopped node is not ready, and the ring is not healthy without it.
    let (code, _, err) = ring
        .ringkeeper(&["ready", "--host", &ips[2].to_string(), "--timeout", "1s"])
        .unwrap();
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("ringkeeper: not ready:"), "{err}");
    let (code, out, err) = status_json(&ring, 0);
    assert_eq!(code, 1, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["pods"][2]["state"], "DN", "{report}");
    assert!(err.contains("cassandra-2 is DN"), "{err}");

    // Restarted with its data on a new IP (a rescheduled pod), the node comes back as
    // itself: same host ID, Up/Normal, the old address gone from the ring.
    let host_id =
        |report: &serde_json::Value, i: usize| report["pods"][i]["member"]["host_id"].clone();
    let before = host_id(&report, 2);
    let new_ip: std::net::IpAddr = "127.0.0.23".parse().unwrap();
    ring.start(2, new_ip, &NodeOpts::default()).unwrap();
    ring.wait_ready(2, BOOT).unwrap_or_else(|e| panic!("{e:#}"));
    let decision = boot_decision(&ring, 2);
    assert_eq!(decision["mode"], "Restart", "{decision}");
    let report = healthy_status(&ring, 0, Duration::from_secs(90));
    assert_eq!(report["pods"][2]["address"], new_ip.to_string(), "{report}");
    assert_eq!(
        host_id(&report, 2),
        before,
        "same host ID after the IP change: {report}"
    );
    assert!(
        report["ghosts"].as_array().unwrap().is_empty(),
        "old address left behind: {report}"
    );
    let (code, _, err) = ring
        .ringkeeper(&["ready", "--host", &new_ip.to_string()])
        .unwrap();
    assert_eq!(code, 0, "{err}");

    // 4.1 only: the one real drain under load on that version (5.0's is the rolling
    // update of tests/kube.rs, and its drain-then-no-replay tests/drain.rs scenario 1).
    if version.starts_with("4.") {
        restart_under_load(&mut ring, 1, &[ips[0], ips[1], new_ip]);
    }
    ring
}

/// A pod restarted under a steady QUORUM load with `ringkeeper drain` as its preStop
/// hook, stopped the way the kubelet stops it and back when `ready` passes (one step of a
/// rolling restart; `scripts/bench-rolling` runs whole rolling restarts beside a bare
/// `nodetool drain`). No acknowledged write lost, no kill at the end of the grace period,
/// the drain complete and the restart replaying nothing, and the client's failures only
/// while the pod stops (its native transport closing: the `scylla` driver ignores DOWN
/// events, so a request in flight then fails).
fn restart_under_load(ring: &mut Ring, ordinal: u32, ips: &[std::net::IpAddr]) {
    // As in production: the restarted node opens CQL only once gossip has settled, so a
    // client it serves at once finds the other replicas alive. (The ring formed without
    // that wait: nobody was served yet.)
    ring.spec.jvm_opts = vec!["-Dcassandra.skip_wait_for_gossip_to_settle=-1".into()];
    // The grace period the pod was started with (its entrypoint's own bound).
    let grace = ring.spec.grace_period;
    let nodes: Vec<std::net::SocketAddr> = ips
        .iter()
        .map(|ip| std::net::SocketAddr::new(*ip, 9042))
        .collect();
    let mut spec = ringkeeper_testkit::load::LoadSpec::new(nodes);
    spec.keyspace = "load_ringkeeper".into();
    spec.rate = ringkeeper_testkit::load::CORRECTNESS_RATE;
    let run = ringkeeper_testkit::rolling::rolling_restart(
        ring,
        &[ordinal],
        &ring::PreStop::Ringkeeper(vec![]),
        grace,
        spec,
        Duration::from_secs(5),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("{}: {}", run.prestop, serde_json::to_string(&run).unwrap());
    assert_eq!(run.missing, 0, "acknowledged writes lost");
    let pod = &run.pods[0];
    assert!(!pod.killed, "{pod:?}");
    assert_eq!(pod.prestop_code, Some(0), "{:?}", pod.drain);
    assert_eq!(pod.exit_code, Some(0), "a clean shutdown exits 0");
    assert!(pod.replayed_nothing(), "{:?}", pod.replay);
    // Up to 5 s past the pod's exit: a request the driver sent just before the close
    // times out up to then.
    let outside = run.failures_outside_stops(5.0);
    assert!(
        outside.is_empty(),
        "failures outside the pod's stop: {outside:?}; timeline {:?}",
        run.load.failure_timeline
    );
}

#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn pods_started_at_once_form_one_ring_refuse_a_foreign_cluster_and_cold_restart_together() {
    let _nodes = nodes(3);
    let mut ring = new_ring("parallel");
    // Every pod uses the same settings, as in one StatefulSet. Short: ordinal 0 founds
    // once it is over (the others answer nothing before it does); what is checked is who
    // founded and who joined, not when.
    ring.spec.seed_wait = "6s".into();
    let ips: Vec<_> = (0..3).map(ring::default_ip).collect();
    let all = [0, 1, 2];
    let restarts = start_at_once(&mut ring, &ips, "parallel start", Duration::from_secs(600));

    // One ring: only ordinal 0 founded, the others joined, never seeding themselves.
    let founders: Vec<u32> = all
        .iter()
        .copied()
        .filter(|&o| ring.entrypoint_log(o).contains("\"mode\":\"Found\""))
        .collect();
    assert_eq!(founders, [0], "only ordinal 0 may found");
    // Nobody exited: the pods that had no ring to join waited for it (reporting the
    // wait), instead of exiting for the kubelet to restart them with a growing back-off.
    assert!(
        restarts.values().all(|&r| r == 0),
        "containers exited and were restarted: {restarts:?}"
    );
    for o in [1, 2] {
        let log = ring.entrypoint_log(o);
        assert!(
            log.contains("waiting to start cassandra (not ready)"),
            "ordinal {o} did not report its wait:\n{log}"
        );
    }
    for o in [1, 2] {
        let decision = boot_decision(&ring, o);
        assert_eq!(decision["mode"], "Join", "{decision}");
        let seeds = decision["seeds"].as_str().unwrap();
        assert!(!seeds.contains(&ips[o as usize].to_string()), "{decision}");
    }
    let report = healthy_status(&ring, 2, Duration::from_secs(120));
    let host_ids: Vec<serde_json::Value> = (0..3)
        .map(|i| report["pods"][i]["member"]["host_id"].clone())
        .collect();
    let tokens: Vec<serde_json::Value> = (0..3)
        .map(|i| report["pods"][i]["member"]["tokens"].clone())
        .collect();

    // A candidate that belongs to another cluster: the pod refuses and never starts Cassandra.
    let marker = ring.spec.dir.join("foreign-started");
    let data = ring.spec.dir.join("foreign-data");
    let conf = ring.spec.dir.join("foreign-conf");
    let template = ring::repo_root().join("tests/cassandra/conf");
    let (code, out, err) = ring
        .ringkeeper(&[
            "entrypoint",
            "--pod-name",
            "cassandra-3",
            "--namespace",
            "default",
            "--pod-ip",
            "127.0.0.14",
            "--cluster-name",
            "another-cluster",
            "--seed-wait",
            "5s",
            "--data-dir",
            data.to_str().unwrap(),
            "--conf-template",
            template.to_str().unwrap(),
            "--conf-out",
            conf.to_str().unwrap(),
            "--",
            "touch",
            marker.to_str().unwrap(),
        ])
        .unwrap();
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("cassandra was not started: a person must act:")
            && err.contains("answers as a node of cluster \"ringkeeper-test\"")
            && err.contains("\"another-cluster\""),
        "{err}"
    );
    assert!(
        !marker.exists(),
        "Cassandra was started for a foreign cluster"
    );

    // Whole-cluster cold restart, all at once, with data: same host IDs and tokens.
    ring.stop_all(Duration::from_secs(120));
    let restarts = start_at_once(&mut ring, &ips, "cold restart", Duration::from_secs(300));
    assert!(restarts.values().all(|&r| r == 0), "{restarts:?}");
    for o in all {
        assert_eq!(boot_decision(&ring, o)["mode"], "Restart");
    }
    let report = healthy_status(&ring, 1, Duration::from_secs(120));
    for i in 0..3 {
        assert_eq!(
            report["pods"][i]["member"]["host_id"], host_ids[i],
            "{report}"
        );
        assert_eq!(report["pods"][i]["member"]["tokens"], tokens[i], "{report}");
    }
}

#[test]
#[ignore = "needs root, Java, openssl and real Cassandra nodes: run scripts/test"]
fn password_authentication_and_client_tls() {
    let _nodes = nodes(2);
    let mut ring = new_ring("secure");
    let dir = ring.spec.dir.clone();
    let ips: Vec<_> = (0..2).map(ring::default_ip).collect();
    // One node certificate for all pods, naming the headless Service and its pods (as
    // cert-manager issues them for a StatefulSet), never the pods' changing IPs.
    let service = "cassandra.default.svc.cluster.local";
    let pki = ringkeeper_testkit::pki::make(
        &dir.join("pki"),
        &[&format!("DNS:{service}"), &format!("DNS:*.{service}")],
    )
    .unwrap();

    // The template: the test one, with PasswordAuthenticator and TLS-only CQL that
    // requires client certificates.
    let template = dir.join("conf-secure");
    std::fs::create_dir_all(&template).unwrap();
    let base = ring::repo_root().join("tests/cassandra/conf");
    for file in ["logback.xml", "cassandra-rackdc.properties"] {
        std::fs::copy(base.join(file), template.join(file)).unwrap();
    }
    let yaml = std::fs::read_to_string(base.join("cassandra.yaml"))
        .unwrap()
        .replace(
            "authenticator: AllowAllAuthenticator",
            "authenticator: PasswordAuthenticator",
        );
    let tls = format!(
        "client_encryption_options:\n  enabled: true\n  optional: false\n  require_client_auth: true\n  \
         ssl_context_factory:\n    class_name: org.apache.cassandra.security.PEMBasedSslContextFactory\n  \
         keystore: {}\n  truststore: {}\n",
        pki.node_keystore.display(),
        pki.ca.display()
    );
    std::fs::write(template.join("cassandra.yaml"), format!("{yaml}{tls}")).unwrap();

    // Credentials as Secret mounts would provide them: files.
    let secret = "cassandra";
    std::fs::write(dir.join("username"), "cassandra\n").unwrap();
    std::fs::write(dir.join("password"), format!("{secret}\n")).unwrap();
    std::fs::write(dir.join("wrong-password"), "Wr0ng-s3cret\n").unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let cql_flags = |password: &str| -> Vec<String> {
        vec![
            "--cql-username-file".into(),
            path(&dir.join("username")),
            "--cql-password-file".into(),
            path(&dir.join(password)),
            "--cql-ca-file".into(),
            path(&pki.ca),
            "--cql-cert-file".into(),
            path(&pki.client_cert),
            "--cql-key-file".into(),
            path(&pki.client_key),
            "--cql-tls-server-name".into(),
            service.into(),
        ]
    };
    ring.spec.conf_template = template;
    ring.spec.entrypoint_args = cql_flags("password");

    let ready = |ring: &Ring, ip: &std::net::IpAddr, flags: &[String]| {
        let mut args: Vec<&str> = vec!["ready", "--timeout", "5s"];
        let host = ip.to_string();
        args.extend(["--host", host.as_str()]);
        args.extend(flags.iter().map(String::as_str));
        ring.ringkeeper(&args).unwrap()
    };

    ring.start_ready(0, BOOT)
        .unwrap_or_else(|e| panic!("{e:#}"));
    // The default superuser is set up just after the node opens CQL.
    eventually(Duration::from_secs(60), || {
        let (code, _, err) = ready(&ring, &ips[0], &cql_flags("password"));
        (code == 0).then_some(()).ok_or(err)
    });
    // The second pod's boot checks reach the first over TLS, with credentials.
    ring.start_ready(1, BOOT)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(boot_decision(&ring, 1)["mode"], "Join");
    for ip in &ips {
        let (code, out, err) = ready(&ring, ip, &cql_flags("password"));
        assert_eq!((code, out.trim()), (0, "ready"), "{err}");
    }
    let mut status: Vec<String> = [
        "status",
        "--pod-name",
        "cassandra-1",
        "--namespace",
        "default",
        "--pod-ip",
        "127.0.0.12",
        "--replicas",
        "2",
        "--output",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    status.extend(cql_flags("password"));
    let report = eventually(Duration::from_secs(90), || {
        let (code, out, err) = ring
            .ringkeeper(&status.iter().map(String::as_str).collect::<Vec<_>>())
            .unwrap();
        (code == 0)
            .then(|| serde_json::from_str::<serde_json::Value>(&out).unwrap())
            .ok_or(format!("{err}\n{out}"))
    });
    assert_eq!(report["healthy"], true);
    // The entrypoints confirmed each join over the same credentials and TLS.
    for o in 0..2 {
        wait_join_recorded(&ring, o);
    }

    // A wrong password: a clear error (exit 2), naming the files, never the secret.
    let (code, _, err) = ready(&ring, &ips[0], &cql_flags("wrong-password"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("rejected the CQL credentials"), "{err}");
    assert!(
        !err.contains("Wr0ng-s3cret") && !err.contains("s3cret"),
        "the password leaked: {err}"
    );
    // Without a client certificate, or without TLS, the node does not talk to us.
    let flags = cql_flags("password");
    let no_client_cert: Vec<String> = [&flags[..6], &flags[10..]].concat();
    let (code, _, err) = ready(&ring, &ips[0], &no_client_cert);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = ready(&ring, &ips[0], &flags[..4]);
    assert_eq!(code, 1, "{err}");
    // The node certificate is verified: by default against the node's IP, which it does
    // not carry, otherwise against the name given; the message says what to set.
    let (code, _, err) = ready(&ring, &ips[0], &flags[..10]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--cql-tls-server-name"), "{err}");
    let other_name: Vec<String> = [&flags[..11], &["other.example".to_owned()]].concat();
    let (code, _, err) = ready(&ring, &ips[0], &other_name);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--cql-tls-server-name"), "{err}");
}

#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn ordinal_0_lost_its_disk_and_replaces_its_old_self_on_a_new_ip() {
    let _nodes = nodes(3);
    let mut ring = new_ring("lostdisk");
    ring.spec.seed_wait = "5s".into();
    for o in 0..2 {
        ring.start_ready(o, BOOT)
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
    bootstrap_killed_midway_resumes(&mut ring, 2);
    const ROWS: i32 = 300;
    // Rows written at RF 3, acknowledged by all three replicas.
    write_rows(&ring, ring::default_ip(1), ROWS);

    // Ordinal 0 is lost (no drain) with its disk; its pod comes back on a new IP.
    let old_ip = ring::default_ip(0);
    ring.kill_pod(0).unwrap();
    let data = ring.spec.dir.join("node-0/data");
    std::fs::remove_dir_all(&data).unwrap();
    let new_ip: std::net::IpAddr = "127.0.0.21".parse().unwrap();

    // Without evidence it must not bootstrap beside a down replica, nor seed itself. The
    // down member might still come back by itself, so the pod waits (it does not exit),
    // reporting the down member and --replace-address, until a person acts.
    let earlier = ring.entrypoint_log(0).len();
    ring.start(0, new_ip, &NodeOpts::default()).unwrap();
    let log = eventually(Duration::from_secs(120), || {
        let log = ring.entrypoint_log(0)[earlier..].to_owned();
        log.contains("still waiting to start cassandra")
            .then_some(log.clone())
            .ok_or(log)
    });
    assert!(
        log.contains(&format!("the ring has down members ({old_ip})"))
            && log.contains("--replace-address"),
        "{log}"
    );
    assert!(
        ring.try_exit(0).unwrap().is_none(),
        "exited: {}",
        ring.logs_tail(0)
    );
    assert!(
        !log.contains("cassandra started"),
        "Cassandra was started: {log}"
    );
    // The person acts: the pod is deleted (SIGTERM while it waits: 143, nothing started).
    let status = ring.stop(0, Duration::from_secs(30)).unwrap();
    assert_eq!(status.code(), Some(143), "{}", ring.logs_tail(0));
    // `status` shows the old identity as a ghost, with the command that would clear it.
    let (code, out, _) = ring
        .ringkeeper(&[
            "status",
            "--pod-name",
            "cassandra-1",
            "--namespace",
            "default",
            "--pod-ip",
            "127.0.0.12",
            "--replicas",
            "3",
            "--output",
            "json",
        ])
        .unwrap();
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["ghosts"][0]["member"]["address"],
        old_ip.to_string(),
        "{report}"
    );
    assert!(
        report["ghosts"][0]["remedy"]
            .as_str()
            .unwrap_or("")
            .starts_with("nodetool removenode "),
        "{report}"
    );

    // Given the old address, it replaces its old self: takes over its tokens and streams.
    let decision = replace_ready(&mut ring, 0, new_ip, old_ip);
    assert!(
        !decision["seeds"]
            .as_str()
            .unwrap()
            .contains(&new_ip.to_string()),
        "{decision}"
    );
    let conf = std::fs::read_to_string(ring.spec.dir.join("node-0/entrypoint.log")).unwrap();
    assert!(conf.contains("boot decision"));
    healthy_status(&ring, 1, Duration::from_secs(120));

    // Every row written before the loss is readable through ordinal 0 alone, at CL ONE.
    // (Both stopped at once: each drains first.)
    for o in 1..3 {
        ring.signal(o, nix::sys::signal::Signal::SIGTERM).unwrap();
    }
    for o in 1..3 {
        ring.wait_exit(o, Duration::from_secs(120)).unwrap();
    }
    let rows = read_rows_at_one(&ring, new_ip);
    assert_eq!(rows.len(), ROWS as usize, "rows missing after the replace");
    for (k, v) in rows {
        assert_eq!(v, format!("value-{k}"));
    }
}

/// `ringkeeper status --output json` asked of the node at `host`, as pod `ordinal` runs it.
fn status_of(
    ring: &Ring,
    ordinal: u32,
    host: std::net::IpAddr,
) -> (i32, serde_json::Value, String) {
    let (code, out, err) = ring
        .ringkeeper(&[
            "status",
            "--pod-name",
            &format!("cassandra-{ordinal}"),
            "--namespace",
            "default",
            "--pod-ip",
            &host.to_string(),
            "--replicas",
            "3",
            "--output",
            "json",
        ])
        .unwrap();
    let json = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
    (code, json, err)
}

/// The issue-7 failure: the whole set is stopped, ordinal 0 loses its volume, and the set
/// comes back with ordinal 0 first and alone (an OrderedReady StatefulSet recreated).
/// Ordinal 0 sees no other pod and founds a new, empty cluster under the same name. The
/// pods that kept their data must never merge into it: on a new IP they leave it out of
/// their seeds and come up as the old ring (every row readable at CL ONE through each);
/// on its old IP, which their saved peers point at, they refuse to start. `status` names
/// the pod that founded anew. Then the way out: the pods with data first, and ordinal 0
/// replaces its old self at the same address.
///
/// Runs on a formed ring of 3, every pod running (ordinal 2 may be on another IP: it
/// comes back on its usual one below, as a rescheduled pod would).
fn founded_anew_never_merges(ring: &mut Ring) {
    // Short: the pods that refuse on the old IP do so once their seed wait is over (each
    // refusal is checked after it is logged, whenever that is).
    ring.spec.seed_wait = "4s".into();
    let ips: Vec<_> = (0..3).map(ring::default_ip).collect();
    let started = Instant::now();
    // Each record holds the node's host ID and the members it saw, ordinal 0 among them.
    let report = healthy_status(ring, 1, Duration::from_secs(90));
    let h0 = report["pods"][0]["member"]["host_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for o in 1..3 {
        eventually(Duration::from_secs(90), || {
            let text = std::fs::read_to_string(join_record(ring, o)).unwrap_or_default();
            (text.contains(&h0) && text.contains(&ips[0].to_string()))
                .then_some(())
                .ok_or(text)
        });
    }
    const ROWS: i32 = 500;
    write_rows(ring, ips[1], ROWS);
    eprintln!("ring of 3 with {ROWS} rows after {:?}", started.elapsed());

    // --- ordinal 0 founds anew on a new IP ---
    let refound = |ring: &mut Ring, ip: std::net::IpAddr| {
        ring.stop_all(Duration::from_secs(120));
        std::fs::remove_dir_all(ring.spec.dir.join("node-0/data")).unwrap();
        for o in 1..3 {
            ring.publish(o, None).unwrap(); // the recreated set has no pod 1 or 2 yet
        }
        ring.start(0, ip, &NodeOpts::default()).unwrap();
        ring.wait_ready(0, BOOT).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(boot_decision(ring, 0)["mode"], "Found");
    };
    let new_ip: std::net::IpAddr = "127.0.0.21".parse().unwrap();
    refound(ring, new_ip);
    for o in 1..3 {
        let t = Instant::now();
        ring.start_ready(o, BOOT)
            .unwrap_or_else(|e| panic!("{e:#}"));
        let decision = boot_decision(ring, o);
        eprintln!(
            "new IP: ordinal {o} ready after {:?}: {decision}",
            t.elapsed()
        );
        assert_eq!(decision["mode"], "Restart", "{decision}");
        assert!(
            !decision["seeds"]
                .as_str()
                .unwrap()
                .contains(&new_ip.to_string()),
            "seeded from the new, empty ring: {decision}"
        );
    }
    // Both views of the candidate are in the log, and its verdict beside its CQL answer.
    let log = ring.entrypoint_log(1);
    let warning = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| {
            v["message"] == "candidate answers as a ring that does not list this node: not a seed"
        })
        .unwrap_or_else(|| panic!("no warning about the foreign ring: {log}"));
    assert_eq!(warning["level"], "WARN", "{warning}");
    assert!(
        warning["own_last_seen_peers"]
            .as_str()
            .unwrap()
            .contains(&h0),
        "{warning}"
    );
    assert!(log.contains("\"identity\":\"Some(ForeignRing)\""), "{log}");

    // The rings stay apart: pod 0 alone, pods 1 and 2 the old ring with its old identity
    // down. Looked at 10 s after both joined (gossip would have merged them by then); the
    // rows and `status` are read meanwhile.
    let apart_since = Instant::now();
    for (o, ip) in ips.iter().enumerate().skip(1) {
        let rows = read_rows_at_one(ring, *ip);
        assert_eq!(
            rows.len(),
            ROWS as usize,
            "rows missing through ordinal {o}"
        );
    }
    // `status`, from either side, is unhealthy and names the pod that founded anew.
    for (o, host) in [(1, ips[1]), (0, new_ip)] {
        let (code, report, err) = status_of(ring, o, host);
        assert_eq!(code, 1, "{err}");
        let splits = report["splits"].as_array().unwrap();
        let kinds: Vec<&str> = splits.iter().map(|s| s["kind"].as_str().unwrap()).collect();
        for kind in ["members_differ", "host_id_changed", "owns_every_token"] {
            assert!(kinds.contains(&kind), "{kind} missing from {report}");
        }
        assert!(
            splits
                .iter()
                .all(|s| s["pods"] == serde_json::json!(["cassandra-0"])),
            "{report}"
        );
        assert!(err.contains("split view"), "{err}");
    }
    std::thread::sleep(Duration::from_secs(10).saturating_sub(apart_since.elapsed()));
    let states = ring.ring_states(1).unwrap();
    assert!(
        !states.iter().any(|(_, ip)| *ip == new_ip),
        "merged: {states:?}"
    );
    assert_eq!(ring.ring_states(0).unwrap().len(), 1);

    // --- ordinal 0 founds anew on its old IP, which the others' saved peers point at ---
    refound(ring, ips[0]);
    let earlier = ring.entrypoint_log(1).len();
    ring.start(1, ips[1], &NodeOpts::default()).unwrap();
    let status = ring.wait_exit(1, Duration::from_secs(120)).unwrap();
    let log = ring.entrypoint_log(1)[earlier..].to_owned();
    assert_eq!(status.code(), Some(1), "{}", ring.logs_tail(1));
    assert!(
        !log.contains("cassandra started"),
        "Cassandra was started: {log}"
    );
    for part in [
        "a person must act:",
        "answers as a ring of 1 member(s)",
        "that does not include this node's host ID",
        "would merge the two rings",
        "--replace-address",
    ] {
        assert!(log.contains(part), "{part:?} not in {log}");
    }
    eprintln!(
        "old IP: ordinal 1 refused: {}",
        log.lines().last().unwrap_or_default()
    );
    // Its name gone from DNS, the new node is still where ordinal 2 last saw a peer:
    // asked at that saved address, it is refused all the same.
    ring.publish(0, None).unwrap();
    let earlier = ring.entrypoint_log(2).len();
    ring.start(2, ips[2], &NodeOpts::default()).unwrap();
    let status = ring.wait_exit(2, Duration::from_secs(120)).unwrap();
    let log = ring.entrypoint_log(2)[earlier..].to_owned();
    assert_eq!(status.code(), Some(1), "{}", ring.logs_tail(2));
    assert!(
        log.contains("a person must act:")
            && log.contains("saved peer")
            && log.contains("would merge the two rings"),
        "{log}"
    );
    assert!(
        !log.contains("cassandra started"),
        "Cassandra was started: {log}"
    );
    ring.publish(0, Some(ips[0])).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(ring.ring_states(0).unwrap().len(), 1, "the new ring grew");
    let (code, report, _) = status_of(ring, 0, ips[0]);
    assert_eq!(code, 1);
    assert!(
        report["splits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "owns_every_token"
                && s["pods"] == serde_json::json!(["cassandra-0"])),
        "{report}"
    );

    // The way out that the refusal names: stop the new node and wipe it, start the pods
    // with data, then replace the old identity at the same address.
    ring.stop(0, Duration::from_secs(120)).unwrap();
    std::fs::remove_dir_all(ring.spec.dir.join("node-0/data")).unwrap();
    for o in 1..3 {
        ring.start_ready(o, BOOT)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(boot_decision(ring, o)["mode"], "Restart");
    }
    replace_ready(ring, 0, ips[0], ips[0]);
    let report = healthy_status(ring, 2, Duration::from_secs(120));
    assert_eq!(report["splits"], serde_json::json!([]), "{report}");
    let rows = read_rows_at_one(ring, ips[0]);
    assert_eq!(
        rows.len(),
        ROWS as usize,
        "rows missing through the replaced node"
    );
    eprintln!("whole test {:?}", started.elapsed());
}

/// Starts `ordinal` on `ip` with `--replace-address old`, waits until it answers CQL, and
/// checks that it booted as a replace; returns its boot decision.
fn replace_ready(
    ring: &mut Ring,
    ordinal: u32,
    ip: std::net::IpAddr,
    old: std::net::IpAddr,
) -> serde_json::Value {
    ring.start(
        ordinal,
        ip,
        &NodeOpts {
            args: vec!["--replace-address".into(), old.to_string()],
            ..NodeOpts::default()
        },
    )
    .unwrap();
    ring.wait_ready(ordinal, Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let decision = boot_decision(ring, ordinal);
    assert!(
        decision["mode"].as_str().unwrap().starts_with("Replace"),
        "{decision}"
    );
    decision
}

/// Creates `ks.t` at RF 3 and writes `n` rows through `ip`, each acknowledged by all
/// three replicas (CL ALL).
fn write_rows(ring: &Ring, ip: std::net::IpAddr, n: i32) {
    use scylla::statement::{Consistency, Statement};
    cql_in_ring(ring, ip, move |s| {
        Box::pin(async move {
            s.query_unpaged("CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}", &[]).await.unwrap();
            s.query_unpaged("CREATE TABLE ks.t (k int PRIMARY KEY, v text)", &[])
                .await
                .unwrap();
            let mut insert = Statement::new("INSERT INTO ks.t (k, v) VALUES (?, ?)");
            insert.set_consistency(Consistency::All);
            let insert = s.prepare(insert).await.unwrap();
            for k in 0..n {
                s.execute_unpaged(&insert, (k, format!("value-{k}")))
                    .await
                    .unwrap();
            }
        })
    });
}

/// Every row of `ks.t`, read at CL ONE with `ip` as the only coordinator.
fn read_rows_at_one(ring: &Ring, ip: std::net::IpAddr) -> Vec<(i32, String)> {
    use scylla::statement::{Consistency, Statement};
    common::cql_in_netns(ring.netns(), vec![(ip, 9042).into()], true, |s| {
        Box::pin(async move {
            let mut select = Statement::new("SELECT k, v FROM ks.t");
            select.set_consistency(Consistency::One);
            let mut rows: Vec<(i32, String)> = Vec::new();
            let mut state = scylla::response::PagingState::start();
            loop {
                let (result, next) = s
                    .query_single_page(select.clone(), &[], state)
                    .await
                    .unwrap();
                rows.extend(
                    result
                        .into_rows_result()
                        .unwrap()
                        .rows::<(i32, String)>()
                        .unwrap()
                        .map(|r| r.unwrap()),
                );
                match next.into_paging_control_flow() {
                    std::ops::ControlFlow::Break(()) => break,
                    std::ops::ControlFlow::Continue(s) => state = s,
                }
            }
            rows
        })
    })
}

/// A pod killed mid-bootstrap (after Cassandra recorded IN_PROGRESS in `system.local`,
/// before COMPLETED) has state on disk but never joined. Restarted, it must not be its own
/// seed: a seed skips the rest of its bootstrap and would serve ranges it never streamed.
fn bootstrap_killed_midway_resumes(ring: &mut Ring, ordinal: u32) {
    let ip = ring::default_ip(ordinal);
    let marker = join_record(ring, ordinal);
    ring.start(ordinal, ip, &NodeOpts::default()).unwrap();
    // "JOINING: sleeping <RING_DELAY> ms for pending range setup": bootstrap has begun.
    eventually(BOOT, || {
        ring.system_log(ordinal)
            .contains("for pending range setup")
            .then_some(())
            .ok_or_else(|| ring.logs_tail(ordinal))
    });
    ring.kill_pod(ordinal).unwrap();
    assert!(
        !marker.exists(),
        "join recorded for an unfinished bootstrap"
    );

    let log_start = ring.system_log(ordinal).len();
    ring.start(ordinal, ip, &NodeOpts::default()).unwrap();
    ring.wait_ready(ordinal, BOOT)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let decision = boot_decision(ring, ordinal);
    assert_eq!(
        (decision["mode"].as_str(), decision["data"].as_str()),
        (Some("Restart"), Some("Unconfirmed")),
        "{decision}"
    );
    assert!(
        !decision["seeds"]
            .as_str()
            .unwrap()
            .contains(&ip.to_string()),
        "listed itself: {decision}"
    );
    let log = ring.system_log(ordinal)[log_start..].to_owned();
    assert!(
        log.contains("Detected previous bootstrap failure; retrying")
            && !log.contains("will not auto bootstrap"),
        "the bootstrap did not resume:\n{}",
        ring.logs_tail(ordinal)
    );
    // Once the node reports COMPLETED, the entrypoint records the join.
    wait_join_recorded(ring, ordinal);
}

/// Where the entrypoint records that a node finished joining (`ringkeeper-joined`).
fn join_record(ring: &Ring, ordinal: u32) -> std::path::PathBuf {
    ring.spec
        .dir
        .join(format!("node-{ordinal}/data/ringkeeper-joined"))
}

/// Waits until the entrypoint of `ordinal` has recorded its node's join.
fn wait_join_recorded(ring: &Ring, ordinal: u32) {
    let record = join_record(ring, ordinal);
    eventually(Duration::from_secs(30), || {
        record
            .exists()
            .then_some(())
            .ok_or_else(|| ring.entrypoint_log(ordinal))
    });
}
