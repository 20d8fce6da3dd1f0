//! `resolve`: the boot plan's rounds until it decides. Each round looks at the ring
//! (`Observe`), `decide::seeds::plan` decides from what it saw, and this waits, reports
//! the wait, or returns; then the logging of what the rounds saw.

use std::time::Duration;

// The clock of tokio's timers (std's outside tests): the rounds are table-tested under
// paused time (`rounds_table`).
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{Observe, Round, SeedReport};
use crate::config::{Identity, Seeding};
use crate::decide::cluster_record::RecordFacts;
use crate::decide::data::JoinRecord;
use crate::decide::retry;
use crate::decide::seeds::{
    self, Candidate, Cql, DataState, Facts, Kin, Lookup, Plan, RecordUse, Verdict, Waiting,
};

/// Shortest budget for one round of lookups, even when the wait is over or zero: one
/// round always gets a fair chance to hear back from a slow server.
const MIN_ROUND: Duration = Duration::from_secs(1);
/// Longest budget for one round: beyond it a silent server counts as a timeout for this
/// round, and the next round asks again.
const MAX_ROUND: Duration = Duration::from_secs(5);

/// How long `resolve` goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Until the plan decides or refuses: one answer within `--seed-wait` (`seeds`).
    Answer,
    /// Until the plan decides, or refuses in a way only a person can end. A refusal that
    /// other pods can end (`Refusal::KeepWaiting`) is waited out, looking again every
    /// `retry::KEEP_WAITING` (the entrypoint: an exit would only have the kubelet restart
    /// the container, with a growing back-off, to see the same thing).
    StartOrPersonMustAct,
}

/// How often a wait is reported (the log line, and the hook for a Kubernetes Event):
/// often enough to see that a pod still waits and why, seldom enough that an hour of
/// waiting is 120 lines.
pub const WAIT_REPORT_EVERY: Duration = Duration::from_secs(30);

/// Reports one wait: the one place a wait is logged, called every `WAIT_REPORT_EVERY`
/// while `resolve` waits (and at once when the wait begins, and when `--seed-wait` ends).
pub fn report_waiting(w: &Waiting) {
    let seen = w.seen.join("; ");
    let waited_s = w.waited.as_secs();
    if w.seed_wait_over {
        warn!(
            reason = %w.reason, %seen, waited_s, rounds = w.rounds,
            "still waiting to start cassandra (not ready): --seed-wait is over, and other pods \
             can still end this wait, so the pod keeps waiting instead of exiting"
        );
    } else {
        info!(
            reason = %w.reason, %seen, waited_s, rounds = w.rounds,
            "waiting to start cassandra (not ready)"
        );
    }
}

