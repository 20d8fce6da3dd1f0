use super::*;

#[test]
fn the_event_wait_ends_by_the_drains_deadline() {
    let now = Instant::now();
    let s = Duration::from_secs;
    // (time left until the deadline, or past it; the wait allowed)
    let cases: &[(Option<Duration>, Option<Duration>, Duration)] = &[
        (Some(s(60)), None, 2 * API_TIMEOUT),
        (Some(s(3)), None, s(3)),
        (
            Some(Duration::from_millis(200)),
            None,
            Duration::from_millis(200),
        ),
        (Some(Duration::ZERO), None, Duration::ZERO),
        (None, Some(s(1)), Duration::ZERO),
    ];
    for &(ahead, past, want) in cases {
        let deadline = match (ahead, past) {
            (Some(a), _) => now + a,
            (None, Some(p)) => now.checked_sub(p).unwrap_or(now),
            (None, None) => unreachable!(),
        };
        assert_eq!(event_budget(deadline, now), want, "{ahead:?} {past:?}");
    }
}

/// A node that answers each nodetool command as scripted (after a delay, which past the
/// bound is a kill, as `nodetool::run` does), with its native port open or closed, and
/// that remembers what it was asked.
struct Scripted {
    /// Per command (its first word): how long it takes, and its answer.
    answers: Vec<(&'static str, Duration, Result<&'static str, i32>)>,
    port_open: bool,
    asked: std::sync::Mutex<Vec<String>>,
}

impl NodeControl for Scripted {
    fn nodetool<'a>(
        &'a self,
        args: &'a [&'a str],
        limit: Duration,
    ) -> Pending<'a, Result<String, NodetoolError>> {
        Box::pin(async move {
            let command = args.join(" ");
            self.asked.lock().unwrap().push(command.clone());
            let (_, took, answer) = self
                .answers
                .iter()
                .find(|(c, _, _)| *c == args[0])
                .unwrap_or_else(|| panic!("nodetool {command} was not expected"));
            if *took > limit {
                tokio::time::sleep(limit).await;
                return Err(NodetoolError::TimedOut { command, limit });
            }
            tokio::time::sleep(*took).await;
            match answer {
                Ok(out) => Ok((*out).to_owned()),
                Err(code) => Err(NodetoolError::Failed {
                    command,
                    code: *code,
                    output: "error: JMX connection refused".into(),
                }),
            }
        })
    }

    fn native_port_open(&self) -> Pending<'_, bool> {
        let open = self.port_open;
        Box::pin(async move { open })
    }
}

/// Clients that are gone by the second look.
struct Leaving(std::sync::Mutex<u32>);

impl ClientTraffic for Leaving {
    fn client_traffic(&self) -> Pending<'_, Result<(u32, u64), CqlError>> {
        let mut looks = self.0.lock().unwrap();
        *looks += 1;
        let connections = if *looks > 1 { 0 } else { 2 };
        Box::pin(async move { Ok((connections, 100)) })
    }
}

fn config(grace: Duration) -> DrainConfig {
    use crate::config::{CqlAccess, CqlConfig, DrainSettings, Jmx};
    DrainConfig {
        host: "10.0.0.1".parse().unwrap(),
        cql: CqlConfig {
            port: 9042,
            access: CqlAccess::default(),
        },
        run_dir: "/nonexistent/run".into(),
        settings: DrainSettings {
            grace_period: grace,
            exit_margin: Duration::from_secs(5),
            client_wait: Duration::from_secs(10),
            scale_down_settle: Duration::from_secs(30),
            jmx: Jmx {
                nodetool: "nodetool".into(),
                host: "127.0.0.1".into(),
                port: 7199,
                auth: None,
            },
        },
        pod: Err("not in a pod".into()),
        data_dir: "/nonexistent/data".into(),
    }
}

