use super::*;
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// How the mock API server answers one request.
#[derive(Clone)]
enum Answer {
    /// 200 with this object.
    Object(serde_json::Value),
    /// An API error status (403, 404, 401, ...).
    Status(u16),
    /// Never answers (an API server that hangs).
    Silent,
    /// Never answers the first request for its path, then answers with this object
    /// (an API server busy for a moment).
    SilentOnce(serde_json::Value),
}

/// A mock API server: answers each request by method and path from `answers` (a path
/// ending in `*` matches any path it begins), and
/// records what was asked. Requests it has no answer for fail the test.
fn serve(
    mut handle: Handle,
    answers: Vec<(Method, &'static str, Answer)>,
) -> tokio::task::JoinHandle<Vec<(Method, String, Option<serde_json::Value>)>> {
    tokio::spawn(async move {
        let mut asked = Vec::new();
        let mut held = Vec::new();
        let mut silenced = std::collections::HashSet::new();
        while let Some((request, send)) = handle.next_request().await {
            let (method, path) = (request.method().clone(), request.uri().path().to_owned());
            let body = request
                .into_body()
                .collect_bytes()
                .await
                .ok()
                .filter(|b| !b.is_empty())
                .and_then(|b| serde_json::from_slice(&b).ok());
            asked.push((method.clone(), path.clone(), body));
            let answer = answers
                .iter()
                .find(|(m, p, _)| {
                    *m == method
                        && match p.strip_suffix('*') {
                            Some(prefix) => path.starts_with(prefix),
                            None => *p == path,
                        }
                })
                .map(|(_, _, a)| a.clone())
                .unwrap_or_else(|| panic!("unexpected request {method} {path}"));
            match answer {
                Answer::Object(value) => send.send_response(
                    Response::builder()
                        .status(StatusCode::OK)
                        .body(Body::from(serde_json::to_vec(&value).unwrap()))
                        .unwrap(),
                ),
                Answer::Status(code) => send.send_response(
                    Response::builder()
                        .status(code)
                        .body(Body::from(
                            serde_json::to_vec(&serde_json::json!({
                                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                                "code": code, "reason": match code {
                                    401 => "Unauthorized",
                                    403 => "Forbidden",
                                    404 => "NotFound",
                                    _ => "InternalError",
                                },
                                "message": "denied by the test"
                            }))
                            .unwrap(),
                        ))
                        .unwrap(),
                ),
                Answer::Silent => held.push(send),
                Answer::SilentOnce(_) if silenced.insert(path) => held.push(send),
                Answer::SilentOnce(value) => send.send_response(
                    Response::builder()
                        .status(StatusCode::OK)
                        .body(Body::from(serde_json::to_vec(&value).unwrap()))
                        .unwrap(),
                ),
            }
        }
        asked
    })
}

fn kube() -> (Kube, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (
        Kube::with_client(Client::new(service, "db"), "db", "cassandra-1"),
        handle,
    )
}

const POD: &str = "/api/v1/namespaces/db/pods/cassandra-1";
const SET: &str = "/apis/apps/v1/namespaces/db/statefulsets/cassandra";
const NODE: &str = "/api/v1/nodes/node-a";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/db/events";

fn pod(owner: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "cassandra-1", "namespace": "db", "uid": "u-1",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                 "name": owner, "uid": "s-1", "controller": true}]
        },
        "spec": {"nodeName": "node-a", "containers": [{"name": "cassandra"}]},
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

fn set(name: &str, replicas: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "db", "uid": "s-1"},
        "spec": {"replicas": replicas, "serviceName": name,
                 "selector": {}, "template": {},
                 "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete"}},
        "status": {"replicas": 3}
    })
}

fn node() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-a", "labels": {
            "topology.kubernetes.io/region": "us-east-1",
            "topology.kubernetes.io/zone": "us-east-1a"}}
    })
}

fn entrypoint_wants() -> Wants {
    Wants {
        own_pod: true,
        events: true,
        set: Some("cassandra".into()),
        node: true,
        pods: false,
        record: None,
    }
}

