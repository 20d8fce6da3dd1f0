//! `ringkeeper seeds` against a real DNS server, as an unmodified binary inside a network
//! namespace whose /etc/resolv.conf is what the kubelet writes (search domains, ndots:5).
//! Needs root (network namespaces): run through `scripts/test`.

use std::process::Output;
use std::time::{Duration, Instant};

use ringkeeper_testkit::dns::Answer;
use ringkeeper_testkit::pod::Pod;

fn seeds(pod: &Pod, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = pod
        .ringkeeper(env!("CARGO_BIN_EXE_ringkeeper"), "seeds")
        .args(args)
        .output()
        .unwrap();
    (out, start.elapsed())
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const FQDN0: &str = "cassandra-0.cassandra.default.svc.cluster.local";
const FQDN1: &str = "cassandra-1.cassandra.default.svc.cluster.local";
const FQDN2: &str = "cassandra-2.cassandra.default.svc.cluster.local";

fn id(ordinal: u32, ip: &str) -> Vec<String> {
    vec![
        "--pod-name".into(),
        format!("cassandra-{ordinal}"),
        "--namespace".into(),
        "default".into(),
        "--pod-ip".into(),
        ip.into(),
    ]
}

fn args<'a>(v: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    v.iter()
        .map(String::as_str)
        .chain(more.iter().copied())
        .collect()
}

