//! Pure. A replace that has not finished yet, remembered on the volume.
//!
//! A node that replaces a dead member (`BootMode::Replace`) streams the dead node's ranges
//! before it joins. Started and then cut short (the pod killed mid-stream, Cassandra
//! refusing the replace), it leaves partial state behind: a fresh host ID, system tables,
//! some streamed SSTables. Read on the next start as "a node whose join was never
//! confirmed", that state would be restarted as a plain bootstrap, without the replace:
//! beside the dead member it should have replaced, which fails at best ("necessary
//! replicas ... were removed") and at worst joins with tokens of its own.
//!
//! So before Cassandra starts a replace, the entrypoint writes [`REPLACING_MARKER`] on
//! the volume, and removes it once the join is confirmed. A later start that finds it
//! ([`boot_check`]):
//!
//! * with the join confirmed (the join record): the replace finished; the marker is stale
//!   and removed;
//! * with nothing on the volume: the replace never began writing; the boot plan decides
//!   again (and replaces again, once the ring still confirms the old node down);
//! * with partial state: the ring says whether the replace finished ([`unfinished`]). While
//!   a member that answers still lists the replaced address as a token owner, it did not:
//!   what the attempt wrote holds no data that exists nowhere else (a node streaming for a
//!   replace is a pending replica: every write it took counted on top of the natural
//!   replicas), so it is cleared, snapshots and backups kept, and the plan decides again:
//!   it replaces again, or waits; it never bootstraps plainly beside the down member. When
//!   no member lists that address any more, the replace finished (and only its join record
//!   was not written before the pod stopped): nothing is cleared, the marker goes, and the
//!   node restarts with its data. No member answering means wait.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::data::DataState;
use super::seeds::{Candidate, Cql};

/// The file an unfinished replace leaves in `--data-dir`.
pub const REPLACING_MARKER: &str = "ringkeeper-replacing";

/// What the marker says about the replace under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacing {
    /// The address of the node being replaced.
    pub address: IpAddr,
    /// When the replace started, Unix seconds.
    pub started_at: u64,
}

/// What a start does about a replace marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplaceCheck {
    /// No marker, or one with an empty volume: go on as the plan decides.
    Go,
    /// The replace finished (the join is confirmed): remove the stale marker.
    RemoveStale,
    /// An unfinished replace left partial state: clear it (snapshots and backups kept),
    /// then let the plan decide again. The text says what was found, for the log.
    ClearPartial(String),
    /// The marker cannot be read: a person must look.
    Refuse(String),
}

/// The check over the marker (`None`: none; its contents, or why they cannot be read) and
/// what the data directory holds.
pub fn boot_check(marker: Option<&Result<Replacing, String>>, data: DataState) -> ReplaceCheck {
    let Some(marker) = marker else {
        return ReplaceCheck::Go;
    };
    let m = match marker {
        Ok(m) => m,
        Err(why) => {
            return ReplaceCheck::Refuse(format!(
                "a person must act: this volume holds the marker of a replace that did not \
                 finish ({REPLACING_MARKER}), but it cannot be read ({why}). If the volume \
                 holds nothing you need, wipe the data directory (or delete the \
                 PersistentVolumeClaim and the pod); cassandra was not started"
            ));
        }
    };
    match data {
        DataState::Present => ReplaceCheck::RemoveStale,
        DataState::Empty => ReplaceCheck::Go,
        DataState::Unconfirmed | DataState::Partial => ReplaceCheck::ClearPartial(format!(
            "a replace of the node at {} started at {} (Unix time) did not finish; what it \
             wrote ({data:?}) holds no data found nowhere else",
            m.address, m.started_at
        )),
    }
}

/// What the ring says about an unfinished replace found with partial state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfinished {
    /// The replaced address is still a token owner: the replace did not finish; clear.
    Clear {
        /// Each member that showed it.
        by: Vec<String>,
    },
    /// No member lists the replaced address: the replace finished; keep the data.
    Finished {
        /// Each member that showed it.
        by: Vec<String>,
    },
    /// Nothing to judge by yet: wait, not ready.
    Wait(String),
    /// The ring cannot tell (a replace at this pod's own address): a person must act.
    Refuse(String),
}

