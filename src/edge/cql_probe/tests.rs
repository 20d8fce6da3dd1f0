//! Frames in, frames out: byte tables for the codec, and whole conversations with a
//! scripted node over an in-memory pipe (no network).

use super::frames::*;
use super::*;
use scylla_cql::frame::response::ResponseOpcode;

const PASSWORD_AUTHENTICATOR: &str = "org.apache.cassandra.auth.PasswordAuthenticator";
const NODE: &str = "10.0.0.1:9042";

/// `[string]`: u16 length, bytes.
fn string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u16).to_be_bytes());
    out.extend(s.as_bytes());
}

/// A response frame: v4 response header, then the body.
fn response(stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![RESPONSE_VERSION, 0];
    out.extend(stream.to_be_bytes());
    out.push(opcode);
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}

fn ready_frame() -> Vec<u8> {
    response(HANDSHAKE, 0x02, &[])
}

fn authenticate() -> Vec<u8> {
    let mut body = Vec::new();
    string(&mut body, PASSWORD_AUTHENTICATOR);
    response(HANDSHAKE, 0x03, &body)
}

fn auth_success() -> Vec<u8> {
    // [bytes] token: null.
    response(HANDSHAKE, 0x10, &(-1i32).to_be_bytes())
}

fn error(stream: i16, code: i32, message: &str) -> Vec<u8> {
    let mut body = code.to_be_bytes().to_vec();
    string(&mut body, message);
    response(stream, 0x00, &body)
}

const TEXT: u16 = 0x000D;
const INET: u16 = 0x0010;

/// RESULT Rows with global table spec: `columns` (name, type id), then each row's
/// cells (`None` is a null).
fn rows_frame(
    stream: i16,
    table: (&str, &str),
    columns: &[(&str, u16)],
    rows: &[Vec<Option<Vec<u8>>>],
) -> Vec<u8> {
    let mut body = 2i32.to_be_bytes().to_vec(); // kind: Rows
    body.extend(1i32.to_be_bytes()); // flags: global table spec
    body.extend((columns.len() as i32).to_be_bytes());
    string(&mut body, table.0);
    string(&mut body, table.1);
    for (name, ty) in columns {
        string(&mut body, name);
        body.extend(ty.to_be_bytes());
    }
    body.extend((rows.len() as i32).to_be_bytes());
    for row in rows {
        for cell in row {
            match cell {
                Some(value) => {
                    body.extend((value.len() as i32).to_be_bytes());
                    body.extend(value);
                }
                None => body.extend((-1i32).to_be_bytes()),
            }
        }
    }
    response(stream, 0x08, &body)
}

fn text(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

fn inet(s: &str) -> Option<Vec<u8>> {
    Some(match s.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    })
}

fn local_frame(bootstrapped: Option<&str>, broadcast: Option<&str>) -> Vec<u8> {
    rows_frame(
        LOCAL,
        ("system", "local"),
        &[("bootstrapped", TEXT), ("broadcast_address", INET)],
        &[vec![bootstrapped.and_then(text), broadcast.and_then(inet)]],
    )
}

fn gossip_frame(stream: i16, rows: &[(&str, &str, &str)]) -> Vec<u8> {
    rows_frame(
        stream,
        ("system_views", "gossip_info"),
        &[
            ("address", INET),
            ("status_with_port", TEXT),
            ("status", TEXT),
        ],
        &rows
            .iter()
            .map(|(a, swp, s)| vec![inet(a), text(swp), text(s)])
            .collect::<Vec<_>>(),
    )
}

