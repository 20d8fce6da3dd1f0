//! Binary-level tests: the built `ringkeeper` binary, its exit codes and messages.
//! No network, no root.

use std::process::{Command, Output};

fn ringkeeper(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args)
        .envs(env.iter().copied())
        .output()
        .expect("run ringkeeper")
}

/// The binary with `args`, in an environment that holds only PATH.
#[allow(clippy::disallowed_methods)] // The test passes PATH through to a cleared environment.
fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringkeeper"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args);
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const ID: &[&str] = &[
    "--pod-name",
    "cassandra-1",
    "--namespace",
    "db",
    "--pod-ip",
    "10.0.0.2",
];

#[test]
fn help_lists_every_environment_variable() {
    let common = [
        "POD_NAME",
        "HOSTNAME",
        "POD_NAMESPACE",
        "POD_IP",
        "RINGKEEPER_SERVICE",
        "RINGKEEPER_CLUSTER_DOMAIN",
        "RINGKEEPER_SEED_COUNT",
        "RINGKEEPER_REPLICAS",
        "RINGKEEPER_EXTRA_SEEDS",
        "RINGKEEPER_SEED_WAIT",
        "RINGKEEPER_DATA_DIR",
        "RINGKEEPER_LOG",
        "RINGKEEPER_LOG_FORMAT",
        "RINGKEEPER_KUBE_API",
    ];
    let entrypoint_only = [
        "RINGKEEPER_CONF_TEMPLATE",
        "RINGKEEPER_CONF_OUT",
        "CASSANDRA_CLUSTER_NAME",
        "CASSANDRA_DC",
        "CASSANDRA_RACK",
        "RINGKEEPER_EXEC",
    ];
    for (sub, extra) in [("seeds", &[][..]), ("entrypoint", &entrypoint_only[..])] {
        let out = ringkeeper(&[sub, "--help"], &[]);
        assert!(out.status.success(), "{sub} --help");
        let help = String::from_utf8_lossy(&out.stdout);
        for var in common.iter().chain(extra) {
            assert!(
                help.contains(var),
                "`ringkeeper {sub} --help` does not mention {var}:\n{help}"
            );
        }
    }
}

/// Arguments, environment, and the words the error message must contain.
type BadInput<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, Vec<&'a str>);

