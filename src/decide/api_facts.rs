//! Pure. What the Kubernetes API said about this pod, its StatefulSet, its Node and the
//! set's pods, as plain facts: each one known, or unknown with the reason (no access,
//! denied, not found, no answer in time). The API edge gathers them; the choices that use
//! them (`replicas`, `placement`) and the one log line per gap are decided here.
//!
//! Values are kept as the API sent them (a replica count is an `i32` that may be missing
//! or negative): checking that an answer makes sense is part of the decision, not of the
//! gathering.

use std::collections::BTreeMap;

use serde::Serialize;

/// One fact from the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact<T> {
    /// The API answered.
    Known(T),
    /// Asked, but not learned: what kind of failure (denied, not found, late, failed) and
    /// the text that says why, e.g. `Kubernetes API denied get statefulsets/cassandra`.
    Unknown(Unknown),
    /// Not needed by this command (a flag gave the answer), so not asked.
    NotAsked,
}

impl<T> Fact<T> {
    /// The value, when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(v) => Some(v),
            _ => None,
        }
    }

    /// Why it is unknown, when it was asked and not learned.
    pub fn why(&self) -> Option<&str> {
        match self {
            Fact::Unknown(u) => Some(&u.why),
            _ => None,
        }
    }

    /// Whether it was asked and the answer came late or not at all: worth asking again
    /// (a denial or a 404 is an answer, and is not asked again).
    pub fn is_late(&self) -> bool {
        matches!(self, Fact::Unknown(u) if u.missing == Missing::Late)
    }
}

/// What kind of failure left a fact unknown: what a caller decides on (ask again or not),
/// never a word searched in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The API refused the request (403, or 401: the token rejected): asking again
    /// changes nothing until someone changes the Role.
    Denied,
    /// The API answered that the object does not exist (404).
    NotFound,
    /// No answer within the bound, or the server could not be reached: worth asking again.
    Late,
    /// Anything else: an answer ringkeeper cannot read or that makes no sense, no access.
    Failed,
}

/// A fact asked and not learned: the kind, and the text for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The kind.
    pub missing: Missing,
    /// Why, in a sentence that names the request.
    pub why: String,
}

impl Unknown {
    /// An answer that did not come in time, or a server not reached.
    pub fn late(why: impl Into<String>) -> Unknown {
        Unknown {
            missing: Missing::Late,
            why: why.into(),
        }
    }

    /// A request the API refused.
    pub fn denied(why: impl Into<String>) -> Unknown {
        Unknown {
            missing: Missing::Denied,
            why: why.into(),
        }
    }

    /// An object the API says does not exist.
    pub fn not_found(why: impl Into<String>) -> Unknown {
        Unknown {
            missing: Missing::NotFound,
            why: why.into(),
        }
    }

    /// Any other failure.
    pub fn failed(why: impl Into<String>) -> Unknown {
        Unknown {
            missing: Missing::Failed,
            why: why.into(),
        }
    }
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

/// A failure of no particular kind (tests, and reasons ringkeeper states itself).
impl From<&str> for Unknown {
    fn from(why: &str) -> Unknown {
        Unknown::failed(why)
    }
}

/// See `From<&str>`.
impl From<String> for Unknown {
    fn from(why: String) -> Unknown {
        Unknown::failed(why)
    }
}

/// Whether the API could be asked at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A client with the pod's service-account token.
    Connected,
    /// Not asked: not in a cluster, no token, or turned off. `expected` is true when
    /// that is a normal setup (off by flag, not in a pod), false when it looks like a
    /// mistake (a pod without its token).
    Unavailable {
        /// Why, e.g. `no service-account token at /var/run/...`.
        why: String,
        /// A normal setup rather than a problem.
        expected: bool,
    },
}

/// This pod, as its Pod object describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnPod {
    /// `metadata.uid`: Events refer to the pod by it (`kubectl describe` matches on it).
    pub uid: Option<String>,
    /// `spec.nodeName`: where to read the topology labels.
    pub node_name: Option<String>,
    /// The name of the StatefulSet in the controller ownerReference, if that is one.
    pub controller_set: Option<String>,
}