#[test]
fn requests_on_the_wire() {
    let select = "SELECT 1";
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        (
            "STARTUP: v4 request, stream 0, opcode 0x01, {CQL_VERSION: 3.0.0}",
            startup(),
            [
                &[0x04, 0, 0, 0, 0x01, 0, 0, 0, 22][..],
                &[0, 1, 0, 11],
                b"CQL_VERSION",
                &[0, 5],
                b"3.0.0",
            ]
            .concat(),
        ),
        (
            "AUTH_RESPONSE: opcode 0x0F, [bytes] of NUL user NUL password",
            auth_response("cassandra", "s3cr3t"),
            [
                &[0x04, 0, 0, 0, 0x0F, 0, 0, 0, 21][..],
                &[0, 0, 0, 17, 0],
                b"cassandra",
                &[0],
                b"s3cr3t",
            ]
            .concat(),
        ),
        (
            "QUERY: opcode 0x07, [long string], consistency ONE, no flags",
            query(LOCAL, select),
            [
                &[0x04, 0, 0, 1, 0x07, 0, 0, 0, 15][..],
                &[0, 0, 0, 8],
                select.as_bytes(),
                &[0, 1, 0],
            ]
            .concat(),
        ),
        (
            "QUERY on stream 2",
            query(GOSSIP, select)[..4].to_vec(),
            vec![0x04, 0, 0, 2],
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, want, "{what}");
    }
    assert_eq!(
        gossip_cql("10.0.0.1".parse().unwrap()),
        "SELECT address, status_with_port, status FROM system_views.gossip_info \
         WHERE address = '10.0.0.1'"
    );
    assert!(gossip_cql("fd00::1".parse().unwrap()).ends_with("address = 'fd00::1'"));
}

#[test]
fn headers() {
    let ok = |stream, opcode, length| {
        Ok(Header {
            flags: 0,
            stream,
            opcode,
            length,
        })
    };
    let cases: Vec<([u8; HEADER_LEN], Result<Header, &str>)> = vec![
        (
            [0x84, 0, 0, 0, 0x02, 0, 0, 0, 0],
            ok(0, ResponseOpcode::Ready, 0),
        ),
        (
            [0x84, 0, 0, 2, 0x08, 0, 0, 1, 0],
            ok(2, ResponseOpcode::Result, 256),
        ),
        (
            [0x84, 0, 0xff, 0xff, 0x0C, 0, 0, 0, 4],
            ok(-1, ResponseOpcode::Event, 4),
        ),
        (
            [0x84, 0x08, 0, 1, 0x00, 0, 0, 0, 9],
            Ok(Header {
                flags: 0x08,
                stream: 1,
                opcode: ResponseOpcode::Error,
                length: 9,
            }),
        ),
        (
            [0x84, 0, 0, 0, 0x08, 0, 4, 0, 0],
            ok(0, ResponseOpcode::Result, MAX_BODY),
        ),
        ([0x84, 0, 0, 0, 0x08, 0, 4, 0, 1], Err("larger than any")),
        (
            [0x84, 0, 0, 0, 0x08, 0xff, 0xff, 0xff, 0xff],
            Err("larger than any"),
        ),
        ([0x84, 0, 0, 0, 0x07, 0, 0, 0, 0], Err("opcode 0x07")),
        ([0x04, 0, 0, 0, 0x02, 0, 0, 0, 0], Err("first byte 0x04")),
        ([0x85, 0, 0, 0, 0x02, 0, 0, 0, 0], Err("protocol v5")),
        ([0x83, 0, 0, 0, 0x02, 0, 0, 0, 0], Err("protocol v3")),
        (
            [0x15, 0x03, 0x03, 0, 0x02, 0x02, 0x28, 0, 0],
            Err("--cql-ca-file"),
        ),
        (
            [0x16, 0x03, 0x03, 0, 0x7a, 0x02, 0, 0, 0x76],
            Err("--cql-ca-file"),
        ),
        (*b"HTTP/1.1 ", Err("not a CQL response")),
    ];
    for (raw, want) in cases {
        match (parse_header(&raw, MAX_BODY), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{raw:02x?}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{raw:02x?}: {got}"),
            (got, want) => panic!("{raw:02x?}: got {got:?}, want {want:?}"),
        }
    }
}

fn decoded(frame: &[u8]) -> Result<(i16, Response), String> {
    let header = parse_header(frame[..HEADER_LEN].try_into().unwrap(), MAX_SURVEY_BODY)?;
    assert_eq!(header.length, frame.len() - HEADER_LEN);
    Ok((
        header.stream,
        decode(&header, frame[HEADER_LEN..].to_vec())?,
    ))
}

