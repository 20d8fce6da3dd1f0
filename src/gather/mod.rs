//! Gathering the boot plan's facts, shared by `seeds`, `entrypoint` and `status`: the
//! candidates' DNS names looked up and their nodes asked over CQL round after round, the
//! saved peers of the join record, the identity record's reading, until
//! `decide::seeds::plan` decides. IO orchestration: what is decided is in `decide::seeds`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
// The clock of tokio's timers (std's outside tests): `resolve`'s rounds are table-tested
// under paused time (`rounds_table`).
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::{CandidateName, Identity, Seeding};
use crate::decide::api_facts::{ApiFacts, Fact};
use crate::decide::cluster_record::{self, RecordFacts};
use crate::decide::data::{self, DataListing, JoinRecord};
use crate::decide::retry;
use crate::decide::seeds::{
    self, Candidate, Cql, DataState, Facts, Kin, Lookup, Plan, RecordUse, SavedPeer, Verdict,
    Waiting,
};
use crate::edge::Pending;
use crate::edge::cql::{self, CqlSettings};
use crate::edge::cql_probe;
use crate::edge::dns::Dns;

/// Shortest budget for one round of lookups, even when the wait is over or zero: one
/// round always gets a fair chance to hear back from a slow server.
const MIN_ROUND: Duration = Duration::from_secs(1);
/// Most lookups in flight at once. A burst of hundreds of UDP queries overflows a DNS
/// server's socket buffer and costs re-sends; a few dozen keep the server busy without that
/// (measured in BENCHMARKS.md), and are polite to a cluster DNS that every pod asks at boot.
const MAX_IN_FLIGHT: usize = 32;
/// Longest budget for one round: beyond it a silent server counts as a timeout for this
/// round, and the next round asks again.
const MAX_ROUND: Duration = Duration::from_secs(5);

/// The decision with what it was made from, as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct SeedReport {
    /// The pod name.
    pub pod: String,
    /// The pod IP.
    pub pod_ip: std::net::IpAddr,
    /// What the data directory holds.
    pub data: DataState,
    /// How many lookup rounds ran.
    pub rounds: u32,
    /// Time spent, in milliseconds.
    pub elapsed_ms: u128,
    /// The decision and per-candidate reasons.
    #[serde(flatten)]
    pub plan: Plan,
}

impl SeedReport {
    /// The seed list as Cassandra's `seeds` parameter wants it, if there is one.
    pub fn seed_line(&self) -> Option<String> {
        match &self.plan.verdict {
            Verdict::Seeds { seeds, .. } => Some(
                seeds
                    .iter()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        }
    }
}

/// What the identity record of this pod's StatefulSet (`decide::cluster_record`, read
/// once at boot with the other API facts) tells the boot plan; logs what it holds, and
/// each entry left out. Not read, the one line about the API's gaps said so.
pub fn identity_record(
    facts: &ApiFacts,
    identity: &Identity,
    cluster_name: Option<&str>,
) -> RecordFacts {
    let record = cluster_record::facts(&facts.record, &identity.pod.to_string(), cluster_name);
    if let Fact::Known(data) = &facts.record {
        info!(
            configmap = %cluster_record::configmap_name(&identity.pod.set),
            exists = data.is_some(),
            recorded = ?record.recorded,
            previous = ?record.previous,
            "identity record read"
        );
    }
    for why in &record.ignored {
        warn!(entry = %why, "identity record entry not acted on");
    }
    record
}

/// Bounds on each CQL probe of a seed candidate: short, because a member answers at once
/// and a pod that is not up refuses the connection at once; only unroutable addresses
/// take the full bound.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Candidates probed over CQL at once.
const MAX_PROBES_IN_FLIGHT: usize = 16;

/// CQL settings for probing candidates (reads the credential and TLS files).
pub fn probe_settings(seeding: &Seeding) -> anyhow::Result<CqlSettings> {
    cql::load_settings(
        seeding.cql.port,
        PROBE_TIMEOUT,
        PROBE_TIMEOUT,
        &seeding.cql.access,
    )
}

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
                tokio::time::sleep(retry::KEEP_WAITING).await;
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
                let delay = retry::next_delay(rounds - 1, deadline.saturating_duration_since(now));
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

/// What one round of `resolve` saw.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// Every candidate name, looked up, and asked over CQL unless it is this pod.
    pub candidates: Vec<Candidate>,
    /// The join record's saved peers, asked at the addresses no candidate was asked at.
    pub saved_peers: Vec<SavedPeer>,
}

