//! The load generator (`ringkeeper_testkit::load`) against one real Cassandra node started
//! by `ringkeeper entrypoint`: clean while the node is up, and failures counted by kind
//! (not a panic) when the node is stopped under load. Needs root, Java 17 and the
//! cassandra-all jars: run through `scripts/test`.

#![allow(clippy::print_stderr)] // The reports, for the test log.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ringkeeper_testkit::load::{Load, LoadSpec, missing_writes};
use ringkeeper_testkit::ring::{self, Ring, RingSpec};
use scylla::statement::Consistency;

const CASSANDRA: &str = "5.0.8";
const BOOT: Duration = Duration::from_secs(240);

/// Every label `load::failure_kind` can give, besides `other:...`.
const KINDS: &[&str] = &[
    "unavailable",
    "overloaded",
    "is_bootstrapping",
    "read_timeout",
    "write_timeout",
    "read_failure",
    "write_failure",
    "server_error",
    "client_timeout",
    "broken_connection",
    "no_connection",
    "empty_plan",
    "no_stream_id",
    "read_missing",
];

#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn load_is_clean_on_a_live_node_and_counts_failures_by_kind_when_it_stops() {
    // One of the machine's three Cassandra nodes, shared with the other test files.
    let _nodes = ringkeeper_testkit::node_budget::reserve(1);
    let started = Instant::now();
    let cassandra = ring::Cassandra::fetch(CASSANDRA).expect("cassandra jars and a JDK");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ring-load");
    let _ = std::fs::remove_dir_all(&dir);
    let spec = RingSpec::new(
        dir,
        "rkr-load",
        env!("CARGO_BIN_EXE_ringkeeper").into(),
        cassandra,
    );
    let mut ring = Ring::create(spec).expect("ring (run as root)");
    ring.start_ready(0, BOOT)
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("node up after {:?}", started.elapsed());

    let node: SocketAddr = (ring::default_ip(0), 9042).into();
    let spec = LoadSpec {
        replication_factor: 1,
        consistency: Consistency::One,
        rate: 200,
        ..LoadSpec::new(vec![node])
    };
    let load = Load::start(Some(ring.netns()), spec)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", ring.logs_tail(0)));
    std::thread::sleep(Duration::from_secs(10));
    let healthy = load.snapshot();
    eprintln!(
        "healthy: {}",
        serde_json::to_string(&healthy).expect("report as JSON")
    );
    assert_eq!(healthy.failed(), 0, "{healthy:?}");
    // 200/s for 10 s, half writes: about 1000 of each.
    assert!(
        healthy.writes_ok > 700 && healthy.reads_ok > 700,
        "{healthy:?}"
    );
    assert!(healthy.longest_gap < Duration::from_secs(1), "{healthy:?}");
    let check = Instant::now();
    let missing = missing_writes(
        Some(ring.netns()),
        &[node],
        "load",
        &healthy.acked,
        Consistency::One,
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(missing, Vec::<i64>::new());
    eprintln!(
        "{} acknowledged writes read back in {:?}",
        healthy.acked.len(),
        check.elapsed()
    );

    cli_runs_and_checks(&ring, node);

    // The only node stops (SIGTERM, as the kubelet does) while the load runs.
    let stopping = Instant::now();
    let status = ring
        .stop(0, Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("node stopped ({status}) in {:?}", stopping.elapsed());
    std::thread::sleep(Duration::from_secs(5));
    let report = load.stop().unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "after the stop: {} failures {:?}, longest gap {:?}, not issued {}; timeline ({} entries) starts {:?}",
        report.failed(),
        report.failures,
        report.longest_gap,
        report.not_issued,
        report.failure_timeline.len(),
        &report.failure_timeline[..report.failure_timeline.len().min(5)]
    );
    assert!(report.failed() > 0, "{report:?}");
    for kind in report.failures.keys() {
        assert!(
            KINDS.contains(&kind.as_str()) || kind.starts_with("other:"),
            "unknown failure kind {kind}"
        );
    }
    assert!(
        report.longest_gap >= Duration::from_secs(5) && report.longest_gap > healthy.longest_gap,
        "{report:?}"
    );
    assert!(report.writes_ok >= healthy.writes_ok);
    assert!(!report.failure_timeline.is_empty());
    eprintln!("test done in {:?}", started.elapsed());
}

/// `rk-testkit load` (what a benchmark script runs): for a duration with `--check` and
/// `--out`, and until SIGINT; both print the JSON report.
fn cli_runs_and_checks(ring: &Ring, node: SocketAddr) {
    // Built with the workspace (scripts/test), next to the ringkeeper binary.
    let testkit =
        std::path::Path::new(env!("CARGO_BIN_EXE_ringkeeper")).with_file_name("rk-testkit");
    assert!(
        testkit.exists(),
        "{} not built (cargo build --workspace)",
        testkit.display()
    );
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("load-report.json");
    let _ = std::fs::remove_file(&out);
    let args = |duration: &str| {
        let mut cmd = std::process::Command::new(&testkit);
        cmd.args([
            "load",
            "--netns",
            &ring.netns().name,
            "--nodes",
            &node.to_string(),
        ])
        .args([
            "--rate",
            "100",
            "--consistency",
            "one",
            "--replication-factor",
            "1",
        ])
        .args(["--duration", duration])
        .stdout(std::process::Stdio::piped());
        cmd
    };
    let run = args("3s")
        .arg("--check")
        .arg("--out")
        .arg(&out)
        .output()
        .expect("rk-testkit load");
    assert!(run.status.success(), "{run:?}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON on stdout");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("--out file")).unwrap();
    assert_eq!(report, file);
    assert_eq!(report["missing"], 0, "{report}");
    assert_eq!(report["failures"], serde_json::json!({}), "{report}");
    assert!(report["writes_ok"].as_u64().unwrap() > 100, "{report}");
    eprintln!("rk-testkit load --duration 3s --check: {report}");

    // Until SIGINT (sent by PID to the child this test started).
    let child = args("10m").spawn().expect("rk-testkit load");
    std::thread::sleep(Duration::from_secs(5));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let run = child.wait_with_output().unwrap();
    assert!(run.status.success(), "{run:?}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON on stdout");
    assert!(report.get("missing").is_none(), "{report}");
    let duration = report["duration"].as_f64().unwrap();
    assert!(duration > 1.0 && duration < 10.0, "{report}");
}
