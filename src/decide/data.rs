//! Pure. What the data directory holds, and the join record the entrypoint keeps in it:
//! the proof that the state on disk belongs to a node that finished joining, and who
//! that node and its ring were the last time it ran.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::ring::{LocalRow, PeerRow};

/// File in `--data-dir` that the entrypoint writes once it has seen the node's
/// `system.local.bootstrapped` = COMPLETED, and keeps current while the node runs: proof
/// that the state on disk belongs to a node that finished joining (a bootstrap cut short
/// also leaves `system.local` behind), with the node's host ID and the ring members it
/// last saw (see `JoinRecord`).
pub const JOINED_MARKER: &str = "ringkeeper-joined";

/// The record format this version writes and understands.
pub const RECORD_FORMAT: u32 = 1;

/// Whether the data directory holds a Cassandra node's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataState {
    /// Nothing Cassandra wrote: a brand-new (or wiped) node.
    Empty,
    /// Cassandra wrote files but never flushed its `system.local` table: it started and
    /// stopped before finishing its first boot. Treated like `Empty` for seeding.
    Partial,
    /// `system.local` was flushed, but ringkeeper never saw this node finish joining (no
    /// usable join record): it may have been killed mid-bootstrap, or its data predates
    /// ringkeeper. It restarts, never as its own seed.
    Unconfirmed,
    /// `system.local` was flushed and ringkeeper saw the node join: it has an identity
    /// (host ID, tokens), its data, and a record of the ring it belongs to.
    Present,
}

/// A ring member as the join record remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownPeer {
    /// Its host ID.
    pub host_id: String,
    /// Its address when last seen: Cassandra gossips with it at start (saved peers),
    /// whatever the seed list says.
    #[serde(default)]
    pub address: Option<IpAddr>,
}

/// Who this node is and which ring it belongs to, as the entrypoint last saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRecord {
    /// `RECORD_FORMAT`.
    pub format: u32,
    /// This node's host ID (`system.local.host_id`).
    pub host_id: String,
    /// Its cluster name.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// Its broadcast address when last seen.
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// The other ring members (token owners, live or down) it last saw. `None` in a
    /// record written before ringkeeper kept peers: only the host ID can be checked.
    #[serde(default)]
    pub peers: Option<Vec<KnownPeer>>,
    /// When it was written, Unix seconds (for people; no decision uses it).
    #[serde(default)]
    pub recorded_at: Option<u64>,
    /// The datacenter the node last ran in (`system.local.data_center`): Cassandra refuses
    /// to start a node whose DC changed, so the entrypoint keeps it (`decide::placement`).
    /// `None` in a record written before ringkeeper kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    /// The rack it last ran in (`system.local.rack`), kept for the same reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
}

impl JoinRecord {
    /// Parses a record. Also reads the first format (`host_id=<uuid>` on one line), which
    /// had no peers. Anything else is an error: a record that does not parse is never
    /// taken as proof of anything.
    pub fn parse(text: &str) -> Result<JoinRecord, String> {
        let trimmed = text.trim();
        let record = if trimmed.starts_with('{') {
            let record: JoinRecord =
                serde_json::from_str(trimmed).map_err(|e| format!("not a join record: {e}"))?;
            if record.format != RECORD_FORMAT {
                return Err(format!(
                    "record format {} is not one this version reads ({RECORD_FORMAT})",
                    record.format
                ));
            }
            record
        } else {
            let host_id = trimmed
                .lines()
                .find_map(|l| l.trim().strip_prefix("host_id="))
                .ok_or("no host_id")?;
            JoinRecord {
                format: RECORD_FORMAT,
                host_id: host_id.trim().to_owned(),
                cluster_name: None,
                address: None,
                peers: None,
                recorded_at: None,
                dc: None,
                rack: None,
            }
        };
        if !is_uuid(&record.host_id) {
            return Err(format!("host_id {:?} is not a UUID", record.host_id));
        }
        if let Some(bad) = record.peers.iter().flatten().find(|p| !is_uuid(&p.host_id)) {
            return Err(format!("peer host_id {:?} is not a UUID", bad.host_id));
        }
        Ok(record)
    }

    /// The record as written to disk.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a record serializes");
        text.push('\n');
        text
    }

    /// The same node, placement and ring as `other`, ignoring when each was written and the
    /// order of peers: whether a refresh needs to rewrite the file (a record without DC and
    /// rack is rewritten with them).
    pub fn same_ring(&self, other: &JoinRecord) -> bool {
        let sorted = |r: &JoinRecord| {
            let mut peers = r.peers.clone();
            if let Some(p) = peers.as_mut() {
                p.sort_by(|a, b| a.host_id.cmp(&b.host_id));
            }
            (
                (r.host_id.clone(), r.cluster_name.clone(), r.address, peers),
                (r.dc.clone(), r.rack.clone()),
            )
        };
        sorted(self) == sorted(other)
    }
}