/// One round's look at the ring: the only IO of `resolve`. A trait so that the rounds
/// around it (the waits, their reports, the refusals waited out or ended on, the replica
/// bound read again, the replace's down time) are table-tested with scripted rounds under
/// paused time (`tests`), with no DNS server or node; `Network` is the real one.
pub trait Observe: Send + Sync {
    /// Looks up `names` (each within `budget`), asks the nodes they name over CQL (with
    /// `liveness`, who gossip says is alive too), and asks `record`'s saved peers.
    fn round<'a>(
        &'a self,
        names: &'a [CandidateName],
        budget: Duration,
        record: Option<&'a JoinRecord>,
        liveness: bool,
    ) -> Pending<'a, anyhow::Result<Round>>;
}

/// The ring as this pod reaches it: DNS for the names, CQL for the nodes.
pub struct Network<'a> {
    /// This pod (never probed as a candidate).
    pub identity: &'a Identity,
    /// The resolver, as the pod's resolv.conf configures it.
    pub dns: &'a Dns,
    /// How candidates and saved peers are asked.
    pub cql: &'a CqlSettings,
}

impl Observe for Network<'_> {
    fn round<'a>(
        &'a self,
        names: &'a [CandidateName],
        budget: Duration,
        record: Option<&'a JoinRecord>,
        liveness: bool,
    ) -> Pending<'a, anyhow::Result<Round>> {
        Box::pin(async move {
            let mut candidates = lookup_all(self.dns, names, budget).await;
            // The saved peers are asked alongside the candidates, at the addresses no
            // candidate is asked at.
            let asked: Vec<IpAddr> = candidates
                .iter()
                .filter_map(Candidate::probe_address)
                .collect();
            let saved = async {
                match record {
                    Some(record) => probe_saved(record, &asked, self.identity, self.cql).await,
                    None => Ok(Vec::new()),
                }
            };
            let (probes, saved_peers) = tokio::join!(
                probe_all(&mut candidates, self.identity, self.cql, liveness),
                saved
            );
            probes?;
            Ok(Round {
                candidates,
                saved_peers: saved_peers?,
            })
        })
    }
}

/// Looks up every candidate concurrently (at most `MAX_IN_FLIGHT` at a time), each
/// bounded by `budget`.
pub(crate) async fn lookup_all(
    dns: &Dns,
    names: &[CandidateName],
    budget: Duration,
) -> Vec<Candidate> {
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut set = JoinSet::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(address) = name.literal {
            set.spawn(async move { (i, Lookup::Literal { address }) });
            continue;
        }
        let dns = dns.clone();
        let query = name.name.clone();
        let absolute = name.absolute;
        spawn_bounded(&mut set, &permits, async move {
            let lookup = tokio::time::timeout(budget, dns.lookup(&query, absolute))
                .await
                .unwrap_or(Lookup::Timeout);
            (i, lookup)
        });
    }
    let mut lookups: Vec<Option<Lookup>> = vec![None; names.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, lookup)) => lookups[i] = Some(lookup),
            Err(e) => warn!(error = %e, "lookup task failed"),
        }
    }
    names
        .iter()
        .zip(lookups)
        .map(|(name, lookup)| Candidate {
            name: name.name.clone(),
            ordinal: name.ordinal,
            lookup: lookup.unwrap_or(Lookup::Failed {
                error: "lookup task failed".into(),
            }),
            cql: Cql::NotAsked,
        })
        .collect()
}

