//! Pure. The identity record in the Kubernetes API: which node each pod of the
//! StatefulSet was, kept where it outlives any pod and any volume.
//!
//! One ConfigMap per set, `<set>-identity`, shipped empty with the manifests (so that
//! kustomize renames it with the set and the Role's `resourceNames` together) and owned
//! by nothing but the user: it outlives the StatefulSet, whose volumes are retained too.
//! One key per pod: `<pod name>` → this pod's last known node as JSON (host ID,
//! address, DC, rack, token count, cluster name, when last seen NORMAL). Each pod writes
//! only its own key, with the ConfigMap's `resourceVersion` as a precondition, so two pods
//! writing at once never undo each other's entry.
//!
//! What the boot plan takes from it ([`RecordFacts`]):
//!
//! * **the cluster exists**: some node of this set was NORMAL once, or the record holds
//!   entries this version cannot use (it fails closed), or it is missing. Then ordinal 0 with an
//!   empty disk never founds a new cluster, whatever DNS and CQL answer at boot (the other
//!   pods may all be away, in a zone outage or a restore); and, the other way round, when
//!   the API answers that the record exists and is empty, ordinal 0 may found without waiting out
//!   `--seed-wait` for pods that resolve but were never members;
//! * **who this pod was**: with an empty disk, the host ID and address of its previous
//!   incarnation, which the boot plan replaces only once the ring confirms that host is
//!   down and still owns tokens (never on the record alone).
//!
//! An entry that does not parse, or names another cluster, is never acted on: it is
//! reported (log and Event) and left out, and the plan falls back to today's rules.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::api_facts::Fact;
use super::data::JoinRecord;
use super::scale_down::room::Room;

/// A change of free space, in percent of the volume, that is written at once.
pub const SPACE_MOVE_PERCENT: u64 = 1;

/// The free-space reports of the entries of cluster `cluster` in the record's `data`
/// (entries that do not parse, or carry no report, give none).
pub fn rooms(data: &BTreeMap<String, String>, cluster: &str) -> Vec<Room> {
    data.values()
        .filter_map(|text| serde_json::from_str::<PodEntry>(text).ok())
        .filter(|e| e.format == ENTRY_FORMAT && e.cluster_name == cluster)
        .filter_map(|e| e.room())
        .collect()
}

/// The entry format this version writes and understands.
pub const ENTRY_FORMAT: u32 = 1;

/// The ConfigMap that holds the record of set `set`.
pub fn configmap_name(set: &str) -> String {
    format!("{set}-identity")
}

/// One pod's last known node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodEntry {
    /// [`ENTRY_FORMAT`].
    pub format: u32,
    /// The cluster it belonged to.
    pub cluster_name: String,
    /// Its host ID.
    pub host_id: String,
    /// Its broadcast address.
    pub address: IpAddr,
    /// Its datacenter.
    #[serde(default)]
    pub dc: Option<String>,
    /// Its rack.
    #[serde(default)]
    pub rack: Option<String>,
    /// How many tokens it owned.
    #[serde(default)]
    pub tokens: usize,
    /// When it was last seen NORMAL, Unix seconds.
    pub last_seen: u64,
    /// Bytes available on its data volume then (`decide::scale_down::room`); absent from entries
    /// older versions wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
    /// Its data volume's size then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_bytes: Option<u64>,
}

impl PodEntry {
    /// The entry for a node that reported itself joined (its join record), or `None`
    /// without a cluster name or an address (nothing to check a later boot against).
    pub fn of(record: &JoinRecord, tokens: usize, now: u64) -> Option<PodEntry> {
        Some(PodEntry {
            format: ENTRY_FORMAT,
            cluster_name: record.cluster_name.clone()?,
            host_id: record.host_id.clone(),
            address: record.address?,
            dc: record.dc.clone(),
            rack: record.rack.clone(),
            tokens,
            last_seen: now,
            free_bytes: None,
            volume_bytes: None,
        })
    }

    /// The entry with its data volume's space, as measured now.
    pub fn with_space(self, space: Option<(u64, u64)>) -> PodEntry {
        PodEntry {
            free_bytes: space.map(|(free, _)| free),
            volume_bytes: space.map(|(_, size)| size),
            ..self
        }
    }

    /// Whether the free space moved by [`SPACE_MOVE_PERCENT`] of the volume or more
    /// since `other` (or is reported by one of the two only): worth writing before the
    /// periodic refresh, so that a scale-down judges the room there on a recent figure.
    pub fn space_moved(&self, other: &PodEntry) -> bool {
        match (self.free_bytes, other.free_bytes, self.volume_bytes) {
            (Some(now), Some(before), Some(size)) => {
                now.abs_diff(before) >= size / 100 * SPACE_MOVE_PERCENT
            }
            (None, None, _) => false,
            _ => true,
        }
    }

