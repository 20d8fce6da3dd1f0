//! Test-only harness for ringkeeper: real components started by the project itself.
//!
//! * [`dns`] — a real DNS server (hickory-server) whose answers a test controls, including
//!   NXDOMAIN, SERVFAIL and silence.
//! * [`netns`] — network namespaces that give "pods" a pod-style resolv.conf.
//! * [`node_budget`] — at most three Cassandra nodes at once, across test processes.
//! * [`ring`] — a local Cassandra ring whose nodes are started by `ringkeeper entrypoint`.
//! * [`load`] — a client load (writes and reads on the `scylla` driver with its defaults)
//!   that counts failures by kind and checks every acknowledged write.
//! * [`rolling`] — a rolling restart under that load, the way a StatefulSet does it.
//! * [`closes`] — a load's failures placed against the moments nodes closed their native
//!   transport (from `ringkeeper drain`'s logs).
//! * [`cluster`] — a real kube-apiserver and a pod runner that runs what manifests say.

pub mod closes;
pub mod cluster;
pub mod container;
pub mod dns;
pub mod load;
pub mod netns;
pub mod node_budget;
pub mod nodetool_status;
pub mod pki;
pub mod pod;
pub mod poll;
pub mod ring;
pub mod rolling;