const RECORD: &str = "/api/v1/namespaces/db/configmaps/cassandra-identity";

fn record_wants() -> Wants {
    Wants {
        record: Some("cassandra".into()),
        ..Wants::default()
    }
}

#[tokio::test(start_paused = true)]
async fn the_identity_record_is_a_fact_like_the_others() {
    let map = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cassandra-identity", "namespace": "db", "resourceVersion": "7"},
        "data": {"cassandra-0": "{}"}
    });
    for (answer, want) in [
        (
            Answer::Object(map),
            Fact::Known(Some([("cassandra-0".to_owned(), "{}".to_owned())].into())),
        ),
        (Answer::Status(404), Fact::Known(None)),
        (
            Answer::Status(403),
            Fact::Unknown(Unknown::denied(
                "Kubernetes API denied get configmaps/cassandra-identity",
            )),
        ),
    ] {
        let (kube, handle) = kube();
        let server = serve(handle, vec![(Method::GET, RECORD, answer)]);
        let facts = kube.own_facts(&record_wants()).await;
        assert_eq!(facts.record, want);
        let gaps = crate::decide::api_facts::gaps(&facts, &record_wants());
        assert_eq!(
            gaps.iter()
                .any(|g| g.without.contains(&crate::decide::api_facts::NO_RECORD)),
            facts.record.why().is_some(),
            "{gaps:?}"
        );
        drop(kube);
        assert_eq!(server.await.unwrap().len(), 1);
    }
}

fn entry() -> PodEntry {
    PodEntry {
        format: 1,
        cluster_name: "c".into(),
        host_id: "11111111-1111-1111-1111-111111111111".into(),
        address: "10.0.0.2".parse().unwrap(),
        dc: None,
        rack: None,
        tokens: 16,
        last_seen: 1,
        free_bytes: None,
        volume_bytes: None,
    }
}

fn owned_set() -> SetFacts {
    SetFacts {
        name: "cassandra".into(),
        uid: Some("s-1".into()),
        ..SetFacts::default()
    }
}

#[tokio::test(start_paused = true)]
async fn the_record_is_never_created_and_is_released_from_the_set() {
    // Missing: said so, nothing created.
    let (kube, handle) = kube();
    let server = serve(handle, vec![(Method::GET, RECORD, Answer::Status(404))]);
    let err = kube
        .write_identity(&owned_set(), &entry())
        .await
        .unwrap_err();
    assert!(
        err.contains("does not exist") && err.contains("identity.yaml"),
        "{err}"
    );
    drop(kube);
    assert_eq!(server.await.unwrap().len(), 1);

    // Owned by the set (an earlier version created it): the write releases it.
    let map = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cassandra-identity", "namespace": "db", "resourceVersion": "3",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                "name": "cassandra", "uid": "s-1"}]},
    });
    let (kube, handle) = self::kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, RECORD, Answer::Object(map.clone())),
            (Method::PATCH, RECORD, Answer::Object(map)),
        ],
    );
    kube.write_identity(&owned_set(), &entry()).await.unwrap();
    drop(kube);
    let asked = server.await.unwrap();
    let body = asked[1].2.clone().unwrap();
    assert!(body["metadata"]["ownerReferences"].is_null(), "{body}");
    assert!(
        body["metadata"]
            .as_object()
            .unwrap()
            .contains_key("ownerReferences"),
        "{body}"
    );
    assert_eq!(
        serde_json::from_str::<PodEntry>(body["data"]["cassandra-1"].as_str().unwrap()).unwrap(),
        entry()
    );
}

