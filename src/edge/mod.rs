//! IO at the edges: DNS, the filesystem, and the Cassandra process. Each module is a
//! thin adapter that turns the outside world into the plain facts `decide` works on, or
//! carries out what it decided.

pub mod confdir;
pub mod cql;
pub mod cql_probe;
pub mod datadir;
pub mod dns;
pub mod jrmp;
pub mod kube;
pub mod nodetool;
pub mod process;
pub mod rundir;
pub mod snapshot;
pub mod store;

/// A boxed future: what the methods of the object-safe traits at the edges hand back
/// (`gather::Observe`, `process::StopRequests`, the drain's `NodeControl`), so that the
/// sequencing above them is table-tested with scripted stand-ins.
pub type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Spawns `work` on `set`; it starts once one of `permits` is free: many lookups or
/// requests at once, a few at a time (DNS and CQL rounds, `status`'s pod reads).
pub(crate) fn spawn_bounded<T: Send + 'static>(
    set: &mut tokio::task::JoinSet<T>,
    permits: &std::sync::Arc<tokio::sync::Semaphore>,
    work: impl std::future::Future<Output = T> + Send + 'static,
) {
    let permits = permits.clone();
    set.spawn(async move {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = permits
            .acquire_owned()
            .await
            .expect("semaphore is never closed");
        work.await
    });
}
