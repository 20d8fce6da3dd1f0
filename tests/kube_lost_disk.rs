//! Lost volumes on Kubernetes: `manifests/` applied as they are, the pod runner playing
//! the StatefulSet controller, the garbage collector and pvc-protection (a deleted PVC
//! goes with its volume once its pod is gone, and the pod comes back on a new, empty
//! one, on a new IP), real Cassandra nodes. One cluster:
//!
//! * ordinals 1 and 2 lose their volumes at once: the identity record and the ring lead
//!   each to a replace of its old self, with no `--replace-address`, one after the other
//!   (the lowest ordinal first); then ordinal 1 alone serves every row;
//! * the whole set deleted and ordinal 0's volume lost: the set applied again with ordinal
//!   0 alone, it does not found a second cluster (the identity record outlived the set);
//!   once the others are back it replaces its old self;
//! * without API access (the RoleBinding removed), a lost volume waits as before the
//!   identity record and says what to do; the manual path (read `ringkeeper status`, set
//!   `--replace-address` on the StatefulSet) is timed against the automatic one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

mod common;

use common::kube::*;
use ringkeeper_testkit::cluster::Cluster;
use ringkeeper_testkit::netns::Netns;

/// Rows written before the volumes are lost (1 KiB each, RF 3, at ALL).
const ROWS: i32 = 1000;

fn pod_ip(c: &Cluster, pod: &str) -> Option<String> {
    pods(c, NS)
        .iter()
        .find(|p| name_of(p) == pod)
        .and_then(|p| p["status"]["podIP"].as_str().map(str::to_owned))
}

/// The volume of `pod` is lost: its PVC deleted, then the pod (which drains). Returns the
/// old pod's UID.
fn lose_volume(c: &Cluster, pod: &str) -> String {
    let uid = uid_of(c, pod);
    c.kubectl(&[
        "-n",
        NS,
        "delete",
        "pvc",
        &format!("data-{pod}"),
        "--wait=false",
    ])
    .unwrap();
    c.kubectl(&["-n", NS, "delete", "pod", pod, "--wait=false"])
        .unwrap();
    uid
}

/// Waits for a pod `pod` that is not `old_uid`; returns when it was first seen.
fn new_pod(c: &Cluster, pod: &str, old_uid: &str) -> Instant {
    c.wait_for(&format!("a new {pod}"), Duration::from_secs(300), |c| {
        Ok(pods(c, NS)
            .iter()
            .any(|p| name_of(p) == pod && p["metadata"]["uid"] != old_uid)
            .then(Instant::now))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(c, NS)))
}

/// Waits until `pod` sees exactly 3 members, all UN, `gone` (the lost node's old address)
/// not among them.
fn three_up_without(c: &Cluster, pod: &str, gone: &str, timeout: Duration) {
    c.wait_for(
        &format!("3 UN in {pod}'s view, {gone} gone"),
        timeout,
        |c| {
            if !pods(c, NS)
                .iter()
                .any(|p| name_of(p) == pod && p["status"]["podIP"].is_string())
            {
                return Ok(None);
            }
            let (code, out, _) = c.exec(NS, pod, &["nodetool", "status"])?;
            if code != 0 {
                return Ok(None);
            }
            let ring = nodetool_status::parse(&out);
            Ok(
                (ring.len() == 3 && ring.iter().all(|m| m.is_un() && m.address != gone))
                    .then_some(()),
            )
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(c, NS)));
}