#[tokio::test(start_paused = true)]
async fn later_pods_patch_their_own_key_over_the_version_they_read() {
    let map = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cassandra-identity", "namespace": "db", "resourceVersion": "7"},
        "data": {"cassandra-0": "{}"}
    });
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, RECORD, Answer::Object(map.clone())),
            (Method::PATCH, RECORD, Answer::Object(map.clone())),
        ],
    );
    kube.write_identity(&owned_set(), &entry()).await.unwrap();
    drop(kube);
    let asked = server.await.unwrap();
    let body = asked[1].2.clone().unwrap();
    // Only this pod's key, and the version read as the precondition.
    assert_eq!(body["metadata"]["resourceVersion"], "7");
    assert_eq!(body["data"].as_object().unwrap().len(), 1);
    assert!(body["data"]["cassandra-1"].is_string());

    // Another pod writing in between every time: read again, then give up with why.
    let (busy, handle) = self::kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, RECORD, Answer::Object(map)),
            (Method::PATCH, RECORD, Answer::Status(409)),
        ],
    );
    let err = busy
        .write_identity(&owned_set(), &entry())
        .await
        .unwrap_err();
    assert!(err.contains("changed under each of 8 writes"), "{err}");
    drop(busy);
    assert_eq!(server.await.unwrap().len(), 16);
}

#[tokio::test(start_paused = true)]
async fn everything_known() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Object(pod("cassandra"))),
            (Method::GET, SET, Answer::Object(set("cassandra", 3.into()))),
            (Method::GET, NODE, Answer::Object(node())),
        ],
    );
    let facts = kube.own_facts(&entrypoint_wants()).await;
    assert_eq!(
        facts.own_pod,
        Fact::Known(OwnPod {
            uid: Some("u-1".into()),
            node_name: Some("node-a".into()),
            controller_set: Some("cassandra".into()),
        })
    );
    assert_eq!(
        facts.set,
        Fact::Known(SetFacts {
            name: "cassandra".into(),
            spec_replicas: Some(3),
            status_replicas: Some(3),
            ordinals_start: None,
            uid: Some("s-1".into()),
            deleting: false,
            pvc_when_scaled: Some("Delete".into()),
        })
    );
    assert_eq!(
        facts.node,
        Fact::Known(NodeFacts {
            name: "node-a".into(),
            region: Some("us-east-1".into()),
            zone: Some("us-east-1a".into()),
        })
    );
    drop(kube);
    let asked: Vec<String> = server
        .await
        .unwrap()
        .into_iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
}

