//! Ring identity: whether what answers is this node's own ring (its host ID listed), a
//! foreign ring, or one a pod that lost its disk founded anew, and what a restart does
//! about each.

use super::*;

/// Ring identity, for a node restarting with its join record: a candidate is a seed only
/// if its ring lists this node's host ID. Cassandra merges any two rings that gossip under
/// the same cluster name, and a pod that lost its disk may have founded a new, empty one:
/// merged, that ring takes token ranges whose rows it does not hold, and reads at CL ONE
/// miss them.
///
/// * A candidate whose ring does not list this node is no seed (`Kin::ForeignRing`), nor
///   is a silent candidate at an address of that ring (`Kin::ForeignRingMember`).
/// * If this node last saw a ring member at an address the foreign ring now holds,
///   Cassandra would gossip with it at start whatever the seed list says (saved peers):
///   then the node does not start at all (wait, then refuse).
/// * A node this one last saw in its ring, whose ring no longer lists it
///   (`Kin::RemovedThisNode`): this node was removed while away, and its data
///   is stale: wait (a peers table may lag just after a join), then refuse.
///   Only on positive evidence: its gossip shows this host ID removed or left. A peer
///   whose ring merely does not list this node (`Kin::DoesNotListThisNode`, e.g. it took
///   this node's old address in a cold restart) is no seed, and no reason to stop.
/// * Silent candidates cannot be checked: they stay seeds (a cold restart of the whole set
///   has nothing else), unless a member that knows this node answered.
///
/// Marks each report's identity and use; returns a verdict when the node must not start.
pub(super) fn check_ring_identity(
    facts: &Facts<'_>,
    record: &JoinRecord,
    reports: &mut [Report],
    saved: &mut [SavedPeer],
) -> Option<Verdict> {
    for r in reports.iter_mut() {
        if r.use_ == Use::Seed {
            r.identity = kin_of(&r.candidate.cql, record, facts.cluster_name);
        }
    }
    for p in saved.iter_mut() {
        p.identity = kin_of(&p.cql, record, facts.cluster_name);
    }
    // Foreign rings (what answered, and where) and the addresses they hold: the nodes
    // that answered and their members.
    let mut foreign: Vec<(&str, IpAddr, &Cql)> = Vec::new();
    for r in reports.iter() {
        if r.identity == Some(Kin::ForeignRing) {
            for a in addresses(&r.candidate) {
                foreign.push((&r.candidate.name, a, &r.candidate.cql));
            }
        }
    }
    let saved_names: Vec<String> = saved
        .iter()
        .map(|p| format!("saved peer {} at {}", p.host_id, p.address))
        .collect();
    for (p, name) in saved.iter().zip(&saved_names) {
        if p.identity == Some(Kin::ForeignRing) {
            foreign.push((name, p.address, &p.cql));
        }
    }
    let mut foreign_addresses: Vec<IpAddr> = Vec::new();
    for (_, address, cql) in &foreign {
        foreign_addresses.push(*address);
        if let Cql::Member { ring, .. } = cql {
            foreign_addresses.extend(ring.iter().map(|m| m.address));
        }
    }
    foreign_addresses.retain(|a| *a != facts.pod_ip);
    let saved_clash: Vec<String> = record
        .peers
        .iter()
        .flatten()
        .filter(|p| p.address.is_some_and(|a| foreign_addresses.contains(&a)))
        .map(|p| format!("{} at {}", p.host_id, p.address.expect("filtered")))
        .collect();
    let foreign_why = foreign
        .iter()
        .map(|(name, _, cql)| describe_foreign(name, cql, &record.host_id))
        .collect::<Vec<_>>()
        .join("; ");
    let any_foreign = !foreign.is_empty();
    let forgot: Vec<String> = reports
        .iter()
        .filter(|r| r.identity == Some(Kin::RemovedThisNode))
        .map(|r| r.candidate.name.clone())
        .chain(
            saved
                .iter()
                .zip(&saved_names)
                .filter(|(p, _)| p.identity == Some(Kin::RemovedThisNode))
                .map(|(_, name)| name.clone()),
        )
        .collect();

    for r in reports.iter_mut() {
        match r.identity {
            Some(Kin::ForeignRing | Kin::RemovedThisNode | Kin::DoesNotListThisNode) => {
                r.use_ = Use::ForeignRing
            }
            Some(Kin::Unverified)
                if addresses(&r.candidate)
                    .iter()
                    .any(|a| foreign_addresses.contains(a)) =>
            {
                r.identity = Some(Kin::ForeignRingMember);
                r.use_ = Use::ForeignRing;
            }
            _ => {}
        }
    }
    let knows_us = reports
        .iter()
        .any(|r| r.identity == Some(Kin::KnowsThisNode));
    if knows_us {
        for r in reports.iter_mut() {
            if r.identity == Some(Kin::Unverified) {
                r.use_ = Use::SkippedUnverified;
            }
        }
    }

    if !forgot.is_empty() {
        let why = format!(
            "{} show(s) this node (host ID {}) as removed from the ring: it was removed (nodetool removenode) while this pod was away, and the data on this disk is stale",
            forgot.join(", "),
            record.host_id
        );
        return Some(restart_refused(
            facts,
            why,
            "Cassandra was not started: rejoining would take back token ranges from the nodes that own them now. If this node was removed on purpose, delete its data directory so that it bootstraps as a new node",
        ));
    }
    if !saved_clash.is_empty() {
        let why = format!(
            "{foreign_why}. This node last saw its own ring there ({}), and Cassandra gossips with the peers it saved whatever the seed list says, so starting it would merge the two rings",
            saved_clash.join(", ")
        );
        return Some(restart_refused(facts, why, FOUNDED_ANEW_REMEDY));
    }
    if record.peers.is_none() && any_foreign {
        // A record of the first format does not say where the peers were: whether
        // Cassandra would reach that ring through them cannot be told, so do not start.
        let why = format!(
            "{foreign_why}. This node's join record was written by an earlier ringkeeper and \
             does not say where its peers were, so whether Cassandra would gossip with that ring \
             at start (it contacts the peers it saved) cannot be told"
        );
        return Some(restart_refused(facts, why, FOUNDED_ANEW_REMEDY));
    }
    None
}

