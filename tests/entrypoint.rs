//! `ringkeeper entrypoint` as a process: what it renders, what it runs (and refuses to
//! run), signals, and reaping as PID 1. The "Cassandra" here is a shell script, so the
//! checks are about the wrapper; tests/ring.rs runs it with real Cassandra. Needs root
//! (network namespaces, a PID namespace): run through `scripts/test`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ringkeeper_testkit::dns::Answer;
use ringkeeper_testkit::pod::Pod;

const RK: &str = env!("CARGO_BIN_EXE_ringkeeper");
const FQDN0: &str = "cassandra-0.cassandra.default.svc.cluster.local";

fn template() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cassandra/conf")
        .display()
        .to_string()
}

/// `entrypoint` for ordinal 1 at 127.0.0.12, rendering into `out`.
fn entrypoint(pod: &Pod, out: &Path, extra: &[&str], command: &[&str]) -> Command {
    let mut cmd = pod.ringkeeper(RK, "entrypoint");
    cmd.args([
        "--pod-name",
        "cassandra-1",
        "--namespace",
        "default",
        "--pod-ip",
        "127.0.0.12",
    ])
    .args([
        "--conf-template",
        &template(),
        "--conf-out",
        out.to_str().unwrap(),
    ])
    .args(["--run-dir", pod.run.path().to_str().unwrap()])
    .args(extra)
    .arg("--")
    .args(command);
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn snapshot(dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
#[ignore = "needs root (network namespaces) and a real DNS server: run scripts/test"]
fn renders_the_config_and_runs_the_command_with_its_status() {
    let pod = Pod::new("render", "default", "cluster.local");
    pod.give_data(); // restart: no live ring needed
    pod.set(FQDN0, &["127.0.0.11"]);
    let out_dir = tempfile::tempdir().unwrap();
    let before = snapshot(&template());
    let script = "echo CONF=$CASSANDRA_CONF; echo HEAP=$MAX_HEAP_SIZE/$HEAP_NEWSIZE; cat \"$CASSANDRA_CONF/cassandra.yaml\" \"$CASSANDRA_CONF/cassandra-rackdc.properties\"; exit 7";
    for exec in [false, true] {
        let mut extra = vec![
            "--cluster-name",
            "prod-ring",
            "--dc",
            "east",
            "--rack",
            "r2",
            "--memory-limit",
            "4Gi",
        ];
        if exec {
            extra.push("--exec");
        }
        let out = entrypoint(&pod, out_dir.path(), &extra, &["sh", "-c", script])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(7), "exec={exec}: {stderr}");
        assert!(
            stdout.contains(&format!("CONF={}", out_dir.path().display())),
            "{stdout}"
        );
        let seeds_line = stdout
            .lines()
            .find(|l| l.contains("seeds:"))
            .unwrap_or_default();
        assert_eq!(
            seeds_line
                .split("seeds:")
                .nth(1)
                .map(|v| v.trim().trim_matches('"')),
            Some("127.0.0.11,127.0.0.12"),
            "{stdout}"
        );
        assert!(stdout.contains("cluster_name: prod-ring"), "{stdout}");
        assert!(
            stdout.contains("listen_address: \"127.0.0.12\""),
            "{stdout}"
        );
        assert!(stdout.contains("dc=east\nrack=r2"), "{stdout}");
        assert!(stderr.contains("boot decision"), "{stderr}");
        // Half the 4 GiB limit; young generation min(100 MiB per core, 512 MiB).
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let new = (100 * cores).min(512);
        assert!(stdout.contains(&format!("HEAP=2048M/{new}M")), "{stdout}");
        assert!(stderr.contains("heap from --memory-limit"), "{stderr}");
    }
    // MAX_HEAP_SIZE in the environment wins (and HEAP_NEWSIZE is left as it is).
    let out = entrypoint(
        &pod,
        out_dir.path(),
        &["--memory-limit", "4Gi"],
        &["sh", "-c", script],
    )
    .env("MAX_HEAP_SIZE", "1G")
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stdout.contains("HEAP=1G/\n"), "{stdout}");
    assert!(
        stderr.contains("MAX_HEAP_SIZE from the environment wins"),
        "{stderr}"
    );
    // The template is never modified, and the other template files were copied.
    assert_eq!(snapshot(&template()), before);
    assert!(out_dir.path().join("logback.xml").exists());
}