/// Spawns `work` on `set`; it starts once one of `permits` is free.
pub(crate) fn spawn_bounded<T: Send + 'static>(
    set: &mut JoinSet<T>,
    permits: &Arc<Semaphore>,
    work: impl std::future::Future<Output = T> + Send + 'static,
) {
    let permits = permits.clone();
    set.spawn(async move {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = permits
            .acquire_owned()
            .await
            .expect("semaphore is never closed");
        work.await
    });
}

/// Asks the peers this node last saw at their saved addresses, where Cassandra will gossip
/// at start whatever the seed list says; the `asked` addresses are asked as candidates.
/// A few at a time, like the candidates.
async fn probe_saved(
    record: &JoinRecord,
    asked: &[IpAddr],
    identity: &Identity,
    settings: &CqlSettings,
) -> anyhow::Result<Vec<SavedPeer>> {
    let permits = Arc::new(Semaphore::new(MAX_PROBES_IN_FLIGHT));
    let mut set = JoinSet::new();
    // A saved address is one that neither DNS nor the API attributes to this set now:
    // after a cold restart any pod, or anything else, may hold it. The CQL password goes
    // there only over TLS (whose certificate check names the node); without TLS the
    // address is asked without credentials, so a password never travels in clear text
    // to a stranger (a ring with authentication then cannot be read there: not judged).
    let withheld = settings.credentials.is_some() && settings.tls.is_none();
    let settings = if withheld {
        &CqlSettings {
            credentials: None,
            ..settings.clone()
        }
    } else {
        settings
    };
    for peer in record.peers.iter().flatten() {
        let Some(address) = peer
            .address
            .filter(|a| *a != identity.pod_ip && !asked.contains(a))
        else {
            continue;
        };
        let settings = settings.clone();
        let host_id = peer.host_id.clone();
        spawn_bounded(&mut set, &permits, async move {
            (host_id, address, survey_saved(address, &settings).await)
        });
    }
    let mut saved = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (host_id, address, result) =
            joined.map_err(|e| anyhow::anyhow!("probe task failed: {e}"))?;
        // Whatever answers at an old address may be anything now (another cluster with
        // other credentials): a rejected login there cannot be judged, but is no error
        // of this node's settings.
        let cql = result.unwrap_or_else(|e| {
            if withheld {
                debug!(%address, error = %e, "a saved peer's address asks for credentials, which are not sent there without TLS: not judged");
            } else {
                warn!(%address, error = %e, "a saved peer's address answers but cannot be read: not judged");
            }
            Cql::NoAnswer {
                detail: e.to_string(),
            }
        });
        saved.push(SavedPeer {
            host_id,
            address,
            cql,
            identity: None,
        });
    }
    saved.sort_by_key(|p| p.address);
    Ok(saved)
}

/// Asks one saved address for its ring with the size-bounded client (`cql_probe::survey`):
/// whatever holds the address now may be no Cassandra node at all, and the driver would
/// allocate whatever length a reply's header claims. Bounded in time like a driver probe.
async fn survey_saved(address: IpAddr, settings: &CqlSettings) -> Result<Cql, cql::CqlError> {
    let limit = settings.connect_timeout * 2 + settings.request_timeout;
    match tokio::time::timeout(limit, cql_probe::survey(address, settings)).await {
        Ok(Ok(s)) => Ok(seeds::member_answer(s.local, &s.peers, s.gossip, None)),
        Ok(Err(e @ cql::CqlError::Auth { .. })) => Err(e),
        Ok(Err(e)) => Ok(Cql::NoAnswer {
            detail: e.to_string(),
        }),
        Err(_) => Ok(Cql::NoAnswer {
            detail: format!("{address}: no answer within {limit:?}"),
        }),
    }
}