/// Judges an unfinished replace of the node at `marker.address` from the members of this
/// set that answer (`candidates`, this pod's own ordinal `own` left out).
pub fn unfinished(
    marker: &Replacing,
    pod_ip: IpAddr,
    own: u32,
    cluster: &str,
    candidates: &[Candidate],
) -> Unfinished {
    if marker.address == pod_ip {
        return Unfinished::Refuse(format!(
            "a person must act: a replace of the node at this pod's own address {pod_ip} did \
             not finish, and the ring cannot tell a finished one from an unfinished one at the \
             same address; check `nodetool status` on another pod: if {pod_ip} is UN there, \
             remove {REPLACING_MARKER} from the data directory; otherwise wipe the data \
             directory. Cassandra was not started"
        ));
    }
    let mut listed = Vec::new();
    let mut unlisted = Vec::new();
    for c in candidates {
        if c.ordinal.is_none_or(|o| o == own) {
            continue;
        }
        if let Cql::Member {
            cluster_name, ring, ..
        } = &c.cql
        {
            if cluster_name.as_deref() != Some(cluster) || ring.is_empty() {
                continue;
            }
            if ring.iter().any(|m| m.address == marker.address) {
                listed.push(format!("{}: lists {}", c.name, marker.address));
            } else {
                unlisted.push(format!("{}: does not list {}", c.name, marker.address));
            }
        }
    }
    match (listed.is_empty(), unlisted.is_empty()) {
        (false, true) => Unfinished::Clear { by: listed },
        (true, false) => Unfinished::Finished { by: unlisted },
        (true, true) => Unfinished::Wait(format!(
            "a replace of the node at {} did not finish on this volume; no other member of \
             this set answers to tell whether that node is still in the ring: nothing is \
             cleared until one does",
            marker.address
        )),
        (false, false) => Unfinished::Wait(format!(
            "a replace of the node at {} did not finish on this volume, and the members \
             disagree whether that node is still in the ring ({}; {}): waiting until they agree",
            marker.address,
            listed.join(", "),
            unlisted.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::seeds::{Lookup, RingMember};

    #[test]
    fn the_ring_tells_an_unfinished_replace_from_a_finished_one() {
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        let marker = Replacing {
            address: ip(2),
            started_at: 1,
        };
        let member = |o: u32, ring: &[u8]| Candidate {
            name: format!("c-{o}"),
            ordinal: Some(o),
            lookup: Lookup::Resolved {
                addresses: vec![ip(o as u8 + 1)],
            },
            cql: Cql::Member {
                cluster_name: Some("c".into()),
                host_id: None,
                movements: vec![],
                ring: ring
                    .iter()
                    .map(|n| RingMember {
                        address: ip(*n),
                        host_id: None,
                    })
                    .collect(),
                down: vec![],
                oldest_start: None,
                gone: vec![],
            },
        };
        let silent = |o: u32| Candidate {
            cql: Cql::NoAnswer {
                detail: "refused".into(),
            },
            ..member(o, &[])
        };
        let me = ip(9);
        let kind = |u: Unfinished| match u {
            Unfinished::Clear { .. } => "clear",
            Unfinished::Finished { .. } => "finished",
            Unfinished::Wait(_) => "wait",
            Unfinished::Refuse(_) => "refuse",
        };
        let cases: Vec<(&str, Vec<Candidate>, IpAddr, &str)> = vec![
            (
                "the old node still owns tokens: clear",
                vec![member(0, &[1, 2, 3]), member(2, &[3, 1, 2])],
                me,
                "clear",
            ),
            (
                "replaced: finished, keep the data",
                vec![member(0, &[1, 9, 3]), silent(2)],
                me,
                "finished",
            ),
            (
                "nobody answers: wait",
                vec![silent(0), silent(2)],
                me,
                "wait",
            ),
            (
                "members disagree: wait",
                vec![member(0, &[1, 2, 3]), member(2, &[3, 1, 9])],
                me,
                "wait",
            ),
            (
                "this pod's own ordinal is not asked",
                vec![member(1, &[1, 2, 3])],
                me,
                "wait",
            ),
            (
                "same address: a person must act",
                vec![member(0, &[1, 2, 3])],
                ip(2),
                "refuse",
            ),
        ];
        for (name, candidates, pod_ip, want) in cases {
            assert_eq!(
                kind(unfinished(&marker, pod_ip, 1, "c", &candidates)),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn an_unfinished_replace_is_resumed_never_restarted_as_a_join() {
        let m = Replacing {
            address: IpAddr::from([10, 0, 0, 2]),
            started_at: 1_700_000_000,
        };
        let ok = Some(Ok(m.clone()));
        type Case<'a> = (
            &'a str,
            Option<Result<Replacing, String>>,
            DataState,
            &'a str,
        );
        let cases: &[Case] = &[
            ("no marker", None, DataState::Unconfirmed, "go"),
            ("nothing written yet", ok.clone(), DataState::Empty, "go"),
            (
                "finished: stale marker",
                ok.clone(),
                DataState::Present,
                "stale",
            ),
            (
                "cut short mid-stream",
                ok.clone(),
                DataState::Unconfirmed,
                "clear",
            ),
            (
                "cut short before system.local",
                ok.clone(),
                DataState::Partial,
                "clear",
            ),
            (
                "unreadable",
                Some(Err("not JSON".into())),
                DataState::Empty,
                "refuse",
            ),
        ];
        for (name, marker, data, want) in cases {
            let got = boot_check(marker.as_ref(), *data);
            let kind = match &got {
                ReplaceCheck::Go => "go",
                ReplaceCheck::RemoveStale => "stale",
                ReplaceCheck::ClearPartial(why) => {
                    assert!(why.contains("10.0.0.2"), "{name}: {why}");
                    "clear"
                }
                ReplaceCheck::Refuse(why) => {
                    assert!(why.starts_with("a person must act:"), "{name}: {why}");
                    "refuse"
                }
            };
            assert_eq!(kind, *want, "{name}");
        }
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Replacing>(&text).unwrap(), m);
    }
}