#[test]
fn handshake_answers() {
    assert!(matches!(decoded(&ready_frame()), Ok((0, Response::Ready))));
    match decoded(&authenticate()) {
        Ok((0, Response::Authenticate(a))) => {
            assert_eq!(a.authenticator_name, PASSWORD_AUTHENTICATOR)
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decoded(&auth_success()),
        Ok((0, Response::AuthSuccess(_)))
    ));
    let bad = "Provided username cassandra and/or password are incorrect";
    match decoded(&error(HANDSHAKE, 0x0100, bad)) {
        Ok((0, Response::Error(e))) => {
            assert_eq!(
                (e.error, e.reason.as_str()),
                (DbError::AuthenticationError, bad)
            )
        }
        other => panic!("{other:?}"),
    }
    // A warning list before the body is skipped.
    let mut warned = error(LOCAL, 0x2200, "x");
    let mut warning = vec![0, 1];
    string(&mut warning, "a warning");
    warned[1] = 0x08;
    let body: Vec<u8> = [&warning[..], &warned[HEADER_LEN..]].concat();
    warned.truncate(5);
    warned.extend((body.len() as u32).to_be_bytes());
    warned.extend(body);
    assert!(matches!(decoded(&warned), Ok((1, Response::Error(e))) if e.reason == "x"));
    // A compressed body was never asked for.
    let mut compressed = ready_frame();
    compressed[1] = 0x01;
    assert!(decoded(&compressed).is_err());
}

#[test]
fn rows_decode_with_type_checks() {
    let local = |frame: Vec<u8>| local_row(decoded(&frame).unwrap().1);
    assert_eq!(
        local(local_frame(Some("COMPLETED"), Some("10.0.0.1"))),
        Ok(LocalRow {
            bootstrapped: Some("COMPLETED".into()),
            broadcast_address: Some("10.0.0.1".parse().unwrap()),
            ..LocalRow::default()
        })
    );
    assert_eq!(local(local_frame(None, None)), Ok(LocalRow::default()));
    let empty = rows_frame(
        LOCAL,
        ("system", "local"),
        &[("bootstrapped", TEXT), ("broadcast_address", INET)],
        &[],
    );
    assert_eq!(local(empty), Err("system.local is empty".into()));
    // A column of another type than expected is an error, not a wrong value.
    let swapped = rows_frame(
        LOCAL,
        ("system", "local"),
        &[("bootstrapped", INET), ("broadcast_address", INET)],
        &[vec![inet("10.0.0.1"), inet("10.0.0.1")]],
    );
    assert!(local(swapped).unwrap_err().starts_with("system.local:"));
    let malformed_inet = rows_frame(
        LOCAL,
        ("system", "local"),
        &[("bootstrapped", TEXT), ("broadcast_address", INET)],
        &[vec![text("COMPLETED"), Some(vec![10, 0, 0])]],
    );
    assert!(local(malformed_inet).is_err());

    let gossip = |frame: Vec<u8>| gossip_rows(decoded(&frame).unwrap().1);
    let row = |address: &str, status: &str| GossipRow {
        address: Some(address.parse().unwrap()),
        status: Some(status.into()),
        ..GossipRow::default()
    };
    type GossipCase<'a> = (&'a str, Vec<u8>, Result<Option<Vec<GossipRow>>, String>);
    let cases: Vec<GossipCase> = vec![
        (
            "status_with_port preferred",
            gossip_frame(GOSSIP, &[("10.0.0.1", "NORMAL,-1", "NORMAL,-1x")]),
            Ok(Some(vec![row("10.0.0.1", "NORMAL,-1")])),
        ),
        (
            "an empty status_with_port falls back to status",
            gossip_frame(GOSSIP, &[("10.0.0.1", "", "LEAVING,1")]),
            Ok(Some(vec![row("10.0.0.1", "LEAVING,1")])),
        ),
        ("no row", gossip_frame(GOSSIP, &[]), Ok(Some(vec![]))),
        (
            "Cassandra 4.0: no such table",
            error(GOSSIP, 0x2200, "table gossip_info does not exist"),
            Ok(None),
        ),
        (
            "the role may not read system_views",
            error(
                GOSSIP,
                0x2100,
                "User probe has no SELECT permission on <table x.y> or any of its parents",
            ),
            Ok(None),
        ),
        (
            "another error is an error",
            error(GOSSIP, 0x1001, "Operation timed out"),
            Err("Operation timed out".into()),
        ),
    ];
    for (what, frame, want) in cases {
        match (gossip(frame), want) {
            (Err(got), Err(want)) => assert!(got.starts_with(&want), "{what}: {got}"),
            (got, want) => assert_eq!(got, want, "{what}"),
        }
    }
}

/// One exchange of a scripted node: the exact bytes it expects, and its answer (empty:
/// it closes the connection instead).
type Step = (Vec<u8>, Vec<u8>);