#[test]
fn bad_input_exits_2_and_names_the_input() {
    let cases: Vec<BadInput> = vec![
        (
            vec!["seeds", "--namespace", "db", "--pod-ip", "10.0.0.2"],
            vec![],
            vec!["--pod-name", "POD_NAME", "HOSTNAME"],
        ),
        (
            vec!["seeds", "--namespace", "db", "--pod-ip", "10.0.0.2"],
            vec![("HOSTNAME", "cassandra")],
            vec!["--pod-name", "\"cassandra\"", "<statefulset>-<ordinal>"],
        ),
        (
            vec!["seeds", "--namespace", "db", "--pod-ip", "10.0.0.2"],
            vec![("POD_NAME", "cassandra-one")],
            vec!["POD_NAME", "\"cassandra-one\""],
        ),
        (
            vec![
                "seeds",
                "--pod-name",
                "cassandra-99999999999",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.2",
            ],
            vec![],
            vec!["--pod-name", "larger than"],
        ),
        (
            vec!["seeds", "--pod-name", "cassandra-1", "--pod-ip", "10.0.0.2"],
            vec![],
            vec!["--namespace", "POD_NAMESPACE"],
        ),
        (
            vec!["seeds", "--pod-name", "cassandra-1", "--namespace", "db"],
            vec![],
            vec!["--pod-ip", "POD_IP"],
        ),
        (
            vec!["seeds", "--pod-name", "cassandra-1", "--namespace", "db"],
            vec![("POD_IP", "10.0.0.256")],
            vec!["--pod-ip", "POD_IP", "\"10.0.0.256\"", "IPv4 or IPv6"],
        ),
        (
            ID.iter()
                .copied()
                .chain(["--seed-count", "three"])
                .collect(),
            vec![],
            vec![
                "--seed-count",
                "RINGKEEPER_SEED_COUNT",
                "\"three\"",
                "1 to 1000",
            ],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_SEED_COUNT", "0")],
            vec!["--seed-count", "RINGKEEPER_SEED_COUNT", "\"0\""],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_SEED_COUNT", "1")],
            vec!["--seed-count", "second cluster", "--replicas 1"],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_REPLICAS", "1")],
            vec!["--replicas", "RINGKEEPER_REPLICAS", "ordinal is 1"],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_SEED_WAIT", "forever")],
            vec!["--seed-wait", "RINGKEEPER_SEED_WAIT", "\"forever\""],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_EXTRA_SEEDS", "ok.example,not valid")],
            vec!["--extra-seeds", "\"not valid\""],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_CLUSTER_DOMAIN", "cluster..local")],
            vec!["--cluster-domain", "RINGKEEPER_CLUSTER_DOMAIN"],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_SERVICE", "Cassandra")],
            vec!["--service", "RINGKEEPER_SERVICE"],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_DATA_DIR", "relative/dir")],
            vec!["--data-dir", "absolute"],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_LOG", "info,=[")],
            vec!["--log-level", "RINGKEEPER_LOG"],
        ),
        (
            ID.to_vec(),
            vec![("RINGKEEPER_KUBE_API", "maybe")],
            vec![
                "--kube-api",
                "RINGKEEPER_KUBE_API",
                "\"maybe\"",
                "auto or off",
            ],
        ),
        (
            ID.iter().copied().chain(["--kube-api", "on"]).collect(),
            vec![],
            vec!["--kube-api", "RINGKEEPER_KUBE_API", "\"on\"", "auto or off"],
        ),
    ];
    for (args, env, needles) in cases {
        let mut argv = args.clone();
        if argv.first() != Some(&"seeds") {
            argv.insert(0, "seeds");
        }
        let out = ringkeeper(&argv, &env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{argv:?} {env:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{argv:?}: stdout must stay empty on errors"
        );
        assert!(!err.contains("panicked"), "{argv:?}: {err}");
        for needle in needles {
            assert!(
                err.contains(needle),
                "{argv:?} {env:?}: {err:?} lacks {needle:?}"
            );
        }
    }
}

#[test]
fn entrypoint_bad_input_exits_2_without_starting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template");
    std::fs::create_dir(&template).unwrap();
    let t = template.to_str().unwrap();
    let out_dir = dir.path().join("out");
    let o = out_dir.to_str().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let marker = dir.path().join("started");
    let touch = format!("touch {}", marker.display());
    let base: Vec<&str> = ["entrypoint"]
        .iter()
        .copied()
        .chain(ID.iter().copied())
        .chain(["--data-dir", d])
        .collect();

    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        // No command after `--` (clap's own usage error, also 2).
        (
            base.iter()
                .copied()
                .chain(["--conf-template", t, "--conf-out", o])
                .collect(),
            vec!["COMMAND"],
        ),
        (
            base.iter()
                .copied()
                .chain([
                    "--conf-template",
                    t,
                    "--conf-out",
                    t,
                    "--",
                    "sh",
                    "-c",
                    &touch,
                ])
                .collect(),
            vec!["--conf-out", "--conf-template", "never edited in place"],
        ),
        (
            base.iter()
                .copied()
                .chain([
                    "--conf-template",
                    t,
                    "--conf-out",
                    o,
                    "--",
                    "sh",
                    "-c",
                    &touch,
                ])
                .collect(),
            vec!["cassandra.yaml", "--conf-template"],
        ),
        (
            base.iter()
                .copied()
                .chain([
                    "--conf-template",
                    t,
                    "--conf-out",
                    o,
                    "--dc",
                    "dc 1",
                    "--",
                    "sh",
                    "-c",
                    &touch,
                ])
                .collect(),
            vec!["--dc", "CASSANDRA_DC", "\"dc 1\""],
        ),
        (
            base.iter()
                .copied()
                .chain([
                    "--conf-template",
                    t,
                    "--conf-out",
                    o,
                    "--topology",
                    "labels",
                    "--",
                    "sh",
                    "-c",
                    &touch,
                ])
                .collect(),
            vec![
                "--topology",
                "RINGKEEPER_TOPOLOGY",
                "\"labels\"",
                "flags or node-labels",
            ],
        ),
        (
            base.iter()
                .copied()
                .chain([
                    "--conf-template",
                    t,
                    "--conf-out",
                    o,
                    "--cluster-name",
                    " ",
                    "--",
                    "sh",
                    "-c",
                    &touch,
                ])
                .collect(),
            vec!["--cluster-name", "CASSANDRA_CLUSTER_NAME"],
        ),
        (
            base.iter()
                .copied()
                .chain([
                    "--conf-template",
                    t,
                    "--conf-out",
                    o,
                    "--memory-limit",
                    "4GB",
                    "--",
                    "sh",
                    "-c",
                    &touch,
                ])
                .collect(),
            vec![
                "--memory-limit",
                "RINGKEEPER_MEMORY_LIMIT",
                "\"4GB\"",
                "4Gi, 4096Mi or 4G",
            ],
        ),
        (
            base.iter()
                .copied()
                .chain([
                    "--conf-template",
                    t,
                    "--conf-out",
                    o,
                    "--memory-limit",
                    "268435456",
                    "--",
                    "sh",
                    "-c",
                    &touch,
                ])
                .collect(),
            vec!["--memory-limit", "\"268435456\"", "at least 512Mi"],
        ),
    ];
    for (args, needles) in cases {
        let out = ringkeeper(&args, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        }
        assert!(!marker.exists(), "{args:?}: the command ran");
    }

    // A template whose state directories lie outside the data volume is refused.
    std::fs::write(
        template.join("cassandra.yaml"),
        "cluster_name: x\ncommitlog_directory: /elsewhere/commitlog\n",
    )
    .unwrap();
    let args: Vec<&str> = base
        .iter()
        .copied()
        .chain([
            "--conf-template",
            t,
            "--conf-out",
            o,
            "--",
            "sh",
            "-c",
            &touch,
        ])
        .collect();
    let out = ringkeeper(&args, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("commitlog_directory") && err.contains("outside the data directory"),
        "{err}"
    );
    // A template without a cluster name and no --cluster-name is refused.
    std::fs::write(template.join("cassandra.yaml"), "num_tokens: 8\n").unwrap();
    let out = ringkeeper(&args, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--cluster-name") && err.contains("CASSANDRA_CLUSTER_NAME"),
        "{err}"
    );
    // Broken YAML names the file.
    std::fs::write(template.join("cassandra.yaml"), "cluster_name: [x\n").unwrap();
    let out = ringkeeper(&args, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cassandra.yaml"), "{}", stderr(&out));
    assert!(!marker.exists());
}

/// The reference's flag table (docs/reference.md) documents every flag `--help` shows, so
/// the two cannot drift.
#[test]
fn the_reference_documents_every_flag() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference.md")).unwrap();
    for sub in [
        "seeds",
        "entrypoint",
        "ready",
        "alive",
        "status",
        "drain",
        "backup create",
        "backup list",
        "backup status",
        "backup verify",
        "backup prune",
        "backup restore-table",
        "backup request",
    ] {
        let args: Vec<&str> = sub.split(' ').chain(["--help"]).collect();
        let help = String::from_utf8(ringkeeper(&args, &[]).stdout).unwrap();
        let flags = help
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '=')
            .filter(|w| {
                w.starts_with("--")
                    && w.len() > 2
                    && w[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-')
            });
        for flag in flags {
            if flag == "--help" || flag == "--version" {
                continue;
            }
            assert!(
                readme.contains(&format!("`{flag}`")),
                "docs/reference.md does not document `{flag}` of `ringkeeper {sub}`"
            );
        }
    }
}