/// The StatefulSet fields that bound the ordinals, as the API sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetFacts {
    /// Its name.
    pub name: String,
    /// `spec.replicas`.
    pub spec_replicas: Option<i32>,
    /// `status.replicas`: pods that exist, which during a scale-down is more than
    /// `spec.replicas` until the last extra pod is gone.
    pub status_replicas: Option<i32>,
    /// `spec.ordinals.start`: ringkeeper numbers pods from 0.
    pub ordinals_start: Option<i32>,
    /// `metadata.uid`: what an object owned by the set (the identity record) names.
    pub uid: Option<String>,
    /// It has a deletion timestamp: the set is being deleted, so its pods going away is
    /// no scale-down.
    pub deleting: bool,
    /// `spec.persistentVolumeClaimRetentionPolicy.whenScaled` (`Retain` when unset):
    /// whether a scale-down deletes the removed pods' volumes.
    pub pvc_when_scaled: Option<String>,
}

/// The Node's topology labels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeFacts {
    /// The Node's name.
    pub name: String,
    /// `topology.kubernetes.io/region`: the datacenter.
    pub region: Option<String>,
    /// `topology.kubernetes.io/zone`: the rack.
    pub zone: Option<String>,
}

/// An expected pod's object, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum PodObject {
    /// The Pod exists.
    Found {
        /// `status.phase`: Pending, Running, Succeeded, Failed or Unknown.
        phase: Option<String>,
        /// The `Ready` condition; `None` when the pod has none yet.
        ready: Option<bool>,
        /// It has a deletion timestamp: it is being stopped.
        terminating: bool,
    },
    /// No such Pod (404).
    Absent,
    /// The API did not say (no access, denied, no answer).
    Unknown,
}

/// What one command asks the API for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wants {
    /// This pod's object: its UID for Events, its Node, its StatefulSet's name.
    pub own_pod: bool,
    /// Events are published on the pod (needs `own_pod`).
    pub events: bool,
    /// The StatefulSet to read, by the name parsed from the pod name (the controller
    /// ownerReference may name another); `None` when `--replicas` was given.
    pub set: Option<String>,
    /// The Node's topology labels (needs `own_pod`).
    pub node: bool,
    /// Every expected pod's object (`status`).
    pub pods: bool,
    /// The identity record (`decide::cluster_record`) of this StatefulSet (its name,
    /// parsed from the pod name), read by the boot.
    pub record: Option<String>,
}

/// What the API said, for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFacts {
    /// Whether it could be asked.
    pub access: Access,
    /// This pod.
    pub own_pod: Fact<OwnPod>,
    /// Its StatefulSet.
    pub set: Fact<SetFacts>,
    /// Its Node.
    pub node: Fact<NodeFacts>,
    /// The identity record's data (`Known(None)`: the API answered there is none).
    pub record: Fact<Option<BTreeMap<String, String>>>,
}

impl ApiFacts {
    /// The StatefulSet alone, as a command that asked the API for nothing else holds it
    /// (to be asked again with `Kube::ask_again_if_late`).
    pub fn set_only(set: Fact<SetFacts>) -> ApiFacts {
        ApiFacts {
            access: Access::Connected,
            own_pod: Fact::NotAsked,
            set,
            node: Fact::NotAsked,
            record: Fact::NotAsked,
        }
    }

    /// Facts of a command that could not ask: every wanted fact is unknown for `why`.
    pub fn unavailable(wants: &Wants, why: &str, expected: bool) -> ApiFacts {
        fn unknown<T>(wanted: bool, why: &str) -> Fact<T> {
            if wanted {
                Fact::Unknown(why.into())
            } else {
                Fact::NotAsked
            }
        }
        ApiFacts {
            access: Access::Unavailable {
                why: why.to_owned(),
                expected,
            },
            own_pod: unknown(wants.own_pod, why),
            set: unknown(wants.set.is_some(), why),
            node: unknown(wants.node, why),
            record: unknown(wants.record.is_some(), why),
        }
    }
}

/// What is missing because of one reason, for one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Why, e.g. `Kubernetes API denied get statefulsets/cassandra`.
    pub why: String,
    /// What the command does without it, e.g. `--replicas unknown, ordinals unbounded`.
    pub without: Vec<&'static str>,
    /// A normal setup (no API by choice or outside a pod): logged at info, not warn.
    pub expected: bool,
}