/// Probes every resolved candidate other than this pod over CQL, a few at a time.
pub(crate) async fn probe_all(
    candidates: &mut [Candidate],
    identity: &Identity,
    settings: &CqlSettings,
    liveness: bool,
) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(MAX_PROBES_IN_FLIGHT));
    let mut set = JoinSet::new();
    for (i, c) in candidates.iter().enumerate() {
        if c.ordinal == Some(identity.pod.ordinal) {
            continue;
        }
        let Some(ip) = c.probe_address().filter(|ip| *ip != identity.pod_ip) else {
            continue;
        };
        let settings = settings.clone();
        spawn_bounded(&mut set, &permits, async move {
            (i, cql::probe(ip, &settings, liveness).await)
        });
    }
    while let Some(joined) = set.join_next().await {
        let (i, result) = joined.map_err(|e| anyhow::anyhow!("probe task failed: {e}"))?;
        let answer = result?;
        match &answer {
            Cql::Member {
                cluster_name,
                movements,
                ..
            } => {
                debug!(name = %candidates[i].name, ?cluster_name, ?movements, "candidate answers CQL as a ring member")
            }
            Cql::NoAnswer { detail } => {
                debug!(name = %candidates[i].name, %detail, "candidate does not answer CQL")
            }
            Cql::NotAsked => {}
        }
        candidates[i].cql = answer;
    }
    Ok(())
}

/// Classifies the data directory from a listing, logging what was found.
pub fn classify_logged(listing: &DataListing) -> DataState {
    let state = data::classify(listing);
    if let data::Joined::Unusable(why) = &listing.joined {
        warn!(
            record = data::JOINED_MARKER,
            %why,
            "the join record in --data-dir is not usable: treated as missing (this node restarts without listing itself, and its ring identity is not checked)"
        );
    }
    info!(
        ?state,
        system_local_sstables = listing.system_local_sstables,
        other_entries = listing.other_entries,
        join_record = match &listing.joined {
            data::Joined::Missing => "missing".to_owned(),
            data::Joined::Unusable(why) => format!("unusable (treated as missing): {why}"),
            data::Joined::Record(r) => format!(
                "host {} with {} peers",
                r.host_id,
                r.peers
                    .as_ref()
                    .map_or_else(|| "unrecorded".to_owned(), |p| p.len().to_string())
            ),
        },
        "data directory inspected"
    );
    state
}