#[test]
fn cql_credential_and_tls_flags_are_validated_without_leaking_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("user");
    let pass = dir.path().join("pass");
    std::fs::write(&user, "probe\n").unwrap();
    std::fs::write(&pass, "s3cr3t-P@ss\n").unwrap();
    let (u, p) = (user.to_str().unwrap(), pass.to_str().unwrap());
    let missing = dir.path().join("nope.pem");
    let m = missing.to_str().unwrap();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["ready", "--cql-username-file", u],
            vec!["--cql-username-file", "--cql-password-file", "together"],
        ),
        (
            vec!["ready", "--cql-cert-file", u, "--cql-key-file", p],
            vec!["--cql-cert-file", "--cql-ca-file"],
        ),
        (
            vec!["ready", "--cql-ca-file", m],
            vec!["--cql-ca-file", "nope.pem"],
        ),
        (
            vec!["ready", "--cql-ca-file", u],
            vec!["--cql-ca-file", "no PEM certificate"],
        ),
        (
            vec!["ready", "--cql-tls-server-name", "cassandra.default.svc"],
            vec!["--cql-tls-server-name", "--cql-ca-file"],
        ),
        (
            vec![
                "ready",
                "--cql-ca-file",
                m,
                "--cql-tls-server-name",
                "bad name!",
            ],
            vec![
                "--cql-tls-server-name",
                "RINGKEEPER_CQL_TLS_SERVER_NAME",
                "\"bad name!\"",
                "DNS name",
            ],
        ),
        (
            vec!["ready", "--cql-port", "70000"],
            vec!["--cql-port", "RINGKEEPER_CQL_PORT", "\"70000\""],
        ),
        (
            vec!["ready", "--timeout", "0s"],
            vec!["--timeout", "RINGKEEPER_READY_TIMEOUT"],
        ),
        (
            vec!["ready", "--host", "node-0"],
            vec!["--host", "\"node-0\""],
        ),
        (
            ID.iter()
                .copied()
                .chain(["--replace-address", "cassandra-0.cassandra"])
                .collect(),
            vec![
                "--replace-address",
                "RINGKEEPER_REPLACE_ADDRESS",
                "not a DNS name",
            ],
        ),
    ];
    for (args, needles) in cases {
        let mut argv = args.clone();
        if argv[0] != "ready" {
            argv.insert(0, "seeds");
        }
        let out = ringkeeper(&argv, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {err}");
        assert!(
            !err.contains("s3cr3t"),
            "{argv:?}: the password leaked: {err}"
        );
        for needle in needles {
            assert!(err.contains(needle), "{argv:?}: {err:?} lacks {needle:?}");
        }
    }
    // Credentials that cannot be used because nothing answers: "not ready", no secret.
    let out = ringkeeper(
        &[
            "ready",
            "--host",
            "127.0.0.1",
            "--cql-port",
            "1",
            "--cql-username-file",
            u,
            "--cql-password-file",
            p,
            "--timeout",
            "1s",
        ],
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("ringkeeper: not ready:") && !err.contains("s3cr3t"),
        "{err}"
    );
}

