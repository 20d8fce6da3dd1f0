//! Pure. Which datacenter and rack the node runs in (written to
//! cassandra-rackdc.properties): `--dc`/`--rack` when given, else the Node's region and
//! zone topology labels, else `dc1`/`rack1`.
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

/// What the choice is made from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// `--dc`, when given.
    pub dc_flag: Option<&'a str>,
    /// `--rack`, when given.
    pub rack_flag: Option<&'a str>,
    /// The join record of this node's data (only when the data directory holds the
    /// node's state and the record vouches for it).
    pub record: Option<&'a JoinRecord>,
    /// The Node's labels.
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

/// Chooses the DC and the rack.
pub fn choose(inputs: &Inputs) -> Placement {
    let labels = inputs.node.known();
    let of_record = |field: fn(&JoinRecord) -> Option<&str>| match inputs.record {
        None => Recorded::NoRecord,
        Some(r) => field(r).map_or(Recorded::Unrecorded, Recorded::Value),
    };
    let mut warnings = Vec::new();
    let dc = pick(
        Dimension {
            what: "DC",
            flag_name: "--dc",
            label: "region",
            default: DEFAULT_DC,
        },
        inputs.dc_flag,
        of_record(|r| r.dc.as_deref()),
        labels.and_then(|n| n.region.as_deref()),
        &mut warnings,
    );
    let rack = pick(
        Dimension {
            what: "rack",
            flag_name: "--rack",
            label: "zone",
            default: DEFAULT_RACK,
        },
        inputs.rack_flag,
        of_record(|r| r.rack.as_deref()),
        labels.and_then(|n| n.zone.as_deref()),
        &mut warnings,
    );
    Placement { dc, rack, warnings }
}

/// Names used in the messages about one of the two values.
struct Dimension {
    what: &'static str,
    flag_name: &'static str,
    label: &'static str,
    default: &'static str,
}

fn pick(
    d: Dimension,
    flag: Option<&str>,
    recorded: Recorded,
    label: Option<&str>,
    warnings: &mut Vec<String>,
) -> Choice {
    let choice = |value: &str, source| Choice {
        value: value.to_owned(),
        source,
    };
    let Dimension {
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
        return choice(flag, Source::Flag);
    }
    let label = match label {
        Some(value) if usable(value) => Some(value),
        Some(value) => {
            warnings.push(format!(
                "the Node's {label_name} label {value:?} cannot be a {what} name (letters, digits, \
                 '-', '_' or '.'): not used"
            ));
            None
        }
        None => None,
    };
    match recorded {
        Recorded::Value(last) => {
            if let Some(label) = label.filter(|l| *l != last) {
                warnings.push(format!(
                    "the Node's {label_name} label says {what} {label}, but this node's data last ran \
                     in {last}: keeping {last} (Cassandra refuses to start a node whose {what} \
                     changed; set {flag_name} to move it on purpose)"
                ));
            }
            choice(last, Source::Recorded)
        }
        Recorded::Unrecorded => {
            if let Some(label) = label.filter(|l| *l != default) {
                warnings.push(format!(
                    "the Node's {label_name} label says {what} {label}, but this node's join record \
                     predates DC/rack recording, and the version that wrote it used {flag_name} or \
                     {default}: keeping {default} (set {flag_name} if the node ran elsewhere)"
                ));
            }
            choice(default, Source::Default)
        }
        Recorded::NoRecord => match label {
            Some(label) => choice(label, Source::NodeLabel),
            None => choice(default, Source::Default),
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

    #[test]
    fn choices() {
        use Source::*;
        let denied = Fact::Unknown("Kubernetes API denied get nodes/node-a".into());
        let labels = node(Some("us-east-1"), Some("us-east-1a"));
        let same = record(Some("us-east-1"), Some("us-east-1a"));
        let old = record(Some("dc1"), Some("rack1"));
        let legacy = record(None, None);
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a JoinRecord>,
            Fact<NodeFacts>,
            (&'a str, Source),
            (&'a str, Source),
            &'a [&'a str],
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("flags win over labels", Some("dc9"), Some("r9"), None, labels.clone(), ("dc9", Flag), ("r9", Flag), &[]),
            ("one flag, one label", Some("dc9"), None, None, labels.clone(), ("dc9", Flag), ("us-east-1a", NodeLabel), &[]),
            ("labels on a new node", None, None, None, labels.clone(), ("us-east-1", NodeLabel), ("us-east-1a", NodeLabel), &[]),
            ("no API: defaults", None, None, None, denied.clone(), ("dc1", Default), ("rack1", Default), &[]),
            ("not asked: defaults", None, None, None, Fact::NotAsked, ("dc1", Default), ("rack1", Default), &[]),
            ("a Node without the labels", None, None, None, node(None, None), ("dc1", Default), ("rack1", Default), &[]),
            ("only a region label", None, None, None, node(Some("eu-west-3"), None), ("eu-west-3", NodeLabel), ("rack1", Default), &[]),
            ("a label that is no rackdc name", None, None, None, node(Some("eu west"), Some("z1")), ("dc1", Default), ("z1", NodeLabel), &["\"eu west\" cannot be a DC name"]),
            ("data that ran where the labels say", None, None, Some(&same), labels.clone(), ("us-east-1", Recorded), ("us-east-1a", Recorded), &[]),
            ("data that ran in dc1/rack1, labels say otherwise: kept, warned", None, None, Some(&old), labels.clone(), ("dc1", Recorded), ("rack1", Recorded), &["label says DC us-east-1, but this node's data last ran in dc1: keeping dc1", "label says rack us-east-1a, but this node's data last ran in rack1: keeping rack1"]),
            ("data that ran elsewhere, no API this time: the record, not the defaults", None, None, Some(&same), denied.clone(), ("us-east-1", Recorded), ("us-east-1a", Recorded), &[]),
            ("a rescheduled pod: a new zone label, the old rack kept", None, None, Some(&same), node(Some("us-east-1"), Some("us-east-1b")), ("us-east-1", Recorded), ("us-east-1a", Recorded), &["says rack us-east-1b, but this node's data last ran in us-east-1a"]),
            ("a flag that contradicts the record is kept, and warned about", Some("dc2"), None, Some(&old), labels.clone(), ("dc2", Flag), ("rack1", Recorded), &["--dc dc2 differs from DC dc1", "label says rack us-east-1a"]),
            ("a flag that matches the record", Some("dc1"), Some("rack1"), Some(&old), labels.clone(), ("dc1", Flag), ("rack1", Flag), &[]),
            ("a record from before DC/rack were kept: the defaults, as that version used", None, None, Some(&legacy), labels.clone(), ("dc1", Default), ("rack1", Default), &["predates DC/rack recording, and the version that wrote it used --dc or dc1: keeping dc1", "keeping rack1"]),
            ("a record from before, labels that match the defaults", None, None, Some(&legacy), node(Some("dc1"), Some("rack1")), ("dc1", Default), ("rack1", Default), &[]),
            ("a record from before, flags given", Some("dc3"), Some("r3"), Some(&legacy), labels.clone(), ("dc3", Flag), ("r3", Flag), &[]),
        ];
        for (name, dc_flag, rack_flag, record, node, dc, rack, warnings) in cases {
            let p = choose(&Inputs {
                dc_flag,
                rack_flag,
                record,
                node: &node,
            });
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
