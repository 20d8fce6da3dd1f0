//! `resolve`'s rounds as the entrypoint and `seeds` live them, with a scripted ring
//! (`scripted::Script`, in place of DNS and CQL) under paused time: how long a boot waits,
//! how often the wait is reported, which refusals end it and which are waited out, and
//! what a replica count changed meanwhile does. What each round decides is
//! `decide::seeds::plan`'s table; this is the sequencing around it.

use std::time::Duration;

use tokio::time::Instant;

use super::scripted::{Pod, Script, address, identity, seeding};
use super::{Until, resolve};
use crate::decide::cluster_record::RecordFacts;
use crate::decide::seeds::{BootMode, DataState, RecordUse, Refusal, Verdict, Waiting};

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
/// what the pods show); `resolve` should end with `want` after `after` seconds, or up to
/// `within` seconds later (the pause between two rounds: 5 s while a name does not
/// resolve, 2 s once every name does and the wait is on the ring), having reported the
/// wait at `reports` (second, --seed-wait over).
struct Case {
    name: &'static str,
    own: u32,
    data: DataState,
    until: Until,
    phases: &'static [(u64, &'static [Pod])],
    want: Want,
    after: u64,
    within: u64,
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
            within: 5,
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
            within: 2,
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
            within: 5,
            reports: &[(0, false)],
        },
        Case {
            name: "every name resolves (pods started at once): ordinal 1 joins within 2 s of \
                   ordinal 0 answering",
            own: 1,
            data: Empty,
            until: Entrypoint,
            // Past --seed-wait (10 s): the rounds there wait on the ring as well.
            phases: &[
                (0, &[Silent, Silent, Silent]),
                (11, &[Member, Silent, Silent]),
            ],
            want: Want::Seeds(BootMode::Join, &[0]),
            after: 11,
            within: 2,
            reports: &[(0, false), (10, true)],
        },
        Case {
            name: "a node with data restarts at once, its members and itself as seeds",
            own: 1,
            data: Present,
            until: Entrypoint,
            phases: &[(0, &[Member, Absent, Member])],
            want: Want::Seeds(BootMode::Restart, &[0, 1, 2]),
            after: 0,
            within: 0,
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
            within: 0,
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
            within: 2,
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
            within: 2,
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
            within: 5,
            reports: &[(0, false), (10, true), (40, true)],
        },
    ];
    for case in cases {
        let name = case.name;
        let (ended, _) = run(case.own, case.data, case.until, case.phases, None).await;
        assert_eq!(ended.want, case.want, "{name}");
        // A change is seen by the next round, within the pause between rounds.
        assert!(
            (case.after..=case.after + case.within).contains(&ended.after),
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
