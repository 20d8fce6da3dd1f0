use super::*;
use clap::Parser;

fn seeds_config(args: &[&str], inputs: &Inputs) -> Result<SeedsConfig, ConfigError> {
    let mut argv = vec!["ringkeeper", "seeds"];
    argv.extend_from_slice(args);
    let cli = crate::cli::Cli::try_parse_from(argv).expect("clap accepts the shape");
    let crate::cli::Command::Seeds(args) = cli.command else {
        unreachable!()
    };
    SeedsConfig::from_args(args, inputs)
}

const BASE: &[&str] = &[
    "--pod-name",
    "cass-dc1-2",
    "--namespace",
    "db",
    "--pod-ip",
    "10.0.0.3",
];

fn with(extra: &[&str]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = BASE.to_vec();
    for e in extra {
        v.push(Box::leak(e.to_string().into_boxed_str()));
    }
    v
}

#[test]
fn identity_defaults() {
    let cfg = seeds_config(BASE, &Inputs::default()).unwrap();
    assert_eq!(
        cfg.identity.pod,
        PodName {
            set: "cass-dc1".into(),
            ordinal: 2
        }
    );
    assert_eq!(cfg.identity.service, "cass-dc1");
    assert_eq!(cfg.identity.cluster_domain, "cluster.local");
    assert_eq!(cfg.seeding.seed_count, 3);
    assert_eq!(cfg.seeding.wait, Duration::from_secs(60));
    let names: Vec<String> = cfg
        .seeding
        .candidates(&cfg.identity)
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        [
            "cass-dc1-0.cass-dc1.db.svc.cluster.local",
            "cass-dc1-1.cass-dc1.db.svc.cluster.local",
            "cass-dc1-2.cass-dc1.db.svc.cluster.local"
        ]
    );
}

