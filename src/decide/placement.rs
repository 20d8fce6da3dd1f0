//! Pure. Which datacenter and rack the node runs in (written to
//! cassandra-rackdc.properties).
//!
//! `--topology flags` (the default): `--dc`/`--rack` when given, else where this node's data
//! last ran (the join record), else `dc1`/`rack1`; the Node is never asked.
//! `--topology node-labels`: `--dc`/`--rack`, else the join record, else the Node's region
//! and zone topology labels. When a value must come from the labels and they are not known
//! (denied, no answer, no such label), the decision is to wait, never a default: a new node
//! that took `dc1` in a ring keyed on regions would join as a wrong DC, and its join record
//! would then keep it there for good.
//!
//! Cassandra refuses to start a node whose DC or rack differs from the one its data was
//! written in, so a node with data never switches silently: its join record says where it
//! last ran, and that wins over the Node's labels and the defaults (a pod rescheduled to
//! another zone, a label that changed, or an API that cannot be asked this time). A flag
//! that contradicts the record is the operator's explicit word and is kept, with a
//! warning that Cassandra will refuse it.

use super::api_facts::{Fact, NodeFacts};
use super::data::JoinRecord;

/// The datacenter when nothing else says.
pub const DEFAULT_DC: &str = "dc1";
/// The rack when nothing else says.
pub const DEFAULT_RACK: &str = "rack1";

/// Where DC and rack may come from (`--topology`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Topology {
    /// `--dc`/`--rack`, the join record, else `dc1`/`rack1`. The Node is not asked.
    #[default]
    Flags,
    /// `--dc`/`--rack`, the join record, else the Node's topology labels (wait until they
    /// are known).
    NodeLabels,
}