/// Runs the probe's conversation against a node that follows `script`, then checks
/// that the probe sent nothing more and closed the connection.
async fn converse_with(
    script: Vec<Step>,
    credentials: Option<(&str, &str)>,
) -> Result<Observation, CqlError> {
    let (probe_end, mut node_end) = tokio::io::duplex(64 * 1024);
    let node = tokio::spawn(async move {
        for (i, (expected, answer)) in script.into_iter().enumerate() {
            let mut got = vec![0u8; expected.len()];
            node_end.read_exact(&mut got).await.unwrap();
            assert_eq!(got, expected, "request {i}");
            if answer.is_empty() {
                return;
            }
            node_end.write_all(&answer).await.unwrap();
        }
        let mut rest = Vec::new();
        node_end.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "unexpected requests: {rest:02x?}");
    });
    let seen = converse(probe_end, NODE.parse().unwrap(), credentials).await;
    if seen.is_ok() {
        node.await.unwrap();
    }
    seen
}

fn reads(dialed: &str) -> Vec<u8> {
    [
        query(LOCAL, LOCAL_CQL),
        query(GOSSIP, &gossip_cql(dialed.parse().unwrap())),
    ]
    .concat()
}

fn observation(bootstrapped: &str, own: Option<Option<(&str, &str)>>) -> Observation {
    Observation {
        local: LocalRow {
            bootstrapped: Some(bootstrapped.into()),
            broadcast_address: Some("10.0.0.1".parse().unwrap()),
            ..LocalRow::default()
        },
        own_gossip: own.map(|row| {
            row.map(|(address, status)| GossipRow {
                address: Some(address.parse().unwrap()),
                status: Some(status.into()),
                ..GossipRow::default()
            })
        }),
    }
}

#[tokio::test]
async fn conversations() {
    let completed = || local_frame(Some("COMPLETED"), Some("10.0.0.1"));
    let normal = || gossip_frame(GOSSIP, &[("10.0.0.1", "NORMAL,1", "NORMAL,1")]);
    let both = |a: Vec<u8>, b: Vec<u8>| [a, b].concat();
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<Step>, Observation);
    let cases: Vec<Case> = vec![
        (
            "no authenticator: two round trips",
            None,
            vec![
                (startup(), ready_frame()),
                (reads("10.0.0.1"), both(completed(), normal())),
            ],
            observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1")))),
        ),
        (
            "answers in either order",
            None,
            vec![
                (startup(), ready_frame()),
                (reads("10.0.0.1"), both(normal(), completed())),
            ],
            observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1")))),
        ),
        (
            "PasswordAuthenticator: one round trip more",
            Some(("cassandra", "cassandra")),
            vec![
                (startup(), authenticate()),
                (auth_response("cassandra", "cassandra"), auth_success()),
                (reads("10.0.0.1"), both(completed(), normal())),
            ],
            observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1")))),
        ),
        (
            "credentials given, none asked for",
            Some(("cassandra", "cassandra")),
            vec![
                (startup(), ready_frame()),
                (reads("10.0.0.1"), both(completed(), normal())),
            ],
            observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1")))),
        ),
        (
            "Cassandra 4.0: no gossip view",
            None,
            vec![
                (startup(), ready_frame()),
                (
                    reads("10.0.0.1"),
                    both(
                        completed(),
                        error(GOSSIP, 0x2200, "table gossip_info does not exist"),
                    ),
                ),
            ],
            observation("COMPLETED", None),
        ),
        (
            "not in its own gossip yet",
            None,
            vec![
                (startup(), ready_frame()),
                (
                    reads("10.0.0.1"),
                    both(completed(), gossip_frame(GOSSIP, &[])),
                ),
            ],
            observation("COMPLETED", Some(None)),
        ),
        (
            "joining",
            None,
            vec![
                (startup(), ready_frame()),
                (
                    reads("10.0.0.1"),
                    both(
                        local_frame(Some("IN_PROGRESS"), Some("10.0.0.1")),
                        gossip_frame(GOSSIP, &[("10.0.0.1", "BOOT,1", "BOOT,1")]),
                    ),
                ),
            ],
            observation("IN_PROGRESS", Some(Some(("10.0.0.1", "BOOT,1")))),
        ),
    ];
    for (what, credentials, script, want) in cases {
        assert_eq!(
            converse_with(script, credentials).await.unwrap(),
            want,
            "{what}"
        );
    }
}