#[tokio::test(start_paused = true)]
async fn forbidden_is_unknown_with_the_reason() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Object(pod("cassandra"))),
            (Method::GET, SET, Answer::Status(403)),
            (Method::GET, NODE, Answer::Status(403)),
        ],
    );
    let wants = entrypoint_wants();
    let facts = kube.own_facts(&wants).await;
    assert_eq!(
        facts.set,
        Fact::Unknown(Unknown::denied(
            "Kubernetes API denied get statefulsets/cassandra"
        ))
    );
    assert_eq!(
        facts.node,
        Fact::Unknown(Unknown::denied("Kubernetes API denied get nodes/node-a"))
    );
    let lines: Vec<String> = crate::decide::api_facts::gaps(&facts, &wants)
        .iter()
        .map(Gap::line)
        .collect();
    assert_eq!(
        lines,
        [
            "Kubernetes API denied get statefulsets/cassandra: --replicas unknown, ordinals unbounded",
            "Kubernetes API denied get nodes/node-a: no DC/rack from the Node's labels"
        ]
    );
    assert_eq!(replica_bound(None, &facts, 1), None);
    drop(kube);
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn not_found() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Status(404)),
            (Method::GET, SET, Answer::Status(404)),
        ],
    );
    let facts = kube.own_facts(&entrypoint_wants()).await;
    fn why<T>(f: &Fact<T>) -> Option<String> {
        f.why().map(str::to_owned)
    }
    assert!(
        why(&facts.own_pod)
            .unwrap()
            .contains("no pods/cassandra-1 (404)")
    );
    assert!(
        why(&facts.set)
            .unwrap()
            .contains("no statefulsets/cassandra (404)")
    );
    // The Node is found through the pod: it goes without for the same reason.
    assert_eq!(why(&facts.node), why(&facts.own_pod));
    assert!(!kube.events(&facts.own_pod).enabled());
    drop(kube);
    // Nothing asked for the Node: the pod did not name one.
    assert_eq!(server.await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_silent_api_server_costs_one_timeout_and_no_more_requests() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Silent),
            (Method::GET, SET, Answer::Silent),
        ],
    );
    let start = tokio::time::Instant::now();
    let facts = kube.own_facts(&entrypoint_wants()).await;
    let took = start.elapsed();
    assert!(
        took >= API_TIMEOUT && took < API_TIMEOUT + Duration::from_millis(100),
        "{took:?}"
    );
    assert!(
        facts.own_pod.why().unwrap().contains("within 2s"),
        "{facts:?}"
    );
    // Both requests were in flight together: one reason, one log line.
    let gaps = crate::decide::api_facts::gaps(&facts, &entrypoint_wants());
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        gaps[0].without,
        [
            "no Events",
            "--replicas unknown, ordinals unbounded",
            "no DC/rack from the Node's labels"
        ]
    );
    // Later requests are not sent at all.
    let start = tokio::time::Instant::now();
    let pods = kube
        .pods(&["cassandra-0".into(), "cassandra-2".into()])
        .await;
    assert!(start.elapsed() < Duration::from_millis(10));
    assert!(pods.iter().all(|(_, f)| f.why().is_some()), "{pods:?}");
    drop(kube);
    assert_eq!(server.await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn what_came_late_is_asked_again_and_a_definite_answer_is_not() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::SilentOnce(pod("cassandra"))),
            (Method::GET, SET, Answer::Status(403)),
            (Method::POST, EVENTS, Answer::Object(serde_json::json!({}))),
        ],
    );
    let wants = Wants {
        node: false,
        ..entrypoint_wants()
    };
    let facts = kube.own_facts(&wants).await;
    assert!(facts.own_pod.is_late(), "{facts:?}");
    let (kube, facts) = kube.ask_again_if_late(&wants, facts, Duration::MAX).await;
    assert!(facts.own_pod.known().is_some(), "{facts:?}");
    assert!(
        matches!(&facts.set, Fact::Unknown(u) if u.missing == Missing::Denied),
        "{facts:?}"
    );
    // The client goes on without the mark of the unanswered request: Events are sent.
    assert!(kube.events(&facts.own_pod).enabled());
    drop(kube);
    let asked: Vec<String> = server.await.unwrap().into_iter().map(|a| a.1).collect();
    // The pod twice (once unanswered), the set once (it was denied).
    assert_eq!(asked.iter().filter(|p| *p == POD).count(), 2, "{asked:?}");
    assert_eq!(asked.iter().filter(|p| *p == SET).count(), 1, "{asked:?}");
}

