//! What the phases that ask the ring share: one value handed to each, so that none
//! imports it from the sequence that calls it.

use crate::config::{Identity, Seeding};
use crate::gather::Observe;

/// What the phases that ask the ring share: this pod, its seeding (the candidates, CQL
/// access, the replica bound), the cluster it runs in, and how the others are reached.
#[derive(Clone, Copy)]
pub(super) struct Ring<'a> {
    pub identity: &'a Identity,
    pub seeding: &'a Seeding,
    /// The name this node will run with, which every candidate must share.
    pub cluster: Option<&'a str>,
    /// How the others are reached: DNS and CQL (`gather::Network`), or in a table test a
    /// scripted ring.
    pub observe: &'a dyn Observe,
}