/// The record of a joined node, from what it reports over CQL: its `system.local` and
/// its peers (token owners, live or down). `None` without a host ID.
pub fn record_of(local: &LocalRow, peers: &[PeerRow], recorded_at: u64) -> Option<JoinRecord> {
    let host_id = local.host_id.clone()?;
    let mut known: Vec<KnownPeer> = peers
        .iter()
        .filter_map(|p| {
            Some(KnownPeer {
                host_id: p.host_id.clone()?,
                address: p.address,
            })
        })
        .collect();
    known.sort_by(|a, b| a.host_id.cmp(&b.host_id));
    Some(JoinRecord {
        format: RECORD_FORMAT,
        host_id,
        cluster_name: local.cluster_name.clone(),
        address: local.broadcast_address,
        peers: Some(known),
        recorded_at: Some(recorded_at),
        dc: local.dc.clone(),
        rack: local.rack.clone(),
    })
}

/// Addresses where `new` shows another host than `old` did, while the old host is gone
/// from the ring altogether: `(address, old host ID, new host ID)`. A replace at the same
/// address keeps the host ID and one at another address frees the old one, so this is how
/// a node that founded a new cluster at a member's old address looks once Cassandra
/// merged it in (it logs "Changing ...'s host ID").
pub fn identity_changes(old: &JoinRecord, new: &JoinRecord) -> Vec<(IpAddr, String, String)> {
    let (Some(before), Some(after)) = (&old.peers, &new.peers) else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    for p in before {
        let Some(address) = p.address else { continue };
        let still_there = after.iter().any(|q| q.host_id == p.host_id);
        let newcomer = after.iter().find(|q| {
            q.address == Some(address)
                && q.host_id != p.host_id
                && !before.iter().any(|b| b.host_id == q.host_id)
        });
        if let (false, Some(q)) = (still_there, newcomer) {
            changes.push((address, p.host_id.clone(), q.host_id.clone()));
        }
    }
    changes
}

/// `8-4-4-4-12` hex digits, as Cassandra prints host IDs.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// What the join record file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Joined {
    /// No record.
    #[default]
    Missing,
    /// A file that is not a record (truncated, edited, or from a newer format): treated
    /// exactly like `Missing`, never as permission.
    Unusable(String),
    /// A record.
    Record(JoinRecord),
}

impl Joined {
    /// Parses the file's contents.
    pub fn from_text(text: &str) -> Joined {
        match JoinRecord::parse(text) {
            Ok(record) => Joined::Record(record),
            Err(why) => Joined::Unusable(why),
        }
    }

    /// The record, if usable.
    pub fn record(&self) -> Option<&JoinRecord> {
        match self {
            Joined::Record(r) => Some(r),
            _ => None,
        }
    }

    /// True when a file exists, usable or not.
    pub fn exists(&self) -> bool {
        !matches!(self, Joined::Missing)
    }
}

/// What the data directories contain, as gathered by the filesystem edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataListing {
    /// Number of `*-Data.db` files of the `system.local` table, across all
    /// `data_file_directories` (`<dir>/system/local-<id>/`).
    pub system_local_sstables: usize,
    /// Number of other entries Cassandra writes (commit log segments, keyspace
    /// directories, hints), across all configured directories.
    pub other_entries: usize,
    /// The join record (`JOINED_MARKER`).
    pub joined: Joined,
}