#[tokio::test]
async fn dialed_at_another_address_than_it_broadcasts() {
    // `--host 127.0.0.1` to a node that broadcasts 10.0.0.1: its gossip row is read
    // again under the broadcast address.
    let probe_end = "127.0.0.1:9042".parse::<SocketAddr>().unwrap();
    let (probe, mut node) = tokio::io::duplex(64 * 1024);
    let script: Vec<Step> = vec![
        (startup(), ready_frame()),
        (
            reads("127.0.0.1"),
            [
                local_frame(Some("COMPLETED"), Some("10.0.0.1")),
                gossip_frame(GOSSIP, &[]),
            ]
            .concat(),
        ),
        (
            query(GOSSIP, &gossip_cql("10.0.0.1".parse().unwrap())),
            gossip_frame(GOSSIP, &[("10.0.0.1", "NORMAL,1", "NORMAL,1")]),
        ),
    ];
    let serve = tokio::spawn(async move {
        for (expected, answer) in script {
            let mut got = vec![0u8; expected.len()];
            node.read_exact(&mut got).await.unwrap();
            assert_eq!(got, expected);
            node.write_all(&answer).await.unwrap();
        }
    });
    let seen = converse(probe, probe_end, None).await.unwrap();
    serve.await.unwrap();
    assert_eq!(
        seen,
        observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1"))))
    );
}

#[tokio::test]
async fn failures_are_classified() {
    let bad = "Provided username cassandra and/or password are incorrect";
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<Step>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "wrong password",
            Some(("cassandra", "Wr0ng-s3cret")),
            vec![
                (startup(), authenticate()),
                (
                    auth_response("cassandra", "Wr0ng-s3cret"),
                    error(HANDSHAKE, 0x0100, bad),
                ),
            ],
            "auth",
        ),
        (
            "a login asked for, none given",
            None,
            vec![(startup(), authenticate())],
            "auth",
        ),
        (
            "a challenge PLAIN cannot answer",
            Some(("cassandra", "cassandra")),
            vec![
                (startup(), authenticate()),
                (
                    auth_response("cassandra", "cassandra"),
                    response(HANDSHAKE, 0x0E, &(-1i32).to_be_bytes()),
                ),
            ],
            "auth",
        ),
        (
            "closed before answering",
            None,
            vec![(startup(), Vec::new())],
            "unreachable",
        ),
        (
            "a protocol error at STARTUP",
            None,
            vec![(
                startup(),
                error(HANDSHAKE, 0x000A, "Invalid or unsupported protocol version"),
            )],
            "unreachable",
        ),
        (
            "an answer on a stream never used",
            None,
            vec![(startup(), response(7, 0x02, &[]))],
            "unreachable",
        ),
        (
            "a read answered on a stream no read used",
            None,
            vec![
                (startup(), ready_frame()),
                (
                    reads("10.0.0.1"),
                    [
                        local_frame(Some("COMPLETED"), Some("10.0.0.1")),
                        gossip_frame(7, &[]),
                    ]
                    .concat(),
                ),
            ],
            "unreachable",
        ),
        (
            "a read answered twice, the other never",
            None,
            vec![
                (startup(), ready_frame()),
                (
                    reads("10.0.0.1"),
                    [
                        local_frame(Some("COMPLETED"), Some("10.0.0.1")),
                        local_frame(Some("COMPLETED"), Some("10.0.0.1")),
                    ]
                    .concat(),
                ),
            ],
            "unreachable",
        ),
        (
            "the read of system.local fails",
            None,
            vec![
                (startup(), ready_frame()),
                (
                    reads("10.0.0.1"),
                    [
                        error(LOCAL, 0x0000, "java.lang.RuntimeException: disk failure"),
                        gossip_frame(GOSSIP, &[]),
                    ]
                    .concat(),
                ),
            ],
            "query",
        ),
    ];
    for (what, credentials, script, want) in cases {
        let err = converse_with(script, credentials).await.unwrap_err();
        let kind = match &err {
            CqlError::Auth { .. } => "auth",
            CqlError::Unreachable { .. } => "unreachable",
            CqlError::Query { .. } => "query",
        };
        assert_eq!(kind, want, "{what}: {err}");
        let text = err.to_string();
        assert!(text.contains(NODE), "{what}: {text}");
        assert!(
            !text.contains("s3cret"),
            "{what}: the password leaked: {text}"
        );
    }
}

