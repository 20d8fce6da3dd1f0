//! Pure. Whether what a decommission streams fits on the members that remain.
//!
//! A decommission hands each of the leaving node's ranges to one new replica; the data
//! (about the node's load) lands on the members that remain. A receiver whose volume
//! fills up mid-stream fails the decommission at best, and at worst stops that node
//! (Cassandra's `disk_failure_policy`) while this one is already LEAVING: two nodes out
//! instead of one. So a scale-down decommissions only when every member that may receive
//! has room, and reports how much is missing otherwise.
//!
//! Where free space comes from: each pod measures its own data volume and writes it in its
//! entry of the identity record (`decide::cluster_record`, every 30 s when it moved by
//! 1 % of the volume or more, every 10 minutes in any case). CQL shows no free space (the
//! virtual tables report table sizes, not the volume's). A member without a report, or
//! with one older than [`STALE_AFTER`], is room not known, and not known is no.
//!
//! The rule, per receiver: it takes an even share of the load, doubled (token ranges of a
//! few vnodes are not evenly sized, and one receiver may take more), at most the whole
//! load, and must still keep [`MARGIN_PERCENT`] of its volume free after that (compaction
//! of what it received needs room of its own).

use super::bytes_text;
use crate::decide::ring::Member;

/// What each receiver must keep free after taking its share, in percent of its volume.
pub const MARGIN_PERCENT: u64 = 10;

/// A free-space report older than this (seconds) is not evidence: three missed refreshes.
pub const STALE_AFTER: u64 = 30 * 60;

/// One pod's report of its data volume, from its identity-record entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The host ID of the node the entry names.
    pub host_id: String,
    /// Bytes available on its data volume.
    pub free_bytes: u64,
    /// The volume's size.
    pub volume_bytes: u64,
    /// When it was measured, Unix seconds.
    pub measured_at: u64,
}

/// What one receiver is expected to take of `load` bytes spread over `receivers`.
pub fn share(load: u64, receivers: usize) -> u64 {
    if receivers == 0 {
        return load;
    }
    load.saturating_mul(2).div_ceil(receivers as u64).min(load)
}