#[test]
#[ignore = "needs root (network namespaces) and a real DNS server: run scripts/test"]
fn waits_without_a_safe_seed_list_and_never_runs_the_command() {
    let pod = Pod::new("refuse", "default", "cluster.local");
    pod.otherwise(Answer::NxDomain);
    // A join record left over from a wiped node vouches for nothing: it is removed.
    let stale_record = pod.data.path().join("ringkeeper-joined");
    std::fs::write(&stale_record, "host_id=gone\n").unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("entrypoint.log");
    let marker = out_dir.path().join("cassandra-ran");
    // No other pod exists yet: other pods coming up can end this, so the entrypoint keeps
    // waiting after --seed-wait (no exit, no restart by the kubelet), reporting the wait.
    let mut child = entrypoint(
        &pod,
        out_dir.path(),
        &["--seed-wait", "1s"],
        &["touch", marker.to_str().unwrap()],
    )
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(&log).unwrap())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("still waiting to start cassandra") {
            break text;
        }
        assert!(Instant::now() < deadline, "no wait report: {text}");
        assert!(child.try_wait().unwrap().is_none(), "exited: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        text.contains(FQDN0)
            && text.contains("NXDOMAIN")
            && text.contains("publishNotReadyAddresses"),
        "{text}"
    );
    // Past the seed wait, it is still there, and still has not run the command.
    std::thread::sleep(Duration::from_secs(6));
    assert!(child.try_wait().unwrap().is_none(), "exited");
    assert!(
        !marker.exists(),
        "the command ran although no seed list was safe"
    );
    assert!(!stale_record.exists(), "stale join record kept: {text}");
    assert!(
        !out_dir.path().join("cassandra.yaml").exists(),
        "config rendered for a refused boot"
    );
    // SIGTERM while waiting stops it (the kubelet deleting the pod).
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("cassandra was not started: a person must act"),
        "{text}"
    );
}

#[test]
#[ignore = "needs root (network namespaces) and a real DNS server: run scripts/test"]
fn sigterm_while_waiting_for_seeds_stops_without_starting_cassandra() {
    let pod = Pod::new("termwait", "default", "cluster.local");
    pod.otherwise(Answer::NxDomain);
    let out_dir = tempfile::tempdir().unwrap();
    let marker = out_dir.path().join("cassandra-ran");
    let child = entrypoint(
        &pod,
        out_dir.path(),
        &["--seed-wait", "60s"],
        &["touch", marker.to_str().unwrap()],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let start = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert!(!marker.exists());
}

#[test]
#[ignore = "needs root (network and PID namespaces) and a real DNS server: run scripts/test"]
fn as_pid_1_it_reaps_orphans_and_forwards_sigterm() {
    let pod = Pod::new("pid1", "default", "cluster.local");
    pod.give_data();
    pod.set(FQDN0, &["127.0.0.11"]);
    let out_dir = tempfile::tempdir().unwrap();
    // "Cassandra" orphans a short-lived grandchild (which PID 1 must reap), then waits for
    // SIGTERM and exits 42.
    let script = "trap 'exit 42' TERM; (sleep 0.2 &); while :; do sleep 0.1; done";
    let mut cmd = pod.netns.command("unshare");
    cmd.args([
        "--pid",
        "--fork",
        "--kill-child",
        RK,
        "--log-format",
        "json",
        "entrypoint",
    ])
    .args(["--data-dir", pod.data.path().to_str().unwrap()])
    .args([
        "--pod-name",
        "cassandra-1",
        "--namespace",
        "default",
        "--pod-ip",
        "127.0.0.12",
    ])
    .args([
        "--conf-template",
        &template(),
        "--conf-out",
        out_dir.path().to_str().unwrap(),
    ])
    .args(["--run-dir", pod.run.path().to_str().unwrap()])
    .args(["--", "sh", "-c", script])
    .env_clear()
    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let unshare = cmd.spawn().unwrap();
    // ringkeeper is unshare's child (PID 1 in the new namespace); find its host PID.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid1 = loop {
        let children =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id()))
                .unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            break pid.parse::<i32>().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "ringkeeper did not start under unshare"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_secs(2));
    kill(Pid::from_raw(pid1), Signal::SIGTERM).unwrap();
    let out = unshare.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(42), "{log}");
    assert!(log.contains("\"pid1\":true"), "{log}");
    assert!(
        log.contains("reaped orphaned process"),
        "orphan not reaped: {log}"
    );
    // No preStop drain ran: the entrypoint drains first. There is no nodetool here, so
    // the drain says so, and "Cassandra" gets SIGTERM; the shutdown is not called clean.
    assert!(log.contains("draining first"), "{log}");
    assert!(log.contains("cannot run nodetool"), "{log}");
    assert!(log.contains("sending SIGTERM to cassandra"), "{log}");
    assert!(log.contains("WITHOUT a clean drain"), "{log}");
    assert!(log.contains("\"exit_code\":42"), "{log}");
}