/// Looks up (and probes) the candidates round after round until the boot plan decides
/// (see `Until`). Never returns `Verdict::Wait`: the rounds after `--seed-wait` are made
/// with `wait_over` set. `on_wait` gets the wait report when a wait begins, every
/// `WAIT_REPORT_EVERY` while it lasts, and when `--seed-wait` ends.
#[allow(clippy::too_many_arguments)] // gather: every input the plan's facts come from
pub async fn resolve(
    identity: &Identity,
    seeding: &Seeding,
    cluster_name: Option<&str>,
    data: DataState,
    record: Option<&JoinRecord>,
    api_record: &RecordFacts,
    mut bound: Option<tokio::sync::watch::Receiver<Option<u32>>>,
    ring: &dyn Observe,
    until: Until,
    on_wait: &mut dyn FnMut(&Waiting),
    on_record: &mut dyn FnMut(&RecordUse),
) -> anyhow::Result<SeedReport> {
    // With data, the record counts only when it vouches for the data (`Present`).
    let record = record.filter(|_| data == DataState::Present);
    let mut names = seeding.candidates(identity);
    info!(
        pod = %identity.pod, pod_ip = %identity.pod_ip, ?data,
        candidates = names.len(), seed_wait = ?seeding.wait,
        "looking up seed candidates"
    );
    let start = Instant::now();
    let deadline = start + seeding.wait;
    let mut rounds = 0;
    let mut warned = Vec::new();
    // When the next wait report is due: at once when a wait begins.
    let mut next_report = start;
    let mut waited_past_deadline = false;
    let mut last_lookups: Vec<Lookup> = Vec::new();
    let mut record_uses: Vec<RecordUse> = Vec::new();
    // Since when every member that answers has seen this pod's previous node down, round
    // after round without a break (`RecordUse::ReplaceNotYet::awaiting_down_time`).
    let mut previous_down_since: Option<Instant> = None;
    loop {
        // The ordinal bound read again from the StatefulSet (the entrypoint's wait).
        if let Some(rx) = bound.as_mut()
            && rx.has_changed().unwrap_or(false)
        {
            let replicas = *rx.borrow_and_update();
            names = Seeding {
                replicas,
                ..seeding.clone()
            }
            .candidates(identity);
            info!(
                ?replicas,
                candidates = names.len(),
                "the StatefulSet's replica count changed: ordinal bound updated"
            );
        }
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .clamp(MIN_ROUND, MAX_ROUND);
        let Round {
            candidates,
            saved_peers,
        } = ring
            .round(&names, budget, record, data != DataState::Present)
            .await?;
        rounds += 1;
        let now = Instant::now();
        let wait_over = now >= deadline;
        let plan = seeds::plan(&Facts {
            own_ordinal: identity.pod.ordinal,
            pod_ip: identity.pod_ip,
            data,
            candidates: &candidates,
            wait_over,
            cluster_name,
            replace_address: seeding.replace_address,
            record,
            saved_peers: &saved_peers,
            recorded: &api_record.recorded,
            previous: api_record.previous.as_ref(),
            others_previous: &api_record.others,
            previous_down_for: previous_down_since.map_or(Duration::ZERO, |s| now - s),
            replace_after_down: seeding.replace_after_down,
        });
        match &plan.record {
            Some(RecordUse::Replace { .. })
            | Some(RecordUse::ReplaceNotYet {
                awaiting_down_time: true,
                ..
            }) => {
                previous_down_since.get_or_insert(now);
            }
            _ => previous_down_since = None,
        }
        // What the identity record decided, logged (and handed on) once per decision.
        if let Some(used) = &plan.record
            && !record_uses.contains(used)
        {
            match used {
                RecordUse::Replace { .. } | RecordUse::FoundingEarly => {
                    info!(record = ?used, "boot decided from the identity record")
                }
                _ => warn!(record = ?used, "identity record"),
            }
            on_record(used);
            record_uses.push(used.clone());
        }
        log_round(identity, &candidates, rounds, &mut last_lookups);
        if let Some(record) = record {
            warn_foreign(&plan, record, &mut warned);
        }
        let on = retry::WaitingOn::of(candidates.iter().all(|c| c.probe_address().is_some()));
        let waiting = plan.waiting(
            identity.pod.ordinal,
            now.duration_since(start),
            rounds,
            wait_over,
        );
        match (&plan.verdict, waiting) {
            (Verdict::Seeds { mode, seeds }, _) => {
                log_candidates(&plan);
                info!(?mode, seeds = ?seeds, rounds, elapsed = ?start.elapsed(), "seed list decided");
                return Ok(report(identity, data, rounds, start, plan));
            }
            (Verdict::Refuse { reason, refusal }, Some(waiting))
                if until == Until::StartOrPersonMustAct =>
            {
                if !waited_past_deadline {
                    // Once, when --seed-wait ends: the whole picture, and a report now.
                    log_candidates(&plan);
                    info!(rounds, elapsed = ?start.elapsed(), %reason, ?refusal, "--seed-wait is over; other pods can still end this wait: waiting on");
                    waited_past_deadline = true;
                    next_report = now;
                }
                if now >= next_report {
                    on_wait(&waiting);
                    next_report = now + WAIT_REPORT_EVERY;
                }
                tokio::time::sleep(retry::keep_waiting(on)).await;
            }
            (Verdict::Refuse { reason, refusal }, _) => {
                log_candidates(&plan);
                warn!(rounds, elapsed = ?start.elapsed(), %reason, ?refusal, "no safe seed list");
                return Ok(report(identity, data, rounds, start, plan));
            }
            (Verdict::Wait { reason }, waiting) => {
                if let Some(waiting) = waiting
                    && now >= next_report
                {
                    on_wait(&waiting);
                    next_report = now + WAIT_REPORT_EVERY;
                }
                let delay =
                    retry::next_delay(rounds - 1, deadline.saturating_duration_since(now), on);
                debug!(round = rounds, ?delay, remaining = ?deadline.saturating_duration_since(now), %reason, "no seed list yet; looking up again");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

fn report(
    identity: &Identity,
    data: DataState,
    rounds: u32,
    start: Instant,
    plan: Plan,
) -> SeedReport {
    SeedReport {
        pod: identity.pod.to_string(),
        pod_ip: identity.pod_ip,
        data,
        rounds,
        elapsed_ms: start.elapsed().as_millis(),
        plan,
    }
}

/// Each candidate as decided: what DNS and CQL answered, whether its ring knows this node,
/// and what was done with it.
fn log_candidates(plan: &Plan) {
    for r in &plan.candidates {
        let c = &r.candidate;
        let (answer, host_id, ring_size) = match &c.cql {
            Cql::NotAsked => ("not asked", None, None),
            Cql::NoAnswer { .. } => ("no answer", None, None),
            Cql::Member { host_id, ring, .. } => ("member", host_id.as_deref(), Some(ring.len())),
        };
        info!(
            name = %c.name,
            dns = ?c.lookup,
            cql = answer,
            host_id,
            ring_size,
            identity = ?r.identity,
            use_ = ?r.use_,
            "seed candidate"
        );
    }
    for p in &plan.saved_peers {
        let answer = match &p.cql {
            Cql::Member { .. } => "member",
            Cql::NoAnswer { .. } => "no answer",
            Cql::NotAsked => "not asked",
        };
        info!(
            host_id = %p.host_id,
            address = %p.address,
            cql = answer,
            identity = ?p.identity,
            "saved peer (asked where Cassandra will gossip at start)"
        );
    }
}

/// Warns (once per candidate and answer) about a candidate that answers as a ring that
/// does not know this node, with both views.
fn warn_foreign(plan: &Plan, record: &JoinRecord, warned: &mut Vec<(String, Option<String>)>) {
    let answers = plan
        .candidates
        .iter()
        .map(|r| (r.candidate.name.clone(), r.identity, &r.candidate.cql))
        .chain(plan.saved_peers.iter().map(|p| {
            (
                format!("saved peer {} at {}", p.host_id, p.address),
                p.identity,
                &p.cql,
            )
        }));
    for (name, identity, cql) in answers {
        let Some(kin @ (Kin::ForeignRing | Kin::RemovedThisNode | Kin::DoesNotListThisNode)) =
            identity
        else {
            continue;
        };
        let Cql::Member {
            host_id,
            ring,
            cluster_name,
            oldest_start,
            ..
        } = cql
        else {
            continue;
        };
        let key = (name.clone(), host_id.clone());
        if warned.contains(&key) {
            continue;
        }
        warned.push(key);
        let theirs: Vec<String> = ring
            .iter()
            .map(|m| format!("{}@{}", m.host_id.as_deref().unwrap_or("?"), m.address))
            .collect();
        let ours: Vec<String> = record
            .peers
            .iter()
            .flatten()
            .map(|p| {
                format!(
                    "{}@{}",
                    p.host_id,
                    p.address.map_or_else(|| "?".to_owned(), |a| a.to_string())
                )
            })
            .collect();
        warn!(
            name = %name,
            verdict = ?kin,
            candidate_host_id = host_id.as_deref().unwrap_or("?"),
            candidate_cluster = cluster_name.as_deref().unwrap_or("?"),
            candidate_ring = ?theirs,
            candidate_ring_oldest_start = oldest_start.map(crate::decide::time::utc),
            own_host_id = %record.host_id,
            own_last_seen_peers = ?ours,
            "candidate answers as a ring that does not list this node: not a seed"
        );
    }
}

/// Logs what DNS answered for each candidate: at info or warn level the first time and
/// when the answer changes (a pod that waits an hour must not log every round), at debug
/// level otherwise. `previous` holds the last round's answers, updated here.
fn log_round(
    identity: &Identity,
    candidates: &[Candidate],
    round: u32,
    previous: &mut Vec<Lookup>,
) {
    for (i, c) in candidates.iter().enumerate() {
        if previous.get(i) == Some(&c.lookup) {
            debug!(round, name = %c.name, lookup = ?c.lookup, "same DNS answer as the last round");
            continue;
        }
        match &c.lookup {
            Lookup::Resolved { addresses } => {
                if c.ordinal == Some(identity.pod.ordinal) && !addresses.contains(&identity.pod_ip)
                {
                    warn!(name = %c.name, ?addresses, pod_ip = %identity.pod_ip, "this pod's own name resolves to another address: stale record, or the wrong --service/--namespace");
                } else {
                    debug!(round, name = %c.name, ?addresses, "resolved");
                }
            }
            Lookup::Literal { .. } => {}
            Lookup::Absent => {
                info!(round, name = %c.name, "NXDOMAIN or no address: no such pod (yet)")
            }
            Lookup::ServerError { code } => warn!(round, name = %c.name, %code, "DNS server error"),
            Lookup::Timeout => warn!(round, name = %c.name, "DNS lookup timed out"),
            Lookup::Failed { error } => warn!(round, name = %c.name, %error, "DNS lookup failed"),
        }
    }
    *previous = candidates.iter().map(|c| c.lookup.clone()).collect();
}