/// Keys of `app.kv` that `pod` cannot read at CL ONE by itself: every other pod's gossip
/// and native transport are switched off first (a StatefulSet cannot stop pods 0 and 2
/// and keep 1), so `pod` sees them down, coordinates alone, and can only answer from
/// its own data. They are switched on again after.
fn missing_through_alone(c: &Cluster, pod: &str) -> Vec<i32> {
    let others: Vec<String> = pods(c, NS)
        .iter()
        .map(name_of)
        .filter(|p| p != pod)
        .collect();
    for other in &others {
        for cmd in ["disablebinary", "disablegossip"] {
            let (code, out, err) = c.exec(NS, other, &["nodetool", cmd]).unwrap();
            assert_eq!(code, 0, "{other}: nodetool {cmd}: {out}{err}");
        }
    }
    c.wait_for(
        &format!("{pod} sees the others down"),
        Duration::from_secs(120),
        |c| {
            let ring = ring_of(c, NS, pod);
            Ok(
                (ring.iter().filter(|m| m.state.starts_with('D')).count() == others.len())
                    .then_some(()),
            )
        },
    )
    .unwrap();
    let ip: std::net::IpAddr = pod_ip(c, pod).unwrap().parse().unwrap();
    let missing = common::cql_in_netns(
        &Netns::existing(c.node_netns()),
        vec![SocketAddr::new(ip, 9042)],
        false,
        |s| {
            Box::pin(async move {
                let mut select = s.prepare("SELECT v FROM app.kv WHERE k = ?").await.unwrap();
                select.set_consistency(scylla::statement::Consistency::One);
                let mut missing = Vec::new();
                for k in 0..ROWS {
                    let mut found = None;
                    for _ in 0..3 {
                        match s.execute_unpaged(&select, (k,)).await {
                            Ok(r) => {
                                let rows = r.into_rows_result().unwrap();
                                found =
                                    Some(rows.maybe_first_row::<(String,)>().unwrap().is_some());
                                break;
                            }
                            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                        }
                    }
                    if found != Some(true) {
                        missing.push(k);
                    }
                }
                missing
            })
        },
    );
    for other in &others {
        for cmd in ["enablegossip", "enablebinary"] {
            let (code, out, err) = c.exec(NS, other, &["nodetool", cmd]).unwrap();
            assert_eq!(code, 0, "{other}: nodetool {cmd}: {out}{err}");
        }
    }
    // Ready again (an API read) before the nodetool polls, as after the replaces.
    wait_ready(c, NS, 3, Duration::from_secs(120));
    three_up_without(c, pod, "-", Duration::from_secs(120));
    missing
}

/// The identity record's entry of `pod`.
fn record_entry(c: &Cluster, pod: &str) -> serde_json::Value {
    let map = configmap(c, NS, "cassandra-identity");
    json(map["data"][pod].as_str().unwrap_or("null"))
}