#[tokio::test(start_paused = true)]
async fn the_controller_reference_names_the_set() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Object(pod("cassandra-east"))),
            (Method::GET, SET, Answer::Object(set("cassandra", 9.into()))),
            (
                Method::GET,
                "/apis/apps/v1/namespaces/db/statefulsets/cassandra-east",
                Answer::Object(set("cassandra-east", 4.into())),
            ),
        ],
    );
    let wants = Wants {
        own_pod: true,
        set: Some("cassandra".into()),
        ..Wants::default()
    };
    let facts = kube.own_facts(&wants).await;
    assert_eq!(
        facts
            .set
            .known()
            .map(|s| (s.name.as_str(), s.spec_replicas)),
        Some(("cassandra-east", Some(4)))
    );
    drop(kube);
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn answers_that_make_no_sense_are_facts_to_check() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (
                Method::GET,
                POD,
                Answer::Object(
                    serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cassandra-1"}}),
                ),
            ),
            (
                Method::GET,
                SET,
                Answer::Object(set("cassandra", (-3).into())),
            ),
        ],
    );
    let facts = kube.own_facts(&entrypoint_wants()).await;
    // A pod without a UID gets no Events, one without a node no topology.
    assert_eq!(facts.own_pod, Fact::Known(OwnPod::default()));
    assert!(!kube.events(&facts.own_pod).enabled());
    assert!(facts.node.why().unwrap().contains("no spec.nodeName"));
    assert_eq!(replica_bound(None, &facts, 1), None);
    drop(kube);
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn not_a_statefulset_is_unknown_not_a_panic() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![(
            Method::GET,
            SET,
            Answer::Object(serde_json::json!({"spec": "nonsense"})),
        )],
    );
    let wants = Wants {
        set: Some("cassandra".into()),
        ..Wants::default()
    };
    let facts = kube.own_facts(&wants).await;
    assert!(
        facts.set.why().unwrap().contains("cannot read"),
        "{facts:?}"
    );
    assert_eq!(facts.own_pod, Fact::NotAsked);
    drop(kube);
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn status_reads_each_pod() {
    let (kube, handle) = kube();
    let terminating = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "cassandra-2", "deletionTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
    });
    let server = serve(
        handle,
        vec![
            (
                Method::GET,
                "/api/v1/namespaces/db/pods/cassandra-0",
                Answer::Object(pod("cassandra")),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/db/pods/cassandra-1",
                Answer::Status(403),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/db/pods/cassandra-2",
                Answer::Object(terminating),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/db/pods/cassandra-3",
                Answer::Status(404),
            ),
        ],
    );
    let names: Vec<String> = (0..4).map(|i| format!("cassandra-{i}")).collect();
    let pods = kube.pods(&names).await;
    let got: Vec<(&str, Fact<PodObject>)> =
        pods.iter().map(|(n, f)| (n.as_str(), f.clone())).collect();
    assert_eq!(
        got,
        vec![
            (
                "cassandra-0",
                Fact::Known(PodObject::Found {
                    phase: Some("Running".into()),
                    ready: Some(true),
                    terminating: false
                })
            ),
            (
                "cassandra-1",
                Fact::Unknown(Unknown::denied(
                    "Kubernetes API denied get pods/cassandra-1"
                ))
            ),
            (
                "cassandra-2",
                Fact::Known(PodObject::Found {
                    phase: Some("Running".into()),
                    ready: Some(false),
                    terminating: true
                })
            ),
            ("cassandra-3", Fact::Known(PodObject::Absent)),
        ]
    );
    drop(kube);
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn events_are_created_on_the_pod_by_ringkeeper() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Object(pod("cassandra"))),
            (
                Method::POST,
                EVENTS,
                Answer::Object(
                    serde_json::json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"}, "eventTime": "2026-01-01T00:00:00.000000Z"}),
                ),
            ),
        ],
    );
    let wants = Wants {
        own_pod: true,
        events: true,
        ..Wants::default()
    };
    let facts = kube.own_facts(&wants).await;
    let events = kube.events(&facts.own_pod);
    assert!(events.enabled());
    events
        .publish(&crate::decide::events::refused("no safe seed list"))
        .await;
    events.publish(&crate::decide::events::draining(30)).await;
    drop((kube, events));
    let asked = server.await.unwrap();
    let posted: Vec<&serde_json::Value> = asked
        .iter()
        .filter(|(m, _, _)| *m == Method::POST)
        .filter_map(|(_, _, b)| b.as_ref())
        .collect();
    assert_eq!(posted.len(), 2, "{asked:?}");
    let e = posted[0];
    assert_eq!(e["reason"], "Refused");
    assert_eq!(e["type"], "Warning");
    assert_eq!(e["action"], "Boot");
    assert_eq!(e["note"], "cassandra was not started: no safe seed list");
    assert_eq!(e["reportingController"], "ringkeeper");
    assert_eq!(e["reportingInstance"], "cassandra-1");
    assert_eq!(e["regarding"]["uid"], "u-1");
    assert_eq!(e["regarding"]["kind"], "Pod");
    assert_eq!(e["regarding"]["name"], "cassandra-1");
    assert_eq!(e["metadata"]["namespace"], "db");
    assert_eq!(posted[1]["reason"], "Draining");
    // Two reasons, two creates (a repeat would be a patch: see the test below).
    assert!(
        asked
            .iter()
            .all(|(m, _, _)| *m == Method::GET || *m == Method::POST)
    );
}

