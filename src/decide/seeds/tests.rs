use super::*;

const ME: &str = "10.0.0.10";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A pod candidate that CQL was not asked about (unresolved, or this pod).
fn pod(ordinal: u32, lookup: Lookup) -> Candidate {
    Candidate {
        name: format!("c-{ordinal}.c.db.svc.cluster.local"),
        ordinal: Some(ordinal),
        lookup,
        cql: Cql::NotAsked,
    }
}

/// A pod that resolves and answers CQL as a member of cluster "c".
fn up(ordinal: u32, addr: &str) -> Candidate {
    Candidate {
        cql: member("c", &[], &[addr]),
        ..pod(ordinal, at(&[addr]))
    }
}

/// A pod that resolves but does not answer CQL (not started, or not joined yet).
fn silent(ordinal: u32, addr: &str) -> Candidate {
    Candidate {
        cql: Cql::NoAnswer {
            detail: "refused".into(),
        },
        ..pod(ordinal, at(&[addr]))
    }
}

fn member(cluster: &str, movements: &[&str], ring: &[&str]) -> Cql {
    Cql::Member {
        cluster_name: Some(cluster.into()),
        host_id: None,
        movements: movements.iter().map(|a| ip(a)).collect(),
        ring: ring
            .iter()
            .map(|a| RingMember {
                address: ip(a),
                host_id: None,
            })
            .collect(),
        down: Vec::new(),
        oldest_start: None,
        gone: Vec::new(),
    }
}

/// A member of cluster "c" whose ring is `ring`, of which `down` are down.
fn member_down(ring: &[&str], down: &[&str]) -> Cql {
    let Cql::Member {
        cluster_name,
        host_id,
        movements,
        ring,
        oldest_start,
        gone,
        ..
    } = member("c", &[], ring)
    else {
        unreachable!()
    };
    Cql::Member {
        cluster_name,
        host_id,
        movements,
        ring,
        down: down.iter().map(|a| ip(a)).collect(),
        oldest_start,
        gone,
    }
}

fn extra(name: &str, lookup: Lookup) -> Candidate {
    Candidate {
        name: name.into(),
        ordinal: None,
        lookup,
        cql: Cql::NotAsked,
    }
}

fn at(addresses: &[&str]) -> Lookup {
    Lookup::Resolved {
        addresses: addresses.iter().map(|a| ip(a)).collect(),
    }
}

fn servfail() -> Lookup {
    Lookup::ServerError {
        code: "SERVFAIL".into(),
    }
}

/// Expected verdict shape in the table: seeds with mode, wait, or refuse (and whether
/// the refusal is one to keep waiting on).
#[derive(Debug)]
enum Want {
    Seeds(BootMode, &'static [&'static str]),
    Wait,
    Refuse(Refusal),
}

/// A refusal that other pods can still end: the entrypoint keeps waiting.
const WAITS: Want = Want::Refuse(Refusal::KeepWaiting);
/// A refusal only a person can end: the entrypoint exits.
const PERSON: Want = Want::Refuse(Refusal::PersonMustAct);

fn check(
    name: &str,
    own: u32,
    data: DataState,
    candidates: Vec<Candidate>,
    wait_over: bool,
    replace: Option<&str>,
    want: Want,
) -> Plan {
    check_with(
        name,
        own,
        data,
        None,
        &[],
        candidates,
        wait_over,
        replace,
        want,
    )
}

#[allow(clippy::too_many_arguments)] // one table row, spelled out
fn check_with(
    name: &str,
    own: u32,
    data: DataState,
    record: Option<&JoinRecord>,
    saved: &[SavedPeer],
    candidates: Vec<Candidate>,
    wait_over: bool,
    replace: Option<&str>,
    want: Want,
) -> Plan {
    let api = (&Recorded::Unknown, None);
    check_full(
        name, own, data, record, saved, api, candidates, wait_over, replace, want,
    )
}

/// The identity record in the API, as a table row gives it.
type Api<'a> = (&'a Recorded, Option<&'a PreviousSelf>);