    /// Its free-space report, when it has one.
    pub fn room(&self) -> Option<Room> {
        Some(Room {
            host_id: self.host_id.clone(),
            free_bytes: self.free_bytes?,
            volume_bytes: self.volume_bytes?,
            measured_at: self.last_seen,
        })
    }

    /// The entry as the ConfigMap stores it.
    pub fn render(&self) -> String {
        serde_json::to_string(self).expect("an entry serializes")
    }

    /// Whether writing `self` over `other` would change what a boot decides from it (the
    /// last-seen time alone does not).
    pub fn same_node(&self, other: &PodEntry) -> bool {
        let node = |e: &PodEntry| PodEntry {
            last_seen: 0,
            free_bytes: None,
            volume_bytes: None,
            ..e.clone()
        };
        node(self) == node(other)
    }
}

/// This pod's previous incarnation, as the record names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviousSelf {
    /// Its host ID.
    pub host_id: String,
    /// Its address then (the ring may know it at another one now).
    pub address: IpAddr,
}

/// Whether this cluster was ever formed, as the record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(tag = "recorded", rename_all = "snake_case")]
pub enum Recorded {
    /// Pods of this set were NORMAL members of this cluster (their names).
    Exists {
        /// The pods with an entry.
        pods: Vec<String>,
    },
    /// The API answered, and no node of this set was ever NORMAL in this cluster (no
    /// ConfigMap, or no entry of this cluster in it).
    Absent,
    /// Not known (no API access, denied, no answer in time): the rules without it apply.
    #[default]
    Unknown,
    /// The record is missing although the manifests ship it, or holds entries and none
    /// this version can use (a newer format after a rollback, another cluster's, no
    /// UUID): the cluster may exist. Ordinal 0 never founds at once, only once
    /// `--seed-wait` is over, as without a record.
    Unusable {
        /// What could not be used, and why.
        entries: Vec<String>,
    },
}

/// What the boot plan takes from the record, and what was left out of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordFacts {
    /// Whether the cluster was ever formed.
    pub recorded: Recorded,
    /// This pod's previous node, when the record has a usable entry for it.
    pub previous: Option<PreviousSelf>,
    /// The other pods' nodes, by ordinal (usable entries of this cluster whose key is a
    /// pod of this set): who else may be about to replace its previous node.
    pub others: Vec<(u32, PreviousSelf)>,
    /// Entries not acted on, and why (`<pod>: <why>`): logged and raised as an Event.
    pub ignored: Vec<String>,
}

impl RecordFacts {
    /// Without this pod's previous node when it is `left`, the node this volume held until
    /// ringkeeper saw it decommissioned (`decide::scale_down::VolumeCheck::Reinitialize`):
    /// that node left the ring on purpose, so it is neither replaced nor reported as an
    /// entry the ring does not confirm. The cluster still exists.
    pub fn without_decommissioned(self, left: Option<&str>) -> RecordFacts {
        let previous = self
            .previous
            .filter(|p| left.is_none_or(|left| left != p.host_id));
        RecordFacts { previous, ..self }
    }
}

