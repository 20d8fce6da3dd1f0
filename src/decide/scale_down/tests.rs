use super::*;

fn set(replicas: Option<i32>, status: Option<i32>) -> SetFacts {
    SetFacts {
        name: "cassandra".into(),
        spec_replicas: replicas,
        status_replicas: status,
        ..SetFacts::default()
    }
}

#[test]
fn intent_table() {
    let known = Fact::Known;
    let sd = |ordinal: u32, replicas: u32, others: &[u32]| {
        Intent::ScaleDown(ScaleDown {
            ordinal,
            replicas,
            others: others.to_vec(),
            pvc_when_scaled: "Retain".into(),
        })
    };
    let deleting = SetFacts {
        deleting: true,
        ..set(Some(2), Some(3))
    };
    let started = SetFacts {
        ordinals_start: Some(1),
        ..set(Some(2), Some(3))
    };
    // (name, ordinal, set, Some(want) for a scale-down, else (drain, protection off))
    type Case = (&'static str, u32, Fact<SetFacts>, Result<Intent, bool>);
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("restart of a remaining pod", 1, known(set(Some(3), Some(3))), Err(false)),
        ("the last pod of 3 -> 2", 2, known(set(Some(2), Some(3))), Ok(sd(2, 2, &[]))),
        ("5 -> 2, the top pod", 4, known(set(Some(2), Some(5))), Ok(sd(4, 2, &[2, 3]))),
        ("5 -> 2, a middle pod", 3, known(set(Some(2), Some(5))), Ok(sd(3, 2, &[2, 4]))),
        ("status lagging behind", 4, known(set(Some(2), Some(3))), Ok(sd(4, 2, &[2, 3]))),
        ("no status", 2, known(set(Some(2), None)), Ok(sd(2, 2, &[]))),
        ("stopped, not shrunk", 2, known(set(Some(0), Some(3))), Err(false)),
        ("set deleted", 2, known(deleting), Err(false)),
        ("ordinals from 1", 2, known(started), Err(true)),
        ("no replicas", 2, known(set(None, Some(3))), Err(true)),
        ("negative replicas", 2, known(set(Some(-1), Some(3))), Err(true)),
        ("API denied", 2, Fact::Unknown("Kubernetes API denied get statefulsets/cassandra".into()), Err(true)),
        ("not asked", 2, Fact::NotAsked, Err(true)),
    ];
    for (name, ordinal, facts, want) in cases {
        let got = intent(ordinal, &facts);
        match (want, &got) {
            (Ok(want), got) => assert_eq!(got, &want, "{name}"),
            (
                Err(off),
                Intent::Drain {
                    protection_off,
                    why,
                },
            ) => {
                assert_eq!(*protection_off, off, "{name}: {why}");
            }
            (Err(_), got) => panic!("{name}: {got:?}"),
        }
    }
    let huge = intent(3, &known(set(Some(2), Some(i32::MAX))));
    let Intent::ScaleDown(s) = huge else { panic!() };
    assert_eq!(s.others.len() as u32, MAX_CONDEMNED - 1);
    let Intent::Drain { why, .. } = intent(2, &known(set(Some(0), Some(3)))) else {
        panic!()
    };
    assert!(why.contains("stopped, not shrunk"), "{why}");
}

#[test]
fn the_drain_says_what_it_goes_without() {
    let gaps = vec![Gap {
        why: "Kubernetes API denied get statefulsets/cassandra".into(),
        without: vec!["no Events", NO_REPLICAS],
        expected: false,
    }];
    assert_eq!(drain_gaps(gaps)[0].without, ["no Events", NO_SCALE_DOWN]);
}

fn ip(n: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, n])
}

fn member(n: u8, dc: &str, status: Status, liveness: Liveness) -> Member {
    Member {
        address: ip(n),
        host_id: Some(format!("00000000-0000-0000-0000-00000000000{n}")),
        dc: Some(dc.into()),
        rack: Some("r1".into()),
        status,
        liveness,
        tokens: 16,
        schema_version: None,
        release_version: None,
        observer: false,
    }
}