/// The time of day, in seconds, of a JSON log line (`"timestamp":"...T20:31:02.123Z"`).
fn log_seconds(line: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let time = v["timestamp"]
        .as_str()?
        .split('T')
        .nth(1)?
        .trim_end_matches('Z');
    let mut parts = time.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

/// Notes of the Events with `reason` about `pod` (any incarnation).
fn events_of(c: &Cluster, pod: &str, reason: &str) -> Vec<String> {
    events(c, NS)
        .into_iter()
        .filter(|e| e.pod == pod && e.reason == reason)
        .map(|e| e.note)
        .collect()
}

#[test]
#[ignore = "needs root, Java, the test API server and real Cassandra nodes: run scripts/test"]
fn a_pod_that_lost_its_volume_replaces_its_old_self_and_never_founds_again() {
    let _nodes = common::nodes(3);
    let suite = Instant::now();
    let mut c = cluster("lost", "rkl");
    restricted_namespace(&c, NS);
    let dir = user_kustomization(&c, NS, &[]);
    // The least --replace-after-down allowed (30 s) instead of the default 180 s: what is
    // proven is the rule (a replace only after the old node was seen down continuously for
    // the setting); the default would only add 2.5 minutes to each replace here.
    set_env(&dir, "RINGKEEPER_REPLACE_AFTER_DOWN", "30s");
    // A 20 s seed wait instead of the default 60 s: what is proven is that ordinal 0 with
    // a lost volume and the record saying the cluster exists never founds, checked past
    // the moment an ordinal 0 without the record would found (the end of the wait); the
    // default would add 40 s of waiting to that check.
    set_env(&dir, "RINGKEEPER_SEED_WAIT", "20s");
    // Probes every 2 s: same commands and thresholds, seen sooner (`quick_probes`).
    quick_probes(&dir);
    c.kubectl(&["apply", "-k", dir.to_str().unwrap()]).unwrap();
    c.run_pods(NS);
    wait_ready(&c, NS, 3, UP);

    // Rows at RF 3, written at ALL: every node holds every row. The system keyspaces at RF
    // 3 too: two volumes are lost at once below, and Cassandra refuses a replace with a
    // range whose every replica is down ("Unable to find sufficient sources"; at their
    // default RF 2, system_traces has such ranges).
    schema(
        &c,
        &[
            "ALTER KEYSPACE system_traces WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            "ALTER KEYSPACE system_distributed WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            "ALTER KEYSPACE system_auth WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            "CREATE KEYSPACE app WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}",
            "CREATE TABLE app.kv (k int PRIMARY KEY, v text)",
        ],
    );
    cql(&c, |s| {
        Box::pin(async move {
            let mut insert = s
                .prepare("INSERT INTO app.kv (k, v) VALUES (?, ?)")
                .await
                .unwrap();
            insert.set_consistency(scylla::statement::Consistency::All);
            let value = "x".repeat(1024);
            for k in 0..ROWS {
                s.execute_unpaged(&insert, (k, value.as_str()))
                    .await
                    .unwrap();
            }
        })
    });
    for pod in ["cassandra-0", "cassandra-1", "cassandra-2"] {
        let (code, out, err) = c.exec(NS, pod, &["nodetool", "flush"]).unwrap();
        assert_eq!(code, 0, "{out}{err}");
    }
    settled(&c);

    // Scenario 4: ordinals 1 and 2 lose their volumes at once and come back empty on new
    // IPs: one replace at a time, the lowest ordinal first (ordinal 2 waits for 1).
    let before = host_ids(&c, NS);
    let old_ip = pod_ip(&c, "cassandra-1").unwrap();
    let old_ip_2 = pod_ip(&c, "cassandra-2").unwrap();
    let entry = record_entry(&c, "cassandra-1");
    assert_eq!(
        (entry["host_id"].as_str(), entry["address"].as_str()),
        (Some(before["cassandra-1"].as_str()), Some(old_ip.as_str())),
        "{entry}"
    );
    let old_uid = lose_volume(&c, "cassandra-1");
    let old_uid_2 = lose_volume(&c, "cassandra-2");
    let started = new_pod(&c, "cassandra-1", &old_uid);
    new_pod(&c, "cassandra-2", &old_uid_2);
    // The pods Ready first (an API read), then `nodetool status`: each nodetool is a JVM
    // start (about a second of CPU), and asked every 500 ms through the two replaces it
    // took a third of the machine's two cores from the nodes doing them. Three members UN
    // means three nodes joined, whose pods are Ready within a probe period of that.
    wait_ready(&c, NS, 3, UP);
    three_up_without(&c, "cassandra-0", &old_ip, UP);
    three_up_without(&c, "cassandra-0", &old_ip_2, UP);
    // Each came back seconds after its old pod drained, and replaced it at the first try:
    // no replace refused ("Cannot replace a live node"), no restart.
    for p in pods(&c, NS) {
        assert_eq!(restarts(&p), 0, "{} restarted", name_of(&p));
    }
    // No replace while the old node answered within --replace-after-down (30 s here): the
    // new pod first saw its old self down seconds after that node's drain, and decided to
    // replace only 30 s of continuous "down" later.
    let uid_1 = uid_of(&c, "cassandra-1");
    let log_1 = std::fs::read_to_string(c.pod_dir("cassandra-1", &uid_1).join("container-0.log"))
        .unwrap_or_default();
    let first_down = log_1
        .lines()
        .find(|l| l.contains("seen down for 30s continuously"))
        .and_then(log_seconds);
    let decided = log_1
        .lines()
        .find(|l| l.contains("boot decided from the identity record") && l.contains("Replace"))
        .and_then(log_seconds);
    match (first_down, decided) {
        (Some(down), Some(decided)) => assert!(
            // (A wait across midnight UTC wraps the time of day.)
            (decided - down).rem_euclid(86400.0) >= 29.0,
            "replace decided {:.1} s after the old node was first seen down",
            decided - down
        ),
        _ => panic!(
            "no down-time wait, or no replace decision, in {}",
            &log_1[log_1.len().saturating_sub(4000)..]
        ),
    }
    let uid_2 = uid_of(&c, "cassandra-2");
    let log_2 = std::fs::read_to_string(c.pod_dir("cassandra-2", &uid_2).join("container-0.log"))
        .unwrap_or_default();
    assert!(
        log_2.contains("waiting for ordinal 1"),
        "ordinal 2 waited for ordinal 1's replace: {}",
        &log_2[log_2.len().saturating_sub(3000)..]
    );
    assert!(
        events_of(&c, "cassandra-2", "Replacing")
            .iter()
            .any(|n| n.contains(&old_ip_2)),
        "{:?}",
        events(&c, NS)
    );
    let automatic_s = started.elapsed().as_secs_f64();
    let new_ip = pod_ip(&c, "cassandra-1").unwrap();
    assert_ne!(new_ip, old_ip);
    for (pod, ring) in views(&c) {
        assert_eq!(ring.len(), 3, "{pod}: {ring:?}");
        assert!(ring.iter().all(StatusLine::is_un), "{pod}: {ring:?}");
        assert!(ring.iter().any(|m| m.address == new_ip), "{pod}: {ring:?}");
    }
    let replacing = events_of(&c, "cassandra-1", "Replacing");
    assert!(
        replacing.iter().any(|n| n.contains(&old_ip)),
        "{:?}",
        events(&c, NS)
    );
    assert!(
        !events_of(&c, "cassandra-1", "Replaced").is_empty(),
        "{:?}",
        events(&c, NS)
    );
    // The record follows the node to its new address.
    c.wait_for(
        "the record names the new IP",
        Duration::from_secs(60),
        |c| Ok((record_entry(c, "cassandra-1")["address"] == new_ip.as_str()).then_some(())),
    )
    .unwrap();
    settled(&c);
    let missing = missing_through_alone(&c, "cassandra-1");
    assert!(
        missing.is_empty(),
        "{} rows missing at ONE through cassandra-1 alone",
        missing.len()
    );
    record_figure(
        "lost_disk_automatic",
        serde_json::json!({
            "rows": ROWS,
            "new_pod_to_3_un_s": automatic_s,
        }),
    );

    // Scenario 5: the whole StatefulSet deleted (its volumes and the identity record stay:
    // nothing owns the record), ordinal 0's volume lost, the set applied again with ordinal
    // 0 alone. On the record of an earlier version (owned by the set, so collected with
    // it) ordinal 0 would have found no record and founded a second ring at once.
    let ids = host_ids(&c, NS);
    let old_ip_0 = pod_ip(&c, "cassandra-0").unwrap();
    let old_uid_0 = uid_of(&c, "cassandra-0");
    delete_set(&c, &[]);
    delete_volumes(&c, &["cassandra-0"]);
    let record = configmap(&c, NS, "cassandra-identity");
    assert!(record["data"]["cassandra-0"].is_string(), "{record}");
    apply_with_replicas(&c, &dir, 1);
    new_pod(&c, "cassandra-0", &old_uid_0);
    let uid_0 = uid_of(&c, "cassandra-0");
    c.wait_for("FoundingRefused", Duration::from_secs(180), |c| {
        Ok(reasons_of_uid(c, NS, &uid_0)
            .contains(&"FoundingRefused".to_owned())
            .then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(&c, NS)));
    // Past the seed wait (20 s here: the moment an ordinal 0 without the record would found):
    // still no Cassandra, nothing founded. Waited for as the entrypoint says it, then a
    // few more rounds.
    let log = c.pod_dir("cassandra-0", &uid_0).join("container-0.log");
    c.wait_for(
        "cassandra-0's --seed-wait over",
        Duration::from_secs(180),
        |_| {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            Ok(text.contains("--seed-wait is over").then_some(()))
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(&c, NS)));
    std::thread::sleep(Duration::from_secs(5));
    let p0 = pods(&c, NS);
    assert_eq!(p0.len(), 1);
    assert!(!is_ready(&p0[0]), "cassandra-0 must not be ready");
    assert!(
        !c.shared
            .pvc_dir(NS, "data-cassandra-0")
            .join("data/system")
            .exists(),
        "Cassandra wrote a system keyspace: it was started"
    );
    let reasons = reasons_of_uid(&c, NS, &uid_0);
    assert!(!reasons.contains(&"Founded".to_owned()), "{reasons:?}");

    // The others come back with their data; ordinal 0 then replaces its old self. The
    // replace is interrupted: once Cassandra on ordinal 0 is joining (its system tables
    // written as the replacing node's, its stream about to start), the container is
    // killed (SIGKILL of its PID 1: an OOM kill, a node crash). The next start finds the
    // replace marker and the attempt's partial state, clears what the attempt wrote (the
    // ring still lists the old node), and replaces again: no plain bootstrap beside its
    // old self, no restart loop.
    c.kubectl(&[
        "-n",
        NS,
        "scale",
        "statefulset",
        "cassandra",
        "--replicas=3",
    ])
    .unwrap();
    let system_log = c
        .pod_dir("cassandra-0", &uid_0)
        .join("volumes/logs/system.log");
    c.wait_for("ordinal 0 joining as a replacement", UP, |_| {
        Ok(std::fs::read_to_string(&system_log)
            .unwrap_or_default()
            .contains("JOINING:")
            .then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", container_logs_tail(&c, NS)));
    let (pid, _) = c.container_of(NS, "cassandra-0").unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_ready(&c, NS, 3, UP);
    let resumed = std::fs::read_to_string(c.pod_dir("cassandra-0", &uid_0).join("container-1.log"))
        .unwrap_or_default();
    assert!(
        resumed.contains("cleared what the unfinished replace wrote")
            && resumed.contains("boot decided from the identity record"),
        "the restart did not resume the replace: {}",
        &resumed[resumed.len().saturating_sub(4000)..]
    );
    let p0 = pods(&c, NS)
        .into_iter()
        .find(|p| name_of(p) == "cassandra-0")
        .unwrap();
    assert_eq!(p0["metadata"]["uid"], uid_0.as_str(), "the same pod object");
    assert_eq!(restarts(&p0), 1, "one restart: the kill");
    three_up_without(&c, "cassandra-1", &old_ip_0, UP);
    let after = host_ids(&c, NS);
    for pod in ["cassandra-1", "cassandra-2"] {
        assert_eq!(after[pod], ids[pod], "{pod} came back as itself");
    }
    let replacing = events_of(&c, "cassandra-0", "Replacing");
    assert!(
        replacing.iter().any(|n| n.contains(&old_ip_0)),
        "{:?}",
        events(&c, NS)
    );
    settled(&c);
    let missing = missing_through_alone(&c, "cassandra-0");
    assert!(
        missing.is_empty(),
        "{} rows missing at ONE through cassandra-0 alone",
        missing.len()
    );

    // Scenario 6, boot side, and the manual path: without API access, ordinal 2 loses its
    // volume; it waits as before the identity record (a down member blocks a join) and
    // says to use --replace-address; an operator reads the old IP from `ringkeeper status`
    // and sets it on the StatefulSet.
    c.kubectl(&["-n", NS, "delete", "rolebinding", "ringkeeper"])
        .unwrap();
    let old_ip_2 = pod_ip(&c, "cassandra-2").unwrap();
    let old_uid_2 = lose_volume(&c, "cassandra-2");
    let started = new_pod(&c, "cassandra-2", &old_uid_2);
    let waiting = c
        .wait_for(
            "cassandra-2 says to use --replace-address",
            Duration::from_secs(180),
            |c| {
                let uid = uid_of(c, "cassandra-2");
                let log =
                    std::fs::read_to_string(c.pod_dir("cassandra-2", &uid).join("container-0.log"))
                        .unwrap_or_default();
                Ok(log.contains("--replace-address").then_some(log))
            },
        )
        .unwrap();
    let api_lines: Vec<&str> = waiting
        .lines()
        .filter(|l| l.contains("Kubernetes API"))
        .collect();
    assert_eq!(api_lines.len(), 1, "{waiting}");
    assert!(api_lines[0].contains("identity record"), "{}", api_lines[0]);
    assert!(
        !c.shared
            .pvc_dir(NS, "data-cassandra-2")
            .join("data/system")
            .exists(),
        "cassandra-2 started Cassandra without --replace-address"
    );
    // The operator's part: the down member's address from `ringkeeper status`.
    let (code, out, err) = c
        .exec(
            NS,
            "cassandra-0",
            &["ringkeeper", "status", "--output", "json"],
        )
        .unwrap();
    assert_eq!(code, 1, "not healthy: {out}{err}");
    let status = json(&out);
    let down: Vec<String> = status["ghosts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["state"] == "DN")
        .filter_map(|g| g["member"]["address"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(down, vec![old_ip_2.clone()], "{status}");
    c.kubectl(&[
        "-n",
        NS,
        "set",
        "env",
        "statefulset/cassandra",
        &format!("RINGKEEPER_REPLACE_ADDRESS={}", down[0]),
    ])
    .unwrap();
    // The rolling update starts with the highest ordinal: the waiting pod.
    three_up_without(&c, "cassandra-0", &old_ip_2, UP);
    let manual_s = started.elapsed().as_secs_f64();
    record_figure(
        "lost_disk_manual",
        serde_json::json!({
            "new_pod_to_3_un_s": manual_s,
            "note": "the operator acts as soon as the pod's log names --replace-address",
        }),
    );
    record_figure("lost_disk_suite_s", suite.elapsed().as_secs_f64().into());
}
