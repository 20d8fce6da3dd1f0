//! Gathering the boot plan's facts, shared by `seeds`, `entrypoint` and `status`: the
//! candidates' DNS names looked up and their nodes asked over CQL round after round, the
//! saved peers of the join record, the identity record's reading, until
//! `decide::seeds::plan` decides. IO orchestration: what is decided is in `decide::seeds`.
//!
//! # Layout
//!
//! * `rounds`: `resolve`, the rounds until the plan decides (waits, their reports, the
//!   refusals waited out or ended on, the replica bound read again), and their logging;
//! * `network`: one round's look at the ring (`Observe`): DNS lookups, CQL probes of the
//!   candidates, the join record's saved peers asked with the size-bounded client;
//! * in test builds, `scripted`: a ring scripted round by round in place of `Network`,
//!   and `rounds_table`: `resolve`'s sequencing played against it under paused time.

mod network;
mod rounds;

use std::time::Duration;

use serde::Serialize;
use tracing::{info, warn};

use crate::config::{Identity, Seeding};
use crate::decide::api_facts::{ApiFacts, Fact};
use crate::decide::cluster_record::{self, RecordFacts};
use crate::decide::data::{self, DataListing};
use crate::decide::seeds::{DataState, Plan, Verdict};
use crate::edge::cql::{self, CqlSettings};

pub(crate) use network::lookup_all;
pub use network::{Network, Observe, Round};
pub use rounds::{Until, WAIT_REPORT_EVERY, report_waiting, resolve};

/// The decision with what it was made from, as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct SeedReport {
    /// The pod name.
    pub pod: String,
    /// The pod IP.
    pub pod_ip: std::net::IpAddr,
    /// What the data directory holds.
    pub data: DataState,
    /// How many lookup rounds ran.
    pub rounds: u32,
    /// Time spent, in milliseconds.
    pub elapsed_ms: u128,
    /// The decision and per-candidate reasons.
    #[serde(flatten)]
    pub plan: Plan,
}

impl SeedReport {
    /// The seed list as Cassandra's `seeds` parameter wants it, if there is one.
    pub fn seed_line(&self) -> Option<String> {
        match &self.plan.verdict {
            Verdict::Seeds { seeds, .. } => Some(
                seeds
                    .iter()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        }
    }
}

/// What the identity record of this pod's StatefulSet (`decide::cluster_record`, read
/// once at boot with the other API facts) tells the boot plan; logs what it holds, and
/// each entry left out. Not read, the one line about the API's gaps said so.
pub fn identity_record(
    facts: &ApiFacts,
    identity: &Identity,
    cluster_name: Option<&str>,
) -> RecordFacts {
    let record = cluster_record::facts(&facts.record, &identity.pod.to_string(), cluster_name);
    if let Fact::Known(data) = &facts.record {
        info!(
            configmap = %cluster_record::configmap_name(&identity.pod.set),
            exists = data.is_some(),
            recorded = ?record.recorded,
            previous = ?record.previous,
            "identity record read"
        );
    }
    for why in &record.ignored {
        warn!(entry = %why, "identity record entry not acted on");
    }
    record
}

/// Bounds on each CQL probe of a seed candidate: short, because a member answers at once
/// and a pod that is not up refuses the connection at once; only unroutable addresses
/// take the full bound.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// CQL settings for probing candidates (reads the credential and TLS files).
pub fn probe_settings(seeding: &Seeding) -> anyhow::Result<CqlSettings> {
    cql::load_settings(
        seeding.cql.port,
        PROBE_TIMEOUT,
        PROBE_TIMEOUT,
        &seeding.cql.access,
    )
}

/// Classifies the data directory from a listing, logging what was found.
pub fn classify_logged(listing: &DataListing) -> DataState {
    let state = data::classify(listing);
    if let data::Joined::Unusable(why) = &listing.joined {
        warn!(
            record = data::JOINED_MARKER,
            %why,
            "the join record in --data-dir is not usable: treated as missing (this node restarts without listing itself, and its ring identity is not checked)"
        );
    }
    info!(
        ?state,
        system_local_sstables = listing.system_local_sstables,
        other_entries = listing.other_entries,
        join_record = match &listing.joined {
            data::Joined::Missing => "missing".to_owned(),
            data::Joined::Unusable(why) => format!("unusable (treated as missing): {why}"),
            data::Joined::Record(r) => format!(
                "host {} with {} peers",
                r.host_id,
                r.peers
                    .as_ref()
                    .map_or_else(|| "unrecorded".to_owned(), |p| p.len().to_string())
            ),
        },
        "data directory inspected"
    );
    state
}

#[cfg(test)]
mod rounds_table;
#[cfg(test)]
pub(crate) mod scripted;