#[test]
fn one_seed_candidate_only_for_a_one_node_cluster() {
    let args = |extra: &[&'static str]| -> Vec<&'static str> {
        BASE.iter()
            .map(|a| if *a == "cass-dc1-2" { "cass-dc1-0" } else { a })
            .chain(extra.iter().copied())
            .collect()
    };
    let ok = seeds_config(
        &args(&["--seed-count", "1", "--replicas", "1"]),
        &Inputs::default(),
    );
    assert_eq!(ok.unwrap().seeding.seed_count, 1);
    for extra in [
        &["--seed-count", "1"][..],
        &["--seed-count", "1", "--replicas", "3"],
    ] {
        let err = seeds_config(&args(extra), &Inputs::default()).unwrap_err();
        assert!(err.0.contains("second cluster"), "{extra:?}: {}", err.0);
    }
}

#[test]
fn fallbacks_from_inputs() {
    let inputs = Inputs {
        hostname: Some("web-7".into()),
        sa_namespace: Some("prod\n".into()),
        resolv_conf: Some(
            "search prod.svc.k8s.corp svc.k8s.corp k8s.corp\noptions ndots:5\n".into(),
        ),
        jvm_extra_opts: None,
        ..Inputs::default()
    };
    let cfg = seeds_config(&["--pod-ip", "10.1.1.1"], &inputs).unwrap();
    assert_eq!(cfg.identity.pod.to_string(), "web-7");
    assert_eq!(cfg.identity.namespace, "prod");
    assert_eq!(cfg.identity.cluster_domain, "k8s.corp");
}

#[test]
fn replicas_bound_candidates_and_extras_follow() {
    let cfg = seeds_config(
        &with(&[
            "--replicas",
            "2",
            "--extra-seeds",
            " 10.9.0.1, seeds.dc2 ,,Seed-3.Other.Svc.Cluster.Local.",
        ]),
        &Inputs::default(),
    );
    // Ordinal 2 with 2 replicas is out of range.
    assert!(cfg.unwrap_err().0.contains("ordinal is 2"));
    let cfg = seeds_config(
        &with(&[
            "--replicas",
            "3",
            "--seed-count",
            "5",
            "--extra-seeds",
            " 10.9.0.1, seeds.dc2 ,,Seed-3.Other.Svc.Cluster.Local.",
        ]),
        &Inputs::default(),
    )
    .unwrap();
    let c = cfg.seeding.candidates(&cfg.identity);
    assert_eq!(c.len(), 6);
    assert_eq!(c[3].literal, Some("10.9.0.1".parse().unwrap()));
    assert_eq!((c[4].name.as_str(), c[4].absolute), ("seeds.dc2", false));
    assert_eq!(
        (c[5].name.as_str(), c[5].absolute),
        ("seed-3.other.svc.cluster.local", true)
    );
}

#[test]
fn bad_values_name_flag_env_and_value() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[
                "--pod-name",
                "cassandra",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
            ],
            &[
                "--pod-name",
                "POD_NAME",
                "\"cassandra\"",
                "<statefulset>-<ordinal>",
            ],
        ),
        (
            &[
                "--pod-name",
                "cassandra-x",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
            ],
            &["--pod-name", "numeric ordinal"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "Db",
                "--pod-ip",
                "10.0.0.1",
            ],
            &["--namespace", "POD_NAMESPACE", "\"Db\""],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0",
            ],
            &["--pod-ip", "POD_IP", "\"10.0.0\"", "IPv4 or IPv6"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "0.0.0.0",
            ],
            &["--pod-ip", "unicast"],
        ),
        (
            &["--pod-name", "c-0", "--namespace", "db"],
            &["--pod-ip is required", "POD_IP"],
        ),
        (
            &["--pod-name", "c-0", "--pod-ip", "10.0.0.1"],
            &["--namespace is required", "POD_NAMESPACE"],
        ),
        (
            &["--namespace", "db", "--pod-ip", "10.0.0.1"],
            &["--pod-name is required", "POD_NAME", "HOSTNAME"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--service",
                "my_svc",
            ],
            &["--service", "RINGKEEPER_SERVICE"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--cluster-domain",
                "a..b",
            ],
            &["--cluster-domain", "RINGKEEPER_CLUSTER_DOMAIN"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--seed-count",
                "0",
            ],
            &[
                "--seed-count",
                "RINGKEEPER_SEED_COUNT",
                "\"0\"",
                "1 to 1000",
            ],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--seed-count=-3",
            ],
            &["--seed-count", "\"-3\""],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--seed-count",
                "1001",
            ],
            &["--seed-count"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--replicas",
                "many",
            ],
            &["--replicas", "RINGKEEPER_REPLICAS", "\"many\""],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--extra-seeds",
                "a.b,bad host",
            ],
            &["--extra-seeds", "RINGKEEPER_EXTRA_SEEDS", "\"bad host\""],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--extra-seeds",
                "10.0.0.9:7000",
            ],
            &["--extra-seeds", "ports are not supported"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--seed-wait",
                "soon",
            ],
            &["--seed-wait", "RINGKEEPER_SEED_WAIT", "\"soon\"", "90s"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--seed-wait",
                "2h",
            ],
            &["--seed-wait", "0s to 1h"],
        ),
        (
            &[
                "--pod-name",
                "c-0",
                "--namespace",
                "db",
                "--pod-ip",
                "10.0.0.1",
                "--data-dir",
                "data",
            ],
            &["--data-dir", "RINGKEEPER_DATA_DIR", "absolute"],
        ),
    ];
    for (args, needles) in cases {
        let err = seeds_config(args, &Inputs::default())
            .expect_err(&format!("{args:?} should fail"))
            .0;
        for needle in *needles {
            assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        }
    }
}

