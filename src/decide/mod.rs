//! Pure decisions over observed facts. Nothing in here does IO, reads the clock or
//! talks to tokio, DNS, CQL or Kubernetes: each function takes what the edges observed
//! and returns plain data, and is tested by tables of cases. `tests/layering.rs` keeps
//! it that way.
#![deny(missing_docs)]

pub mod alive;
pub mod api_facts;
pub mod backup;
pub mod cluster_record;
pub mod data;
pub mod decommissioned;
pub mod drain;
pub mod events;
pub mod heap;
pub mod identity;
pub mod placement;
pub mod replacing;
pub mod replicas;
pub mod retry;
pub mod ring;
pub mod scale_down;
pub mod seeds;
pub mod status;
pub mod supervise;
pub mod time;