impl Topology {
    /// The flag value that names it.
    pub fn as_arg(self) -> &'static str {
        match self {
            Topology::Flags => "flags",
            Topology::NodeLabels => "node-labels",
        }
    }
}

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--dc`/`--rack` (`CASSANDRA_DC`/`CASSANDRA_RACK`).
    Flag,
    /// The join record: where this node's data last ran.
    Recorded,
    /// The Node's topology label.
    NodeLabel,
    /// `dc1`/`rack1`.
    Default,
}

/// One chosen value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The name.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// The node's datacenter and rack, with what the log must warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Datacenter.
    pub dc: Choice,
    /// Rack.
    pub rack: Choice,
    /// A source that disagrees with the choice, or a label that cannot be used.
    pub warnings: Vec<String>,
}

/// Why the placement cannot be chosen yet: a value must come from the Node's labels
/// (`--topology node-labels`, no flag, no join record) and they are not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// What is missing: `DC`, `rack`, or both.
    pub missing: Vec<&'static str>,
    /// Why each missing value is not known, without repeats (`; `-joined).
    pub why: String,
}

/// The decision: run with this placement, or wait for the Node's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run with it.
    Place(Placement),
    /// Ask the API again later; Cassandra is not started meanwhile.
    Wait(Wait),
}

/// What the choice is made from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// `--topology`.
    pub topology: Topology,
    /// `--dc`, when given.
    pub dc_flag: Option<&'a str>,
    /// `--rack`, when given.
    pub rack_flag: Option<&'a str>,
    /// The join record of this node's data (only when the data directory holds the
    /// node's state and the record vouches for it).
    pub record: Option<&'a JoinRecord>,
    /// The Node's labels (`NotAsked` with `--topology flags`).
    pub node: &'a Fact<NodeFacts>,
}

/// What the record says about one of the two values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded<'a> {
    /// No record: no data to protect (or none whose placement is known).
    NoRecord,
    /// A record written before ringkeeper kept DC and rack: that version used the flags
    /// or the defaults, never labels.
    Unrecorded,
    /// The value the node last ran with.
    Value(&'a str),
}

/// What the Node says about one of the two values.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Label<'a> {
    /// Not consulted (`--topology flags`).
    Ignored,
    /// A usable name.
    Value(&'a str),
    /// Not known, and why.
    Unknown(String),
}

/// Chooses the DC and the rack, or says why it must wait.
pub fn choose(inputs: &Inputs) -> Decision {
    let of_record = |field: fn(&JoinRecord) -> Option<&str>| match inputs.record {
        None => Recorded::NoRecord,
        Some(r) => field(r).map_or(Recorded::Unrecorded, Recorded::Value),
    };
    let mut warnings = Vec::new();
    let mut waits: Vec<(&'static str, String)> = Vec::new();
    let mut decide = |d: Dimension, flag, recorded, field: fn(&NodeFacts) -> Option<&str>| {
        let label = label(inputs.topology, inputs.node, &d, field);
        match pick(&d, flag, recorded, label, &mut warnings) {
            Ok(choice) => Some(choice),
            Err(why) => {
                waits.push((d.what, why));
                None
            }
        }
    };
    let dc = decide(
        Dimension {
            what: "DC",
            flag_name: "--dc",
            label: "region",
            default: DEFAULT_DC,
        },
        inputs.dc_flag,
        of_record(|r| r.dc.as_deref()),
        |n| n.region.as_deref(),
    );
    let rack = decide(
        Dimension {
            what: "rack",
            flag_name: "--rack",
            label: "zone",
            default: DEFAULT_RACK,
        },
        inputs.rack_flag,
        of_record(|r| r.rack.as_deref()),
        |n| n.zone.as_deref(),
    );
    match (dc, rack) {
        (Some(dc), Some(rack)) => Decision::Place(Placement { dc, rack, warnings }),
        _ => {
            let mut why: Vec<String> = Vec::new();
            for (_, reason) in &waits {
                if !why.contains(reason) {
                    why.push(reason.clone());
                }
            }
            Decision::Wait(Wait {
                missing: waits.iter().map(|(what, _)| *what).collect(),
                why: why.join("; "),
            })
        }
    }
}

/// Names used in the messages about one of the two values.
struct Dimension {
    what: &'static str,
    flag_name: &'static str,
    label: &'static str,
    default: &'static str,
}

/// What the Node's label says for one value.
fn label<'a>(
    topology: Topology,
    node: &'a Fact<NodeFacts>,
    d: &Dimension,
    field: fn(&NodeFacts) -> Option<&str>,
) -> Label<'a> {
    if topology == Topology::Flags {
        return Label::Ignored;
    }
    // The label's full key is the API edge's (`edge::kube::REGION_LABEL`, `ZONE_LABEL`).
    let key = format!("{} label", d.label);
    match node {
        Fact::Known(n) => match field(n) {
            Some(value) if usable(value) => Label::Value(value),
            Some(value) => Label::Unknown(format!(
                "the Node {}'s {key} {value:?} cannot be a {} name (letters, digits, '-', \
                 '_' or '.')",
                n.name, d.what
            )),
            None => Label::Unknown(format!("the Node {} has no {key}", n.name)),
        },
        Fact::Unknown(u) => Label::Unknown(u.why.clone()),
        Fact::NotAsked => Label::Unknown("the Node was not asked".to_owned()),
    }
}

/// One value: `Err(why)` when it must come from the labels and they are not known.
fn pick(
    d: &Dimension,
    flag: Option<&str>,
    recorded: Recorded,
    label: Label,
    warnings: &mut Vec<String>,
) -> Result<Choice, String> {
    let choice = |value: &str, source| Choice {
        value: value.to_owned(),
        source,
    };
    let &Dimension {
        what,
        flag_name,
        label: label_name,
        default,
    } = d;
    if let Some(flag) = flag {
        if let Recorded::Value(last) = recorded
            && last != flag
        {
            warnings.push(format!(
                "{flag_name} {flag} differs from {what} {last} that this node's data last ran in: \
                 Cassandra refuses to start a node whose {what} changed"
            ));
        }
        return Ok(choice(flag, Source::Flag));
    }
    let known = match &label {
        Label::Value(value) => Some(*value),
        _ => None,
    };
    match recorded {
        Recorded::Value(last) => {
            if let Some(label) = known.filter(|l| *l != last) {
                warnings.push(format!(
                    "the Node's {label_name} label says {what} {label}, but this node's data last ran \
                     in {last}: keeping {last} (Cassandra refuses to start a node whose {what} \
                     changed; set {flag_name} to move it on purpose)"
                ));
            }
            Ok(choice(last, Source::Recorded))
        }
        Recorded::Unrecorded => {
            if let Some(label) = known.filter(|l| *l != default) {
                warnings.push(format!(
                    "the Node's {label_name} label says {what} {label}, but this node's join record \
                     predates DC/rack recording, and the version that wrote it used {flag_name} or \
                     {default}: keeping {default} (set {flag_name} if the node ran elsewhere)"
                ));
            }
            Ok(choice(default, Source::Default))
        }
        Recorded::NoRecord => match label {
            Label::Value(label) => Ok(choice(label, Source::NodeLabel)),
            Label::Ignored => Ok(choice(default, Source::Default)),
            Label::Unknown(why) => Err(why),
        },
    }
}

/// A name cassandra-rackdc.properties can carry (the same rule as `--dc`/`--rack`).
pub fn usable(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::data::RECORD_FORMAT;

    fn record(dc: Option<&str>, rack: Option<&str>) -> JoinRecord {
        JoinRecord {
            format: RECORD_FORMAT,
            host_id: "6f1c2a3b-0000-4000-8000-000000000001".into(),
            cluster_name: None,
            address: None,
            peers: None,
            recorded_at: None,
            dc: dc.map(str::to_owned),
            rack: rack.map(str::to_owned),
        }
    }

    fn node(region: Option<&str>, zone: Option<&str>) -> Fact<NodeFacts> {
        Fact::Known(NodeFacts {
            name: "node-a".into(),
            region: region.map(str::to_owned),
            zone: zone.map(str::to_owned),
        })
    }

    /// What a case expects: a placement (DC, rack, warning fragments) or a wait (what is
    /// missing, fragments of why).
    enum Want<'a> {
        Place((&'a str, Source), (&'a str, Source), &'a [&'a str]),
        Wait(&'a [&'a str], &'a [&'a str]),
    }

    #[test]
    fn choices() {
        use Source::*;
        use Topology::{Flags as F, NodeLabels as L};
        use Want::{Place, Wait as W};
        let denied = Fact::Unknown("Kubernetes API denied get nodes/node-a".into());
        let silent =
            Fact::Unknown("the Kubernetes API did not answer get pods/c-1 within 2s".into());
        let no_node = Fact::Unknown("pods/c-1 has no spec.nodeName".into());
        let labels = node(Some("us-east-1"), Some("us-east-1a"));
        let same = record(Some("us-east-1"), Some("us-east-1a"));
        let old = record(Some("dc1"), Some("rack1"));
        let legacy = record(None, None);
        type Case<'a> = (
            &'a str,
            Topology,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a JoinRecord>,
            Fact<NodeFacts>,
            Want<'a>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            // --topology flags: the Node is never consulted.
            ("flags: defaults on a new node", F, None, None, None, Fact::NotAsked, Place(("dc1", Default), ("rack1", Default), &[])),
            ("flags: the flags", F, Some("dc9"), Some("r9"), None, Fact::NotAsked, Place(("dc9", Flag), ("r9", Flag), &[])),
            ("flags: the record over the defaults", F, None, None, Some(&same), Fact::NotAsked, Place(("us-east-1", Recorded), ("us-east-1a", Recorded), &[])),
            ("flags: labels, even if known, are not used", F, None, None, None, labels.clone(), Place(("dc1", Default), ("rack1", Default), &[])),
            ("flags: a record from before DC/rack were kept", F, None, None, Some(&legacy), Fact::NotAsked, Place(("dc1", Default), ("rack1", Default), &[])),
            ("flags: a flag that contradicts the record is kept, and warned about", F, Some("dc2"), None, Some(&old), Fact::NotAsked, Place(("dc2", Flag), ("rack1", Recorded), &["--dc dc2 differs from DC dc1"])),
            // --topology node-labels: flag > record > labels, else wait.
            ("flags win over labels", L, Some("dc9"), Some("r9"), None, labels.clone(), Place(("dc9", Flag), ("r9", Flag), &[])),
            ("one flag, one label", L, Some("dc9"), None, None, labels.clone(), Place(("dc9", Flag), ("us-east-1a", NodeLabel), &[])),
            ("labels on a new node", L, None, None, None, labels.clone(), Place(("us-east-1", NodeLabel), ("us-east-1a", NodeLabel), &[])),
            ("denied on a new node: wait, never dc1", L, None, None, None, denied.clone(), W(&["DC", "rack"], &["denied get nodes/node-a"])),
            ("no answer on a new node: wait", L, None, None, None, silent.clone(), W(&["DC", "rack"], &["did not answer"])),
            ("no nodeName: wait", L, None, None, None, no_node.clone(), W(&["DC", "rack"], &["no spec.nodeName"])),
            ("not asked: wait", L, None, None, None, Fact::NotAsked, W(&["DC", "rack"], &["not asked"])),
            ("a Node without the labels: wait", L, None, None, None, node(None, None), W(&["DC", "rack"], &["node-a has no region label", "node-a has no zone label"])),
            ("only a region label: wait for the rack", L, None, None, None, node(Some("eu-west-3"), None), W(&["rack"], &["node-a has no zone label"])),
            ("only a region label, --rack given", L, None, Some("r1"), None, node(Some("eu-west-3"), None), Place(("eu-west-3", NodeLabel), ("r1", Flag), &[])),
            ("denied, both flags given: nothing to wait for", L, Some("dc2"), Some("r2"), None, denied.clone(), Place(("dc2", Flag), ("r2", Flag), &[])),
            ("denied, one flag: wait for the other", L, Some("dc2"), None, None, denied.clone(), W(&["rack"], &["denied"])),
            ("a label that is no rackdc name: wait", L, None, None, None, node(Some("eu west"), Some("z1")), W(&["DC"], &["\"eu west\" cannot be a DC name"])),
            ("data that ran where the labels say", L, None, None, Some(&same), labels.clone(), Place(("us-east-1", Recorded), ("us-east-1a", Recorded), &[])),
            ("data that ran in dc1/rack1, labels say otherwise: kept, warned", L, None, None, Some(&old), labels.clone(), Place(("dc1", Recorded), ("rack1", Recorded), &["label says DC us-east-1, but this node's data last ran in dc1: keeping dc1", "label says rack us-east-1a, but this node's data last ran in rack1: keeping rack1"])),
            ("data that ran elsewhere, no API this time: the record, no wait", L, None, None, Some(&same), denied.clone(), Place(("us-east-1", Recorded), ("us-east-1a", Recorded), &[])),
            ("a rescheduled pod: a new zone label, the old rack kept", L, None, None, Some(&same), node(Some("us-east-1"), Some("us-east-1b")), Place(("us-east-1", Recorded), ("us-east-1a", Recorded), &["says rack us-east-1b, but this node's data last ran in us-east-1a"])),
            ("a flag that contradicts the record is kept, and warned about", L, Some("dc2"), None, Some(&old), labels.clone(), Place(("dc2", Flag), ("rack1", Recorded), &["--dc dc2 differs from DC dc1", "label says rack us-east-1a"])),
            ("a flag that matches the record", L, Some("dc1"), Some("rack1"), Some(&old), labels.clone(), Place(("dc1", Flag), ("rack1", Flag), &[])),
            ("a record from before DC/rack were kept: the defaults, as that version used", L, None, None, Some(&legacy), labels.clone(), Place(("dc1", Default), ("rack1", Default), &["predates DC/rack recording, and the version that wrote it used --dc or dc1: keeping dc1", "keeping rack1"])),
            ("a record from before, no API: the defaults, no wait", L, None, None, Some(&legacy), denied.clone(), Place(("dc1", Default), ("rack1", Default), &[])),
            ("a record from before, labels that match the defaults", L, None, None, Some(&legacy), node(Some("dc1"), Some("rack1")), Place(("dc1", Default), ("rack1", Default), &[])),
            ("a record from before, flags given", L, Some("dc3"), Some("r3"), Some(&legacy), labels.clone(), Place(("dc3", Flag), ("r3", Flag), &[])),
        ];
        for (name, topology, dc_flag, rack_flag, record, node, want) in cases {
            let got = choose(&Inputs {
                topology,
                dc_flag,
                rack_flag,
                record,
                node: &node,
            });
            match (got, want) {
                (Decision::Place(p), Place(dc, rack, warnings)) => {
                    assert_eq!((p.dc.value.as_str(), p.dc.source), dc, "{name}");
                    assert_eq!((p.rack.value.as_str(), p.rack.source), rack, "{name}");
                    assert_eq!(
                        p.warnings.len(),
                        warnings.len(),
                        "{name}: {:#?}",
                        p.warnings
                    );
                    for (got, needle) in p.warnings.iter().zip(warnings.iter()) {
                        assert!(got.contains(needle), "{name}: {got:?} lacks {needle:?}");
                    }
                }
                (Decision::Wait(w), W(missing, why)) => {
                    assert_eq!(w.missing, missing, "{name}");
                    for needle in why {
                        assert!(
                            w.why.contains(needle),
                            "{name}: {:?} lacks {needle:?}",
                            w.why
                        );
                    }
                }
                (got, _) => panic!("{name}: got {got:?}"),
            }
        }
    }

    #[test]
    fn one_reason_for_both_values_is_said_once() {
        let denied = Fact::Unknown("Kubernetes API denied get nodes/node-a".into());
        let got = choose(&Inputs {
            topology: Topology::NodeLabels,
            dc_flag: None,
            rack_flag: None,
            record: None,
            node: &denied,
        });
        assert_eq!(
            got,
            Decision::Wait(Wait {
                missing: vec!["DC", "rack"],
                why: "Kubernetes API denied get nodes/node-a".into(),
            })
        );
    }

    #[test]
    fn usable_names() {
        for ok in ["dc1", "us-east-1", "eu_west.3", "R1"] {
            assert!(usable(ok), "{ok}");
        }
        for bad in ["", "eu west", "dc/1", "dc=1", "dc\n1"] {
            assert!(!usable(bad), "{bad:?}");
        }
    }
}
