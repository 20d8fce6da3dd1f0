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

/// A boxed future: what the methods of the object-safe traits at the edges hand back
/// (`gather::Observe`, `process::StopRequests`, the drain's `NodeControl`), so that the
/// sequencing above them is table-tested with scripted stand-ins.
pub type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