/// Reads the ConfigMap's data (`Known(None)`: the API answered that there is none) for
/// pod `pod` of a cluster named `cluster_name` (`None`: not checked).
pub fn facts(
    data: &Fact<Option<BTreeMap<String, String>>>,
    pod: &str,
    cluster_name: Option<&str>,
) -> RecordFacts {
    let data = match data {
        Fact::Known(Some(data)) => data,
        // The manifests ship the record (empty): one the API says is missing was deleted,
        // or never applied, and cannot say that the cluster was never formed.
        Fact::Known(None) => {
            let why = "the ConfigMap itself: the API answers that it does not exist; the \
                     manifests ship it (empty), so it was deleted or never applied: the \
                     cluster may exist, and ordinal 0 does not found at once (apply \
                     manifests/base/identity.yaml, renamed as your kustomization renames \
                     the set)"
                .to_owned();
            return RecordFacts {
                recorded: Recorded::Unusable {
                    entries: vec![why.clone()],
                },
                ignored: vec![why],
                ..RecordFacts::default()
            };
        }
        Fact::Unknown(_) | Fact::NotAsked => return RecordFacts::default(),
    };
    let mut pods = Vec::new();
    let mut previous = None;
    let mut others = Vec::new();
    let mut ignored = Vec::new();
    for (key, text) in data {
        let entry = match serde_json::from_str::<PodEntry>(text) {
            Ok(entry) if entry.format > ENTRY_FORMAT => {
                ignored.push(format!(
                    "{key}: entry format {} is newer than this version reads ({ENTRY_FORMAT})",
                    entry.format
                ));
                continue;
            }
            Ok(entry) => entry,
            Err(e) => {
                ignored.push(format!("{key}: does not parse ({e})"));
                continue;
            }
        };
        if let Some(ours) = cluster_name
            && entry.cluster_name != ours
        {
            ignored.push(format!(
                "{key}: names cluster {:?}, this node belongs to {ours:?}",
                entry.cluster_name
            ));
            continue;
        }
        if !super::data::is_uuid(&entry.host_id) {
            ignored.push(format!("{key}: host ID {:?} is not a UUID", entry.host_id));
            continue;
        }
        let node = PreviousSelf {
            host_id: entry.host_id.clone(),
            address: entry.address,
        };
        if key == pod {
            previous = Some(node);
        } else if let (Ok(this), Ok(that)) = (
            pod.parse::<super::identity::PodName>(),
            key.parse::<super::identity::PodName>(),
        ) && this.set == that.set
        {
            others.push((that.ordinal, node));
        }
        pods.push(key.clone());
    }
    RecordFacts {
        // Entries that cannot be used still say that something was recorded (after a
        // rollback, a newer format; a copy from elsewhere): "never formed" only when
        // the record holds nothing at all.
        recorded: if !pods.is_empty() {
            Recorded::Exists { pods }
        } else if ignored.is_empty() {
            Recorded::Absent
        } else {
            Recorded::Unusable {
                entries: ignored.clone(),
            }
        },
        previous,
        others,
        ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decommissioned_previous_node_is_forgotten() {
        let with = RecordFacts {
            recorded: Recorded::Exists {
                pods: vec!["c-0".into(), "c-2".into()],
            },
            previous: Some(PreviousSelf {
                host_id: "h2".into(),
                address: "10.0.0.2".parse().unwrap(),
            }),
            others: Vec::new(),
            ignored: Vec::new(),
        };
        let forgot = with.clone().without_decommissioned(Some("h2"));
        assert_eq!(forgot.previous, None);
        assert_eq!(forgot.recorded, with.recorded, "the cluster still exists");
        assert_eq!(with.clone().without_decommissioned(Some("h9")), with);
        assert_eq!(with.clone().without_decommissioned(None), with);
    }

    const H0: &str = "11111111-1111-1111-1111-111111111111";
    const H1: &str = "22222222-2222-2222-2222-222222222222";

    fn entry(cluster: &str, host_id: &str, address: &str) -> String {
        PodEntry {
            format: ENTRY_FORMAT,
            cluster_name: cluster.into(),
            host_id: host_id.into(),
            address: address.parse().unwrap(),
            dc: Some("dc1".into()),
            rack: Some("rack1".into()),
            tokens: 16,
            last_seen: 1_700_000_000,
            free_bytes: None,
            volume_bytes: None,
        }
        .render()
    }

    #[test]
    fn facts_table() {
        type Case = (
            &'static str,
            Fact<Option<BTreeMap<String, String>>>,
            Recorded,
            Option<(&'static str, &'static str)>,
            usize,
        );
        let data = |pairs: &[(&str, String)]| -> Fact<Option<BTreeMap<String, String>>> {
            Fact::Known(Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            ))
        };
        let unusable = || Recorded::Unusable { entries: vec![] };
        let exists = |pods: &[&str]| Recorded::Exists {
            pods: pods.iter().map(|p| (*p).to_owned()).collect(),
        };
        let cases: Vec<Case> = vec![
            (
                "no API: unknown",
                Fact::Unknown("denied".into()),
                Recorded::Unknown,
                None,
                0,
            ),
            (
                "not asked: unknown",
                Fact::NotAsked,
                Recorded::Unknown,
                None,
                0,
            ),
            (
                "no ConfigMap (the manifests ship one): unusable, and said so",
                Fact::Known(None),
                unusable(),
                None,
                1,
            ),
            (
                "an empty ConfigMap: absent",
                data(&[]),
                Recorded::Absent,
                None,
                0,
            ),
            (
                "this pod's entry and another's",
                data(&[
                    ("c-0", entry("c", H0, "10.0.0.1")),
                    ("c-1", entry("c", H1, "10.0.0.2")),
                ]),
                exists(&["c-0", "c-1"]),
                Some((H1, "10.0.0.2")),
                0,
            ),
            (
                "another pod's entry only: the cluster exists, no previous self",
                data(&[("c-0", entry("c", H0, "10.0.0.1"))]),
                exists(&["c-0"]),
                None,
                0,
            ),
            (
                "an entry of another cluster is left out",
                data(&[
                    ("c-0", entry("c", H0, "10.0.0.1")),
                    ("c-1", entry("other", H1, "10.0.0.2")),
                ]),
                exists(&["c-0"]),
                None,
                1,
            ),
            (
                "only entries of another cluster: may exist, fails closed",
                data(&[("c-1", entry("other", H1, "10.0.0.2"))]),
                unusable(),
                None,
                1,
            ),
            (
                "garbage, a newer format and a bad host ID are left out",
                data(&[
                    ("c-0", "{not json".into()),
                    (
                        "c-1",
                        entry("c", H1, "10.0.0.2").replace("\"format\":1", "\"format\":9"),
                    ),
                    ("c-2", entry("c", "not-a-uuid", "10.0.0.3")),
                ]),
                unusable(),
                None,
                3,
            ),
        ];
        let both = facts(
            &data(&[
                ("c-0", entry("c", H0, "10.0.0.1")),
                ("c-1", entry("c", H1, "10.0.0.2")),
                ("other-2", entry("c", H1, "10.0.0.3")),
            ]),
            "c-1",
            Some("c"),
        );
        assert_eq!(
            both.others,
            vec![(
                0,
                PreviousSelf {
                    host_id: H0.into(),
                    address: "10.0.0.1".parse().unwrap()
                }
            )],
            "only this set's other pods"
        );
        for (name, data, recorded, previous, ignored) in cases {
            let got = facts(&data, "c-1", Some("c"));
            match (&got.recorded, &recorded) {
                (Recorded::Unusable { entries }, Recorded::Unusable { .. }) => {
                    assert_eq!(entries, &got.ignored, "{name}")
                }
                (got, want) => assert_eq!(got, want, "{name}"),
            }
            assert_eq!(
                got.previous,
                previous.map(|(h, a)| PreviousSelf {
                    host_id: h.into(),
                    address: a.parse().unwrap()
                }),
                "{name}"
            );
            assert_eq!(got.ignored.len(), ignored, "{name}: {:?}", got.ignored);
        }
    }

    #[test]
    fn entries_round_trip_and_compare_without_the_time() {
        let record = JoinRecord {
            format: 2,
            host_id: H0.into(),
            cluster_name: Some("c".into()),
            address: Some("10.0.0.1".parse().unwrap()),
            peers: None,
            recorded_at: None,
            dc: Some("dc1".into()),
            rack: None,
        };
        let a = PodEntry::of(&record, 16, 100).unwrap();
        let b = PodEntry::of(&record, 16, 200).unwrap();
        assert!(a.same_node(&b));
        assert_eq!(serde_json::from_str::<PodEntry>(&a.render()).unwrap(), a);
        let moved = PodEntry {
            address: "10.0.0.9".parse().unwrap(),
            ..b
        };
        assert!(!a.same_node(&moved));
        let no_name = JoinRecord {
            cluster_name: None,
            ..record
        };
        assert_eq!(PodEntry::of(&no_name, 16, 100), None);
    }

    #[test]
    fn free_space_is_reported_and_written_early_only_when_it_moved() {
        let record = JoinRecord {
            format: 2,
            host_id: H0.into(),
            cluster_name: Some("c".into()),
            address: Some("10.0.0.1".parse().unwrap()),
            peers: None,
            recorded_at: None,
            dc: None,
            rack: None,
        };
        let at = |free: u64| {
            PodEntry::of(&record, 16, 100)
                .unwrap()
                .with_space(Some((free, 1000)))
        };
        let old = PodEntry::of(&record, 16, 100).unwrap();
        // An older version's entry (no report) reads back without one.
        assert_eq!(old.room(), None);
        assert!(!old.render().contains("free_bytes"));
        assert!(at(500).same_node(&old), "space is no part of the node");
        for (before, now, moved) in [
            (500, 500, false),
            (500, 491, false),
            (500, 490, true),
            (0, 1000, true),
        ] {
            assert_eq!(at(now).space_moved(&at(before)), moved, "{before} -> {now}");
        }
        assert!(at(500).space_moved(&old));
        assert!(!old.space_moved(&old));
        let other_cluster = PodEntry {
            cluster_name: "other".into(),
            ..at(7)
        };
        let data = BTreeMap::from([
            ("p-0".to_owned(), at(500).render()),
            ("p-1".to_owned(), old.render()),
            ("p-2".to_owned(), other_cluster.render()),
            ("p-3".to_owned(), "not json".to_owned()),
        ]);
        assert_eq!(
            rooms(&data, "c"),
            vec![Room {
                host_id: H0.into(),
                free_bytes: 500,
                volume_bytes: 1000,
                measured_at: 100
            }]
        );
    }
}
