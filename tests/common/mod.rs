//! Shared by the real-node test files: rings that take turns, polling, CQL from inside a
//! ring's namespace.
#![allow(dead_code)] // Each test file uses its own subset.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ringkeeper_testkit::ring::{self, Ring, RingSpec};

pub mod kube;

pub const CASSANDRA: &str = "5.0.8";
/// The newest 4.1 on Maven Central (4.1 runs on JDK 11 only; the harness fetches one).
pub const CASSANDRA_4_1: &str = "4.1.10";
pub const BOOT: Duration = Duration::from_secs(240);

/// At most 3 Cassandra nodes run at once on a 2-core machine: rings take turns.
pub static ONE_RING_AT_A_TIME: Mutex<()> = Mutex::new(());

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

pub fn turn() -> MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next ring may still run.
    ONE_RING_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
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
