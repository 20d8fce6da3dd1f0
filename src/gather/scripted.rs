//! A scripted ring for table tests (test builds only): what each pod of a set shows, from
//! each instant on, served through `Observe` in place of DNS and CQL.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{Observe, Round};
use crate::config::{CandidateName, CqlConfig, Identity, Seeding};
use crate::decide::data::JoinRecord;
use crate::decide::seeds::{Candidate, Cql, Lookup, RingMember};
use crate::edge::Pending;

/// The `--seed-wait` of `seeding`.
const SEED_WAIT: Duration = Duration::from_secs(10);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Pod `own` of set `c` in namespace `db`, at 10.0.0.1<own>.
pub(crate) fn identity(own: u32) -> Identity {
    Identity {
        pod: format!("c-{own}").parse().unwrap(),
        namespace: "db".into(),
        pod_ip: ip(&format!("10.0.0.1{own}")),
        service: "c".into(),
        cluster_domain: "cluster.local".into(),
        data_dir: "/var/lib/cassandra".into(),
    }
}

/// Seeding with 3 seed candidates, `replicas` as the bound, cluster `c`.
pub(crate) fn seeding(replicas: Option<u32>) -> Seeding {
    Seeding {
        seed_count: 3,
        replicas,
        extra_seeds: Vec::new(),
        wait: SEED_WAIT,
        cluster_name: Some("c".into()),
        replace_address: None,
        replace_after_down: Duration::from_secs(30),
        cql: CqlConfig {
            port: 9042,
            access: Default::default(),
        },
    }
}

/// What a pod shows in a round.
#[derive(Clone, Copy)]
pub(crate) enum Pod {
    /// Its name does not resolve (no pod yet).
    Absent,
    /// It resolves but does not answer CQL (Cassandra not up, or not joined).
    Silent,
    /// A member of cluster `c`, whose ring is every pod showing `Member` or `SeesJoining`.
    Member,
    /// A member of another cluster.
    Foreign,
    /// A member of cluster `c` that sees the pod with this ordinal bootstrapping.
    SeesJoining(u32),
}

/// Pod `ordinal`'s address.
pub(crate) fn address(ordinal: u32) -> IpAddr {
    ip(&format!("10.0.0.1{ordinal}"))
}

fn member(cluster: &str, ring: &[u32], movements: Vec<IpAddr>) -> Cql {
    Cql::Member {
        cluster_name: Some(cluster.into()),
        host_id: None,
        movements,
        ring: ring
            .iter()
            .map(|o| RingMember {
                address: address(*o),
                host_id: None,
            })
            .collect(),
        down: Vec::new(),
        oldest_start: None,
        gone: Vec::new(),
    }
}

/// One round as `Network` would see it for `names`, pod `o` showing `pods[o]` (`Absent`
/// past the end).
fn round_of(names: &[CandidateName], own: u32, pods: &[Pod]) -> Round {
    let ring: Vec<u32> = (0..pods.len() as u32)
        .filter(|o| matches!(pods[*o as usize], Pod::Member | Pod::SeesJoining(_)))
        .collect();
    let candidates = names
        .iter()
        .map(|n| {
            let o = n.ordinal.unwrap();
            let pod = pods.get(o as usize).copied().unwrap_or(Pod::Absent);
            let lookup = match pod {
                Pod::Absent if o != own => Lookup::Absent,
                _ => Lookup::Resolved {
                    addresses: vec![address(o)],
                },
            };
            let cql = match pod {
                _ if o == own => Cql::NotAsked,
                Pod::Absent => Cql::NotAsked,
                Pod::Silent => Cql::NoAnswer {
                    detail: "connection refused".into(),
                },
                Pod::Member => member("c", &ring, Vec::new()),
                Pod::Foreign => member("other", &[o], Vec::new()),
                Pod::SeesJoining(j) => member("c", &ring, vec![address(j)]),
            };
            Candidate {
                name: n.name.clone(),
                ordinal: n.ordinal,
                lookup,
                cql,
            }
        })
        .collect();
    Round {
        candidates,
        saved_peers: Vec::new(),
    }
}

/// The ring, scripted: from each instant on (paused time since the start), what every
/// pod shows. Records how many names each round asked about.
pub(crate) struct Script {
    own: u32,
    start: Instant,
    phases: Mutex<VecDeque<(Duration, Vec<Pod>)>>,
    /// How many names each round asked about.
    pub(crate) asked: Mutex<Vec<usize>>,
}

impl Script {
    /// Pod `own`'s view: from second `at` of each phase on, the pods show its `Pod`s.
    pub(crate) fn new(own: u32, phases: &[(u64, &[Pod])]) -> Self {
        Script {
            own,
            start: Instant::now(),
            phases: Mutex::new(
                phases
                    .iter()
                    .map(|(at, pods)| (Duration::from_secs(*at), pods.to_vec()))
                    .collect(),
            ),
            asked: Mutex::new(Vec::new()),
        }
    }
}

impl Observe for Script {
    fn round<'a>(
        &'a self,
        names: &'a [CandidateName],
        _budget: Duration,
        _record: Option<&'a JoinRecord>,
        _liveness: bool,
    ) -> Pending<'a, anyhow::Result<Round>> {
        let mut phases = self.phases.lock().unwrap();
        let elapsed = self.start.elapsed();
        while phases.len() > 1 && phases[1].0 <= elapsed {
            phases.pop_front();
        }
        self.asked.lock().unwrap().push(names.len());
        let round = round_of(names, self.own, &phases[0].1);
        Box::pin(async move { Ok(round) })
    }
}