const UUID: u16 = 0x000C;
const INT: u16 = 0x0009;

fn uuid(s: &str) -> Option<Vec<u8>> {
    Some(s.parse::<uuid::Uuid>().unwrap().as_bytes().to_vec())
}

/// A survey against a scripted node: the login, the three reads at once (answers in
/// any order), rows decoded into what `member_answer` reads; a missing gossip view is
/// none; a body over the survey's bound is refused from its header.
#[tokio::test]
async fn surveys() {
    let (a, b) = (
        "11111111-1111-1111-1111-111111111111",
        "22222222-2222-2222-2222-222222222222",
    );
    let local = rows_frame(
        LOCAL,
        ("system", "local"),
        &[
            ("cluster_name", TEXT),
            ("host_id", UUID),
            ("broadcast_address", INET),
        ],
        &[vec![text("ring"), uuid(a), inet("10.0.0.1")]],
    );
    let peers = rows_frame(
        PEERS,
        ("system", "peers_v2"),
        &[("peer", INET), ("host_id", UUID)],
        &[vec![inet("10.0.0.2"), uuid(b)]],
    );
    let gossip = rows_frame(
        GOSSIP,
        ("system_views", "gossip_info"),
        &[
            ("address", INET),
            ("host_id", TEXT),
            ("status_with_port", TEXT),
            ("status", TEXT),
            ("generation", INT),
        ],
        &[vec![
            inet("10.0.0.2"),
            text(b),
            text("NORMAL,1"),
            None,
            Some(1_700_000_000i32.to_be_bytes().to_vec()),
        ]],
    );
    let reads = [
        query(LOCAL, SURVEY_LOCAL_CQL),
        query(PEERS, SURVEY_PEERS_CQL),
        query(GOSSIP, SURVEY_GOSSIP_CQL),
    ]
    .concat();
    let no_view = error(GOSSIP, 0x2200, "table gossip_info does not exist");
    let mut huge = vec![RESPONSE_VERSION, 0, 0, LOCAL as u8, 0x08];
    huge.extend(((MAX_SURVEY_BODY + 1) as u32).to_be_bytes());
    let want = |gossip: bool| Survey {
        local: LocalRow {
            cluster_name: Some("ring".into()),
            host_id: Some(a.into()),
            broadcast_address: Some("10.0.0.1".parse().unwrap()),
            ..LocalRow::default()
        },
        peers: vec![PeerRow {
            address: Some("10.0.0.2".parse().unwrap()),
            host_id: Some(b.into()),
            ..PeerRow::default()
        }],
        gossip: gossip.then(|| {
            vec![GossipRow {
                address: Some("10.0.0.2".parse().unwrap()),
                host_id: Some(b.into()),
                status: Some("NORMAL,1".into()),
                generation: Some(1_700_000_000),
                ..GossipRow::default()
            }]
        }),
    };
    type Case = (&'static str, Vec<u8>, Result<Survey, &'static str>);
    let cases: Vec<Case> = vec![
        (
            "all three",
            [gossip.clone(), local.clone(), peers.clone()].concat(),
            Ok(want(true)),
        ),
        (
            "no gossip view",
            [local.clone(), no_view, peers.clone()].concat(),
            Ok(want(false)),
        ),
        (
            "a claimed body over the bound",
            huge,
            Err("larger than any"),
        ),
    ];
    for (what, answers, want) in cases {
        let (probe, mut node) = tokio::io::duplex(64 * 1024);
        let reads = reads.clone();
        let serve = tokio::spawn(async move {
            let mut got = vec![0u8; startup().len()];
            node.read_exact(&mut got).await.unwrap();
            node.write_all(&ready_frame()).await.unwrap();
            let mut got = vec![0u8; reads.len()];
            node.read_exact(&mut got).await.unwrap();
            assert_eq!(got, reads);
            node.write_all(&answers).await.unwrap();
            // Held open: a short body must not be waited for.
            let mut rest = Vec::new();
            let _ = node.read_to_end(&mut rest).await;
        });
        let got = survey_over(probe, NODE.parse().unwrap(), None).await;
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{what}"),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{what}: {e}"),
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
        serve.abort();
    }
}