#[test]
fn memory_quantities() {
    const GI: u64 = 1 << 30;
    #[rustfmt::skip]
    let cases: &[(&str, Option<u64>)] = &[
        ("4294967296", Some(4 * GI)),      // what the Downward API gives (divisor 1)
        ("4Gi", Some(4 * GI)),
        ("4096Mi", Some(4 * GI)),
        ("4194304Ki", Some(4 * GI)),
        (" 4Gi ", Some(4 * GI)),
        ("1.5Gi", Some(GI + GI / 2)),
        ("4G", Some(4_000_000_000)),
        ("4000M", Some(4_000_000_000)),
        ("512k", Some(512_000)),
        ("1Ti", Some(1 << 40)),
        ("0.1", Some(1)),                  // a fraction of a byte rounds up
        ("4gi", None),
        ("4GB", None),
        ("4Gi4", None),
        ("1e9", None),
        ("100m", None),
        ("-4Gi", None),
        ("", None),
        ("Gi", None),
        (".5Gi", None),
        ("1.2.3", None),
        ("99999999999999999999Ei", None), // overflows
        ("18446744073709551616", None),   // u64::MAX + 1
    ];
    for (text, want) in cases {
        assert_eq!(parse_quantity(text), *want, "{text:?}");
    }
    assert_eq!(parse_memory_limit("512Mi"), Ok(512 << 20));
    let err = parse_memory_limit("511Mi").unwrap_err().0;
    assert!(err.contains("at least 512Mi"), "{err}");
    let err = parse_memory_limit("4GB").unwrap_err().0;
    for part in [
        "--memory-limit",
        "RINGKEEPER_MEMORY_LIMIT",
        "\"4GB\"",
        "4Gi",
    ] {
        assert!(err.contains(part), "{err} lacks {part}");
    }
}

#[test]
fn durations() {
    let ok =
        |s: &str, ms: u64| assert_eq!(parse_duration(s), Some(Duration::from_millis(ms)), "{s}");
    ok("90s", 90_000);
    ok("90", 90_000);
    ok("2m", 120_000);
    ok("1h", 3_600_000);
    ok("500ms", 500);
    ok("0", 0);
    for bad in [
        "",
        "s",
        "1.5s",
        "-1s",
        "10 s",
        "1d",
        "99999999999999999999s",
    ] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn kube_api_values() {
    let parse = |v: &str| {
        KubeApi::from_args(&KubeArgs {
            kube_api: v.to_owned(),
        })
    };
    assert_eq!(parse("auto"), Ok(KubeApi::Auto));
    assert_eq!(parse("off"), Ok(KubeApi::Off));
    let err = parse("maybe").unwrap_err().0;
    for needle in [
        "--kube-api",
        "RINGKEEPER_KUBE_API",
        "\"maybe\"",
        "auto or off",
    ] {
        assert!(err.contains(needle), "{err}");
    }
    for mode in [KubeApi::Auto, KubeApi::Off] {
        assert_eq!(parse(mode.as_arg()), Ok(mode));
    }
}

#[test]
fn the_drain_finds_its_pod_leniently() {
    let pod = |name: Option<&str>, ns: Option<&str>, inputs: &Inputs| {
        PodRef::from_args(
            EventPodArgs {
                pod_name: name.map(str::to_owned),
                namespace: ns.map(str::to_owned),
            },
            inputs,
        )
    };
    let none = Inputs::default();
    let pod_env = Inputs {
        hostname: Some("cassandra-2".into()),
        sa_namespace: Some("db\n".into()),
        ..Inputs::default()
    };
    let want = |n: &str, ns: &str| {
        Ok(PodRef {
            name: n.into(),
            namespace: ns.into(),
        })
    };
    assert_eq!(pod(Some("c-1"), Some("db"), &none), want("c-1", "db"));
    assert_eq!(pod(None, None, &pod_env), want("cassandra-2", "db"));
    assert_eq!(pod(Some("c-1"), None, &pod_env), want("c-1", "db"));
    let why = |r: Result<PodRef, String>| r.unwrap_err();
    assert!(why(pod(None, Some("db"), &none)).contains("POD_NAME"));
    assert!(why(pod(Some("c-1"), None, &none)).contains("POD_NAMESPACE"));
    assert!(why(pod(Some("../x"), Some("db"), &none)).contains("not a pod name"));
    assert!(why(pod(Some("c-1"), Some("Db"), &none)).contains("not a namespace name"));
}