#[allow(clippy::too_many_arguments)] // one table row, spelled out
fn check_full(
    name: &str,
    own: u32,
    data: DataState,
    record: Option<&JoinRecord>,
    saved: &[SavedPeer],
    api: Api<'_>,
    candidates: Vec<Candidate>,
    wait_over: bool,
    replace: Option<&str>,
    want: Want,
) -> Plan {
    let facts = Facts {
        own_ordinal: own,
        pod_ip: ip(ME),
        data,
        candidates: &candidates,
        wait_over,
        cluster_name: Some("c"),
        replace_address: replace.map(ip),
        record,
        saved_peers: saved,
        recorded: api.0,
        previous: api.1,
        others_previous: &[],
        previous_down_for: Duration::from_secs(3600),
        replace_after_down: Duration::from_secs(180),
    };
    let plan = plan(&facts);
    match (&plan.verdict, &want) {
        (Verdict::Seeds { mode, seeds }, Want::Seeds(want_mode, want_seeds)) => {
            let want_seeds: Vec<IpAddr> = want_seeds.iter().map(|s| ip(s)).collect();
            assert_eq!((mode, seeds), (want_mode, &want_seeds), "{name}");
        }
        (Verdict::Wait { .. }, Want::Wait) => {}
        (Verdict::Refuse { refusal, .. }, Want::Refuse(want)) => {
            assert_eq!(refusal, want, "{name}: {:?}", plan.verdict)
        }
        (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
    }
    // Whatever happens, a node without data (or whose join is unconfirmed) never lists
    // itself, unless it founds, or is an unconfirmed ordinal 0 with no one to seed from.
    if let Verdict::Seeds { mode, seeds } = &plan.verdict {
        assert!(!seeds.is_empty(), "{name}: empty seed list");
        let lone_first = data == DataState::Unconfirmed && own == 0 && seeds.len() == 1;
        if data != DataState::Present && *mode != BootMode::Found && !lone_first {
            assert!(
                !seeds.contains(&ip(ME)),
                "{name}: lists itself without data"
            );
        }
        if let Some(old) = replace {
            assert!(!seeds.contains(&ip(old)), "{name}: seeds the replaced node");
        }
    }
    // Before the wait is over, only a refusal that no other pod can end is final.
    if !wait_over && let Verdict::Refuse { refusal, .. } = &plan.verdict {
        assert_eq!(*refusal, Refusal::PersonMustAct, "{name}: refuses early");
    }
    // Never wait once the wait is over.
    if wait_over {
        assert!(
            !matches!(plan.verdict, Verdict::Wait { .. }),
            "{name}: waits after the wait"
        );
    }
    // Never a seed whose ring does not know this node.
    if let Verdict::Seeds { seeds, .. } = &plan.verdict {
        for r in &plan.candidates {
            if matches!(
                r.identity,
                Some(
                    Kin::ForeignRing
                        | Kin::ForeignRingMember
                        | Kin::RemovedThisNode
                        | Kin::DoesNotListThisNode
                )
            ) {
                for a in addresses(&r.candidate) {
                    assert!(
                        !seeds.contains(&a) || a == ip(ME),
                        "{name}: seeds {a} of a foreign ring"
                    );
                }
            }
        }
    }
    plan
}

use DataState::*;
use Lookup::Absent;

/// One row: name, own ordinal, data, candidates, wait over, --replace-address, expected.
type Case = (
    &'static str,
    u32,
    DataState,
    Vec<Candidate>,
    bool,
    Option<&'static str>,
    Want,
);

#[test]
fn boot_plan_table() {
    let me = || Lookup::Absent; // this pod's own name: its lookup does not matter
    const R: BootMode = BootMode::Replace {
        address: IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
    };
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        // --- with data: restart, may list itself, no waiting on peers ---
        ("restart, all resolve", 1, Present,
         vec![up(0, "10.0.0.1"), pod(1, me()), silent(2, "10.0.0.3")], false, None,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", ME, "10.0.0.3"])),
        ("restart, others absent", 1, Present,
         vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], false, None,
         Want::Seeds(BootMode::Restart, &[ME])),
        ("restart, DNS error: retry while waiting", 0, Present,
         vec![pod(0, me()), pod(1, servfail()), silent(2, "10.0.0.3")], false, None,
         Want::Wait),
        ("restart, DNS error at the end: go with what resolved", 0, Present,
         vec![pod(0, me()), pod(1, servfail()), silent(2, "10.0.0.3")], true, None,
         Want::Seeds(BootMode::Restart, &[ME, "10.0.0.3"])),
        ("restart beyond seed-count lists itself last", 5, Present,
         vec![up(0, "10.0.0.1"), pod(1, Lookup::Timeout)], true, None,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", ME])),
        ("restart, single-node cluster", 0, Present,
         vec![pod(0, me())], false, None,
         Want::Seeds(BootMode::Restart, &[ME])),
        ("restart refuses a candidate of another cluster", 1, Present,
         vec![Candidate { cql: member("other", &[], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
         PERSON),
        // --- data, but the join was never confirmed (killed mid-bootstrap?): restart,
        // never as its own seed, so Cassandra resumes the bootstrap ---
        ("unconfirmed restart seeds from the others, not itself", 1, Unconfirmed,
         vec![up(0, "10.0.0.1"), pod(1, me()), silent(2, "10.0.0.3")], false, None,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", "10.0.0.3"])),
        ("unconfirmed restart: a stale name at our own IP is not listed", 2, Unconfirmed,
         vec![up(0, "10.0.0.1"), pod(1, at(&[ME])), pod(2, me())], false, None,
         Want::Seeds(BootMode::Restart, &["10.0.0.1"])),
        ("unconfirmed restart waits on DNS errors", 1, Unconfirmed,
         vec![pod(0, servfail()), pod(1, me()), up(2, "10.0.0.3")], false, None,
         Want::Wait),
        ("unconfirmed ordinal 0 alone lists itself", 0, Unconfirmed,
         vec![pod(0, me()), pod(1, Absent), pod(2, Absent)], false, None,
         Want::Seeds(BootMode::Restart, &[ME])),
        ("unconfirmed ordinal 0 with an extra seed that is unresolved waits", 0, Unconfirmed,
         vec![pod(0, me()), extra("dc2-seed", Absent)], false, None,
         Want::Wait),
        ("unconfirmed ordinal 1 with no other pod waits", 1, Unconfirmed,
         vec![pod(0, Absent), pod(1, me())], false, None,
         Want::Wait),
        ("unconfirmed ordinal 1 with no other pod refuses at the end", 1, Unconfirmed,
         vec![pod(0, Absent), pod(1, me())], true, None,
         WAITS),
        ("unconfirmed ordinal 0 never lists itself on DNS errors, even after the wait", 0, Unconfirmed,
         vec![pod(0, me()), pod(1, servfail())], true, None,
         WAITS),
        ("unconfirmed ordinal 0 with an unresolved extra seed refuses after the wait", 0, Unconfirmed,
         vec![pod(0, me()), extra("dc2-seed", Absent)], true, None,
         WAITS),
        ("an interrupted replace resumes as a replace", 1, Unconfirmed,
         vec![Candidate { cql: member("c", &[], &["10.0.0.2", "10.0.0.1"]), ..up(0, "10.0.0.2") }, pod(1, me())], false, Some("10.0.0.1"),
         Want::Seeds(R, &["10.0.0.2"])),
        ("unconfirmed restart refuses a candidate of another cluster", 1, Unconfirmed,
         vec![Candidate { cql: member("other", &[], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
         PERSON),
        // --- without data: join through live members only, never self ---
        ("join, all up", 2, Empty,
         vec![up(0, "10.0.0.1"), up(1, "10.0.0.2"), pod(2, me())], false, None,
         Want::Seeds(BootMode::Join, &["10.0.0.1", "10.0.0.2"])),
        ("join through members only: a silent pod is no seed", 3, Empty,
         vec![up(0, "10.0.0.1"), up(1, "10.0.0.2"), silent(2, "10.0.0.3")], false, None,
         Want::Wait),
        ("join waits for an earlier ordinal that is not a member yet", 2, Empty,
         vec![up(0, "10.0.0.1"), silent(1, "10.0.0.2"), pod(2, me())], false, None,
         Want::Wait),
        ("join refuses at the end when an earlier ordinal never joins", 2, Empty,
         vec![up(0, "10.0.0.1"), silent(1, "10.0.0.2"), pod(2, me())], true, None,
         WAITS),
        ("join, a later ordinal that is down does not block", 1, Empty,
         vec![up(0, "10.0.0.1"), pod(1, me()), silent(2, "10.0.0.3")], false, None,
         Want::Seeds(BootMode::Join, &["10.0.0.1"])),
        ("join waits while another node bootstraps", 2, Empty,
         vec![Candidate { cql: member("c", &["10.0.0.2"], &[]), ..up(0, "10.0.0.1") }, up(1, "10.0.0.2"), pod(2, me())], false, None,
         Want::Wait),
        ("a range movement outlasting the wait: keep waiting", 2, Empty,
         vec![Candidate { cql: member("c", &["10.0.0.2"], &[]), ..up(0, "10.0.0.1") }, up(1, "10.0.0.2"), pod(2, me())], true, None,
         WAITS),
        ("a movement of this very pod does not block it", 1, Empty,
         vec![Candidate { cql: member("c", &[ME], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
         Want::Seeds(BootMode::Join, &["10.0.0.1"])),
        ("join, nothing resolves yet: wait", 1, Empty,
         vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], false, None,
         Want::Wait),
        ("join, nothing resolves in time: refuse", 1, Empty,
         vec![pod(0, Absent), pod(1, me()), pod(2, Absent)], true, None,
         WAITS),
        ("join, all SERVFAIL/timeout in time: refuse", 1, Empty,
         vec![pod(0, servfail()), pod(1, me()), pod(2, Lookup::Timeout)], true, None,
         WAITS),
        ("partial data is not data", 1, Partial,
         vec![pod(0, Absent), pod(1, me())], true, None,
         WAITS),
        ("stale record: another pod's name on our IP is never a seed", 2, Empty,
         vec![up(0, "10.0.0.1"), Candidate { cql: Cql::NotAsked, ..up(1, ME) }, pod(2, me())], false, None,
         Want::Wait),
        ("stale record of a later pod does not block a join", 1, Empty,
         vec![up(0, "10.0.0.1"), pod(1, me()), Candidate { cql: Cql::NotAsked, ..up(2, ME) }], false, None,
         Want::Seeds(BootMode::Join, &["10.0.0.1"])),
        ("duplicates collapse", 3, Empty,
         vec![up(0, "10.0.0.1"), Candidate { lookup: at(&["10.0.0.1", "10.0.0.2"]), ..up(1, "10.0.0.1") }, up(2, "10.0.0.2")], false, None,
         Want::Seeds(BootMode::Join, &["10.0.0.1", "10.0.0.2"])),
        ("another cluster on our names: refuse at once", 1, Empty,
         vec![Candidate { cql: member("other", &[], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
         PERSON),
        // --- without data, ordinal 0 ---
        ("found: every other pod is absent", 0, Empty,
         vec![pod(0, me()), pod(1, Absent), pod(2, Absent)], false, None,
         Want::Seeds(BootMode::Found, &[ME])),
        ("found: single replica", 0, Empty,
         vec![pod(0, me())], false, None,
         Want::Seeds(BootMode::Found, &[ME])),
        ("found from partial data (crashed during first boot)", 0, Partial,
         vec![pod(0, me()), pod(1, Absent)], false, None,
         Want::Seeds(BootMode::Found, &[ME])),
        ("pods started at once: ordinal 0 waits for a ring to answer first", 0, Empty,
         vec![pod(0, me()), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")], false, None,
         Want::Wait),
        ("pods started at once: no ring answered in time, ordinal 0 founds", 0, Empty,
         vec![pod(0, me()), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")], true, None,
         Want::Seeds(BootMode::Found, &[ME])),
        ("ordinal 0 without data joins a live ring", 0, Empty,
         vec![pod(0, me()), up(1, "10.0.0.2"), pod(2, Absent)], false, None,
         Want::Seeds(BootMode::Join, &["10.0.0.2"])),
        ("ordinal 0 never founds on a DNS error", 0, Empty,
         vec![pod(0, me()), pod(1, servfail()), pod(2, Absent)], true, None,
         WAITS),
        ("ordinal 0 never founds when extra seeds are configured", 0, Empty,
         vec![pod(0, me()), pod(1, Absent), extra("seed.dc2", Absent)], true, None,
         WAITS),
        ("other ordinals never found", 1, Empty,
         vec![silent(0, "10.0.0.1"), pod(1, me())], true, None,
         WAITS),
        ("a down member blocks a join: wait", 0, Empty,
         vec![pod(0, me()), Candidate { cql: member_down(&["10.0.0.1", "10.0.0.2"], &["10.0.0.1"]), ..up(1, "10.0.0.2") }], false, None,
         Want::Wait),
        ("a down member blocks a join: refuse at the end, pointing at --replace-address", 0, Empty,
         vec![pod(0, me()), Candidate { cql: member_down(&["10.0.0.1", "10.0.0.2"], &["10.0.0.1"]), ..up(1, "10.0.0.2") }], true, None,
         WAITS),
        ("replacing the down member is the way through", 0, Empty,
         vec![pod(0, me()), Candidate { cql: member_down(&["10.0.0.1", "10.0.0.2"], &["10.0.0.1"]), ..up(1, "10.0.0.2") }], false, Some("10.0.0.1"),
         Want::Seeds(R, &["10.0.0.2"])),
        ("a live member holds our IP: refuse at once", 1, Empty,
         vec![Candidate { cql: member_down(&["10.0.0.1", ME], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
         PERSON),
        ("a down member holds our IP: wait (removenode first)", 1, Empty,
         vec![Candidate { cql: member_down(&["10.0.0.1", ME], &[ME]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
         Want::Wait),
        ("a down member holds our IP: keep waiting (it may come back elsewhere)", 1, Empty,
         vec![Candidate { cql: member_down(&["10.0.0.1", ME], &[ME]), ..up(0, "10.0.0.1") }, pod(1, me())], true, None,
         WAITS),
        ("our IP in the ring does not matter with data (it is us)", 1, Present,
         vec![Candidate { cql: member_down(&["10.0.0.1", ME], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false, None,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", ME])),
        // --- replace (explicit evidence) ---
        ("replace a member the ring knows", 0, Empty,
         vec![pod(0, me()), Candidate { cql: member("c", &[], &["10.0.0.2", "10.0.0.1"]), ..up(1, "10.0.0.2") }], false, Some("10.0.0.1"),
         Want::Seeds(R, &["10.0.0.2"])),
        ("replace: the old address is never a seed even if DNS still has it", 1, Empty,
         vec![Candidate { cql: Cql::NotAsked, ..up(0, "10.0.0.1") }, pod(1, me()), Candidate { cql: member("c", &[], &["10.0.0.1", "10.0.0.3"]), ..up(2, "10.0.0.3") }], false, Some("10.0.0.1"),
         Want::Seeds(R, &["10.0.0.3"])),
        ("replace an address the ring does not know: refuse", 0, Empty,
         vec![pod(0, me()), up(1, "10.0.0.2")], false, Some("10.0.0.1"),
         PERSON),
        ("replace with no member answering: wait", 0, Empty,
         vec![pod(0, me()), silent(1, "10.0.0.2")], false, Some("10.0.0.1"),
         Want::Wait),
        ("replace with no member answering after the wait: keep waiting", 0, Empty,
         vec![pod(0, me()), silent(1, "10.0.0.2")], true, Some("10.0.0.1"),
         WAITS),
        ("replace is ignored with data (Cassandra ignores _first_boot too)", 0, Present,
         vec![pod(0, me()), up(1, "10.0.0.2")], false, Some("10.0.0.1"),
         Want::Seeds(BootMode::Restart, &[ME, "10.0.0.2"])),
        // --- extra seeds ---
        ("extra seeds that answer are join seeds", 1, Empty,
         vec![up(0, "10.0.0.1"), pod(1, me()), Candidate { cql: member("c", &[], &[]), ..extra("192.168.9.9", Lookup::Literal { address: ip("192.168.9.9") }) }], false, None,
         Want::Seeds(BootMode::Join, &["10.0.0.1", "192.168.9.9"])),
        ("extra seed that is our own IP is skipped without data", 1, Empty,
         vec![up(0, "10.0.0.1"), pod(1, me()), extra(ME, Lookup::Literal { address: ip(ME) })], false, None,
         Want::Seeds(BootMode::Join, &["10.0.0.1"])),
        ("extra seed that is our own IP is fine with data", 1, Present,
         vec![up(0, "10.0.0.1"), pod(1, me()), extra(ME, Lookup::Literal { address: ip(ME) })], false, None,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", ME])),
    ];
    for (name, own, data, candidates, wait_over, replace, want) in cases {
        check(name, own, data, candidates, wait_over, replace, want);
    }
}

const H_ME: &str = "00000000-0000-4000-8000-00000000000a";
const H0: &str = "00000000-0000-4000-8000-000000000000";
const H0_NEW: &str = "00000000-0000-4000-8000-0000000000f0";
const H2: &str = "00000000-0000-4000-8000-000000000002";

/// This node's record: host H_ME, last saw H0 at 10.0.0.1 and H2 at 10.0.0.3.
fn record(peers: Option<&[(&str, &str)]>) -> JoinRecord {
    JoinRecord {
        format: crate::decide::data::RECORD_FORMAT,
        host_id: H_ME.into(),
        cluster_name: Some("c".into()),
        address: Some(ip(ME)),
        peers: peers.map(|p| {
            p.iter()
                .map(|(id, a)| crate::decide::data::KnownPeer {
                    host_id: (*id).into(),
                    address: Some(ip(a)),
                })
                .collect()
        }),
        recorded_at: None,
        dc: None,
        rack: None,
    }
}

/// A pod at `addr` answering as host `host` of a ring of `ring` (host, address) pairs.
fn ring_pod(ordinal: u32, addr: &str, host: &str, ring: &[(&str, &str)]) -> Candidate {
    Candidate {
        cql: Cql::Member {
            cluster_name: Some("c".into()),
            host_id: Some(host.into()),
            movements: vec![],
            ring: ring
                .iter()
                .map(|(h, a)| RingMember {
                    address: ip(a),
                    host_id: Some((*h).into()),
                })
                .collect(),
            down: vec![],
            oldest_start: Some(1_796_186_096),
            gone: vec![],
        },
        ..pod(ordinal, at(&[addr]))
    }
}

/// `c` with this node's host ID shown as removed in its gossip.
fn removed(mut c: Candidate) -> Candidate {
    if let Cql::Member { gone, .. } = &mut c.cql {
        gone.push(H_ME.into());
    }
    c
}

#[test]
fn ring_identity_table() {
    let me = || Lookup::Absent;
    let peers: &[(&str, &str)] = &[(H0, "10.0.0.1"), (H2, "10.0.0.3")];
    let ours = record(Some(peers));
    let legacy = record(None);
    // The old ring, as a member that knows us reports it.
    let old_ring: &[(&str, &str)] = &[(H0, "10.0.0.1"), (H_ME, ME), (H2, "10.0.0.3")];
    // A new, empty cluster founded by ordinal 0 after it lost its disk.
    let new_ip = |o| ring_pod(o, "10.0.0.21", H0_NEW, &[(H0_NEW, "10.0.0.21")]);
    let old_ip = |o| ring_pod(o, "10.0.0.1", H0_NEW, &[(H0_NEW, "10.0.0.1")]);
    type Row<'a> = (
        &'a str,
        &'a JoinRecord,
        Vec<Candidate>,
        bool,
        Want,
        Vec<(u32, Option<Kin>, Use)>,
    );
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("a member whose ring lists this node is a seed", &ours,
         vec![ring_pod(0, "10.0.0.1", H0, old_ring), pod(1, me()), pod(2, Absent)], false,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", ME]),
         vec![(0, Some(Kin::KnowsThisNode), Use::Seed)]),
        ("a new empty founder on a new IP is no seed: restart without it", &ours,
         vec![new_ip(0), pod(1, me()), pod(2, Absent)], false,
         Want::Seeds(BootMode::Restart, &[ME]),
         vec![(0, Some(Kin::ForeignRing), Use::ForeignRing)]),
        ("a founder on a saved peer's address: wait (Cassandra would gossip with it)", &ours,
         vec![old_ip(0), pod(1, me()), pod(2, Absent)], false,
         Want::Wait,
         vec![(0, Some(Kin::ForeignRing), Use::ForeignRing)]),
        ("a founder on a saved peer's address: refuse when the wait is over", &ours,
         vec![old_ip(0), pod(1, me()), pod(2, Absent)], true,
         PERSON, vec![]),
        ("the other pod that knows this node seeds it; the foreign one does not", &ours,
         vec![new_ip(0), pod(1, me()), ring_pod(2, "10.0.0.3", H2, old_ring)], false,
         Want::Seeds(BootMode::Restart, &[ME, "10.0.0.3"]),
         vec![(0, Some(Kin::ForeignRing), Use::ForeignRing), (2, Some(Kin::KnowsThisNode), Use::Seed)]),
        ("cold restart: every other pod is silent, all stay seeds", &ours,
         vec![silent(0, "10.0.0.1"), pod(1, me()), silent(2, "10.0.0.3")], false,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", ME, "10.0.0.3"]),
         vec![(0, Some(Kin::Unverified), Use::Seed), (2, Some(Kin::Unverified), Use::Seed)]),
        ("a member that knows this node answered: silent pods are left out", &ours,
         vec![ring_pod(0, "10.0.0.1", H0, old_ring), pod(1, me()), silent(2, "10.0.0.9")], false,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", ME]),
         vec![(2, Some(Kin::Unverified), Use::SkippedUnverified)]),
        ("a silent pod at an address of a foreign ring is no seed", &ours,
         vec![ring_pod(0, "10.0.0.21", H0_NEW, &[(H0_NEW, "10.0.0.21"), (H2, "10.0.0.22")]), pod(1, me()), silent(2, "10.0.0.22")], false,
         Want::Seeds(BootMode::Restart, &[ME]),
         vec![(2, Some(Kin::ForeignRingMember), Use::ForeignRing)]),
        ("a ring whose gossip shows this node removed: wait", &ours,
         vec![removed(ring_pod(0, "10.0.0.1", H0, &[(H0, "10.0.0.1"), (H2, "10.0.0.3")])), pod(1, me())], false,
         Want::Wait,
         vec![(0, Some(Kin::RemovedThisNode), Use::ForeignRing)]),
        ("a ring whose gossip shows this node removed: refuse when the wait is over", &ours,
         vec![removed(ring_pod(0, "10.0.0.1", H0, &[(H0, "10.0.0.1"), (H2, "10.0.0.3")])), pod(1, me())], true,
         PERSON, vec![]),
        ("a peer that took this node's old address in a cold restart: no seed, no refusal", &ours,
         vec![ring_pod(0, "10.0.0.1", H0, &[(H0, "10.0.0.1"), (H2, ME)]), pod(1, me())], true,
         Want::Seeds(BootMode::Restart, &[ME]),
         vec![(0, Some(Kin::DoesNotListThisNode), Use::ForeignRing)]),
        ("a record of the first format checks the host ID", &legacy,
         vec![ring_pod(0, "10.0.0.1", H0, old_ring), pod(1, me()), silent(2, "10.0.0.3")], false,
         Want::Seeds(BootMode::Restart, &["10.0.0.1", ME]),
         vec![(0, Some(Kin::KnowsThisNode), Use::Seed)]),
        ("a record of the first format cannot rule out a merge: wait", &legacy,
         vec![new_ip(0), pod(1, me()), ring_pod(2, "10.0.0.3", H2, old_ring)], false,
         Want::Wait,
         vec![(0, Some(Kin::ForeignRing), Use::ForeignRing), (2, Some(Kin::KnowsThisNode), Use::Seed)]),
        ("a record of the first format cannot rule out a merge: refuse", &legacy,
         vec![new_ip(0), pod(1, me())], true,
         PERSON, vec![]),
        ("another cluster name still refuses at once", &ours,
         vec![Candidate { cql: member("other", &[], &[]), ..up(0, "10.0.0.1") }, pod(1, me())], false,
         PERSON, vec![]),
    ];
    for (name, record, candidates, wait_over, want, marks) in rows {
        let plan = check_with(
            name,
            1,
            Present,
            Some(record),
            &[],
            candidates,
            wait_over,
            None,
            want,
        );
        for (ordinal, kin, use_) in marks {
            let r = plan
                .candidates
                .iter()
                .find(|r| r.candidate.ordinal == Some(ordinal))
                .unwrap();
            assert_eq!(
                (r.identity, r.use_.clone()),
                (kin, use_),
                "{name}: ordinal {ordinal}"
            );
        }
    }
    // Without a record (data from before ringkeeper kept one) nothing is judged.
    let plan = check(
        "no record, no identity",
        1,
        Present,
        vec![new_ip(0), pod(1, me())],
        false,
        None,
        Want::Seeds(BootMode::Restart, &["10.0.0.21", ME]),
    );
    assert!(plan.candidates.iter().all(|r| r.identity.is_none()));
}

#[test]
fn saved_peers_are_checked_where_cassandra_will_gossip() {
    let peers: &[(&str, &str)] = &[(H0, "10.0.0.1"), (H2, "10.0.0.3")];
    let ours = record(Some(peers));
    let saved = |cql: Cql| SavedPeer {
        host_id: H0.into(),
        address: ip("10.0.0.1"),
        cql,
        identity: None,
    };
    let founder = ring_pod(0, "10.0.0.1", H0_NEW, &[(H0_NEW, "10.0.0.1")]).cql;
    let old_ring = ring_pod(0, "10.0.0.1", H0, &[(H0, "10.0.0.1"), (H_ME, ME)]).cql;
    // Pod 0's name does not resolve (yet), but a new ring answers at its saved address.
    for (wait_over, want) in [(false, Want::Wait), (true, PERSON)] {
        let plan = check_with(
            "a foreign ring at a saved peer's address",
            1,
            Present,
            Some(&ours),
            &[saved(founder.clone())],
            vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
            wait_over,
            None,
            want,
        );
        assert_eq!(plan.saved_peers[0].identity, Some(Kin::ForeignRing));
    }
    // Another cluster at that address now (the IP was reused): Cassandra never gossips
    // across cluster names, so it is not judged.
    let mut other_cluster = founder.clone();
    if let Cql::Member { cluster_name, .. } = &mut other_cluster {
        *cluster_name = Some("staging".into());
    }
    // The old peer answers there and knows this node; or nothing answers.
    for cql in [
        old_ring,
        Cql::NoAnswer {
            detail: "refused".into(),
        },
        other_cluster,
    ] {
        check_with(
            "a saved peer of this ring, or silent",
            1,
            Present,
            Some(&ours),
            &[saved(cql)],
            vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
            false,
            None,
            Want::Seeds(BootMode::Restart, &[ME]),
        );
    }
}

#[test]
fn identity_refusals_say_what_was_seen_and_what_to_do() {
    let peers: &[(&str, &str)] = &[(H0, "10.0.0.1"), (H2, "10.0.0.3")];
    let ours = record(Some(peers));
    let candidates = vec![
        ring_pod(0, "10.0.0.1", H0_NEW, &[(H0_NEW, "10.0.0.1")]),
        pod(1, Lookup::Absent),
    ];
    let plan = plan(&Facts {
        own_ordinal: 1,
        pod_ip: ip(ME),
        data: Present,
        candidates: &candidates,
        wait_over: true,
        cluster_name: Some("c"),
        replace_address: None,
        record: Some(&ours),
        saved_peers: &[],
        recorded: &Recorded::Unknown,
        previous: None,
        others_previous: &[],
        previous_down_for: Duration::from_secs(3600),
        replace_after_down: Duration::from_secs(180),
    });
    let Verdict::Refuse { reason, .. } = plan.verdict else {
        panic!("expected a refusal")
    };
    for part in [
        "answers as a ring of 1 member(s) under cluster name \"c\"",
        &format!("does not include this node's host ID {H_ME}"),
        "started at 2026-12-02T04:34:56Z",
        &format!("{H0} at 10.0.0.1"),
        "merge the two rings",
        "--replace-address",
    ] {
        assert!(reason.contains(part), "{part:?} not in: {reason}");
    }
}

#[test]
fn a_same_address_replace_is_allowed() {
    // The pod lost its disk and came back on its old IP: Cassandra replaces a node at
    // the same address too (it hibernates while it streams).
    check(
        "replace at the same IP",
        0,
        Empty,
        vec![
            pod(0, Lookup::Absent),
            Candidate {
                cql: member_down(&[ME, "10.0.0.2"], &[ME]),
                ..up(1, "10.0.0.2")
            },
        ],
        false,
        Some(ME),
        Want::Seeds(BootMode::Replace { address: ip(ME) }, &["10.0.0.2"]),
    );
}

#[test]
fn refusal_names_what_was_tried() {
    let candidates = vec![pod(0, servfail()), pod(1, Lookup::Absent)];
    let plan = plan(&Facts {
        own_ordinal: 1,
        pod_ip: ip(ME),
        data: Empty,
        candidates: &candidates,
        wait_over: true,
        cluster_name: None,
        replace_address: None,
        record: None,
        saved_peers: &[],
        recorded: &Recorded::Unknown,
        previous: None,
        others_previous: &[],
        previous_down_for: Duration::from_secs(3600),
        replace_after_down: Duration::from_secs(180),
    });
    let Verdict::Refuse { reason, .. } = plan.verdict else {
        panic!("expected a refusal")
    };
    assert!(
        reason.contains("c-0.c.db.svc.cluster.local (SERVFAIL)"),
        "{reason}"
    );
    assert!(reason.contains("publishNotReadyAddresses"), "{reason}");
}

#[test]
fn the_wait_report_says_what_is_awaited_and_what_was_seen() {
    let waited = Duration::from_secs(90);
    let candidates = |zero: Candidate| {
        vec![
            zero,
            pod(1, Lookup::Absent),
            pod(2, Lookup::Absent),
            silent(3, "10.0.0.4"),
        ]
    };
    let facts = |cs: &[Candidate], wait_over| {
        plan(&Facts {
            own_ordinal: 1,
            pod_ip: ip(ME),
            data: Empty,
            candidates: cs,
            wait_over,
            cluster_name: Some("c"),
            replace_address: None,
            record: None,
            saved_peers: &[],
            recorded: &Recorded::Unknown,
            previous: None,
            others_previous: &[],
            previous_down_for: Duration::from_secs(3600),
            replace_after_down: Duration::from_secs(180),
        })
    };
    // Pods started at once: ordinal 0 resolves but does not answer yet.
    let all = candidates(silent(0, "10.0.0.1"));
    for wait_over in [false, true] {
        let w = facts(&all, wait_over)
            .waiting(1, waited, 7, wait_over)
            .expect("waits");
        assert!(
            w.reason.contains("needs another pod as seed"),
            "{}",
            w.reason
        );
        assert_eq!(
            w.seen,
            [
                "c-0.c.db.svc.cluster.local: 10.0.0.1, no CQL answer",
                "c-2.c.db.svc.cluster.local: NXDOMAIN",
                "c-3.c.db.svc.cluster.local: 10.0.0.4, no CQL answer",
            ]
        );
        assert_eq!(
            (w.seed_wait_over, w.waited, w.rounds),
            (wait_over, waited, 7)
        );
    }
    // A member that sees another node joining.
    let moving = candidates(Candidate {
        cql: member("c", &["10.0.0.4"], &["10.0.0.1", "10.0.0.4"]),
        ..up(0, "10.0.0.1")
    });
    let w = facts(&moving, true).waiting(1, waited, 9, true).unwrap();
    assert_eq!(
        w.seen[0],
        "c-0.c.db.svc.cluster.local: 10.0.0.1, member of a ring of 2, moving: 10.0.0.4"
    );
    // Decided, or refused for a person: nothing to wait for.
    let joined = candidates(up(0, "10.0.0.1"));
    assert_eq!(facts(&joined, false).waiting(1, waited, 1, false), None);
    let foreign = candidates(Candidate {
        cql: member("other", &[], &[]),
        ..up(0, "10.0.0.1")
    });
    assert_eq!(facts(&foreign, true).waiting(1, waited, 1, true), None);
}

/// A member of cluster "c" whose ring lists `(address, host ID)`, with `down` down and
/// `gone` removed or left in its gossip.
fn member_ids(ring: &[(&str, &str)], down: &[&str], gone: &[&str]) -> Cql {
    Cql::Member {
        cluster_name: Some("c".into()),
        host_id: None,
        movements: Vec::new(),
        ring: ring
            .iter()
            .map(|(a, h)| RingMember {
                address: ip(a),
                host_id: Some((*h).into()),
            })
            .collect(),
        down: down.iter().map(|a| ip(a)).collect(),
        oldest_start: None,
        gone: gone.iter().map(|h| (*h).into()).collect(),
    }
}

#[test]
fn a_replace_waits_for_the_down_time_and_for_other_range_movements() {
    const H0: &str = "00000000-0000-0000-0000-000000000000";
    const H1: &str = "11111111-1111-1111-1111-111111111111";
    const H2: &str = "22222222-2222-2222-2222-222222222222";
    let ring3 = [("10.0.0.1", H0), ("10.0.0.2", H1), ("10.0.0.3", H2)];
    let member = |ordinal: u32, addr: &str, movements: &[&str]| {
        let mut cql = member_ids(&ring3, &["10.0.0.2"], &[]);
        if let Cql::Member { movements: m, .. } = &mut cql {
            *m = movements.iter().map(|a| ip(a)).collect();
        }
        Candidate {
            cql,
            ..pod(ordinal, at(&[addr]))
        }
    };
    let exists = Recorded::Exists {
        pods: vec!["c-0".into(), "c-1".into(), "c-2".into()],
    };
    let was_h1 = PreviousSelf {
        host_id: H1.into(),
        address: ip("10.0.0.2"),
    };
    let run_as = |own: u32,
                  previous: &PreviousSelf,
                  others: &[(u32, PreviousSelf)],
                  candidates: Vec<Candidate>,
                  down_for: u64| {
        plan(&Facts {
            own_ordinal: own,
            pod_ip: ip(ME),
            data: DataState::Empty,
            candidates: &candidates,
            wait_over: true,
            cluster_name: Some("c"),
            replace_address: None,
            record: None,
            saved_peers: &[],
            recorded: &exists,
            previous: Some(previous),
            others_previous: others,
            previous_down_for: Duration::from_secs(down_for),
            replace_after_down: Duration::from_secs(180),
        })
    };
    let run =
        |candidates: Vec<Candidate>, down_for: u64| run_as(1, &was_h1, &[], candidates, down_for);
    let quiet = || vec![member(0, "10.0.0.1", &[]), member(2, "10.0.0.3", &[])];
    // Seen down, but not for long enough: wait, and the edge keeps counting.
    for down_for in [0, 179] {
        let p = run(quiet(), down_for);
        assert!(
            matches!(&p.record, Some(RecordUse::ReplaceNotYet { awaiting_down_time: true, why, .. }) if why.contains("180s")),
            "{down_for}: {:?}",
            p.record
        );
        assert!(
            !matches!(p.verdict, Verdict::Seeds { .. }),
            "never a plain join beside the down node: {:?}",
            p.verdict
        );
    }
    // Long enough: replace.
    let p = run(quiet(), 180);
    assert!(
        matches!(
            p.verdict,
            Verdict::Seeds {
                mode: BootMode::Replace { .. },
                ..
            }
        ),
        "{:?}",
        p.verdict
    );
    // Two lost disks at once: ordinal 0's recorded node is down too, so ordinal 1 waits
    // for it (and ordinal 0, seeing ordinal 1's node down, goes first).
    let h0 = PreviousSelf {
        host_id: H0.into(),
        address: ip("10.0.0.1"),
    };
    let both_down = || {
        let cql = member_ids(&ring3, &["10.0.0.1", "10.0.0.2"], &[]);
        vec![Candidate {
            cql,
            ..pod(2, at(&["10.0.0.3"]))
        }]
    };
    let p = run_as(1, &was_h1, &[(0, h0.clone())], both_down(), 3600);
    assert!(
        matches!(&p.record, Some(RecordUse::ReplaceNotYet { why, .. }) if why.contains("waiting for ordinal 0")),
        "{:?}",
        p.record
    );
    let p = run_as(0, &h0, &[(1, was_h1.clone())], both_down(), 3600);
    assert!(
        matches!(
            p.verdict,
            Verdict::Seeds {
                mode: BootMode::Replace { .. },
                ..
            }
        ),
        "the lowest ordinal goes first: {:?} {:?}",
        p.verdict,
        p.record
    );
    // Another node joining (or replacing, leaving, moving): wait, and the count starts
    // again (not awaiting the time).
    let busy = vec![
        member(0, "10.0.0.1", &["10.0.0.9"]),
        member(2, "10.0.0.3", &[]),
    ];
    let p = run(busy, 3600);
    assert!(
        matches!(&p.record, Some(RecordUse::ReplaceNotYet { awaiting_down_time: false, why, .. }) if why.contains("10.0.0.9")),
        "{:?}",
        p.record
    );
    assert!(
        !matches!(p.verdict, Verdict::Seeds { .. }),
        "{:?}",
        p.verdict
    );
}

#[test]
fn identity_record_table() {
    const H0: &str = "00000000-0000-0000-0000-000000000000";
    const H1: &str = "11111111-1111-1111-1111-111111111111";
    const H2: &str = "22222222-2222-2222-2222-222222222222";
    let ring3 = [("10.0.0.1", H0), ("10.0.0.2", H1), ("10.0.0.3", H2)];
    let ring3_without = [("10.0.0.1", H0), ("10.0.0.3", H2)];
    let at_member = |ordinal: u32, addr: &str, cql: Cql| Candidate {
        cql,
        ..pod(ordinal, at(&[addr]))
    };
    let h1_down = || member_ids(&ring3, &["10.0.0.2"], &[]);
    let exists = Recorded::Exists {
        pods: vec!["c-0".into(), "c-1".into(), "c-2".into()],
    };
    let previous = |h: &str, a: &str| PreviousSelf {
        host_id: h.into(),
        address: ip(a),
    };
    let was_h1 = previous(H1, "10.0.0.2");
    let was_h0 = previous(H0, "10.0.0.1");
    let was_me = previous(H1, ME);
    let was_h2 = previous(H2, "10.0.0.3");
    let unknown = Recorded::Unknown;
    let absent = Recorded::Absent;
    let unusable = Recorded::Unusable {
        entries: vec!["c-1: entry format 9 is newer than this version reads (1)".into()],
    };
    let h1_at_me = [("10.0.0.1", H0), (ME, H1), ("10.0.0.3", H2)];
    type Row<'a> = (
        &'static str,
        u32,
        DataState,
        Api<'a>,
        Vec<Candidate>,
        bool,
        Option<&'static str>,
        Want,
        Option<&'static str>,
    );
    use DataState::{Empty, Present};
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        // Automatic replace: every member asked confirms the previous node down.
        ("both members see the previous node down: replace it", 1, Empty, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", h1_down()), pod(1, Lookup::Absent), at_member(2, "10.0.0.3", h1_down())],
         false, None, Want::Seeds(BootMode::Replace { address: ip("10.0.0.2") }, &["10.0.0.1", "10.0.0.3"]), Some("replace")),
        ("one member sees it alive: never replace a live node", 1, Empty, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", member_ids(&ring3, &[], &[]))],
         false, None, Want::Wait, Some("replace_not_yet")),
        ("... and after the wait: wait on", 1, Empty, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", member_ids(&ring3, &[], &[]))],
         true, None, WAITS, Some("replace_not_yet")),
        ("one member of two answers: not enough to agree", 1, Empty, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", h1_down()), silent(2, "10.0.0.3")],
         false, None, Want::Wait, Some("replace_not_yet")),
        ("a ring of two: the one other member suffices", 1, Empty, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", member_ids(&[("10.0.0.1", H0), ("10.0.0.2", H1)], &["10.0.0.2"], &[]))],
         false, None, Want::Seeds(BootMode::Replace { address: ip("10.0.0.2") }, &["10.0.0.1"]), Some("replace")),
        ("members disagree whether it is in the ring: wait", 1, Empty, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", member_ids(&ring3_without, &[], &[]))],
         false, None, Want::Wait, Some("replace_not_yet")),
        ("no member lists it: the record is stale, join as a new node", 1, Empty, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", member_ids(&ring3_without, &[], &[])), at_member(2, "10.0.0.3", member_ids(&ring3_without, &[], &[]))],
         false, None, Want::Seeds(BootMode::Join, &["10.0.0.1", "10.0.0.3"]), Some("not_acted_on")),
        ("gossip shows it removed: not acted on", 1, Empty, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", member_ids(&ring3_without, &[], &[H1]))],
         false, None, Want::Seeds(BootMode::Join, &["10.0.0.1"]), Some("not_acted_on")),
        ("--replace-address wins over the record", 1, Empty, (&exists, Some(&was_h2)),
         vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", h1_down())],
         false, Some("10.0.0.2"), Want::Seeds(BootMode::Replace { address: ip("10.0.0.2") }, &["10.0.0.1", "10.0.0.3"]), None),
        ("with data the record is not used: restart", 1, Present, (&exists, Some(&was_h1)),
         vec![at_member(0, "10.0.0.1", h1_down()), pod(1, at(&[ME])), at_member(2, "10.0.0.3", h1_down())],
         false, None, Want::Seeds(BootMode::Restart, &["10.0.0.1", ME, "10.0.0.3"]), None),
        ("back on its old address: replace at the same address", 1, Empty, (&exists, Some(&was_me)),
         vec![at_member(0, "10.0.0.1", member_ids(&h1_at_me, &[ME], &[])), at_member(2, "10.0.0.3", member_ids(&h1_at_me, &[ME], &[]))],
         false, None, Want::Seeds(BootMode::Replace { address: ip(ME) }, &["10.0.0.1", "10.0.0.3"]), Some("replace")),
        ("without the record, the same ring cannot be joined (a down member)", 1, Empty, (&unknown, None),
         vec![at_member(0, "10.0.0.1", h1_down()), at_member(2, "10.0.0.3", h1_down())],
         false, None, Want::Wait, None),
        // The cluster remembers it exists.
        ("ordinal 0, no data, others silent, the cluster exists: never found", 0, Empty, (&exists, None),
         vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")],
         false, None, Want::Wait, Some("founding_refused")),
        ("... not after the wait either", 0, Empty, (&exists, None),
         vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")],
         true, None, WAITS, Some("founding_refused")),
        ("... nor with every other name absent", 0, Empty, (&exists, None),
         vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent), pod(2, Lookup::Absent)],
         true, None, WAITS, Some("founding_refused")),
        ("ordinal 0 that lost its disk replaces itself once members answer", 0, Empty, (&exists, Some(&was_h0)),
         vec![pod(0, Lookup::Absent), at_member(1, "10.0.0.2", member_ids(&ring3, &["10.0.0.1"], &[])), at_member(2, "10.0.0.3", member_ids(&ring3, &["10.0.0.1"], &[]))],
         false, None, Want::Seeds(BootMode::Replace { address: ip("10.0.0.1") }, &["10.0.0.2", "10.0.0.3"]), Some("replace")),
        ("no record of the cluster: found at once beside pods that resolve", 0, Empty, (&absent, None),
         vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2"), silent(2, "10.0.0.3")],
         false, None, Want::Seeds(BootMode::Found, &[ME]), Some("founding_early")),
        ("no record, every other name absent: found as before", 0, Empty, (&absent, None),
         vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
         false, None, Want::Seeds(BootMode::Found, &[ME]), None),
        ("no record but a DNS error: wait", 0, Empty, (&absent, None),
         vec![pod(0, Lookup::Absent), pod(1, servfail()), silent(2, "10.0.0.3")],
         false, None, Want::Wait, None),
        ("no record, but a member answers: join it", 0, Empty, (&absent, None),
         vec![pod(0, Lookup::Absent), up(1, "10.0.0.2")],
         false, None, Want::Seeds(BootMode::Join, &["10.0.0.2"]), None),
        ("record unusable, every other name absent: no founding at once", 0, Empty, (&unusable, None),
         vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
         false, None, Want::Wait, None),
        ("record unusable, pods that resolve: wait out --seed-wait", 0, Empty, (&unusable, None),
         vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2")],
         false, None, Want::Wait, None),
        ("record unusable, every other name absent: wait out --seed-wait", 0, Empty, (&unusable, None),
         vec![pod(0, Lookup::Absent), pod(1, Lookup::Absent)],
         true, None, Want::Seeds(BootMode::Found, &[ME]), None),
        ("record unknown: wait out --seed-wait as before", 0, Empty, (&unknown, None),
         vec![pod(0, Lookup::Absent), silent(1, "10.0.0.2")],
         false, None, Want::Wait, None),
        ("the record does not keep ordinal 1 from joining", 1, Empty, (&exists, None),
         vec![up(0, "10.0.0.1"), pod(1, Lookup::Absent)],
         false, None, Want::Seeds(BootMode::Join, &["10.0.0.1"]), None),
    ];
    for (name, own, data, api, candidates, wait_over, replace, want, used) in rows {
        let plan = check_full(
            name,
            own,
            data,
            None,
            &[],
            api,
            candidates,
            wait_over,
            replace,
            want,
        );
        let got = plan.record.as_ref().map(|u| {
            serde_json::to_value(u).unwrap()["decision"]
                .as_str()
                .unwrap()
                .to_owned()
        });
        assert_eq!(got.as_deref(), used, "{name}: {:?}", plan.record);
    }
}