fn un(n: u8) -> Member {
    member(n, "dc1", Status::Normal, Liveness::Up)
}

fn me(n: u8) -> Member {
    Member {
        observer: true,
        ..un(n)
    }
}

fn ks(name: &str, pairs: &[(&str, &str)]) -> Keyspace {
    Keyspace {
        name: name.into(),
        replication: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

const SIMPLE: &str = "org.apache.cassandra.locator.SimpleStrategy";
const NTS: &str = "org.apache.cassandra.locator.NetworkTopologyStrategy";

/// Cassandra 5.0's system keyspaces after `ALTER ... RF 2`, and a user keyspace.
fn keyspaces(system_distributed_rf: &str, user_rf: &str) -> Vec<Keyspace> {
    vec![
        ks(
            "system",
            &[("class", "org.apache.cassandra.locator.LocalStrategy")],
        ),
        ks(
            "system_schema",
            &[("class", "org.apache.cassandra.locator.LocalStrategy")],
        ),
        ks(
            "system_auth",
            &[("class", SIMPLE), ("replication_factor", "1")],
        ),
        ks(
            "system_distributed",
            &[
                ("class", SIMPLE),
                ("replication_factor", system_distributed_rf),
            ],
        ),
        ks(
            "system_traces",
            &[("class", SIMPLE), ("replication_factor", "2")],
        ),
        ks("app", &[("class", NTS), ("dc1", user_rf)]),
    ]
}

struct Case {
    name: &'static str,
    ordinal: u32,
    replicas: u32,
    members: Vec<Member>,
    others: Vec<(u32, Fact<Option<IpAddr>>)>,
    keyspaces: Vec<Keyspace>,
    load: Option<u64>,
    left: u64,
    /// `None`: every member reports plenty of room.
    rooms: Option<Fact<Vec<Room>>>,
    want: &'static str,
    says: &'static [&'static str],
}

fn case(name: &'static str) -> Case {
    // 3 -> 2: this is pod 2 at 10.0.0.3, every keyspace at RF <= 2.
    Case {
        name,
        ordinal: 2,
        replicas: 2,
        members: vec![me(3), un(1), un(2)],
        others: vec![],
        keyspaces: keyspaces("2", "2"),
        load: Some(100 * 1024 * 1024),
        left: 1195,
        rooms: None,
        want: "decommission",
        says: &[],
    }
}

const NOW: u64 = 1_800_000_000;

fn plenty(members: &[Member]) -> Fact<Vec<Room>> {
    Fact::Known(
        members
            .iter()
            .filter_map(|m| {
                Some(Room {
                    host_id: m.host_id.clone()?,
                    free_bytes: 500 << 30,
                    volume_bytes: 1000 << 30,
                    measured_at: NOW - 60,
                })
            })
            .collect(),
    )
}

#[test]
fn decision_table() {
    let gib = 1024 * 1024 * 1024;
    let cases: Vec<Case> = vec![
        Case {
            says: &["2 member(s) remain in dc1"],
            ..case("3 -> 2 with RF 2 everywhere")
        },
        Case {
            keyspaces: keyspaces("3", "2"),
            want: "refused",
            says: &[
                "system_distributed (SimpleStrategy, replication_factor 3)",
                "scale back to 3",
            ],
            ..case("system_distributed at its default RF 3")
        },
        Case {
            keyspaces: keyspaces("2", "3"),
            want: "refused",
            says: &[
                "app (NetworkTopologyStrategy, 'dc1': 3)",
                "at most 'dc1': 2",
            ],
            ..case("a user keyspace at RF 3")
        },
        Case {
            keyspaces: vec![ks("app", &[("class", NTS), ("dc1", "3/1")])],
            want: "refused",
            says: &["'dc1': 3"],
            ..case("transient replicas count")
        },
        Case {
            keyspaces: vec![ks("app", &[("class", NTS), ("dc2", "3")])],
            ..case("no replicas in this DC: nothing to hold")
        },
        Case {
            members: vec![
                me(3),
                un(1),
                un(2),
                member(4, "dc2", Status::Normal, Liveness::Up),
            ],
            keyspaces: vec![
                ks("app", &[("class", NTS), ("dc1", "2"), ("dc2", "1")]),
                ks("simple", &[("class", SIMPLE), ("replication_factor", "3")]),
            ],
            ..case("SimpleStrategy counts every DC")
        },
        Case {
            members: vec![
                me(3),
                un(1),
                un(2),
                member(4, "dc2", Status::Normal, Liveness::Up),
            ],
            keyspaces: vec![ks("app", &[("class", NTS), ("dc1", "3"), ("dc2", "1")])],
            want: "refused",
            says: &["'dc1': 3"],
            ..case("NTS counts this DC only")
        },
        Case {
            keyspaces: vec![ks("odd", &[("class", "com.example.Custom")])],
            want: "refused",
            says: &["odd (class \"com.example.Custom\" without replication_factor)"],
            ..case("an unreadable replication")
        },
        Case {
            members: vec![
                me(3),
                un(1),
                member(2, "dc1", Status::Shutdown, Liveness::Down),
            ],
            want: "refused",
            says: &["10.0.0.2 (host ID", "are down", "removenode"],
            ..case("a remaining member drained")
        },
        Case {
            members: vec![
                me(3),
                un(1),
                un(2),
                member(9, "dc1", Status::Normal, Liveness::Down),
            ],
            keyspaces: keyspaces("2", "2"),
            want: "refused",
            says: &["10.0.0.9", "are down"],
            ..case("a ghost that matches no pod stays counted and is down")
        },
        Case {
            members: vec![
                me(3),
                un(1),
                un(2),
                member(4, "dc2", Status::Normal, Liveness::Down),
            ],
            keyspaces: vec![ks("app", &[("class", NTS), ("dc1", "2")])],
            ..case("a down member of another DC does not matter to NTS alone")
        },
        Case {
            members: vec![
                me(3),
                un(1),
                un(2),
                member(4, "dc1", Status::Boot, Liveness::Up),
            ],
            want: "refused",
            says: &["another range movement", "Boot"],
            ..case("a node joining")
        },
        Case {
            members: vec![
                me(3),
                un(1),
                un(2),
                member(4, "dc1", Status::Leaving, Liveness::Up),
            ],
            want: "refused",
            says: &["another range movement", "Leaving"],
            ..case("a node leaving that is not part of this scale-down")
        },
        Case {
            members: vec![
                member(3, "dc1", Status::Unknown, Liveness::Up).observer(),
                un(1),
                member(2, "dc1", Status::Unknown, Liveness::Unknown),
            ],
            want: "refused",
            says: &["gossip_info"],
            ..case("Cassandra 4.0: no gossip view")
        },
        Case {
            load: Some(20 * gib),
            want: "refused",
            says: &["needs about", "Raise terminationGracePeriodSeconds"],
            ..case("not enough time")
        },
        Case {
            load: None,
            want: "refused",
            says: &["load is not known"],
            ..case("no load")
        },
        // 5 -> 2: pods 2, 3, 4 (10.0.0.3, .4, .5) leave; pods 0, 1 remain.
        Case {
            ordinal: 4,
            members: vec![me(5), un(1), un(2), un(3), un(4)],
            others: vec![(2, Fact::Known(Some(ip(3)))), (3, Fact::Known(Some(ip(4))))],
            says: &["2 member(s) remain in dc1"],
            ..case("5 -> 2, the top pod goes first")
        },
        Case {
            ordinal: 3,
            members: vec![me(4), un(1), un(2), un(3), un(5)],
            others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
            want: "wait_for_turn",
            says: &["ordinal 4 at 10.0.0.5"],
            ..case("5 -> 2, a middle pod waits for the top one")
        },
        Case {
            ordinal: 3,
            members: vec![
                me(4),
                un(1),
                un(2),
                un(3),
                member(5, "dc1", Status::Leaving, Liveness::Up),
            ],
            others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
            want: "wait_for_turn",
            ..case("5 -> 2, a middle pod waits while the top one leaves")
        },
        Case {
            ordinal: 3,
            members: vec![me(4), un(1), un(2), un(3)],
            others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
            ..case("5 -> 2, the top one left: the middle one's turn")
        },
        Case {
            ordinal: 3,
            members: vec![me(4), un(1), un(2), un(3)],
            others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(None))],
            ..case("5 -> 2, the top pod is gone")
        },
        Case {
            ordinal: 3,
            members: vec![
                me(4),
                un(1),
                un(2),
                un(3),
                member(5, "dc1", Status::Left, Liveness::Down),
            ],
            others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
            ..case("5 -> 2, the top one just left, still listed LEFT: the middle one's turn")
        },
        Case {
            ordinal: 2,
            members: vec![
                me(3),
                un(1),
                un(2),
                member(4, "dc1", Status::Left, Liveness::Down),
            ],
            keyspaces: keyspaces("3", "3"),
            want: "refused",
            says: &["2 node(s) remain in dc1"],
            ..case("a member listed LEFT is no replica")
        },
        Case {
            ordinal: 3,
            members: vec![
                me(4),
                un(1),
                un(2),
                un(3),
                member(5, "dc1", Status::Shutdown, Liveness::Down),
            ],
            others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
            want: "refused",
            says: &["will not leave", "ordinal 4"],
            ..case("5 -> 2, the top one drained instead: it will never leave")
        },
        Case {
            ordinal: 4,
            members: vec![
                me(5),
                un(1),
                un(2),
                un(3),
                member(4, "dc1", Status::Leaving, Liveness::Up),
            ],
            others: vec![(2, Fact::Known(Some(ip(3)))), (3, Fact::Known(Some(ip(4))))],
            want: "refused",
            says: &["another range movement"],
            ..case("a lower ordinal left out of turn")
        },
        Case {
            ordinal: 4,
            members: vec![me(5), un(1), un(2), un(3), un(4)],
            others: vec![
                (2, Fact::Unknown("no answer".into())),
                (3, Fact::Known(Some(ip(4)))),
            ],
            want: "refused",
            says: &["ordinal 2", "no answer"],
            ..case("an address not known")
        },
        Case {
            ordinal: 3,
            members: vec![me(4), un(1), un(2), un(3), un(5)],
            others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
            keyspaces: keyspaces("3", "2"),
            want: "refused",
            says: &["system_distributed"],
            ..case("a refusal is not waited for")
        },
        Case {
            rooms: Some(Fact::Known(vec![
                Room {
                    host_id: un(1).host_id.unwrap(),
                    free_bytes: 500 << 30,
                    volume_bytes: 1000 << 30,
                    measured_at: NOW,
                },
                Room {
                    host_id: un(2).host_id.unwrap(),
                    free_bytes: 50 << 20,
                    volume_bytes: 1 << 30,
                    measured_at: NOW,
                },
            ])),
            want: "refused",
            says: &["would not fit", "10.0.0.2 has 50.0 MiB free", "missing"],
            ..case("a remaining volume without room for the stream")
        },
        Case {
            rooms: Some(Fact::Unknown("forbidden".into())),
            want: "refused",
            says: &["identity record cannot be read (forbidden)"],
            ..case("the room cannot be told without the record")
        },
        Case {
            members: vec![
                me(3),
                un(1),
                un(2),
                member(4, "dc2", Status::Normal, Liveness::Up),
            ],
            keyspaces: vec![ks("app", &[("class", NTS), ("dc1", "2"), ("dc2", "1")])],
            rooms: Some(plenty(&[un(1), un(2)])),
            want: "decommission",
            says: &["to spare"],
            ..case("another DC's member receives nothing and needs no report")
        },
        Case {
            ordinal: 3,
            members: vec![me(4), un(1), un(2), un(3), un(5)],
            others: vec![(2, Fact::Known(Some(ip(3)))), (4, Fact::Known(Some(ip(5))))],
            left: 40,
            want: "refused",
            says: &["needs about"],
            ..case("no time left to wait for a turn")
        },
    ];
    for c in cases {
        let sd = ScaleDown {
            ordinal: c.ordinal,
            replicas: c.replicas,
            others: c.others.iter().map(|(o, _)| *o).collect(),
            pvc_when_scaled: "Delete".into(),
        };
        let got = decide(&Facts {
            scale_down: &sd,
            members: &c.members,
            others: &c.others,
            keyspaces: &c.keyspaces,
            load_bytes: c.load,
            ring_delay: Duration::from_secs(3),
            left: Duration::from_secs(c.left),
            rooms: &c.rooms.clone().unwrap_or_else(|| plenty(&c.members)),
            now: NOW,
        });
        assert_eq!(got.kind(), c.want, "{}: {}", c.name, got.why());
        for s in c.says {
            assert!(
                got.why().contains(s),
                "{}: {:?} not in {}",
                c.name,
                s,
                got.why()
            );
        }
    }
}