/// What to do about a pod that founded a new cluster beside this ring.
pub(super) const FOUNDED_ANEW_REMEDY: &str = "Cassandra was not started. If that pod lost its disk and \
    founded a new, empty cluster, nothing of this ring is on it: stop it, delete its data, and \
    start it again with --replace-address <its old IP> (see `ringkeeper status`), which makes \
    it wait for this ring and take over its old identity; this pod then restarts normally";

/// Whether what answered belongs to this node's ring: its ring lists this node's host
/// ID; its gossip shows this node removed; it is a node this one knew that does not list
/// it now; or none of these (another ring). A node of another cluster name is not judged:
/// Cassandra never gossips across cluster names.
pub(super) fn kin_of(cql: &Cql, record: &JoinRecord, cluster: Option<&str>) -> Option<Kin> {
    let Cql::Member {
        ring,
        host_id,
        gone,
        cluster_name,
        ..
    } = cql
    else {
        return Some(Kin::Unverified);
    };
    let ours = cluster.or(record.cluster_name.as_deref());
    if let (Some(theirs), Some(ours)) = (cluster_name.as_deref(), ours)
        && theirs != ours
    {
        return None;
    }
    let me = record.host_id.as_str();
    let lists_us = ring.iter().any(|m| m.host_id.as_deref() == Some(me));
    let known = host_id
        .as_deref()
        .is_some_and(|id| record.peers.iter().flatten().any(|p| p.host_id == id));
    Some(if lists_us {
        Kin::KnowsThisNode
    } else if gone.iter().any(|g| g == me) {
        Kin::RemovedThisNode
    } else if known {
        Kin::DoesNotListThisNode
    } else {
        Kin::ForeignRing
    })
}

