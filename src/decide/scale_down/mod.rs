//! Pure. Whether a pod's preStop drain is a scale-down that should take the node out of
//! the ring (`nodetool decommission`) instead of leaving it there as a down ghost that
//! still owns its tokens, and whether that is safe now.
//!
//! Two steps, so that the costly observations are made only when they matter:
//!
//! 1. [`intent`]: from this pod's ordinal and the StatefulSet (Kubernetes API) alone. A pod
//!    whose ordinal is below `spec.replicas` is restarted, evicted or rolled: it drains. So
//!    does every pod of a set that is deleted or stopped (`replicas: 0`), and every pod when
//!    the API could not say (the protection is off, and the log says so once).
//! 2. [`decide`]: for a pod that is scaled away, from the ring as this node sees it (CQL:
//!    members, their DC, status and liveness), every keyspace's replication, this node's
//!    load and Cassandra's ring delay, and the time left before the drain's deadline.
//!
//! Members are matched to pods by address: a member's broadcast address is its pod's IP
//! (the entrypoint renders `broadcast_address` from `POD_IP`), and the pods' IPs come from
//! the same API that gave `spec.replicas` (`get pods/<set>-<n>`, which the Role grants).
//! This is chosen over resolving the pods' DNS names because it needs no further flags
//! (Service, cluster domain) and no second source that could lag (DNS caches); a pod that
//! is already gone has no IP, and its member, if it still is one, matches no pod and stays
//! counted, as a remaining member must.
//!
//! The marker a decommissioned node leaves on its volume, and what a later start does
//! with it, are in `decide::decommissioned`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::api_facts::{Fact, Gap, NO_REPLICAS, SetFacts};
use super::ring::{Liveness, Member, Status};
use room::Room;

mod decision;
mod load;
pub mod room;

pub use decision::*;
pub use load::*;

/// The most ordinals above `spec.replicas` looked at: far beyond any real scale-down, and
/// a bound on the API requests a nonsensical `status.replicas` could cause.
pub const MAX_CONDEMNED: u32 = 256;

/// What the drain goes without when the StatefulSet is not known (the gap's log line).
pub const NO_SCALE_DOWN: &str = "no decommission on scale-down (a pod scaled away drains and stays in the ring as a down member)";

/// The first step: is this a scale-down at all?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Not a scale-down (or it cannot be told): drain.
    Drain {
        /// Why, for the log and the summary.
        why: String,
        /// The API could not say: the decommission protection is off (logged once, with
        /// the API gap).
        protection_off: bool,
    },
    /// This pod is being scaled away: look at the ring.
    ScaleDown(ScaleDown),
}

/// A scale-down this pod is part of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleDown {
    /// This pod's ordinal.
    pub ordinal: u32,
    /// `spec.replicas`: the pods that remain are `0..replicas`.
    pub replicas: u32,
    /// The other ordinals scaled away (`replicas..`, not this one), lowest first: their
    /// pods' addresses tell which members leave too.
    pub others: Vec<u32>,
    /// `whenScaled` of the PVC retention policy (`Retain` when unset).
    pub pvc_when_scaled: String,
}

/// Decides from this pod's ordinal and the StatefulSet whether it is scaled away.
pub fn intent(ordinal: u32, set: &Fact<SetFacts>) -> Intent {
    let drain = |why: String| Intent::Drain {
        why,
        protection_off: false,
    };
    let off = |why: String| Intent::Drain {
        why: format!("{why}: drained as for a restart, no decommission on scale-down"),
        protection_off: true,
    };
    let set = match set {
        Fact::Known(set) => set,
        // The reason is in the drain's one log line about the API; not repeated here.
        Fact::Unknown(_) => return off("the StatefulSet is not known (see the log)".into()),
        Fact::NotAsked => {
            return off("the pod name is not <statefulset>-<ordinal>, so no set was asked".into());
        }
    };
    if set.deleting {
        return drain(format!(
            "the StatefulSet {} is being deleted: its pods stop, the ring is not shrunk",
            set.name
        ));
    }
    if let Some(start) = set.ordinals_start.filter(|s| *s != 0) {
        return off(format!(
            "statefulsets/{} numbers its pods from {start} (spec.ordinals.start); ringkeeper \
             numbers them from 0",
            set.name
        ));
    }
    let replicas = match set.spec_replicas {
        Some(r) if r >= 0 => r.unsigned_abs(),
        other => {
            return off(format!(
                "statefulsets/{} has spec.replicas {other:?}, which is no pod count",
                set.name
            ));
        }
    };
    if replicas == 0 {
        return drain(
            "spec.replicas is 0: the set is being stopped, not shrunk (the ring keeps every \
             member for when it starts again)"
                .into(),
        );
    }
    if ordinal < replicas {
        return drain(format!(
            "ordinal {ordinal} < spec.replicas {replicas}: the pod stops and comes back \
             (a restart, an eviction, a rolling update)"
        ));
    }
    // Pods that exist: during a scale-down `status.replicas` still counts those not gone.
    let existing = set
        .status_replicas
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(0);
    let upper = existing
        .max(ordinal.saturating_add(1))
        .min(replicas.saturating_add(MAX_CONDEMNED));
    Intent::ScaleDown(ScaleDown {
        ordinal,
        replicas,
        others: (replicas..upper).filter(|o| *o != ordinal).collect(),
        pvc_when_scaled: set
            .pvc_when_scaled
            .clone()
            .unwrap_or_else(|| "Retain".into()),
    })
}

/// The settle delay actually waited: the configured one, but at most a quarter of the time
/// the drain has, so that it never eats the time a decommission needs.
pub fn settle_delay(configured: Duration, left: Duration) -> Duration {
    configured.min(left / 4)
}

/// Whether a pod found scaled away is still scaled away when the StatefulSet is read
/// again (`when`: after the settle delay, right before the decommission starts). `None`:
/// go on. A count that no longer scales this pod away (a typo corrected, a re-apply that
/// restores it, the set being deleted) drains; a set that cannot be read again is no
/// confirmation, so nothing is decommissioned on it.
pub fn recheck(ordinal: u32, set: &Fact<SetFacts>, when: &str) -> Option<Decision> {
    match intent(ordinal, set) {
        Intent::ScaleDown(_) => None,
        Intent::Drain {
            why,
            protection_off: false,
        } => Some(Decision::Drain {
            why: format!("{when}, the StatefulSet no longer scales this pod away: {why}"),
        }),
        Intent::Drain {
            why,
            protection_off: true,
        } => Some(Decision::RefuseDecommission {
            why: format!(
                "{when}, the StatefulSet could not be read again ({why}); no decommission on a \
                 count that was not confirmed"
            ),
        }),
    }
}

/// The drain's API gaps as one log line says them: without the StatefulSet, what the
/// drain loses is the decommission on scale-down (not an ordinal bound, as for `seeds`).
pub fn drain_gaps(gaps: Vec<Gap>) -> Vec<Gap> {
    gaps.into_iter()
        .map(|mut g| {
            for w in &mut g.without {
                if *w == NO_REPLICAS {
                    *w = NO_SCALE_DOWN;
                }
            }
            g
        })
        .collect()
}

#[cfg(test)]
mod tests;