#[test]
fn drain_flags_are_validated() {
    /// Arguments, environment, what the message must name.
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            vec!["drain", "--grace-period", "soon"],
            vec![],
            vec![
                "--grace-period",
                "RINGKEEPER_GRACE_PERIOD",
                "\"soon\"",
                "30s",
            ],
        ),
        (
            vec!["drain"],
            vec![
                ("RINGKEEPER_GRACE_PERIOD", "5s"),
                ("RINGKEEPER_EXIT_MARGIN", "5s"),
            ],
            vec!["--grace-period", "--exit-margin", "no time to drain"],
        ),
        (
            vec!["drain", "--client-wait", "2 minutes"],
            vec![],
            vec!["--client-wait", "RINGKEEPER_CLIENT_WAIT", "\"2 minutes\""],
        ),
        (
            vec![
                "seeds",
                "--pod-name",
                "cassandra-1",
                "--pod-ip",
                "10.0.0.2",
                "--namespace",
                "db",
                "--replace-after-down",
                "10s",
            ],
            vec![],
            vec![
                "--replace-after-down",
                "RINGKEEPER_REPLACE_AFTER_DOWN",
                "\"10s\"",
                "from 30s to 1h",
            ],
        ),
        (
            vec!["drain", "--scale-down-settle", "an hour"],
            vec![],
            vec![
                "--scale-down-settle",
                "RINGKEEPER_SCALE_DOWN_SETTLE",
                "\"an hour\"",
                "at most 600s",
            ],
        ),
        (
            vec!["drain", "--jmx-port", "0"],
            vec![],
            vec!["--jmx-port", "RINGKEEPER_JMX_PORT", "\"0\"", "1 to 65535"],
        ),
        (
            vec!["drain", "--jmx-username", "cassandra"],
            vec![],
            vec!["--jmx-username", "--jmx-password-file", "together"],
        ),
        (
            vec!["drain", "--jmx-host", "not a host"],
            vec![],
            vec!["--jmx-host", "RINGKEEPER_JMX_HOST", "\"not a host\""],
        ),
        (
            vec!["drain", "--run-dir", "run"],
            vec![],
            vec!["--run-dir", "RINGKEEPER_RUN_DIR", "absolute"],
        ),
        (
            vec!["ready", "--run-dir", "run"],
            vec![],
            vec!["--run-dir", "absolute"],
        ),
        (
            vec!["drain", "--host", "localhost"],
            vec![],
            vec!["--host", "POD_IP", "\"localhost\""],
        ),
        (
            vec!["drain", "--kube-api", "no"],
            vec![],
            vec!["--kube-api", "RINGKEEPER_KUBE_API", "\"no\""],
        ),
    ];
    for (args, env, expected) in cases {
        let out = ringkeeper(&args, &env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for e in expected {
            assert!(err.contains(e), "{args:?}: {err:?} lacks {e:?}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Without a node, without nodetool and without a recorded process, `drain` still ends
/// at once with a summary that says why nothing was drained (exit 4), and `ready` says
/// "draining" from then on without asking any node.
#[test]
fn a_drain_with_nothing_to_reach_says_so_and_the_pod_turns_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    let started = std::time::Instant::now();
    let out = ringkeeper(
        &[
            "drain",
            "--run-dir",
            run,
            "--nodetool",
            "/nonexistent/nodetool",
            "--cql-port",
            "1",
            "--grace-period",
            "10s",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["outcome"], "not_drained", "{summary}");
    let why = summary["why"].as_str().unwrap();
    assert!(why.contains("--nodetool"), "{why}");
    assert!(why.contains("nothing can be signalled"), "{why}");
    let out = ringkeeper(&["ready", "--run-dir", run, "--cql-port", "1"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("draining"), "{}", stderr(&out));
}

/// `alive`'s bad input: each value names its flag, its variable and what is valid.
#[test]
fn alive_bad_input_exits_2_and_names_the_input() {
    let cases: Vec<BadInput> = vec![
        (
            vec!["alive", "--timeout", "0s"],
            vec![],
            vec!["--timeout", "RINGKEEPER_ALIVE_TIMEOUT", "\"0s\"", "above 0"],
        ),
        (
            vec!["alive"],
            vec![("RINGKEEPER_STARTUP_GRACE", "forever")],
            vec!["--startup-grace", "RINGKEEPER_STARTUP_GRACE", "\"forever\""],
        ),
        (
            vec!["alive", "--jmx-port", "70000"],
            vec![],
            vec!["--jmx-port", "RINGKEEPER_JMX_PORT", "1 to 65535"],
        ),
        (
            vec!["alive", "--run-dir", "relative"],
            vec![],
            vec!["--run-dir", "absolute"],
        ),
    ];
    for (argv, env, needles) in cases {
        let out = ringkeeper(&argv, &env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{argv:?} {env:?}: {err}");
        assert!(out.stdout.is_empty(), "{argv:?}");
        for needle in needles {
            assert!(err.contains(needle), "{argv:?}: {err:?} lacks {needle:?}");
        }
    }
}

/// This test process as the run directory's record would name it: pid, start time
/// (clock ticks since boot, field 22 of /proc/self/stat) and parent.
fn own_process_record(start_offset: u64) -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let pid: i32 = stat.split_whitespace().next().unwrap().parse().unwrap();
    let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    let ppid: i32 = rest[1].parse().unwrap();
    let start: u64 = rest[19].parse().unwrap();
    format!(
        r#"{{"pid":{pid},"start_ticks":{},"ppid":{ppid}}}"#,
        start + start_offset
    )
}

/// `alive` from the run directory and the JMX handshake, with a fake JMX (JRMP) server:
/// alive while nothing is started, while draining, within the startup grace, and when
/// the JVM answers; not alive when the process is gone or JMX does not answer.
#[test]
fn alive_answers_from_the_run_dir_and_the_rmi_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap().to_owned();
    let alive = |extra: &[&str]| {
        let mut argv = vec!["alive", "--run-dir", &run_s];
        argv.extend(extra);
        let out = ringkeeper(&argv, &[]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), text, stderr(&out))
    };
    let check = |extra: &[&str], code: i32, part: &str| {
        let (got, out, err) = alive(extra);
        assert_eq!(got, Some(code), "{extra:?}: {err}");
        assert_eq!(
            out.trim(),
            if code == 0 { "alive" } else { "" },
            "{extra:?}"
        );
        assert!(err.contains(part), "{extra:?}: {err:?} lacks {part:?}");
    };
    check(&[], 1, "does not exist");
    std::fs::create_dir(&run).unwrap();
    check(&[], 0, "alive: waiting to start Cassandra");

    // The recorded process is gone (its PID now has another start time).
    std::fs::write(run.join("cassandra.pid"), own_process_record(1)).unwrap();
    check(&[], 1, "has exited");
    // While a drain runs, alive whatever else.
    std::fs::write(run.join("draining"), "{}").unwrap();
    check(&[], 0, "draining");
    std::fs::remove_file(run.join("draining")).unwrap();

    // The recorded process runs (this test), just started: within the grace.
    std::fs::write(run.join("cassandra.pid"), own_process_record(0)).unwrap();
    check(&[], 0, "starting");
    // Past the grace, JMX must answer: nothing listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    check(
        &["--startup-grace", "0", "--jmx-port", &closed],
        1,
        "connection refused",
    );
    // A JVM's RMI transport answers the handshake with ProtocolAck, host and port.
    let jmx = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = jmx.local_addr().unwrap().port().to_string();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = jmx.accept().unwrap();
        let mut hello = [0u8; 7];
        s.read_exact(&mut hello).unwrap();
        s.write_all(&[0x4e, 0, 9]).unwrap();
        s.write_all(b"127.0.0.1").unwrap();
        s.write_all(&40000i32.to_be_bytes()).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        hello
    });
    check(
        &["--startup-grace", "0", "--jmx-port", &port],
        0,
        "answered the JMX (RMI) handshake",
    );
    assert_eq!(&server.join().unwrap(), b"JRMI\x00\x02\x4b");
}