/// A boot whose read of its own pod came late still publishes Events: the UID is
/// looked up at the first one.
#[tokio::test]
async fn events_learn_the_uid_when_the_boot_read_came_late() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Object(pod("cassandra"))),
            (
                Method::POST,
                EVENTS,
                Answer::Object(
                    serde_json::json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"}, "eventTime": "2026-01-01T00:00:00.000000Z"}),
                ),
            ),
        ],
    );
    let late = Fact::Unknown(Unknown::late(format!(
        "the Kubernetes API {NO_ANSWER} get pods/x within 2s"
    )));
    let events = kube.events(&late);
    assert!(events.enabled());
    events.publish(&crate::decide::events::draining(30)).await;
    assert!(
        !kube
            .events(&Fact::Unknown(Unknown::denied(
                "Kubernetes API denied get pods/x"
            )))
            .enabled(),
        "a denial is not asked again"
    );
    drop((kube, events));
    let asked = server.await.unwrap();
    let posted: Vec<&serde_json::Value> = asked
        .iter()
        .filter(|(m, _, _)| *m == Method::POST)
        .filter_map(|(_, _, b)| b.as_ref())
        .collect();
    assert_eq!(posted.len(), 1, "{asked:?}");
    assert_eq!(posted[0]["regarding"]["uid"], "u-1");
}

#[tokio::test(start_paused = true)]
async fn a_repeated_wait_patches_one_event_and_a_new_reason_creates_another() {
    let (kube, handle) = kube();
    let event = serde_json::json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"}, "eventTime": "2026-01-01T00:00:00.000000Z"});
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Object(pod("cassandra"))),
            (Method::POST, EVENTS, Answer::Object(event.clone())),
            (
                Method::PATCH,
                "/apis/events.k8s.io/v1/namespaces/db/events/cassandra-1.*",
                Answer::Object(event),
            ),
        ],
    );
    let facts = kube
        .own_facts(&Wants {
            own_pod: true,
            events: true,
            ..Wants::default()
        })
        .await;
    let events = kube.events(&facts.own_pod);
    let wait = |reason: &str, waited_s: u64| crate::decide::seeds::Waiting {
        reason: reason.into(),
        seen: vec![],
        seed_wait_over: false,
        waited: Duration::from_secs(waited_s),
        rounds: 1,
    };
    for w in [
        wait("cassandra-0 is joining", 0),
        wait("cassandra-0 is joining", 30),
        wait("cassandra-0 is joining", 60),
        wait("only ordinal 0 may found", 90),
    ] {
        events.publish(&crate::decide::events::waiting(&w)).await;
        tokio::time::advance(Duration::from_secs(30)).await;
    }
    drop((kube, events));
    let asked: Vec<(Method, Option<serde_json::Value>)> = server
        .await
        .unwrap()
        .into_iter()
        .filter(|(m, _, _)| *m != Method::GET)
        .map(|(m, _, b)| (m, b.map(|b| b["note"].clone())))
        .collect();
    let joining = Some(serde_json::json!(
        "cassandra not started yet: cassandra-0 is joining"
    ));
    assert_eq!(
        asked,
        vec![
            (Method::POST, joining.clone()),
            (Method::PATCH, joining.clone()),
            (Method::PATCH, joining),
            (
                Method::POST,
                Some(serde_json::json!(
                    "cassandra not started yet: only ordinal 0 may found"
                ))
            ),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_that_cannot_be_published_never_blocks_or_fails() {
    let (kube, handle) = kube();
    let server = serve(
        handle,
        vec![
            (Method::GET, POD, Answer::Object(pod("cassandra"))),
            (Method::POST, EVENTS, Answer::Silent),
        ],
    );
    let facts = kube
        .own_facts(&Wants {
            own_pod: true,
            events: true,
            ..Wants::default()
        })
        .await;
    let events = kube.events(&facts.own_pod);
    let start = tokio::time::Instant::now();
    events.publish(&crate::decide::events::draining(30)).await;
    let took = start.elapsed();
    assert!(
        took >= API_TIMEOUT && took < API_TIMEOUT + Duration::from_millis(100),
        "{took:?}"
    );
    drop((kube, events));
    server.await.unwrap();
}

#[tokio::test]
async fn turned_off_asks_nothing() {
    let kube = Kube::connect(KubeApi::Off, "db", "cassandra-1");
    let facts = kube.own_facts(&entrypoint_wants()).await;
    let gaps = crate::decide::api_facts::gaps(&facts, &entrypoint_wants());
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0].expected);
    assert!(gaps[0].why.contains("--kube-api off"), "{}", gaps[0].why);
    assert!(!kube.events(&facts.own_pod).enabled());
    let pods = kube.pods(&["cassandra-0".into()]).await;
    assert!(pods[0].1.why().is_some());
}