/// One foreign node, for messages: who answered, and the ring it answered as.
pub(super) fn describe_foreign(name: &str, cql: &Cql, own_host_id: &str) -> String {
    let Cql::Member {
        cluster_name,
        host_id,
        ring,
        oldest_start,
        ..
    } = cql
    else {
        return name.to_owned();
    };
    let members: Vec<String> = ring
        .iter()
        .take(5)
        .map(|m| format!("{}@{}", m.host_id.as_deref().unwrap_or("?"), m.address))
        .collect();
    let more = if ring.len() > 5 { ", ..." } else { "" };
    let since = oldest_start
        .map(|t| {
            format!(
                "; its longest-running node started at {} (gossip generation), so it was founded no later than that",
                crate::decide::time::utc(t)
            )
        })
        .unwrap_or_default();
    format!(
        "{} (host ID {}) answers as a ring of {} member(s) under cluster name {:?} ({}{more}) that does not include this node's host ID {own_host_id}{since}",
        name,
        host_id.as_deref().unwrap_or("?"),
        ring.len(),
        cluster_name.as_deref().unwrap_or("?"),
        members.join(", "),
    )
}

/// Wait while the seed wait lasts (what is seen may change: a peers table catching up,
/// a pod being stopped), then refuse with `what_to_do`.
pub(super) fn restart_refused(facts: &Facts<'_>, why: String, what_to_do: &str) -> Verdict {
    if facts.wait_over {
        Verdict::Refuse {
            reason: format!("{why}. {what_to_do}"),
            refusal: Refusal::PersonMustAct,
        }
    } else {
        Verdict::Wait { reason: why }
    }
}

/// A restart whose join was never confirmed: any other pod may seed it, never itself (a
/// seed skips its bootstrap). It may list itself only when it is alone on the same terms
/// on which ordinal 0 founds at once: ordinal 0, no extra seeds, no DNS errors, and every
/// other pod name NXDOMAIN (a lone node has no ring to stream from). Otherwise it waits,
/// and keeps waiting after the seed wait: another pod coming up ends it.
pub(super) fn restart_unconfirmed(
    facts: &Facts<'_>,
    reports: &mut [Report],
    transient_why: Option<String>,
    alone: bool,
) -> Verdict {
    if let Some(why) = transient_why
        && !facts.wait_over
    {
        return Verdict::Wait { reason: why };
    }
    let seeds = collect(reports, facts.pod_ip, |_| true);
    if !seeds.is_empty() {
        return Verdict::Seeds {
            mode: BootMode::Restart,
            seeds,
        };
    }
    if alone {
        for r in reports.iter_mut() {
            if r.use_ == Use::SkippedSelf {
                r.use_ = Use::SeedSelf;
            }
        }
        return Verdict::Seeds {
            mode: BootMode::Restart,
            seeds: vec![facts.pod_ip],
        };
    }
    let why = format!(
        "this node has data, but ringkeeper never saw it finish joining the ring (no usable \
         {marker} record in --data-dir): it may have been stopped mid-bootstrap, and as its own seed \
         Cassandra would skip the rest of the bootstrap. No other pod resolves to seed it from",
        marker = crate::decide::data::JOINED_MARKER
    );
    if facts.wait_over {
        Verdict::Refuse {
            reason: format!(
                "{why}. Cassandra was not started; it can start once another pod of the ring \
                 resolves (start one if none is coming). If this node did complete its bootstrap (its data predates ringkeeper), write the line \
                 host_id=<its host ID, from `nodetool info`> into {marker} in --data-dir and \
                 restart (the entrypoint then records its ring)",
                marker = crate::decide::data::JOINED_MARKER
            ),
            refusal: Refusal::KeepWaiting,
        }
    } else {
        Verdict::Wait { reason: why }
    }
}