/// Outside a pod (no `KUBERNETES_SERVICE_HOST`, no service-account token) every command
/// works as before and says once, at info, what it goes without; `--kube-api off` says
/// so instead. A bad pod name costs the drain its Events, never the drain.
#[test]
fn without_the_kubernetes_api_the_drain_says_so_once_and_drains_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    let drain = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "drain",
            "--run-dir",
            run,
            "--nodetool",
            "/nonexistent/nodetool",
            "--cql-port",
            "1",
        ];
        args.extend_from_slice(extra);
        std::fs::remove_dir_all(run).ok();
        let out = ringkeeper(&args, env);
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        stderr(&out)
    };
    let pod = [("POD_NAME", "cassandra-0"), ("POD_NAMESPACE", "db")];
    /// Extra arguments, environment, the reason the log line must give.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: Vec<Case> = vec![
        (&[], &pod, "not in a pod"),
        (&["--kube-api", "off"], &pod, "--kube-api off"),
        (&[], &[("RINGKEEPER_KUBE_API", "off")], "--kube-api off"),
        (&[], &[], "no pod to publish Events on: no pod name"),
        (
            &["--pod-name", "Not/A/Pod", "--namespace", "db"],
            &[],
            "is not a pod name",
        ),
    ];
    for (extra, env, why) in cases {
        let err = drain(extra, env);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("not learned from the Kubernetes API"))
            .collect();
        assert_eq!(lines.len(), 1, "{extra:?}: {err}");
        assert!(
            lines[0].contains(why) && lines[0].contains("no Events"),
            "{err}"
        );
        assert!(lines[0].contains("INFO"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// `entrypoint` for pod cassandra-1 of cluster `c` without the Kubernetes API, on a data
/// directory under `dir`: the arguments, the data directory, and the file the "Cassandra"
/// command touches when it is started.
fn entrypoint_on_a_volume(
    dir: &std::path::Path,
) -> (Vec<String>, std::path::PathBuf, std::path::PathBuf) {
    let template = dir.join("template");
    std::fs::create_dir(&template).unwrap();
    std::fs::write(template.join("cassandra.yaml"), "cluster_name: c\n").unwrap();
    let data = dir.join("data");
    let started = dir.join("started");
    let p = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let mut args: Vec<String> = ["--kube-api", "off", "entrypoint"]
        .iter()
        .chain(ID)
        .map(|a| (*a).to_owned())
        .collect();
    args.extend([
        "--data-dir".into(),
        p(&data),
        "--conf-template".into(),
        p(&template),
        "--conf-out".into(),
        p(&dir.join("out")),
        "--run-dir".into(),
        p(&dir.join("run")),
        "--".into(),
        "sh".into(),
        "-c".into(),
        format!("touch {}", started.display()),
    ]);
    (args, data, started)
}

#[test]
fn an_unfinished_replace_is_never_restarted_as_a_plain_join() {
    let dir = tempfile::tempdir().unwrap();
    let (owned, data, started) = entrypoint_on_a_volume(dir.path());
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let marker = data.join("ringkeeper-replacing");
    // What a replace cut short mid-stream leaves: partial system tables, no join record.
    std::fs::create_dir_all(data.join("data/system/local-1")).unwrap();
    std::fs::write(data.join("data/system/local-1/nb-1-big-Data.db"), "x").unwrap();

    // An unreadable marker: a person must look.
    std::fs::write(&marker, "not json").unwrap();
    let out = ringkeeper(&args, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("a person must act:") && err.contains("cannot be read"),
        "{err}"
    );

    // A readable one, and no ring to ask: the pod waits, not ready; nothing is cleared,
    // and Cassandra is not started as a plain bootstrap.
    std::fs::write(&marker, r#"{"address":"10.0.0.7","started_at":1700000000}"#).unwrap();
    let mut child = command(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(
        marker.exists() && data.join("data/system/local-1/nb-1-big-Data.db").exists(),
        "{err}"
    );
    assert!(
        err.contains("waiting to start cassandra (not ready)")
            && err.contains("did not finish")
            && err.contains("10.0.0.7"),
        "{err}"
    );
    assert!(!started.exists(), "cassandra was started");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_decommissioned_volume_never_starts_cassandra_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (owned, data, started) = entrypoint_on_a_volume(dir.path());
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let marker = data.join("ringkeeper-decommissioned");
    let volume = |cluster: &str| {
        let _ = std::fs::remove_dir_all(&data);
        for sub in ["data/system/local-1", "commitlog", "hints", "saved_caches"] {
            std::fs::create_dir_all(data.join(sub)).unwrap();
        }
        std::fs::write(data.join("data/system/local-1/nb-1-big-Data.db"), "x").unwrap();
        std::fs::write(data.join("commitlog/CommitLog-7-1.log"), "x").unwrap();
        std::fs::write(
            &marker,
            format!(
                r#"{{"host_id":"6f1c2f4e-0000-4000-8000-000000000001","cluster_name":"{cluster}","address":"10.0.0.2","decommissioned_at":1700000000}}"#
            ),
        )
        .unwrap();
    };

    // Another cluster's marker: a person must look; nothing is touched.
    volume("other");
    let out = ringkeeper(&args, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("ringkeeper: a person must act:"), "{err}");
    for s in [
        "decommissioned",
        "6f1c2f4e-0000-4000-8000-000000000001",
        "PersistentVolumeClaim",
    ] {
        assert!(err.contains(s), "{s}: {err}");
    }
    assert!(!started.exists(), "cassandra was started");
    assert!(marker.exists() && data.join("commitlog/CommitLog-7-1.log").exists());

    // A marker without a cluster name, or copied onto a volume whose join record names
    // another node: a person must look; nothing is touched.
    volume("c");
    std::fs::write(
        &marker,
        r#"{"host_id":"6f1c2f4e-0000-4000-8000-000000000001","address":"10.0.0.2","decommissioned_at":1700000000}"#,
    )
    .unwrap();
    let out = ringkeeper(&args, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("names no cluster"), "{err}");
    volume("c");
    std::fs::write(
        data.join("ringkeeper-joined"),
        "host_id=6f1c2f4e-0000-4000-8000-000000000009\n",
    )
    .unwrap();
    let out = ringkeeper(&args, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("join record names another node")
            && err.contains("6f1c2f4e-0000-4000-8000-000000000009"),
        "{err}"
    );
    assert!(marker.exists() && data.join("commitlog/CommitLog-7-1.log").exists());

    // A hints directory whose real path leaves the volume: refused, naming it.
    volume("c");
    std::fs::remove_dir(data.join("hints")).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, data.join("hints")).unwrap();
    let out = ringkeeper(&args, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("hints_directory")
            && err.contains("elsewhere")
            && err.contains("nothing was deleted"),
        "{err}"
    );
    std::fs::remove_file(data.join("hints")).unwrap();

    // This cluster's node, but no ring to ask (no other pod answers): the pod waits, not
    // ready, and the volume is never cleared (the ring must confirm that the node left;
    // the clear itself is shown on real nodes in tests/kube_scale_down.rs).
    volume("c");
    let snapshot = data.join("data/app/dropped-1/snapshots/dropped-1/nb-1-big-Data.db");
    std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
    std::fs::write(&snapshot, "the only copy").unwrap();
    let mut child = command(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(marker.exists(), "{err}");
    assert!(
        data.join("data/system/local-1/nb-1-big-Data.db").exists()
            && data.join("commitlog/CommitLog-7-1.log").exists()
            && std::fs::read_to_string(&snapshot).unwrap() == "the only copy",
        "{err}"
    );
    assert!(
        err.contains("waiting to start cassandra (not ready)")
            && err.contains("no other member of this set answers"),
        "{err}"
    );
    assert!(!started.exists(), "cassandra was started");
    assert!(!err.contains("panicked"), "{err}");

    // The drain's --data-dir is checked like the entrypoint's.
    let out = ringkeeper(&["drain", "--data-dir", "relative/data"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--data-dir") && err.contains("RINGKEEPER_DATA_DIR"),
        "{err}"
    );
}

/// `backup`'s bad input exits 2 naming the input and what is valid, before any store or
/// node is touched; an empty store lists nothing; an unknown backup is named.
#[test]
fn backup_input_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["backup", "--store", "backups", "list"],
            "invalid --store (env RINGKEEPER_BACKUP_STORE) value \"backups\": expected an absolute path",
        ),
        (
            &["backup", "--store", "s3://A", "list"],
            "\"A\" is not a bucket name",
        ),
        (
            &["backup", "--store", store, "status", "Nightly_1"],
            "\"Nightly_1\" is not a backup name: expected 1 to 63 lowercase letters",
        ),
        (
            &[
                "backup",
                "--store",
                store,
                "create",
                "n1",
                "--pod-name",
                "cassandra-0",
                "--max-rate",
                "5TB",
            ],
            "invalid --max-rate (env RINGKEEPER_BACKUP_MAX_RATE) value \"5TB\"",
        ),
        (
            &[
                "backup",
                "--store",
                store,
                "create",
                "n1",
                "--pod-name",
                "cassandra-0",
                "--data-dir",
                "data",
            ],
            "invalid --data-dir (env RINGKEEPER_DATA_DIR) value \"data\": expected an absolute path",
        ),
        (
            &["backup", "--store", store, "status", "nope"],
            "no backup named \"nope\" in the store",
        ),
    ];
    for (args, want) in cases {
        let out = ringkeeper(args, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = ringkeeper(
        &["backup", "--store", store, "list", "--format", "json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let mut args = vec!["entrypoint", "--restore-backup", "Bad"];
    args.extend(ID);
    args.extend(["--", "cassandra", "-f"]);
    let out = ringkeeper(&args, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("invalid --restore-backup (env RINGKEEPER_RESTORE_BACKUP)"),
        "{err}"
    );
}