#[tokio::test(start_paused = true)]
async fn the_other_pods_of_a_scale_down_by_address() {
    let (kube, handle) = kube();
    let with_ip = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "cassandra-3", "deletionTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"podIP": "10.244.0.13"}
    });
    let server = serve(
        handle,
        vec![
            (
                Method::GET,
                "/api/v1/namespaces/db/pods/cassandra-2",
                Answer::Status(404),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/db/pods/cassandra-3",
                Answer::Object(with_ip),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/db/pods/cassandra-4",
                Answer::Status(403),
            ),
        ],
    );
    let names: Vec<String> = (2..5).map(|i| format!("cassandra-{i}")).collect();
    let got = kube.pod_ips(&names).await;
    assert_eq!(
        got,
        vec![
            ("cassandra-2".to_owned(), Fact::Known(None)),
            (
                "cassandra-3".to_owned(),
                Fact::Known(Some("10.244.0.13".parse().unwrap()))
            ),
            (
                "cassandra-4".to_owned(),
                Fact::Unknown(Unknown::denied(
                    "Kubernetes API denied get pods/cassandra-4"
                ))
            ),
        ]
    );
    drop(kube);
    assert_eq!(server.await.unwrap().len(), 3);
    let off = Kube::connect(KubeApi::Off, "db", "cassandra-4");
    assert!(
        off.pod_ips(&names)
            .await
            .iter()
            .all(|(_, f)| f.why().is_some())
    );
}

/// An API server that accepts the connection and never answers (TLS never begins): the
/// client's connect bound and `get`'s own bound both end at `API_TIMEOUT`, and whichever
/// fires first, the outcome is the same: late, worded "did not answer", the server marked
/// down. (Before, a connect bound that won the race read "cannot be reached".)
#[tokio::test]
async fn a_server_that_accepts_and_never_answers_did_not_answer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let config = bounded(kube::Config::new(url.parse().unwrap()));
    let api = Connected {
        client: Client::try_from(config).unwrap(),
        namespace: "cass".into(),
        down: Arc::default(),
    };
    let pods: Api<Pod> = Api::namespaced(api.client.clone(), "cass");
    let started = std::time::Instant::now();
    for _ in 0..2 {
        let why = api.get(&pods, "pods", "cassandra-0").await.unwrap_err();
        assert_eq!(why.missing, Missing::Late, "{}", why.why);
        assert!(
            why.why
                .contains("did not answer get pods/cassandra-0 within 2s"),
            "{}",
            why.why
        );
    }
    // The second request was not sent: one bound in all, not one per request.
    assert!(
        started.elapsed() < API_TIMEOUT * 2,
        "{:?}",
        started.elapsed()
    );
    held.abort();
}

#[test]
fn only_a_bound_that_ran_out_is_a_timeout() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let elapsed = rt
        .block_on(async {
            tokio::time::timeout(Duration::ZERO, std::future::pending::<()>()).await
        })
        .unwrap_err();
    let wrapped = std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed);
    assert!(timed_out(&wrapped));
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert!(!timed_out(&refused));
}
