//! `resolve`'s rounds as the entrypoint and `seeds` live them, with scripted rounds
//! (`Script`, in place of DNS and CQL) under paused time: how long a boot waits, how often
//! the wait is reported, which refusals end it and which are waited out, and what a
//! replica count changed meanwhile does. What each round decides is
//! `decide::seeds::plan`'s table; this is the sequencing around it.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::config::CqlConfig;
use crate::decide::seeds::{BootMode, Refusal, RingMember};

const SEED_WAIT: Duration = Duration::from_secs(10);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Pod `own` of set `c` in namespace `db`, at 10.0.0.1<own>.
fn identity(own: u32) -> Identity {
    Identity {
        pod: format!("c-{own}").parse().unwrap(),
        namespace: "db".into(),
        pod_ip: ip(&format!("10.0.0.1{own}")),
        service: "c".into(),
        cluster_domain: "cluster.local".into(),
        data_dir: "/var/lib/cassandra".into(),
    }
}

fn seeding(replicas: Option<u32>) -> Seeding {
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
enum Pod {
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

fn address(ordinal: u32) -> IpAddr {
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
struct Script {
    own: u32,
    start: Instant,
    phases: Mutex<VecDeque<(Duration, Vec<Pod>)>>,
    asked: Mutex<Vec<usize>>,
}

impl Script {
    fn new(own: u32, phases: &[(u64, &[Pod])]) -> Self {
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

/// What a case expects `resolve` to end with.
#[derive(Debug, PartialEq)]
enum Want {
    Seeds(BootMode, &'static [u32]),
    Refuse(Refusal),
}

struct Ended {
    want: Want,
    /// Seconds of paused time until `resolve` returned.
    after: u64,
    /// The wait reports (`on_wait`): when, in seconds, and whether --seed-wait was over.
    reports: Vec<(u64, bool)>,
}

async fn run(
    own: u32,
    data: DataState,
    until: Until,
    phases: &[(u64, &[Pod])],
    bound: Option<tokio::sync::watch::Receiver<Option<u32>>>,
) -> (Ended, Vec<usize>) {
    let script = Script::new(own, phases);
    let start = Instant::now();
    let mut reports = Vec::new();
    let report = resolve(
        &identity(own),
        &seeding(Some(3)),
        Some("c"),
        data,
        None,
        &RecordFacts::default(),
        bound,
        &script,
        until,
        &mut |w: &Waiting| reports.push((start.elapsed().as_secs(), w.seed_wait_over)),
        &mut |_: &RecordUse| {},
    )
    .await
    .unwrap();
    let want = match report.plan.verdict {
        Verdict::Seeds { mode, seeds } => {
            let ordinals: Vec<u32> = seeds
                .iter()
                .map(|s| (0..3).find(|o| address(*o) == *s).unwrap())
                .collect();
            Want::Seeds(mode, ordinals.leak())
        }
        Verdict::Refuse { refusal, .. } => Want::Refuse(refusal),
        Verdict::Wait { .. } => panic!("resolve returned a wait"),
    };
    let ended = Ended {
        want,
        after: start.elapsed().as_secs(),
        reports,
    };
    (ended, script.asked.into_inner().unwrap())
}

use DataState::{Empty, Present};
use Pod::{Absent, Foreign, Member, SeesJoining, Silent};
use Until::{Answer, StartOrPersonMustAct as Entrypoint};

/// One case: pod `own` with `data`, the ring scripted by `phases` (from each second on,
/// what the pods show); `resolve` should end with `want` after about `after` seconds
/// (within the pause between two rounds), having reported the wait at `reports`
/// (second, --seed-wait over).
struct Case {
    name: &'static str,
    own: u32,
    data: DataState,
    until: Until,
    phases: &'static [(u64, &'static [Pod])],
    want: Want,
    after: u64,
    reports: &'static [(u64, bool)],
}

#[tokio::test(start_paused = true)]
async fn the_rounds_table() {
    let cases = [
        Case {
            name: "ordinal 0 with no data and no ring founds only once --seed-wait is over",
            own: 0,
            data: Empty,
            until: Entrypoint,
            phases: &[(0, &[Absent, Silent, Absent])],
            want: Want::Seeds(BootMode::Found, &[0]),
            after: 10,
            reports: &[(0, false)],
        },
        Case {
            name: "ordinal 0 finds a ring that formed while it waited: it joins that ring",
            own: 0,
            data: Empty,
            until: Entrypoint,
            phases: &[
                (0, &[Absent, Silent, Silent]),
                (4, &[Absent, Member, Member]),
            ],
            want: Want::Seeds(BootMode::Join, &[1, 2]),
            after: 4,
            reports: &[(0, false)],
        },
        Case {
            name: "ordinal 1 joins in the first round after ordinal 0 answers",
            own: 1,
            data: Empty,
            until: Entrypoint,
            phases: &[(0, &[Silent]), (3, &[Member])],
            want: Want::Seeds(BootMode::Join, &[0]),
            after: 3,
            reports: &[(0, false)],
        },
        Case {
            name: "a node with data restarts at once, its members and itself as seeds",
            own: 1,
            data: Present,
            until: Entrypoint,
            phases: &[(0, &[Member, Absent, Member])],
            want: Want::Seeds(BootMode::Restart, &[0, 1, 2]),
            after: 0,
            reports: &[],
        },
        Case {
            name: "a foreign cluster ends the wait at once: a person must act",
            own: 1,
            data: Empty,
            until: Entrypoint,
            phases: &[(0, &[Foreign])],
            want: Want::Refuse(Refusal::PersonMustAct),
            after: 0,
            reports: &[],
        },
        Case {
            name: "the entrypoint waits out a refusal other pods can end, past --seed-wait, \
                   reporting it then and every 30 s",
            own: 2,
            data: Empty,
            until: Entrypoint,
            phases: &[(0, &[SeesJoining(1), Silent]), (75, &[Member, Member])],
            want: Want::Seeds(BootMode::Join, &[0, 1]),
            after: 75,
            reports: &[(0, false), (10, true), (40, true), (70, true)],
        },
        Case {
            name: "`seeds` answers that refusal once --seed-wait is over",
            own: 2,
            data: Empty,
            until: Answer,
            phases: &[(0, &[SeesJoining(1), Silent])],
            want: Want::Refuse(Refusal::KeepWaiting),
            after: 10,
            reports: &[(0, false)],
        },
        Case {
            name: "nothing resolves: the entrypoint keeps waiting for DNS",
            own: 1,
            data: Empty,
            until: Entrypoint,
            phases: &[(0, &[Absent]), (50, &[Member])],
            want: Want::Seeds(BootMode::Join, &[0]),
            after: 50,
            reports: &[(0, false), (10, true), (40, true)],
        },
    ];
    for case in cases {
        let name = case.name;
        let (ended, _) = run(case.own, case.data, case.until, case.phases, None).await;
        assert_eq!(ended.want, case.want, "{name}");
        // A change is seen by the next round, within the pause between rounds (5 s).
        assert!(
            (case.after..=case.after + 5).contains(&ended.after),
            "{name}: ended after {} s, not about {} s",
            ended.after,
            case.after
        );
        assert_eq!(ended.reports, case.reports, "{name}");
    }
}

/// The replica count read again while the boot waits (the entrypoint's watch on the
/// StatefulSet): the rounds after a change ask only about the pods the set keeps.
#[tokio::test(start_paused = true)]
async fn a_replica_count_changed_meanwhile_bounds_the_next_rounds() {
    let (tx, rx) = tokio::sync::watch::channel(Some(3));
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Some(2)).unwrap();
        // Kept open: a closed channel is no change.
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    let (ended, asked) = run(
        0,
        Empty,
        Entrypoint,
        &[(0, &[Absent, Silent, Silent])],
        Some(rx),
    )
    .await;
    assert_eq!(asked.first(), Some(&3), "{asked:?}");
    assert_eq!(asked.last(), Some(&2), "{asked:?}");
    assert_eq!(ended.want, Want::Seeds(BootMode::Found, &[0]));
    assert_eq!(ended.after, 10);
}