/// The staged drain's sequencing, with a scripted node and paused time: the order of the
/// nodetool commands, which failures are skipped and which end the drain, where the
/// deadline cuts it short, and what is verified at the end. (The real-node tests in
/// `tests/drain.rs` show the same stages against Cassandra, once.)
#[tokio::test(start_paused = true)]
async fn the_staged_drain_table() {
    const DRAINED: &str = "Mode: DRAINED\n";
    const NORMAL: &str = "Mode: NORMAL\n";
    let s = Duration::from_secs;
    let ok = |c: &'static str, took: u64| (c, s(took), Ok(""));
    let netstats = |mode: &'static str| ("netstats", s(1), Ok(mode));
    struct Case {
        what: &'static str,
        grace: u64,
        version: Option<&'static str>,
        clients: bool,
        answers: Vec<(&'static str, Duration, Result<&'static str, i32>)>,
        port_open: bool,
        asked: &'static [&'static str],
        want: Outcome,
        stages: &'static [Stage],
        /// What the last stage says.
        said: &'static str,
    }
    use Stage::{AnnounceShutdown, ClientsQuiet, CloseClients, Verify};
    const DRAIN: Stage = Stage::Drain;
    let all = &[AnnounceShutdown, ClientsQuiet, CloseClients, DRAIN, Verify][..];
    let cases = vec![
        Case {
            what: "every stage in order, 5.0 closes clients with -f",
            grace: 60,
            version: Some("5.0.8"),
            clients: true,
            answers: vec![
                ok("disablegossip", 2),
                ok("disablebinary", 1),
                ok("drain", 5),
                netstats(DRAINED),
            ],
            port_open: false,
            asked: &["disablegossip", "disablebinary -f", "drain", "netstats"],
            want: Outcome::Drained,
            stages: all,
            said: "mode DRAINED, native port closed",
        },
        Case {
            what: "4.1 closes clients without -f; no CQL answer skips the client watch",
            grace: 60,
            version: Some("4.1.10"),
            clients: false,
            answers: vec![
                ok("disablegossip", 2),
                ok("disablebinary", 1),
                ok("drain", 5),
                netstats(DRAINED),
            ],
            port_open: false,
            asked: &["disablegossip", "disablebinary", "drain", "netstats"],
            want: Outcome::Drained,
            stages: all,
            said: "mode DRAINED",
        },
        Case {
            what: "a failed announcement is skipped: the drain goes on",
            grace: 60,
            version: Some("5.0.8"),
            clients: false,
            answers: vec![
                ("disablegossip", s(1), Err(2)),
                ok("disablebinary", 1),
                ok("drain", 5),
                netstats(DRAINED),
            ],
            port_open: false,
            asked: &["disablegossip", "disablebinary -f", "drain", "netstats"],
            want: Outcome::Drained,
            stages: all,
            said: "mode DRAINED",
        },
        Case {
            what: "a failed nodetool drain ends it: not drained",
            grace: 60,
            version: Some("5.0.8"),
            clients: false,
            answers: vec![
                ok("disablegossip", 1),
                ok("disablebinary", 1),
                ("drain", s(1), Err(2)),
            ],
            port_open: false,
            asked: &["disablegossip", "disablebinary -f", "drain"],
            want: Outcome::NotDrained {
                stage: DRAIN,
                why: "nodetool drain exited 2: error: JMX connection refused".into(),
            },
            stages: &[AnnounceShutdown, ClientsQuiet, CloseClients, DRAIN],
            said: "exited 2",
        },
        Case {
            what: "a drain longer than the time left is cut short at the drain",
            grace: 30,
            version: Some("5.0.8"),
            clients: false,
            answers: vec![
                ok("disablegossip", 1),
                ok("disablebinary", 1),
                ok("drain", 120),
            ],
            port_open: false,
            asked: &["disablegossip", "disablebinary -f", "drain"],
            want: Outcome::CutShort { stage: DRAIN },
            stages: &[AnnounceShutdown, ClientsQuiet, CloseClients, DRAIN],
            said: "deadline",
        },
        Case {
            what: "an announcement that hangs past the deadline cuts it short there",
            grace: 10,
            version: Some("5.0.8"),
            clients: false,
            answers: vec![ok("disablegossip", 600)],
            port_open: false,
            asked: &["disablegossip"],
            want: Outcome::CutShort {
                stage: AnnounceShutdown,
            },
            stages: &[AnnounceShutdown],
            said: "deadline",
        },
        Case {
            what: "the native port still open after the drain: not drained",
            grace: 60,
            version: Some("5.0.8"),
            clients: false,
            answers: vec![
                ok("disablegossip", 1),
                ok("disablebinary", 1),
                ok("drain", 1),
            ],
            port_open: true,
            asked: &["disablegossip", "disablebinary -f", "drain"],
            want: Outcome::NotDrained {
                stage: Verify,
                why: "nodetool drain returned, but the native port is open".into(),
            },
            stages: all,
            said: "the native port is open",
        },
        Case {
            what: "a mode other than DRAINED after the drain: not drained",
            grace: 60,
            version: Some("5.0.8"),
            clients: false,
            answers: vec![
                ok("disablegossip", 1),
                ok("disablebinary", 1),
                ok("drain", 1),
                netstats(NORMAL),
            ],
            port_open: false,
            asked: &["disablegossip", "disablebinary -f", "drain", "netstats"],
            want: Outcome::NotDrained {
                stage: Verify,
                why: "nodetool drain returned, but the mode is Some(Normal), not DRAINED (native port closed)".into(),
            },
            stages: all,
            said: "not DRAINED",
        },
        Case {
            what: "no time left to read the mode: the drain's own exit status vouches",
            grace: 13,
            version: Some("5.0.8"),
            clients: false,
            answers: vec![
                ok("disablegossip", 1),
                ok("disablebinary", 1),
                ok("drain", 5),
                netstats(DRAINED),
            ],
            port_open: false,
            asked: &["disablegossip", "disablebinary -f", "drain", "netstats"],
            want: Outcome::Drained,
            stages: all,
            said: "mode not read",
        },
    ];
    for case in cases {
        let cfg = config(s(case.grace));
        let node = Scripted {
            answers: case.answers,
            port_open: case.port_open,
            asked: Default::default(),
        };
        let started = Instant::now();
        let mut d = super::Drain {
            cfg: &cfg,
            node: &node,
            started,
            deadline: started + cfg.settings.grace_period - cfg.settings.exit_margin,
            stages: Vec::new(),
            decision: None,
        };
        let clients = Leaving(Default::default());
        let watched = case.clients.then_some(&clients as &dyn ClientTraffic);
        let got = staged(&mut d, watched, case.version).await;
        assert_eq!(got, case.want, "{}", case.what);
        assert_eq!(*node.asked.lock().unwrap(), case.asked, "{}", case.what);
        let stages: Vec<Stage> = d.stages.iter().map(|r| r.stage).collect();
        assert_eq!(stages, case.stages, "{}", case.what);
        let last = &d.stages.last().unwrap().result;
        assert!(last.contains(case.said), "{}: {last}", case.what);
        assert!(
            Instant::now() <= d.deadline,
            "{}: ran past the deadline",
            case.what
        );
        if case.clients {
            let watch = &d.stages[1].result;
            assert!(watch.starts_with("quiet:"), "{}: {watch}", case.what);
        }
    }
}