impl Member {
    fn observer(self) -> Member {
        Member {
            observer: true,
            ..self
        }
    }
}

#[test]
fn estimates() {
    let rd = Duration::from_secs(30);
    assert_eq!(estimate(0, rd), Duration::from_secs(90));
    // 10 GiB at 10 MiB/s: 1024 s of streaming.
    assert_eq!(
        estimate(10 * 1024 * 1024 * 1024, rd),
        Duration::from_secs(1114)
    );
    assert_eq!(estimate(1, rd), Duration::from_secs(91));
}

#[test]
fn loads_and_delays() {
    assert_eq!(gossip_load(Some("104857600.0")), Some(104_857_600));
    assert_eq!(gossip_load(Some("nonsense")), None);
    assert_eq!(gossip_load(Some("-1")), None);
    assert_eq!(gossip_load(None), None);
    let info = "ID                     : 1c2d\nGossip active          : true\nLoad                   : 1.5 MiB\nGeneration No          : 1\n";
    assert_eq!(nodetool_load(info), Some(1_572_864));
    assert_eq!(nodetool_load("Load : 12 bytes\n"), Some(12));
    assert_eq!(
        nodetool_load("Load : 2 GiB\n"),
        Some(2 * 1024 * 1024 * 1024)
    );
    assert_eq!(nodetool_load("Load : 2 parsecs\n"), None);
    assert_eq!(nodetool_load("Mode: NORMAL\n"), None);
    assert_eq!(ring_delay(Some("3000")), Duration::from_secs(3));
    assert_eq!(ring_delay(None), DEFAULT_RING_DELAY);
    assert_eq!(ring_delay(Some("x")), DEFAULT_RING_DELAY);
    assert_eq!(bytes_text(5), "5 bytes");
    assert_eq!(bytes_text(1536), "1.5 KiB");
}

