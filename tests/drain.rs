//! The preStop drain on real nodes, each started by `ringkeeper entrypoint` and stopped
//! the way the kubelet stops a pod (preStop hook, SIGTERM to PID 1, SIGKILL at the end of
//! the grace period). Needs root, Java and the cassandra-all jars: run `scripts/test`.
//!
//! A rolling restart under load with this drain as preStop is proven once, through the
//! manifests (`tests/kube.rs`, the rolling update); on 4.1, one pod restarted under load
//! (`tests/ring.rs`, scenario 9). The side by side with a bare `nodetool drain` is a
//! benchmark: `scripts/bench-rolling`.

#![allow(clippy::print_stderr)] // Progress lines (timings, summaries) for the test log.

mod common;

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use common::{BOOT, count_rows, cql_in_ring, new_ring, nodes};
use ringkeeper_testkit::ring::{self, PreStop, Ring, RingSpec};

fn summary(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
}

fn stage_names(summary: &serde_json::Value) -> Vec<String> {
    summary["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap().to_owned())
        .collect()
}

fn write_rows(ring: &Ring, ip: std::net::IpAddr, keyspace: &'static str, n: i32) {
    cql_in_ring(ring, ip, move |session| {
        Box::pin(async move {
            session
                .query_unpaged(
                    format!(
                        "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = \
                         {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
                    ),
                    &[],
                )
                .await
                .unwrap();
            session
                .query_unpaged(
                    format!("CREATE TABLE IF NOT EXISTS {keyspace}.t (k int PRIMARY KEY, v text)"),
                    &[],
                )
                .await
                .unwrap();
            for k in 0..n {
                session
                    .query_unpaged(
                        format!("INSERT INTO {keyspace}.t (k, v) VALUES (?, ?)"),
                        (k, format!("row {k}")),
                    )
                    .await
                    .unwrap();
            }
        })
    });
}

fn commitlog_files(ring: &Ring, ordinal: u32) -> Vec<String> {
    std::fs::read_dir(ring.spec.data_dir(ordinal).join("commitlog"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| {
                    format!(
                        "{} ({} bytes)",
                        e.file_name().to_string_lossy(),
                        e.metadata().map_or(0, |m| m.len())
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The commit log replay of a start (its system.log lines) replayed no mutation: the
/// drain flushed everything (a drained node leaves an empty segment behind).
fn assert_replays_nothing(log: &str) {
    let replay = ringkeeper_testkit::rolling::replay_lines(log);
    eprintln!("commit log replay: {replay:?}");
    assert!(
        ringkeeper_testkit::rolling::replays_nothing(&replay),
        "{replay:?}"
    );
}

/// `ringkeeper alive` for a node, as its liveness probe runs it (plus `extra` flags).
fn alive(ring: &Ring, ordinal: u32, extra: &[&str]) -> (i32, String, String) {
    let run = ring.spec.run_dir(ordinal).display().to_string();
    let port = RingSpec::jmx_port(ordinal).to_string();
    let mut args = vec!["alive", "--run-dir", &run, "--jmx-port", &port];
    args.extend(extra);
    ring.ringkeeper(&args).unwrap()
}

/// The median of `samples`.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Asks `alive` (as the probe runs it, and with no startup grace) every 200 ms while
/// node `ordinal` decides, starts and opens CQL: the probe must say alive throughout.
/// Returns the reasons it gave, and how long after Cassandra's start JMX first answered.
fn alive_through_the_boot(ring: &mut Ring, ordinal: u32) -> (Vec<String>, Option<Duration>) {
    let ip = ring::default_ip(ordinal);
    let pid_file = ring.spec.run_dir(ordinal).join("cassandra.pid");
    let deadline = Instant::now() + BOOT;
    let mut reasons: Vec<String> = Vec::new();
    let mut jmx_up = None;
    let begun = Instant::now();
    loop {
        let (code, out, err) = alive(ring, ordinal, &[]);
        // The entrypoint creates the run directory within milliseconds of its start; a
        // probe that comes even earlier fails once (the probe's failureThreshold covers it).
        if code == 1 && err.contains("does not exist") && begun.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        assert_eq!(
            (code, out.trim()),
            (0, "alive"),
            "{err}\n{}",
            ring.logs_tail(ordinal)
        );
        // "ringkeeper: alive: starting: ..." -> "starting"
        let kind = err
            .trim()
            .trim_start_matches("ringkeeper: alive: ")
            .split([':', '('])
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if reasons.last() != Some(&kind) {
            reasons.push(kind);
        }
        if jmx_up.is_none() && alive(ring, ordinal, &["--startup-grace", "0"]).0 == 0 {
            let started = std::fs::metadata(&pid_file).and_then(|m| m.modified());
            jmx_up = started
                .ok()
                .and_then(|t| std::time::SystemTime::now().duration_since(t).ok());
        }
        if ring.port_open(std::net::SocketAddr::new(ip, 9042)).unwrap() {
            return (reasons, jmx_up);
        }
        assert!(
            ring.try_exit(ordinal).unwrap().is_none(),
            "{}",
            ring.logs_tail(ordinal)
        );
        assert!(Instant::now() < deadline, "{}", ring.logs_tail(ordinal));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn a_drain_is_staged_bounded_idempotent_and_leaves_nothing_to_replay() {
    let _nodes = nodes(1);
    let mut ring = new_ring("drain1");
    ring.spec.seed_wait = "4s".into();
    let ip = ring::default_ip(0);
    // Another pod's name resolves (nothing answers there): ordinal 0 waits out its seed
    // wait before it founds, and the liveness probe must not mind.
    ring.publish(1, Some(ring::default_ip(1))).unwrap();
    ring.start(0, ip, &Default::default()).unwrap();
    let (reasons, jmx_up) = alive_through_the_boot(&mut ring, 0);
    eprintln!(
        "alive through the boot: {reasons:?}; JMX answered {jmx_up:?} after cassandra started"
    );
    assert_eq!(
        reasons.first().map(String::as_str),
        Some("waiting to start Cassandra"),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r == "starting"), "{reasons:?}");
    let jmx_up = jmx_up.expect("JMX never answered during the boot");
    assert!(
        jmx_up < Duration::from_secs(60),
        "JMX answered only {jmx_up:?} after the start: the default --startup-grace is too short"
    );
    write_rows(&ring, ip, "d1", 200);
    let (code, _, err) = ring.ready(0).unwrap();
    assert_eq!(code, 0, "{err}");

    // Serving: the JVM answers the RMI handshake. (What that costs beside `nodetool
    // info`, the charts' JVM-per-probe check, is the benchmark `scripts/bench-alive`.)
    let mut ours = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let (code, out, err) = alive(&ring, 0, &["--startup-grace", "0"]);
        ours.push(t.elapsed());
        assert_eq!((code, out.trim()), (0, "alive"), "{err}");
        assert!(err.contains("answered the JMX (RMI) handshake"), "{err}");
    }
    eprintln!("`ringkeeper alive`, median of 20 runs: {:?}", median(ours));

    // The liveness probe keeps asking while the node drains.
    let probes = ring.spec.dir.join("alive-during-drain.log");
    let mut poller = ring
        .netns()
        .command("sh")
        .args([
            "-c",
            &format!(
                "while :; do {} alive --run-dir {} --jmx-port {} --startup-grace 0; echo rc=$?; sleep 0.1; done",
                ring.spec.ringkeeper.display(),
                ring.spec.run_dir(0).display(),
                RingSpec::jmx_port(0)
            ),
        ])
        .stdout(std::fs::File::create(&probes).unwrap())
        .stderr(std::fs::File::create(probes.with_extension("err")).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    // Room for slow nodetool JVMs: on two cores beside cold builds one took 13 s to start
    // (a 30 s grace period cut this drain short there). The bound itself is shown by the
    // cut-short test; here only the drain's stages and what it leaves are.
    let grace = Duration::from_secs(60);
    let hook = ring
        .run_prestop(0, &PreStop::Ringkeeper(vec![]), grace)
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(poller.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = poller.wait();
    eprintln!("drain: {}\n{}", hook.stdout, hook.stderr);
    assert_eq!(hook.code, 0, "{}", hook.stderr);
    let codes = std::fs::read_to_string(&probes).unwrap();
    let said = std::fs::read_to_string(probes.with_extension("err")).unwrap();
    assert!(codes.lines().count() >= 3, "{codes}");
    assert!(
        codes.lines().all(|l| l == "alive" || l == "rc=0"),
        "not alive during the drain: {codes}\n{said}"
    );
    assert!(said.contains("alive: draining"), "{said}");
    let s = summary(&hook.stdout);
    assert_eq!(s["outcome"], "drained", "{s}");
    // Outside Kubernetes nothing says this is a scale-down: a plain drain.
    assert_eq!(s["decision"], "drain", "{s}");
    assert_eq!(
        stage_names(&s),
        [
            "not_ready",
            "inspect",
            "scale_down",
            "announce_shutdown",
            "clients_quiet",
            "close_clients",
            "drain",
            "verify"
        ]
    );
    assert!(
        hook.took < grace - Duration::from_secs(5),
        "{:?}",
        hook.took
    );
    // Not ready from the first stage on, without asking the node.
    let (code, _, err) = ring.ready(0).unwrap();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("draining"), "{err}");
    eprintln!(
        "commit log after the drain: {:?}",
        commitlog_files(&ring, 0)
    );

    // A second drain: nothing to do, at once, no JVM started.
    let again = Instant::now();
    let hook = ring
        .run_prestop(0, &PreStop::Ringkeeper(vec![]), grace)
        .unwrap();
    assert_eq!(hook.code, 0, "{}", hook.stderr);
    assert_eq!(summary(&hook.stdout)["outcome"], "already_drained");
    assert!(
        again.elapsed() < Duration::from_secs(1),
        "{:?}",
        again.elapsed()
    );

    // SIGTERM after the drain: Cassandra exits at once, and the entrypoint says the
    // shutdown was clean (exit 0).
    let stop = Instant::now();
    let status = ring.stop(0, Duration::from_secs(30)).unwrap();
    eprintln!("exit after SIGTERM: {status} in {:?}", stop.elapsed());
    assert_eq!(status.code(), Some(0), "{}", ring.logs_tail(0));
    assert!(
        ring.entrypoint_log(0).contains("cassandra stopped cleanly"),
        "{}",
        ring.logs_tail(0)
    );

    // The next start replays nothing, and is not "draining".
    let log_len = ring.system_log(0).len();
    ring.start(0, ip, &Default::default()).unwrap();
    ring.wait_ready(0, BOOT).unwrap();
    let restart_log = ring.system_log(0)[log_len..].to_owned();
    assert_replays_nothing(&restart_log);
    let (code, _, err) = ring.ready(0).unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(count_rows(&ring, ip, "d1"), 200);
}

fn joining(ring: &Ring, ordinal: u32) -> bool {
    ring.nodetool(ordinal, &["netstats"])
        .is_ok_and(|out| out.contains("Mode: JOINING"))
}

/// Scenario 3: a drain of a node that is still joining does nothing, at once; a drain
/// without nodetool falls back to SIGTERM and says so; SIGTERM without a preStop drain
/// makes the entrypoint drain first, within the grace period.
#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn a_joining_node_a_missing_nodetool_and_a_sigterm_without_prestop_each_do_the_documented_thing() {
    let _nodes = nodes(2);
    let mut ring = new_ring("drain3");
    ring.start_ready(0, BOOT)
        .unwrap_or_else(|e| panic!("{e:#}"));
    write_rows(&ring, ring::default_ip(0), "d3", 100);
    let grace = Duration::from_secs(30);

    // Ordinal 1 joins slowly (a long ring delay keeps it JOINING for half a minute).
    let opts = ring::NodeOpts {
        jvm_opts: vec!["-Dcassandra.ring_delay_ms=20000".into()],
        ..Default::default()
    };
    ring.start(1, ring::default_ip(1), &opts).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !joining(&ring, 1) {
        assert!(Instant::now() < deadline, "{}", ring.logs_tail(1));
        std::thread::sleep(Duration::from_millis(500));
    }
    let hook = ring
        .run_prestop(1, &PreStop::Ringkeeper(vec![]), grace)
        .unwrap();
    eprintln!("drain while joining ({:?}): {}", hook.took, hook.stdout);
    assert_eq!(hook.code, 0, "{}", hook.stderr);
    let s = summary(&hook.stdout);
    assert_eq!(s["outcome"], "nothing_to_drain", "{s}");
    assert!(s["why"].as_str().unwrap().contains("not joined"), "{s}");
    assert!(hook.took < Duration::from_secs(10), "{:?}", hook.took);
    // The kubelet's SIGTERM follows: the joining node stops; its restart resumes the
    // bootstrap and joins.
    let status = ring.stop(1, Duration::from_secs(60)).unwrap();
    assert_ne!(
        status.code(),
        Some(0),
        "a joining node's stop is not a clean drain"
    );
    ring.start(1, ring::default_ip(1), &Default::default())
        .unwrap();
    ring.wait_ready(1, BOOT).unwrap();

    // No nodetool: the drain cannot go through JMX, says so, and stops Cassandra with
    // SIGTERM (its shutdown hook drains); exit 4 for the kubelet's event.
    let hook = ring
        .run_prestop(
            1,
            &PreStop::Ringkeeper(vec!["--nodetool".into(), "/nonexistent/nodetool".into()]),
            grace,
        )
        .unwrap();
    eprintln!("drain without nodetool ({:?}): {}", hook.took, hook.stdout);
    assert_eq!(hook.code, 4, "{}", hook.stderr);
    let s = summary(&hook.stdout);
    assert_eq!(s["outcome"], "not_drained", "{s}");
    assert!(s["why"].as_str().unwrap().contains("--nodetool"), "{s}");
    assert!(s["sigterm"].as_i64().is_some(), "{s}");
    assert!(hook.stderr.contains("NOT DRAINED"), "{}", hook.stderr);
    let status = ring.wait_exit(1, Duration::from_secs(60)).unwrap();
    assert_eq!(status.code(), Some(143), "{}", ring.logs_tail(1));
    let last = ring
        .entrypoint_log(1)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(last.contains("WITHOUT a clean drain"), "{last}");

    // SIGTERM with no preStop hook (a node shutdown, a delete with the hook disabled): the
    // entrypoint drains first, within the grace period, and exits 0 after a clean drain.
    let stop = ring.stop_like_kubelet(0, None, grace).unwrap();
    eprintln!(
        "SIGTERM without preStop: {} in {:?}",
        stop.status, stop.took
    );
    assert_eq!(stop.status.code(), Some(0), "{}", ring.logs_tail(0));
    assert!(!stop.killed);
    let log = ring.entrypoint_log(0);
    assert!(log.contains("draining first"), "{log}");
    assert!(log.contains("cassandra stopped cleanly"), "{log}");
    let log_len = ring.system_log(0).len();
    ring.start(0, ring::default_ip(0), &Default::default())
        .unwrap();
    ring.wait_ready(0, BOOT).unwrap();
    assert_replays_nothing(&ring.system_log(0)[log_len..]);
}

/// Scenario 2: a grace period too short for the drain, under a heavy write load. `drain`
/// exits before its deadline, says it was cut short and at which stage, Cassandra gets
/// SIGTERM (its shutdown hook drains what it can, the commit log holds the rest), and no
/// acknowledged write is missing after the restart.
#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn a_grace_period_too_short_cuts_the_drain_short_and_loses_no_acknowledged_write() {
    let _nodes = nodes(1);
    let mut ring = new_ring("drain2");
    ring.spec.grace_period = Duration::from_secs(6);
    ring.start_ready(0, BOOT)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let ip = ring::default_ip(0);
    let nodes = vec![std::net::SocketAddr::new(ip, 9042)];
    let mut spec = ringkeeper_testkit::load::LoadSpec::new(nodes.clone());
    spec.keyspace = "heavy".into();
    spec.replication_factor = 1;
    spec.consistency = scylla::statement::Consistency::One;
    spec.rate = 1000;
    spec.write_share = 0.9;
    spec.payload = 1000;
    let load = ringkeeper_testkit::load::Load::start(Some(ring.netns()), spec).unwrap();
    std::thread::sleep(Duration::from_secs(10));

    let grace = ring.spec.grace_period;
    let margin = Duration::from_secs(2);
    let prestop = PreStop::Ringkeeper(vec!["--exit-margin".into(), "2s".into()]);
    let stop = ring.stop_like_kubelet(0, Some(&prestop), grace).unwrap();
    let hook = stop.hook.as_ref().unwrap();
    eprintln!(
        "cut short ({:?}, pod gone after {:?}, killed {}): {}",
        hook.took, stop.took, stop.killed, hook.stdout
    );
    assert_eq!(hook.code, 3, "{}", hook.stderr);
    assert!(hook.took < grace - margin, "{:?}", hook.took);
    let s = summary(&hook.stdout);
    assert_eq!(s["outcome"], "cut_short", "{s}");
    assert!(s["stage"].is_string(), "{s}");
    assert!(s["sigterm"].as_i64().is_some(), "{s}");
    assert!(hook.stderr.contains("DRAIN CUT SHORT"), "{}", hook.stderr);
    assert!(
        hook.stderr.contains(s["stage"].as_str().unwrap()) || hook.stderr.contains("stage"),
        "{}",
        hook.stderr
    );
    let last = ring
        .entrypoint_log(0)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(last.contains("WITHOUT a clean drain"), "{last}");

    // Back up: every write the clients saw acknowledged is there.
    ring.start(0, ip, &Default::default()).unwrap();
    ring.wait_ready(0, BOOT).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let report = load.stop().unwrap();
    eprintln!(
        "load: {} writes acknowledged, failures {:?}",
        report.acked.len(),
        report.failures
    );
    let missing = ringkeeper_testkit::load::missing_writes(
        Some(ring.netns()),
        &nodes,
        "heavy",
        &report.acked,
        scylla::statement::Consistency::One,
    )
    .unwrap();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes missing",
        missing.len()
    );
}

/// JMX authentication: with it on, nodetool without credentials is refused, and
/// `ringkeeper drain` drains with `--jmx-username` and `--jmx-password-file`.
#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn the_drain_authenticates_to_jmx() {
    use std::os::unix::fs::PermissionsExt;
    let _nodes = nodes(1);
    let mut ring = new_ring("drainjmx");
    let dir = ring.spec.dir.clone();
    let password = dir.join("jmxremote.password");
    let access = dir.join("jmxremote.access");
    std::fs::write(&password, "operator s3cret-jmx\n").unwrap();
    std::fs::write(&access, "operator readwrite\n").unwrap();
    for f in [&password, &access] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let opts = ring::NodeOpts {
        jvm_opts: vec![
            "-Dcom.sun.management.jmxremote.authenticate=true".into(),
            format!(
                "-Dcom.sun.management.jmxremote.password.file={}",
                password.display()
            ),
            format!(
                "-Dcom.sun.management.jmxremote.access.file={}",
                access.display()
            ),
        ],
        ..Default::default()
    };
    let ip = ring::default_ip(0);
    ring.start(0, ip, &opts).unwrap();
    ring.wait_ready(0, BOOT).unwrap();
    assert!(
        ring.nodetool(0, &["netstats"]).is_err(),
        "JMX answered without credentials"
    );
    // The liveness probe's RMI handshake needs no credentials.
    let (code, out, err) = alive(&ring, 0, &["--startup-grace", "0"]);
    assert_eq!((code, out.trim()), (0, "alive"), "{err}");
    assert!(err.contains("answered the JMX (RMI) handshake"), "{err}");
    let hook = ring
        .run_prestop(
            0,
            &PreStop::Ringkeeper(vec![
                "--jmx-username".into(),
                "operator".into(),
                "--jmx-password-file".into(),
                password.display().to_string(),
            ]),
            Duration::from_secs(60),
        )
        .unwrap();
    eprintln!("drain with JMX credentials: {}", hook.stdout);
    assert_eq!(hook.code, 0, "{}", hook.stderr);
    assert_eq!(summary(&hook.stdout)["outcome"], "drained");
    assert!(!hook.stderr.contains("s3cret-jmx"), "{}", hook.stderr);
}