#[test]
#[ignore = "needs root and a real DNS server in a network namespace: run scripts/test"]
fn restart_lists_resolved_pods_and_extra_seeds_through_search_domains() {
    let pod = Pod::new("join", "default", "cluster.local");
    pod.give_data();
    pod.set(FQDN0, &["127.0.0.11"]);
    pod.set(FQDN1, &["127.0.0.12"]);
    pod.set(FQDN2, &["127.0.0.13"]);
    // A short extra-seed name only resolves through the search list (ndots:5).
    pod.set(
        "seeds-dc2.default.svc.cluster.local",
        &["127.0.1.1", "127.0.1.2"],
    );
    let me = id(2, "127.0.0.13");
    let (out, _) = seeds(
        &pod,
        &args(&me, &["--extra-seeds", "seeds-dc2,127.0.0.11,10.9.9.9"]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "127.0.0.11,127.0.0.12,127.0.0.13,127.0.1.1,127.0.1.2,10.9.9.9"
    );

    // The JSON form explains every candidate.
    let (out, _) = seeds(
        &pod,
        &args(&me, &["--format", "json", "--extra-seeds", "seeds-dc2"]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "seeds");
    assert_eq!(json["mode"], "restart");
    assert_eq!(json["data"], "present");
    let uses: Vec<&str> = json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["use"].as_str().unwrap())
        .collect();
    assert_eq!(uses, ["seed", "seed", "seed_self", "seed"]);
    assert_eq!(json["candidates"][2]["addresses"][0], "127.0.0.13");
    // No Cassandra runs here: the other candidates were asked over CQL and did not answer.
    assert_eq!(json["candidates"][0]["cql"]["answer"], "no_answer");
}

#[test]
#[ignore = "needs root and a real DNS server in a network namespace: run scripts/test"]
fn cluster_domain_comes_from_the_pods_search_list() {
    let pod = Pod::new("domain", "prod", "k8s.example");
    pod.give_data();
    pod.set("db-0.db.prod.svc.k8s.example", &["127.0.0.21"]);
    let (out, _) = seeds(
        &pod,
        &[
            "--pod-name",
            "db-1",
            "--namespace",
            "prod",
            "--pod-ip",
            "127.0.0.22",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "127.0.0.21,127.0.0.22");
}

#[test]
#[ignore = "needs root and a real DNS server in a network namespace: run scripts/test"]
fn ordinal_0_founds_only_when_every_other_name_is_nxdomain() {
    let pod = Pod::new("found", "default", "cluster.local");
    pod.set(FQDN0, &["127.0.0.11"]);
    let me = id(0, "127.0.0.11");
    let (out, elapsed) = seeds(&pod, &me.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "127.0.0.11");
    assert!(
        elapsed < Duration::from_secs(5),
        "founding must not wait: {elapsed:?}"
    );

    // One SERVFAIL among the others: never found, whatever the wait.
    pod.answer(FQDN2, Answer::ServFail);
    let (out, _) = seeds(&pod, &args(&me, &["--seed-wait", "2s"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains(&format!("{FQDN2} (SERVFAIL)")),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs root and a real DNS server in a network namespace: run scripts/test"]
fn a_name_that_starts_resolving_during_the_wait_is_seen() {
    // A restarting node retries DNS errors within the wait; no cache hides the fix.
    let pod = Pod::new("appear", "default", "cluster.local");
    pod.give_data();
    pod.answer(FQDN0, Answer::ServFail);
    let me = id(1, "127.0.0.12");
    let zone = pod.zone.clone();
    let later = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        zone.write()
            .unwrap()
            .set(FQDN0, &["127.0.0.11".parse().unwrap()]);
    });
    let (out, elapsed) = seeds(&pod, &args(&me, &["--seed-wait", "30s"]));
    later.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "127.0.0.11,127.0.0.12");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(15),
        "{elapsed:?}"
    );

    // A node without data needs more than a name: a pod that resolves but does not answer
    // CQL as a ring member is no seed, so the node refuses rather than seeding itself.
    let empty = Pod::new("appear2", "default", "cluster.local");
    empty.set(FQDN0, &["127.0.0.11"]);
    let (out, _) = seeds(&empty, &args(&me, &["--seed-wait", "2s"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("no CQL answer"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root and a real DNS server in a network namespace: run scripts/test"]
fn dns_trouble_gives_a_bounded_wait_and_never_an_empty_list() {
    let pod = Pod::new("trouble", "default", "cluster.local");
    let me = id(1, "127.0.0.12");
    let cases = [
        ("NXDOMAIN", Answer::NxDomain, "NXDOMAIN"),
        ("SERVFAIL", Answer::ServFail, "SERVFAIL"),
        ("no answer", Answer::Drop, "timed out"),
    ];
    for (what, answer, needle) in cases {
        pod.otherwise(answer);
        let (out, elapsed) = seeds(&pod, &args(&me, &["--seed-wait", "3s"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(
            stdout(&out).is_empty(),
            "{what}: printed {:?}",
            stdout(&out)
        );
        assert!(
            err.contains(FQDN0) && err.contains(FQDN2),
            "{what}: names tried are missing: {err}"
        );
        assert!(err.contains(needle), "{what}: {err}");
        assert!(!err.contains("panicked"));
        // The wait is bounded: 3 s, plus at most one more round of lookups.
        assert!(
            elapsed < Duration::from_secs(3 + 6),
            "{what}: took {elapsed:?}"
        );
        // The JSON form reports the refusal too, with exit 1.
        let (out, _) = seeds(&pod, &args(&me, &["--seed-wait", "0s", "--format", "json"]));
        assert_eq!(out.status.code(), Some(1), "{what}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["verdict"], "refuse", "{what}");
    }
}

#[test]
#[ignore = "needs root and a real DNS server in a network namespace: run scripts/test"]
fn a_node_with_data_lists_itself_and_skips_stale_records_without_data() {
    let pod = Pod::new("self", "default", "cluster.local");
    // Ordinal 0's record is stale: it still points at the address this pod now has.
    pod.set(FQDN0, &["127.0.0.12"]);
    pod.set(FQDN1, &["127.0.0.12"]);
    pod.set(FQDN2, &["127.0.0.13"]);
    let me = id(1, "127.0.0.12");
    let (out, _) = seeds(&pod, &args(&me, &["--seed-wait", "1s"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).is_empty(),
        "never this pod's own address without data"
    );
    assert!(
        stderr(&out).contains(&format!("{FQDN0} (resolves to this pod's own IP)")),
        "{}",
        stderr(&out)
    );

    pod.give_data();
    pod.set(FQDN0, &["127.0.0.11"]);
    let (out, _) = seeds(&pod, &me.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "127.0.0.11,127.0.0.12,127.0.0.13");
    // Nothing answers CQL here: each other pod's ring identity is unverified, and a silent
    // pod stays a seed (a cold restart has nothing else); JSON says so beside its answer.
    let mut json_args = me.clone();
    json_args.extend(["--format".to_owned(), "json".to_owned()]);
    let (out, _) = seeds(
        &pod,
        &json_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["candidates"][0]["cql"]["answer"], "no_answer",
        "{json}"
    );
    assert_eq!(json["candidates"][0]["identity"], "unverified", "{json}");
    assert_eq!(json["candidates"][1]["use"], "seed_self", "{json}");

    // A join record that does not parse is no record: the node restarts without listing
    // itself (a node whose join is not confirmed must not be its own seed).
    std::fs::write(
        pod.data.path().join("ringkeeper-joined"),
        "{\"format\": 1, \"host_",
    )
    .unwrap();
    let (out, _) = seeds(&pod, &me.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "127.0.0.11,127.0.0.13");
    assert!(stderr(&out).contains("not usable"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root and a real DNS server in a network namespace: run scripts/test"]
fn three_hundred_names_resolve_concurrently() {
    let pod = Pod::new("many", "default", "cluster.local");
    pod.give_data();
    let mut want = Vec::new();
    for i in 0..300u32 {
        let ip = format!("127.1.{}.{}", i / 250, i % 250 + 1);
        pod.set(
            &format!("cassandra-{i}.cassandra.default.svc.cluster.local"),
            &[&ip],
        );
        want.push(if i == 299 {
            "127.1.1.50".to_owned()
        } else {
            ip
        });
    }
    let me = id(299, "127.1.1.50");
    let (out, elapsed) = seeds(&pod, &args(&me, &["--seed-count", "300"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), want.join(","));
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}