#[test]
fn a_scale_down_is_confirmed_before_anything_leaves() {
    let cases: &[(&str, Fact<SetFacts>, Option<&str>)] = &[
        ("still 2: go on", Fact::Known(set(Some(2), Some(3))), None),
        (
            "back to 3 within the delay (a typo corrected): drain",
            Fact::Known(set(Some(3), Some(3))),
            Some("drain"),
        ),
        (
            "now 6 (a re-apply): drain",
            Fact::Known(set(Some(6), Some(3))),
            Some("drain"),
        ),
        (
            "the set cannot be read again: refuse",
            Fact::Unknown("the Kubernetes API did not answer".into()),
            Some("refused"),
        ),
    ];
    for (name, facts, want) in cases {
        let got = recheck(2, facts, "after the 30s settle delay");
        assert_eq!(got.as_ref().map(Decision::kind), *want, "{name}: {got:?}");
        if let Some(d) = got {
            assert!(d.why().starts_with("after the 30s settle delay"), "{name}");
        }
    }
    assert_eq!(
        settle_delay(Duration::from_secs(30), Duration::from_secs(1195)),
        Duration::from_secs(30)
    );
    assert_eq!(
        settle_delay(Duration::from_secs(30), Duration::from_secs(25)),
        Duration::from_millis(6250)
    );
}