impl Gap {
    /// The log line: `<why>: <without, ...>`.
    pub fn line(&self) -> String {
        format!("{}: {}", self.why, self.without.join(", "))
    }
}

/// Without Events.
pub const NO_EVENTS: &str = "no Events";
/// Without the ordinal bound.
pub const NO_REPLICAS: &str = "--replicas unknown, ordinals unbounded";
/// Without the Node's labels.
pub const NO_TOPOLOGY: &str = "no DC/rack from the Node's labels";
/// Without the pods' objects.
pub const NO_POD_STATES: &str = "no pod phase or readiness";
/// Without the identity record.
pub const NO_RECORD: &str = "no identity record (a pod that lost its disk is not replaced \
     automatically; ordinal 0 may found once --seed-wait is over)";

/// Each reason something wanted was not learned, with what goes without it, in the order
/// the facts are listed; one reason (no access, an API server that does not answer) is one
/// gap, however many facts it cost.
pub fn gaps(facts: &ApiFacts, wants: &Wants) -> Vec<Gap> {
    let expected = matches!(facts.access, Access::Unavailable { expected: true, .. });
    let mut missing: Vec<(&str, &'static str)> = Vec::new();
    if wants.events
        && let Some(why) = facts.own_pod.why()
    {
        missing.push((why, NO_EVENTS));
    }
    if let Some(why) = facts.set.why() {
        missing.push((why, NO_REPLICAS));
    }
    if let Some(why) = facts.node.why() {
        missing.push((why, NO_TOPOLOGY));
    }
    if wants.pods
        && let Access::Unavailable { why, .. } = &facts.access
    {
        missing.push((why, NO_POD_STATES));
    }
    if let Some(why) = facts.record.why() {
        missing.push((why, NO_RECORD));
    }
    let mut gaps: Vec<Gap> = Vec::new();
    for (why, without) in missing {
        match gaps.iter_mut().find(|g| g.why == why) {
            Some(gap) => {
                if !gap.without.contains(&without) {
                    gap.without.push(without);
                }
            }
            None => gaps.push(Gap {
                why: why.to_owned(),
                without: vec![without],
                expected,
            }),
        }
    }
    gaps
}

/// The one gap for the pods `status` could not read (`None` when every pod was read or
/// the API was not reachable at all, which the first gaps already said): the first reason,
/// and how many more pods went without.
pub fn pods_gap(pods: &[(String, Fact<PodObject>)], access: &Access) -> Option<Gap> {
    if matches!(access, Access::Unavailable { .. }) {
        return None;
    }
    let mut unknown = pods.iter().filter_map(|(_, fact)| fact.why());
    let first = unknown.next()?;
    let more = unknown.count();
    Some(Gap {
        why: if more == 0 {
            first.to_owned()
        } else {
            format!("{first} (and {more} more pod(s))")
        },
        without: vec![NO_POD_STATES],
        expected: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_TOKEN: &str = "no Kubernetes API access (no service-account token at /t)";

    fn wants(events: bool, set: bool, node: bool, pods: bool) -> Wants {
        Wants {
            own_pod: events || node,
            events,
            set: set.then(|| "cassandra".to_owned()),
            node,
            pods,
            record: None,
        }
    }

    #[test]
    fn gap_lines() {
        let connected = |own: Fact<OwnPod>, set: Fact<SetFacts>, node: Fact<NodeFacts>| ApiFacts {
            access: Access::Connected,
            own_pod: own,
            set,
            node,
            record: Fact::NotAsked,
        };
        let denied_pod = "Kubernetes API denied get pods/cassandra-0";
        let denied_set = "Kubernetes API denied get statefulsets/cassandra";
        let silent = "Kubernetes API did not answer get pods/cassandra-0 within 2s";
        fn u<T>(s: &str) -> Fact<T> {
            Fact::Unknown(s.into())
        }
        type Case = (
            &'static str,
            ApiFacts,
            Wants,
            Vec<(&'static str, &'static str)>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("no token, entrypoint: one line",
             ApiFacts::unavailable(&wants(true, true, true, false), NO_TOKEN, false), wants(true, true, true, false),
             vec![(NO_TOKEN, "no Events, --replicas unknown, ordinals unbounded, no DC/rack from the Node's labels")]),
            ("no token, drain: events only",
             ApiFacts::unavailable(&wants(true, false, false, false), NO_TOKEN, false), wants(true, false, false, false),
             vec![(NO_TOKEN, "no Events")]),
            ("no token, status: the pods too",
             ApiFacts::unavailable(&wants(false, true, false, true), NO_TOKEN, true), wants(false, true, false, true),
             vec![(NO_TOKEN, "--replicas unknown, ordinals unbounded, no pod phase or readiness")]),
            ("flags gave everything, no events wanted: nothing to say",
             ApiFacts::unavailable(&Wants::default(), NO_TOKEN, false), Wants::default(), vec![]),
            ("all learned",
             connected(Fact::Known(OwnPod::default()), Fact::Known(SetFacts::default()), Fact::Known(NodeFacts::default())),
             wants(true, true, true, false), vec![]),
            ("the set denied, the rest learned",
             connected(Fact::Known(OwnPod::default()), u(denied_set), Fact::Known(NodeFacts::default())),
             wants(true, true, true, false), vec![(denied_set, "--replicas unknown, ordinals unbounded")]),
            ("the pod denied costs the Events and the Node (found through the pod)",
             connected(u(denied_pod), Fact::Known(SetFacts::default()), u(denied_pod)),
             wants(true, true, true, false), vec![(denied_pod, "no Events, no DC/rack from the Node's labels")]),
            ("a silent API server: one line for everything",
             connected(u(silent), u(silent), u(silent)),
             wants(true, true, true, false), vec![(silent, "no Events, --replicas unknown, ordinals unbounded, no DC/rack from the Node's labels")]),
            ("two reasons, two lines, in fact order",
             connected(u(denied_pod), u(denied_set), u(denied_pod)),
             wants(true, true, true, false),
             vec![(denied_pod, "no Events, no DC/rack from the Node's labels"), (denied_set, "--replicas unknown, ordinals unbounded")]),
            ("seeds does not publish: the pod's gap alone says nothing",
             connected(u(denied_pod), Fact::Known(SetFacts::default()), Fact::NotAsked),
             wants(false, true, false, false), vec![]),
        ];
        for (name, facts, wants, want) in cases {
            let got: Vec<(String, String)> = gaps(&facts, &wants)
                .iter()
                .map(|g| (g.why.clone(), g.without.join(", ")))
                .collect();
            let want: Vec<(String, String)> = want
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn expected_gaps_are_marked_and_lines_read_as_sentences() {
        let w = wants(true, false, false, false);
        let off = gaps(&ApiFacts::unavailable(&w, "turned off", true), &w);
        assert!(off[0].expected);
        let missing = gaps(&ApiFacts::unavailable(&w, NO_TOKEN, false), &w);
        assert!(!missing[0].expected);
        assert_eq!(
            missing[0].line(),
            "no Kubernetes API access (no service-account token at /t): no Events"
        );
    }

    #[test]
    fn pods_gap_names_the_first_reason_and_counts_the_rest() {
        let found = Fact::Known(PodObject::Absent);
        let denied = |n: u32| Fact::Unknown(format!("Kubernetes API denied get pods/c-{n}").into());
        let p = |facts: Vec<Fact<PodObject>>| -> Vec<(String, Fact<PodObject>)> {
            facts
                .into_iter()
                .enumerate()
                .map(|(i, f)| (format!("c-{i}"), f))
                .collect()
        };
        assert_eq!(pods_gap(&p(vec![found.clone()]), &Access::Connected), None);
        let one = pods_gap(&p(vec![found.clone(), denied(1)]), &Access::Connected).unwrap();
        assert_eq!(
            one.line(),
            "Kubernetes API denied get pods/c-1: no pod phase or readiness"
        );
        let three = pods_gap(
            &p(vec![denied(0), denied(1), denied(2)]),
            &Access::Connected,
        );
        assert_eq!(
            three.unwrap().why,
            "Kubernetes API denied get pods/c-0 (and 2 more pod(s))"
        );
        let off = Access::Unavailable {
            why: "off".into(),
            expected: true,
        };
        assert_eq!(pods_gap(&p(vec![denied(0)]), &off), None);
    }
}