#[cfg(test)]
mod rounds_table;
#[cfg(test)]
pub(crate) mod scripted;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A v4 response frame.
    fn frame(stream: [u8; 2], opcode: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![0x84, 0, stream[0], stream[1], opcode];
        f.extend_from_slice(&(body.len() as u32).to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    fn string(s: &str) -> Vec<u8> {
        let mut b = (s.len() as u16).to_be_bytes().to_vec();
        b.extend_from_slice(s.as_bytes());
        b
    }

    /// Pod 1 at 127.0.0.2, whose join record saved one peer at 127.0.0.1 (where a test's
    /// stand-in listens), with `data_dir` as its volume.
    fn saved_peer_at_loopback(data_dir: &std::path::Path) -> (JoinRecord, Identity) {
        let record = JoinRecord {
            format: 2,
            host_id: "11111111-1111-1111-1111-111111111111".into(),
            cluster_name: Some("c".into()),
            address: Some("127.0.0.2".parse().unwrap()),
            peers: Some(vec![data::KnownPeer {
                host_id: "22222222-2222-2222-2222-222222222222".into(),
                address: Some("127.0.0.1".parse().unwrap()),
            }]),
            recorded_at: None,
            dc: None,
            rack: None,
        };
        let identity = Identity {
            pod: "cassandra-1".parse().unwrap(),
            namespace: "db".into(),
            pod_ip: "127.0.0.2".parse().unwrap(),
            service: "cassandra".into(),
            cluster_domain: "cluster.local".into(),
            data_dir: data_dir.to_owned(),
        };
        (record, identity)
    }

    /// Something at a saved peer's address that asks for a login, as a node with
    /// PasswordAuthenticator would, and keeps every byte it is sent.
    async fn asks_for_a_login(
        listener: tokio::net::TcpListener,
        seen: Arc<std::sync::Mutex<Vec<u8>>>,
    ) {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                loop {
                    let mut header = [0u8; 9];
                    if s.read_exact(&mut header).await.is_err() {
                        return;
                    }
                    let len = u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
                    let mut body = vec![0u8; len.min(1 << 16) as usize];
                    if s.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    seen.lock().unwrap().extend_from_slice(&body);
                    let stream = [header[2], header[3]];
                    let answer = match header[4] {
                        // OPTIONS -> SUPPORTED {CQL_VERSION: [3.0.0]}
                        0x05 => {
                            let mut b = 1u16.to_be_bytes().to_vec();
                            b.extend(string("CQL_VERSION"));
                            b.extend(1u16.to_be_bytes());
                            b.extend(string("3.0.0"));
                            frame(stream, 0x06, &b)
                        }
                        // STARTUP -> AUTHENTICATE
                        0x01 => frame(
                            stream,
                            0x03,
                            &string("org.apache.cassandra.auth.PasswordAuthenticator"),
                        ),
                        // AUTH_RESPONSE (or anything else): an error, and the end.
                        _ => return,
                    };
                    if s.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// The CQL password never goes to a saved peer's address without TLS: after a cold
    /// restart anything may hold it, and it would read the password in clear text.
    #[tokio::test]
    async fn no_password_to_a_saved_address_without_tls() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        tokio::spawn(asks_for_a_login(listener, seen.clone()));
        let dir = tempfile::tempdir().unwrap();
        let (user, password) = (dir.path().join("user"), dir.path().join("password"));
        std::fs::write(&user, "cassandra\n").unwrap();
        std::fs::write(&password, "s3cret-never-sent\n").unwrap();
        let settings = cql::load_settings(
            port,
            Duration::from_secs(3),
            Duration::from_secs(3),
            &crate::config::CqlAccess {
                username: Some(user),
                password: Some(password),
                ..Default::default()
            },
        )
        .unwrap();
        let (record, identity) = saved_peer_at_loopback(dir.path());
        let saved = probe_saved(&record, &[], &identity, &settings)
            .await
            .unwrap();
        assert_eq!(saved.len(), 1, "{saved:?}");
        let seen = seen.lock().unwrap().clone();
        assert!(
            !String::from_utf8_lossy(&seen).contains("s3cret-never-sent"),
            "the password was sent: {:?}",
            String::from_utf8_lossy(&seen)
        );
        assert!(
            String::from_utf8_lossy(&seen).contains("CQL_VERSION"),
            "the address was asked at all"
        );
    }

    /// Something at a saved peer's address that completes the handshake, then answers
    /// every read with a header claiming a 4 GiB body and sends no more.
    async fn claims_a_huge_answer(listener: tokio::net::TcpListener) {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                loop {
                    let mut header = [0u8; 9];
                    if s.read_exact(&mut header).await.is_err() {
                        return;
                    }
                    let len = u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
                    let mut body = vec![0u8; len.min(1 << 16) as usize];
                    if s.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let stream = [header[2], header[3]];
                    let answer = match header[4] {
                        // STARTUP -> READY
                        0x01 => frame(stream, 0x02, &[]),
                        // OPTIONS -> SUPPORTED {}
                        0x05 => frame(stream, 0x06, &0u16.to_be_bytes()),
                        // A read: a RESULT header that claims u32::MAX bytes.
                        _ => {
                            let mut f = vec![0x84, 0, stream[0], stream[1], 0x08];
                            f.extend_from_slice(&u32::MAX.to_be_bytes());
                            f
                        }
                    };
                    if s.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// A saved address is read with a bound on each answer's size: a reply whose header
    /// claims gigabytes is refused at once (no answer from a node), not read or allocated,
    /// and not waited on until the request's timeout.
    #[tokio::test]
    async fn a_saved_address_cannot_claim_a_huge_answer() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(claims_a_huge_answer(listener));
        let dir = tempfile::tempdir().unwrap();
        let settings = cql::load_settings(
            port,
            Duration::from_secs(5),
            Duration::from_secs(5),
            &crate::config::CqlAccess::default(),
        )
        .unwrap();
        let (record, identity) = saved_peer_at_loopback(dir.path());
        let started = Instant::now();
        let saved = probe_saved(&record, &[], &identity, &settings)
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "waited {:?} on a claimed body",
            started.elapsed()
        );
        match &saved[..] {
            [
                SavedPeer {
                    cql: Cql::NoAnswer { detail },
                    ..
                },
            ] => assert!(detail.contains("larger than any"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }
}