/// `system.local` holds the host ID, tokens and bootstrap state; Cassandra flushes it to
/// disk when it records its bootstrap state, so an sstable of it means the node has an
/// identity; a usable join record says it also finished joining. Other files without it
/// mean a first boot that did not get that far. A record alone (state wiped) means nothing.
pub fn classify(listing: &DataListing) -> DataState {
    if listing.system_local_sstables > 0 && listing.joined.record().is_some() {
        DataState::Present
    } else if listing.system_local_sstables > 0 {
        DataState::Unconfirmed
    } else if listing.other_entries > 0 {
        DataState::Partial
    } else {
        DataState::Empty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "6f1c2a3b-0000-4000-8000-000000000001";
    const H2: &str = "6f1c2a3b-0000-4000-8000-000000000002";

    fn record() -> JoinRecord {
        JoinRecord {
            format: RECORD_FORMAT,
            host_id: H1.into(),
            cluster_name: Some("c".into()),
            address: Some("10.0.0.1".parse().unwrap()),
            peers: Some(vec![KnownPeer {
                host_id: H2.into(),
                address: Some("10.0.0.2".parse().unwrap()),
            }]),
            recorded_at: Some(1_700_000_000),
            dc: Some("dc1".into()),
            rack: Some("rack1".into()),
        }
    }

    #[test]
    fn classification() {
        let l = |local, other, joined: Joined| DataListing {
            system_local_sstables: local,
            other_entries: other,
            joined,
        };
        let rec = || Joined::Record(record());
        let bad = || Joined::Unusable("garbage".into());
        assert_eq!(classify(&l(0, 0, Joined::Missing)), DataState::Empty);
        assert_eq!(classify(&l(0, 0, rec())), DataState::Empty);
        assert_eq!(classify(&l(0, 3, Joined::Missing)), DataState::Partial);
        assert_eq!(classify(&l(0, 3, rec())), DataState::Partial);
        assert_eq!(classify(&l(1, 0, Joined::Missing)), DataState::Unconfirmed);
        assert_eq!(classify(&l(1, 0, rec())), DataState::Present);
        assert_eq!(classify(&l(2, 40, rec())), DataState::Present);
        // A record that does not parse is no record: never permission.
        assert_eq!(classify(&l(2, 40, bad())), DataState::Unconfirmed);
    }

    #[test]
    fn records_round_trip_and_bad_ones_are_unusable() {
        let r = record();
        assert_eq!(JoinRecord::parse(&r.render()), Ok(r.clone()));
        // The first format: a host ID, no peers.
        let legacy = JoinRecord::parse(&format!("host_id={H1}\n")).unwrap();
        assert_eq!((legacy.host_id.as_str(), legacy.peers), (H1, None));
        #[rustfmt::skip]
        let bad = [
            ("empty", String::new()),
            ("legacy without an ID", "host_id=\n".to_owned()),
            ("not a UUID", "host_id=abc\n".to_owned()),
            ("truncated JSON", r.render()[..20].to_owned()),
            ("newer format", r.render().replace("\"format\": 1", "\"format\": 2")),
            ("bad peer ID", r.render().replace(H2, "zz")),
        ];
        for (name, text) in bad {
            assert!(
                matches!(Joined::from_text(&text), Joined::Unusable(_)),
                "{name}"
            );
        }
        // Unknown fields (a newer writer of the same format) are fine.
        let extra = r.render().replacen('{', "{\"zone\": \"z1\",", 1);
        assert_eq!(JoinRecord::parse(&extra), Ok(r.clone()));
        // A record written before DC and rack were kept still parses, without them.
        let before = JoinRecord {
            dc: None,
            rack: None,
            ..r.clone()
        };
        let text = before.render();
        assert!(
            !text.contains("\"dc\"") && !text.contains("\"rack\""),
            "{text}"
        );
        assert_eq!(JoinRecord::parse(&text), Ok(before.clone()));
        assert!(r.render().contains("\"dc\": \"dc1\""));
        // A record without them is rewritten with them at the next refresh.
        assert!(!before.same_ring(&r));
    }

    #[test]
    fn identity_changes_at_an_address() {
        const H3: &str = "6f1c2a3b-0000-4000-8000-000000000003";
        let peer = |h: &str, a: &str| KnownPeer {
            host_id: h.into(),
            address: Some(a.parse().unwrap()),
        };
        let with = |peers: Vec<KnownPeer>| JoinRecord {
            peers: Some(peers),
            ..record()
        };
        let old = with(vec![peer(H2, "10.0.0.2")]);
        #[rustfmt::skip]
        let cases: Vec<(&str, JoinRecord, usize)> = vec![
            ("unchanged", with(vec![peer(H2, "10.0.0.2")]), 0),
            ("moved to a new address", with(vec![peer(H2, "10.0.0.9")]), 0),
            ("a new host at its address, the old one gone", with(vec![peer(H3, "10.0.0.2")]), 1),
            ("a new host elsewhere, the old one gone (replaced)", with(vec![peer(H3, "10.0.0.9")]), 0),
            ("a new member beside it", with(vec![peer(H2, "10.0.0.2"), peer(H3, "10.0.0.3")]), 0),
        ];
        for (name, new, want) in cases {
            assert_eq!(identity_changes(&old, &new).len(), want, "{name}");
        }
    }

    #[test]
    fn a_record_keeps_where_the_node_runs() {
        let local = LocalRow {
            host_id: Some(H1.into()),
            dc: Some("us-east-1".into()),
            rack: Some("us-east-1a".into()),
            ..LocalRow::default()
        };
        let r = record_of(&local, &[], 1).unwrap();
        assert_eq!(
            (r.dc.as_deref(), r.rack.as_deref()),
            (Some("us-east-1"), Some("us-east-1a"))
        );
    }

    #[test]
    fn same_ring_ignores_time_and_peer_order() {
        let a = record();
        let mut b = record();
        b.recorded_at = Some(1);
        assert!(a.same_ring(&b));
        b.peers.as_mut().unwrap().push(KnownPeer {
            host_id: H1.into(),
            address: None,
        });
        let mut c = b.clone();
        c.peers.as_mut().unwrap().reverse();
        assert!(b.same_ring(&c) && !a.same_ring(&b));
    }
}