/// `Ok` with a summary when `load` bytes fit on `receivers` with the margin, or why not
/// (naming each member short of room, or without a usable report).
pub fn check(load: u64, receivers: &[&Member], rooms: &[Room], now: u64) -> Result<String, String> {
    let share = share(load, receivers.len());
    let mut unknown = Vec::new();
    let mut short = Vec::new();
    let mut tightest: Option<u64> = None;
    for m in receivers {
        let who = m.address.to_string();
        let Some(host_id) = m.host_id.as_deref() else {
            unknown.push(format!("{who} (no host ID)"));
            continue;
        };
        let Some(room) = rooms.iter().find(|r| r.host_id == host_id) else {
            unknown.push(format!(
                "{who} (no free-space report in this set's identity record)"
            ));
            continue;
        };
        let age = now.saturating_sub(room.measured_at);
        if age > STALE_AFTER {
            unknown.push(format!(
                "{who} (its free-space report is {} min old)",
                age / 60
            ));
            continue;
        }
        let margin = room.volume_bytes / 100 * MARGIN_PERCENT;
        let needed = share.saturating_add(margin);
        if room.free_bytes < needed {
            short.push(format!(
                "{who} has {} free of {}, needs {} ({} of data and {MARGIN_PERCENT}% of the \
                 volume kept free): {} missing",
                bytes_text(room.free_bytes),
                bytes_text(room.volume_bytes),
                bytes_text(needed),
                bytes_text(share),
                bytes_text(needed - room.free_bytes)
            ));
        } else {
            let spare = room.free_bytes - needed;
            tightest = Some(tightest.map_or(spare, |t| t.min(spare)));
        }
    }
    if !short.is_empty() {
        return Err(format!(
            "the data this node streams away ({}) would not fit on the members that remain: \
             {}. Make room (larger volumes, or delete snapshots with nodetool clearsnapshot), \
             then scale down again",
            bytes_text(load),
            short.join("; ")
        ));
    }
    if !unknown.is_empty() {
        return Err(format!(
            "the free space of remaining member(s) {} is not known, so whether this node's \
             {} fit there cannot be told. Each pod of the set reports it in the identity \
             record while it runs; members of other StatefulSets report none: check their \
             room (df) and decommission by hand (nodetool decommission)",
            unknown.join(", "),
            bytes_text(load)
        ));
    }
    Ok(format!(
        "{} per receiver at most fits with {MARGIN_PERCENT}% of each volume kept free{}",
        bytes_text(share),
        tightest.map_or_else(String::new, |t| format!(
            " ({} to spare on the tightest)",
            bytes_text(t)
        ))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::ring::{Liveness, Status};

    const GIB: u64 = 1024 * 1024 * 1024;
    const NOW: u64 = 1_800_000_000;

    fn member(n: u8) -> Member {
        Member {
            address: std::net::IpAddr::from([10, 0, 0, n]),
            host_id: Some(format!("00000000-0000-0000-0000-00000000000{n}")),
            dc: Some("dc1".into()),
            rack: Some("r1".into()),
            status: Status::Normal,
            liveness: Liveness::Up,
            tokens: 16,
            schema_version: None,
            release_version: None,
            observer: false,
        }
    }

    fn room(n: u8, free_gib: u64, volume_gib: u64, age: u64) -> Room {
        Room {
            host_id: format!("00000000-0000-0000-0000-00000000000{n}"),
            free_bytes: free_gib * GIB,
            volume_bytes: volume_gib * GIB,
            measured_at: NOW - age,
        }
    }

    #[test]
    fn shares_are_doubled_and_never_more_than_the_load() {
        for (load, receivers, want) in [
            (10, 2, 10),
            (10, 4, 5),
            (9, 4, 5),
            (10, 1, 10),
            (10, 0, 10),
            (0, 3, 0),
            (u64::MAX, 1, u64::MAX),
        ] {
            assert_eq!(share(load, receivers), want, "{load} over {receivers}");
        }
    }

    #[test]
    fn room_table() {
        struct Case {
            name: &'static str,
            load_gib: u64,
            receivers: Vec<Member>,
            rooms: Vec<Room>,
            fits: bool,
            says: &'static [&'static str],
        }
        let cases = [
            Case {
                name: "plenty of room",
                load_gib: 10,
                receivers: vec![member(1), member(2)],
                rooms: vec![room(1, 50, 100, 0), room(2, 60, 100, 60)],
                fits: true,
                says: &["10.0 GiB per receiver", "to spare"],
            },
            Case {
                // Share 10 GiB (2 x 10 / 2), margin 10 GiB: 20 needed, 19 free.
                name: "one receiver short by the margin",
                load_gib: 10,
                receivers: vec![member(1), member(2)],
                rooms: vec![room(1, 50, 100, 0), room(2, 19, 100, 0)],
                fits: false,
                says: &[
                    "10.0.0.2 has 19.0 GiB free",
                    "1.0 GiB missing",
                    "clearsnapshot",
                ],
            },
            Case {
                name: "exactly enough",
                load_gib: 10,
                receivers: vec![member(1), member(2)],
                rooms: vec![room(1, 20, 100, 0), room(2, 20, 100, 0)],
                fits: true,
                says: &[],
            },
            Case {
                name: "a member without a report",
                load_gib: 1,
                receivers: vec![member(1), member(2)],
                rooms: vec![room(1, 50, 100, 0)],
                fits: false,
                says: &["10.0.0.2 (no free-space report", "by hand"],
            },
            Case {
                name: "a stale report",
                load_gib: 1,
                receivers: vec![member(1)],
                rooms: vec![room(1, 50, 100, STALE_AFTER + 60)],
                fits: false,
                says: &["31 min old"],
            },
            Case {
                name: "a member without a host ID",
                load_gib: 1,
                receivers: vec![Member {
                    host_id: None,
                    ..member(1)
                }],
                rooms: vec![room(1, 50, 100, 0)],
                fits: false,
                says: &["no host ID"],
            },
            Case {
                name: "a full volume is reported before an unknown one",
                load_gib: 10,
                receivers: vec![member(1), member(2)],
                rooms: vec![room(1, 1, 100, 0)],
                fits: false,
                says: &["would not fit", "10.0.0.1 has 1.0 GiB free"],
            },
            Case {
                name: "nothing to stream still needs the margin",
                load_gib: 0,
                receivers: vec![member(1)],
                rooms: vec![room(1, 5, 100, 0)],
                fits: false,
                says: &["10.0 GiB", "5.0 GiB missing"],
            },
        ];
        for c in cases {
            let receivers: Vec<&Member> = c.receivers.iter().collect();
            let got = check(c.load_gib * GIB, &receivers, &c.rooms, NOW);
            assert_eq!(got.is_ok(), c.fits, "{}: {got:?}", c.name);
            let text = got.unwrap_or_else(|e| e);
            for s in c.says {
                assert!(text.contains(s), "{}: {s:?} not in {text}", c.name);
            }
        }
    }
}
