//! Shared by the real-node test files: the node budget rings reserve, polling, CQL from
//! inside a ring's namespace.
#![allow(dead_code)] // Each test file uses its own subset.

use std::time::Duration;

use ringkeeper_testkit::ring::{self, Ring, RingSpec};

pub mod kube;
pub mod s3;

pub const CASSANDRA: &str = "5.0.8";
/// The newest 4.1 on Maven Central (4.1 runs on JDK 11 only; the harness fetches one).
pub const CASSANDRA_4_1: &str = "4.1.10";
pub const BOOT: Duration = Duration::from_secs(240);

pub fn new_ring(name: &str) -> Ring {
    new_ring_of(CASSANDRA, name)
}

pub fn new_ring_of(version: &str, name: &str) -> Ring {
    let cassandra = ring::Cassandra::fetch(version).expect("cassandra jars and a JDK");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ring-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let spec = RingSpec::new(
        dir,
        &format!("rkr-{name}"),
        env!("CARGO_BIN_EXE_ringkeeper").into(),
        cassandra,
    );
    Ring::create(spec).expect("ring (run as root)")
}

/// Reserves `n` Cassandra nodes of the machine's three (`testkit::node_budget`), across
/// every test process: a test holds it for as long as its ring runs, and says how long it
/// waited, so that a file's wall time can be read as waiting plus running.
#[allow(clippy::print_stderr)] // For the test's log: where its file's time went.
pub fn nodes(n: usize) -> ringkeeper_testkit::node_budget::Reservation {
    let reserved = ringkeeper_testkit::node_budget::reserve(n);
    if reserved.waited > Duration::from_secs(1) {
        eprintln!(
            "waited {:.0?} for {n} of the machine's Cassandra nodes",
            reserved.waited
        );
    }
    reserved
}

/// Polls `check` until it returns Ok or `timeout` passes; returns the last error.
pub fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let mut last = String::new();
    let got = ringkeeper_testkit::poll::until(timeout, Duration::from_secs(2), || {
        Ok::<_, ()>(check().map_err(|e| last = e).ok())
    });
    match got {
        Ok(Some(v)) => v,
        _ => panic!("not true after {timeout:?}: {last}"),
    }
}

/// Runs CQL statements against `ip` from inside the ring's namespace.
pub fn cql_in_ring<T: Send + 'static>(
    ring: &Ring,
    ip: std::net::IpAddr,
    work: impl FnOnce(
        scylla::client::session::Session,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>
    + Send
    + 'static,
) -> T {
    cql_in_netns(
        ring.netns(),
        vec![std::net::SocketAddr::new(ip, 9042)],
        false,
        work,
    )
}

/// Runs `work` on a CQL session to `contact` from inside `netns` (a current-thread
/// runtime on a thread that joined it, so the driver's sockets live there); with `only`,
/// the session talks to the contact nodes alone (a host filter: the one coordinator).
/// The one CQL session runner of the tests.
pub fn cql_in_netns<T: Send + 'static>(
    netns: &ringkeeper_testkit::netns::Netns,
    contact: Vec<std::net::SocketAddr>,
    only: bool,
    work: impl FnOnce(
        scylla::client::session::Session,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>
    + Send
    + 'static,
) -> T {
    netns
        .in_thread(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut builder = scylla::client::session_builder::SessionBuilder::new()
                    .known_nodes_addr(&contact);
                if only {
                    let filter =
                        scylla::policies::host_filter::AllowListHostFilter::new(contact.clone())
                            .expect("contact addresses");
                    builder = builder.host_filter(std::sync::Arc::new(filter));
                }
                let session = builder.build().await.expect("CQL session");
                work(session).await
            })
        })
        .unwrap()
}

/// The rows of `<keyspace>.t` (`k int PRIMARY KEY`) that `ip` answers with at its default
/// consistency.
/// `ringkeeper backup --store <store>` in the ring's namespace, as `kubectl exec` in pod
/// `pod` runs it (nodetool found through CASSANDRA_HOME); the caller adds the rest.
pub fn backup_command(ring: &Ring, pod: &str, store: &std::path::Path) -> std::process::Command {
    let mut command = ring.netns().command(&ring.spec.ringkeeper);
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("CASSANDRA_HOME", &ring.spec.cassandra.home)
        .env("POD_NAME", pod)
        .arg("backup")
        .arg("--store")
        .arg(store);
    command
}

/// The flags that point `backup create` or `restore-table` at ordinal `ordinal`'s node on
/// `ip`: its CQL address, data volume, pod name and JMX port.
pub fn backup_node_args(ring: &Ring, ordinal: u32, ip: std::net::IpAddr) -> Vec<String> {
    let mut args = vec![
        "--host".to_owned(),
        ip.to_string(),
        "--data-dir".into(),
        ring.spec.data_dir(ordinal).display().to_string(),
        "--pod-name".into(),
        format!("cassandra-{ordinal}"),
    ];
    args.extend(ringkeeper_testkit::ring::RingSpec::jmx_args(ordinal));
    args
}

pub fn count_rows(ring: &Ring, ip: std::net::IpAddr, keyspace: &'static str) -> usize {
    count_rows_of(ring, ip, format!("{keyspace}.t"))
}

/// The rows of `table` (`keyspace.name`, key `k int`) read through `ip` at the driver's
/// default consistency (LOCAL_QUORUM).
pub fn count_rows_of(ring: &Ring, ip: std::net::IpAddr, table: String) -> usize {
    cql_in_ring(ring, ip, move |session| {
        Box::pin(async move {
            session
                .query_unpaged(format!("SELECT k FROM {table}"), &[])
                .await
                .unwrap()
                .into_rows_result()
                .unwrap()
                .rows::<(i32,)>()
                .unwrap()
                .count()
        })
    })
}

/// The tokens `nodetool info -T` lists, and those of the node in a backup's manifest,
/// each sorted: equal when a restored node came back with its own.
pub fn tokens_of(info: &str, manifest: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let mut listed: Vec<String> = info
        .lines()
        .filter_map(|l| l.strip_prefix("Token"))
        .filter_map(|l| l.split(':').nth(1))
        .map(|t| t.trim().to_owned())
        .collect();
    let mut recorded: Vec<String> = manifest["node"]["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    recorded.sort();
    (listed, recorded)
}
