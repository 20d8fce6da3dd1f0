//! A load generator on the `scylla` driver, run as most applications run it: default
//! (token-aware) load balancing, default retry policy, default timeouts, prepared
//! statements that are *not* marked idempotent (unless [`LoadSpec::idempotent`] says so:
//! then the driver retries a request on the next node when a connection breaks or a node
//! answers overloaded, as applications that mark their statements idempotent get). It
//! shows what a client sees while the ring changes (a rolling restart, a node stopped):
//! which requests failed and how, how long no request succeeded, and whether every
//! acknowledged write can be read back.
//!
//! Open loop: a ticker issues requests at a steady total rate whatever the server does; a
//! request that would exceed the concurrency cap is not issued and counted as
//! `not_issued` (a closed loop would slow down with the server and hide an outage).
//!
//! Writes use fresh keys (a counter from a per-run base), so each acknowledged write can be
//! checked later ([`missing_writes`]); reads pick a random acknowledged key and must find it
//! (`read_missing` otherwise).
//!
//! The load runs on its own thread, inside a network namespace if asked, on a
//! current-thread tokio runtime. The pure parts (percentiles, gaps, failure labels,
//! pacing, parsers) are unit-tested below.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use serde::{Serialize, Serializer};
use tokio::sync::{Semaphore, watch};

use crate::netns::{Netns, spawn_in};

/// At most this many entries in [`LoadReport::failure_timeline`] (the first ones); the
/// counts in [`LoadReport::failures`] are always complete.
pub const TIMELINE_CAP: usize = 1000;
/// A failure of the same kind as the last timeline entry within this long after it is not
/// entered again: an outage at 200 requests/s would otherwise fill the timeline in 5 s,
/// and a rolling restart's later failures would be lost. With the cap, a timeline covers
/// at least 100 s of failures.
pub const TIMELINE_RESOLUTION: Duration = Duration::from_millis(100);
/// Bound on building a session (the driver's own connect timeout is 5 s per connection).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Load::start`] keeps retrying the first write (a fresh schema may need a
/// moment on every node).
const FIRST_WRITE_WITHIN: Duration = Duration::from_secs(30);
/// The ticker never fires more often than this; faster rates issue several per tick.
const MIN_TICK: Duration = Duration::from_millis(1);
/// After a stall of the load thread, at most this much of the schedule is caught up at
/// once; the rest is dropped (counted as `not_issued`) rather than sent as a burst.
pub const MAX_CATCH_UP: Duration = Duration::from_millis(100);
/// Concurrent reads in [`missing_writes`].
const CHECK_CONCURRENCY: usize = 128;
/// Attempts per key in [`missing_writes`] before the check gives up on an error.
const CHECK_ATTEMPTS: u32 = 3;

/// Requests per second of the load under which CI proves a restart loses nothing (the
/// rolling update of `tests/kube.rs`, the 4.1 restart of `tests/ring.rs`). What those tests
/// catch spans seconds, not instants: a node that stops serving before its clients move
/// away (its requests time out for as long as the drain lasts), a write acknowledged and
/// then lost by the drain. At 60/s such a window still holds hundreds of requests, and the
/// nodes keep CPU to spare on two cores: at 300/s (one node alone spent 0.7 of a core on
/// it, measured) every JVM there, `nodetool` included, ran four times slower and the
/// rolling update took five minutes. Fewer requests are in flight at the instant of a
/// close, so fewer (often no) requests fail there; the assertion allows failures only
/// there and never asks for one. `scripts/bench-rolling` keeps [`LoadSpec::new`]'s 200/s.
pub const CORRECTNESS_RATE: u32 = 60;

/// What load to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Contact points (CQL address and port of one or more nodes).
    pub nodes: Vec<SocketAddr>,
    /// Keyspace, created if missing (SimpleStrategy); the table is `<keyspace>.kv`.
    pub keyspace: String,
    /// Replication factor of a keyspace this creates (an existing one is not altered).
    pub replication_factor: u32,
    /// Consistency of every request. `read_missing` shows lost or not yet visible writes
    /// only when the replicas a write waits for and those a read asks overlap (QUORUM for
    /// both, or RF 1): at ONE with RF > 1 a miss can be plain eventual consistency.
    pub consistency: Consistency,
    /// Total requests per second (writes and reads).
    pub rate: u32,
    /// Share of requests that are writes, 0.0 to 1.0.
    pub write_share: f64,
    /// At most this many requests in flight.
    pub concurrency: usize,
    /// Bytes of payload per write.
    pub payload: usize,
    /// Marks both statements idempotent (they are: a write of a fresh key with a fixed
    /// value, and a read), so the driver's default retry policy may send a request to the
    /// next node after a broken connection or an overloaded answer.
    pub idempotent: bool,
}

impl LoadSpec {
    /// Keyspace "load", RF 3, QUORUM, 200 requests/s, half writes, 64 in flight, 100 bytes.
    pub fn new(nodes: Vec<SocketAddr>) -> Self {
        LoadSpec {
            nodes,
            keyspace: "load".into(),
            replication_factor: 3,
            consistency: Consistency::Quorum,
            rate: 200,
            write_share: 0.5,
            concurrency: 64,
            payload: 100,
            idempotent: false,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.nodes.is_empty() {
            bail!("no contact points");
        }
        check_keyspace_name(&self.keyspace)?;
        if self.replication_factor == 0 {
            bail!("replication factor must be at least 1");
        }
        if self.rate == 0 {
            bail!("rate must be at least 1 request/s");
        }
        if !(0.0..=1.0).contains(&self.write_share) {
            bail!("write share {} is not within 0 to 1", self.write_share);
        }
        if self.concurrency == 0 || self.concurrency > Semaphore::MAX_PERMITS {
            bail!("concurrency {} is out of range", self.concurrency);
        }
        Ok(())
    }
}

/// What the load saw.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// From the first successful write until issuing stopped (or until now, in a snapshot).
    #[serde(serialize_with = "as_secs")]
    pub duration: Duration,
    /// Acknowledged writes.
    pub writes_ok: u64,
    /// Reads that found their key.
    pub reads_ok: u64,
    /// Failed requests by kind (see [`failure_kind`]; `read_missing` is a read that did
    /// not find an acknowledged key).
    pub failures: BTreeMap<String, u64>,
    /// Requests the schedule called for but not issued because `concurrency` requests
    /// were already in flight (or the load thread lagged). Not counted in [`Self::failed`].
    pub not_issued: u64,
    /// Median latency of successful requests, ms.
    pub latency_p50: f64,
    /// 99th percentile latency of successful requests, ms.
    pub latency_p99: f64,
    /// Slowest successful request, ms.
    pub latency_max: f64,
    /// The longest time without any successful request while requests were being
    /// issued (an outage still going on at the end counts up to the end).
    #[serde(serialize_with = "as_secs")]
    pub longest_gap: Duration,
    /// When the load started (just after the first write succeeded), seconds since the
    /// Unix epoch: places the timeline against other logs.
    pub started_unix: f64,
    /// Failures in time, thinned (see [`Timeline`]) and capped.
    pub failure_timeline: Vec<FailureEntry>,
    /// Every acknowledged write's key, in order of acknowledgement.
    #[serde(skip)]
    pub acked: Vec<i64>,
}

impl LoadReport {
    /// Failed requests of every kind.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }
}

fn as_secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// A running load; stop it with [`Load::stop`] (dropping it also stops issuing, without
/// waiting).
pub struct Load {
    shared: Arc<Shared>,
    /// `true` (or dropping the sender) tells the load loop to stop issuing.
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<Result<()>>,
}

impl Load {
    /// Starts the load on its own thread, inside network namespace `netns` (None: this
    /// one); returns once the schema exists and the first request succeeded (or errors).
    pub fn start(netns: Option<&Netns>, spec: LoadSpec) -> Result<Load> {
        spec.validate()?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Arc<Shared>>>();
        let (stop_tx, stop_rx) = watch::channel(false);
        let thread = spawn_in(netns, "load", move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow!(e).context("tokio runtime")));
                    return;
                }
            };
            rt.block_on(async move {
                match Driver::setup(spec).await {
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                    Ok(driver) => {
                        let _ = ready_tx.send(Ok(driver.shared.clone()));
                        driver.run(stop_rx).await;
                    }
                }
            });
        })?;
        match ready_rx.recv() {
            Ok(Ok(shared)) => Ok(Load {
                shared,
                stop: stop_tx,
                thread,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => match thread.join() {
                Ok(Err(e)) => Err(e),
                _ => bail!("the load thread ended before it started the load"),
            },
        }
    }

    /// A snapshot of the counts so far (cheap: copies the counters, the acknowledged keys
    /// and sorts the recorded latencies).
    pub fn snapshot(&self) -> LoadReport {
        self.shared.report()
    }

    /// Stops issuing, waits for in-flight requests (each ends within the driver's request
    /// timeout), returns the report.
    pub fn stop(self) -> Result<LoadReport> {
        let _ = self.stop.send(true);
        self.thread
            .join()
            .map_err(|_| anyhow!("the load thread panicked"))??;
        Ok(self.shared.report())
    }
}

/// State shared by the load loop, its request tasks and [`Load`].
struct Shared {
    /// When issuing began (just after the first write succeeded).
    t0: Instant,
    /// The same moment on the wall clock.
    t0_wall: SystemTime,
    recorder: Mutex<Recorder>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Recorder> {
        // A panic while holding the lock leaves plain counters behind: still readable.
        self.recorder.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn report(&self) -> LoadReport {
        let now = self.t0.elapsed();
        let mut report = self.lock().report(now);
        report.started_unix = self
            .t0_wall
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        report
    }

    fn success(&self, write: Option<i64>, latency: Duration) {
        let at = self.t0.elapsed();
        let mut r = self.lock();
        r.gaps.success(at);
        r.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        match write {
            Some(key) => {
                r.writes_ok += 1;
                r.acked.push(key);
            }
            None => r.reads_ok += 1,
        }
    }

    fn failure(&self, kind: String) {
        let at = self.t0.elapsed();
        let mut r = self.lock();
        r.timeline.push(at, &kind);
        *r.failures.entry(kind).or_default() += 1;
    }
}

/// Everything recorded; [`Recorder::report`] turns it into a [`LoadReport`].
#[derive(Default)]
struct Recorder {
    writes_ok: u64,
    reads_ok: u64,
    failures: BTreeMap<String, u64>,
    not_issued: u64,
    /// Latencies of successful requests, µs.
    latencies_us: Vec<u32>,
    gaps: GapTracker,
    acked: Vec<i64>,
    timeline: Timeline,
    /// Set when issuing stopped (time since `t0`).
    issuing_until: Option<Duration>,
}

impl Recorder {
    fn report(&self, now: Duration) -> LoadReport {
        let end = self.issuing_until.unwrap_or(now);
        let mut ms: Vec<f64> = self
            .latencies_us
            .iter()
            .map(|&us| f64::from(us) / 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        LoadReport {
            duration: end,
            writes_ok: self.writes_ok,
            reads_ok: self.reads_ok,
            failures: self.failures.clone(),
            not_issued: self.not_issued,
            latency_p50: percentile(&ms, 50.0),
            latency_p99: percentile(&ms, 99.0),
            latency_max: ms.last().copied().unwrap_or(0.0),
            longest_gap: self.gaps.longest_until(end),
            started_unix: 0.0,
            failure_timeline: self.timeline.entries.clone(),
            acked: self.acked.clone(),
        }
    }
}

/// The session, its statements and the load loop.
struct Driver {
    spec: LoadSpec,
    session: Arc<Session>,
    insert: Arc<PreparedStatement>,
    select: Arc<PreparedStatement>,
    shared: Arc<Shared>,
    /// The next write's key.
    next_key: i64,
}

impl Driver {
    /// Connects, creates the schema if missing, prepares, and makes the first write.
    async fn setup(spec: LoadSpec) -> Result<Driver> {
        let session = connect(&spec.nodes).await?;
        let ks = &spec.keyspace;
        session
            .query_unpaged(
                format!(
                    "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = \
                     {{'class': 'SimpleStrategy', 'replication_factor': {}}}",
                    spec.replication_factor
                ),
                &[],
            )
            .await
            .with_context(|| format!("creating keyspace {ks}"))?;
        session
            .query_unpaged(
                format!("CREATE TABLE IF NOT EXISTS {ks}.kv (k bigint PRIMARY KEY, v blob)"),
                &[],
            )
            .await
            .with_context(|| format!("creating table {ks}.kv"))?;
        let mut insert = session
            .prepare(format!("INSERT INTO {ks}.kv (k, v) VALUES (?, ?)"))
            .await
            .context("preparing the insert")?;
        insert.set_consistency(spec.consistency);
        insert.set_is_idempotent(spec.idempotent);
        let mut select = session
            .prepare(format!("SELECT v FROM {ks}.kv WHERE k = ?"))
            .await
            .context("preparing the select")?;
        select.set_consistency(spec.consistency);
        select.set_is_idempotent(spec.idempotent);

        // Keys no earlier run used (unless it wrote a billion rows): seconds since the
        // epoch times 1e9 stays below i64::MAX until the year 2262.
        let base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0)
            .saturating_mul(1_000_000_000);
        let payload = vec![0x5a_u8; spec.payload];
        let deadline = Instant::now() + FIRST_WRITE_WITHIN;
        let first_latency = loop {
            let started = Instant::now();
            match session.execute_unpaged(&insert, (base, &payload)).await {
                Ok(_) => break started.elapsed(),
                Err(e) if Instant::now() > deadline => {
                    return Err(anyhow!(e).context(format!(
                        "the first write did not succeed within {FIRST_WRITE_WITHIN:?}"
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        };
        let shared = Arc::new(Shared {
            t0: Instant::now(),
            t0_wall: SystemTime::now(),
            recorder: Mutex::new(Recorder::default()),
        });
        shared.success(Some(base), first_latency);
        Ok(Driver {
            spec,
            session: Arc::new(session),
            insert: Arc::new(insert),
            select: Arc::new(select),
            shared,
            next_key: base + 1,
        })
    }

    /// Issues requests on schedule until `stop` says so (or its sender is gone), then
    /// waits for the requests in flight.
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let rate = self.spec.rate;
        let period = (Duration::from_secs(1) / rate).max(MIN_TICK);
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let permits = Arc::new(Semaphore::new(self.spec.concurrency));
        let payload: Arc<[u8]> = vec![0x5a_u8; self.spec.payload].into();
        let mut rng = SplitMix64::new(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1),
        );
        let mut scheduled: u64 = 0;
        loop {
            tokio::select! {
                biased;
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { break },
                _ = ticker.tick() => {}
            }
            let pace = pace(self.shared.t0.elapsed(), rate, scheduled);
            scheduled += pace.issue + pace.drop;
            let mut not_issued = pace.drop;
            for _ in 0..pace.issue {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    not_issued += 1;
                    continue;
                };
                let read_key = if rng.next_f64() < self.spec.write_share {
                    None
                } else {
                    let r = self.shared.lock();
                    (!r.acked.is_empty()).then(|| r.acked[rng.below(r.acked.len())])
                };
                let shared = self.shared.clone();
                let session = self.session.clone();
                match read_key {
                    Some(key) => {
                        let select = self.select.clone();
                        tokio::spawn(async move {
                            let started = Instant::now();
                            match read(&session, &select, key).await {
                                Ok(true) => shared.success(None, started.elapsed()),
                                Ok(false) => shared.failure("read_missing".into()),
                                Err(kind) => shared.failure(kind),
                            }
                            drop(permit);
                        });
                    }
                    None => {
                        let key = self.next_key;
                        self.next_key += 1;
                        let insert = self.insert.clone();
                        let payload = payload.clone();
                        tokio::spawn(async move {
                            let started = Instant::now();
                            match session.execute_unpaged(&insert, (key, &payload[..])).await {
                                Ok(_) => shared.success(Some(key), started.elapsed()),
                                Err(e) => shared.failure(failure_kind(&e)),
                            }
                            drop(permit);
                        });
                    }
                }
            }
            if not_issued > 0 {
                self.shared.lock().not_issued += not_issued;
            }
        }
        let until = self.shared.t0.elapsed();
        self.shared.lock().issuing_until = Some(until);
        // Every permit back means every request task has finished. The semaphore is never
        // closed, so this cannot fail.
        let n = u32::try_from(self.spec.concurrency).unwrap_or(u32::MAX);
        let _ = permits.acquire_many(n).await;
    }
}

/// Builds a session with the driver's defaults.
async fn connect(nodes: &[SocketAddr]) -> Result<Session> {
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        SessionBuilder::new().known_nodes_addr(nodes).build(),
    )
    .await
    .map_err(|_| anyhow!("no CQL session with {nodes:?} within {CONNECT_TIMEOUT:?}"))?
    .with_context(|| format!("connecting to {nodes:?}"))
}

/// Reads `key`: Ok(found) or Err(failure kind).
async fn read(session: &Session, select: &PreparedStatement, key: i64) -> Result<bool, String> {
    let result = session
        .execute_unpaged(select, (key,))
        .await
        .map_err(|e| failure_kind(&e))?;
    let rows = result
        .into_rows_result()
        .map_err(|_| "other:not_rows".to_owned())?;
    let row = rows
        .maybe_first_row::<(Option<Vec<u8>>,)>()
        .map_err(|_| "other:bad_row".to_owned())?;
    Ok(row.is_some())
}

/// Reads back every key in `acked` at `consistency` (concurrently, each key up to 3 times
/// on an error); returns the keys not found. Errors if a key could not be read at all.
pub fn missing_writes(
    netns: Option<&Netns>,
    nodes: &[SocketAddr],
    keyspace: &str,
    acked: &[i64],
    consistency: Consistency,
) -> Result<Vec<i64>> {
    check(netns, nodes, None, keyspace, acked, consistency)
}

/// [`missing_writes`] with every read coordinated by `coordinator` alone (the driver sends
/// nothing to another node). With a replication factor equal to the ring's size the
/// coordinator is a replica of every key, and at ONE Cassandra answers from its own data:
/// what one node holds by itself.
pub fn missing_writes_through(
    netns: Option<&Netns>,
    coordinator: SocketAddr,
    keyspace: &str,
    acked: &[i64],
    consistency: Consistency,
) -> Result<Vec<i64>> {
    check(
        netns,
        &[coordinator],
        Some(coordinator),
        keyspace,
        acked,
        consistency,
    )
}

fn check(
    netns: Option<&Netns>,
    nodes: &[SocketAddr],
    coordinator: Option<SocketAddr>,
    keyspace: &str,
    acked: &[i64],
    consistency: Consistency,
) -> Result<Vec<i64>> {
    check_keyspace_name(keyspace)?;
    let nodes = nodes.to_vec();
    let keyspace = keyspace.to_owned();
    let acked = acked.to_vec();
    spawn_in(netns, "load-check", move || -> Result<Vec<i64>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(check_keys(nodes, coordinator, keyspace, acked, consistency))
    })?
    .join()
    .map_err(|_| anyhow!("the check thread panicked"))??
}

async fn check_keys(
    nodes: Vec<SocketAddr>,
    coordinator: Option<SocketAddr>,
    keyspace: String,
    acked: Vec<i64>,
    consistency: Consistency,
) -> Result<Vec<i64>> {
    let session = Arc::new(connect(&nodes).await?);
    let mut select = session
        .prepare(format!("SELECT v FROM {keyspace}.kv WHERE k = ?"))
        .await
        .context("preparing the select")?;
    select.set_consistency(consistency);
    if let Some(addr) = coordinator {
        use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
        select.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
            NodeIdentifier::NodeAddress(addr),
            None,
        )));
    }
    let select = Arc::new(select);
    let permits = Arc::new(Semaphore::new(CHECK_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for key in acked {
        // Never closed: acquiring cannot fail.
        let permit = permits.clone().acquire_owned().await?;
        let (session, select) = (session.clone(), select.clone());
        tasks.spawn(async move {
            let mut last = String::new();
            for _ in 0..CHECK_ATTEMPTS {
                match read(&session, &select, key).await {
                    Ok(found) => {
                        drop(permit);
                        return (key, Ok(found));
                    }
                    Err(kind) => last = kind,
                }
            }
            drop(permit);
            (key, Err(last))
        });
    }
    let mut missing = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        match done? {
            (_, Ok(true)) => {}
            (key, Ok(false)) => missing.push(key),
            (_, Err(kind)) => *errors.entry(kind).or_default() += 1,
        }
    }
    if !errors.is_empty() {
        bail!("could not read back every acknowledged write: failures {errors:?}");
    }
    missing.sort_unstable();
    Ok(missing)
}

fn check_keyspace_name(ks: &str) -> Result<()> {
    let ok = !ks.is_empty()
        && ks.len() <= 48
        && ks.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !ks.starts_with('_');
    if !ok {
        bail!("keyspace name {ks:?} is not a plain CQL identifier (letters, digits, _)");
    }
    Ok(())
}

/// A short, stable label for a failed request: what an operator would count.
///
/// Server answers: `unavailable`, `overloaded`, `is_bootstrapping`, `read_timeout`,
/// `write_timeout`, `read_failure`, `write_failure`, `server_error`, `other:db:<Variant>`.
/// The client side: `client_timeout` (the driver's request timeout), `broken_connection`
/// (a connection broke with the request on it), `no_connection` (no connection pool to the
/// chosen node), `empty_plan` (the load balancing policy had no node to try),
/// `no_stream_id`, `other:<Variant>` for the rest.
///
/// Seen with Cassandra 5.0.8 when its only node gets SIGTERM under load: one `overloaded`
/// (Cassandra answers a request that arrives while it shuts down with Overloaded, "Server
/// is shutting down"), one `broken_connection`, then `no_connection` until it is back.
pub fn failure_kind(err: &ExecutionError) -> String {
    match err {
        ExecutionError::RequestTimeout(_) => "client_timeout".into(),
        ExecutionError::ConnectionPoolError(_) => "no_connection".into(),
        ExecutionError::EmptyPlan => "empty_plan".into(),
        ExecutionError::LastAttemptError(attempt) => attempt_kind(attempt),
        other => format!("other:{}", variant_name(other)),
    }
}

fn attempt_kind(err: &RequestAttemptError) -> String {
    match err {
        RequestAttemptError::BrokenConnectionError(_) => "broken_connection".into(),
        RequestAttemptError::UnableToAllocStreamId => "no_stream_id".into(),
        RequestAttemptError::DbError(db, _) => db_kind(db),
        other => format!("other:{}", variant_name(other)),
    }
}

fn db_kind(err: &DbError) -> String {
    let kind = match err {
        DbError::Unavailable { .. } => "unavailable",
        DbError::Overloaded => "overloaded",
        DbError::IsBootstrapping => "is_bootstrapping",
        DbError::ReadTimeout { .. } => "read_timeout",
        DbError::WriteTimeout { .. } => "write_timeout",
        DbError::ReadFailure { .. } => "read_failure",
        DbError::WriteFailure { .. } => "write_failure",
        DbError::ServerError => "server_error",
        other => return format!("other:db:{}", variant_name(other)),
    };
    kind.into()
}

/// The variant name from a Debug rendering (`WriteTimeout { .. }` → `WriteTimeout`).
fn variant_name(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The `p`th percentile (nearest rank) of ascending `sorted` values; 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The longest stretch without a success, from successes reported in any order of
/// arrival (times since issuing began).
#[derive(Debug, Default, Clone, Copy)]
pub struct GapTracker {
    last: Duration,
    longest: Duration,
}

impl GapTracker {
    /// A request succeeded at `at`.
    pub fn success(&mut self, at: Duration) {
        if at > self.last {
            self.longest = self.longest.max(at - self.last);
            self.last = at;
        }
    }

    /// The longest gap, counting a gap still open at `end`.
    pub fn longest_until(&self, end: Duration) -> Duration {
        self.longest.max(end.saturating_sub(self.last))
    }
}

/// One entry of the failure timeline: failures of one kind from `at` on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureEntry {
    /// Seconds since the load started, of the first failure the entry counts.
    pub at: f64,
    /// The failure kind (see [`failure_kind`]).
    pub kind: String,
    /// Failures counted here: the first, and each later one of the same kind less than
    /// [`TIMELINE_RESOLUTION`] after the entry began.
    pub count: u64,
}

/// The failure timeline: the first [`TIMELINE_CAP`] entries, where a failure of the same
/// kind as the previous entry, less than [`TIMELINE_RESOLUTION`] after it, is counted in
/// that entry. Past the cap, failures are only counted in [`LoadReport::failures`].
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    pub entries: Vec<FailureEntry>,
    /// When the last entry began.
    last: Duration,
}

impl Timeline {
    /// A failure of `kind` at `at` (times arrive in order, give or take a lock).
    pub fn push(&mut self, at: Duration, kind: &str) {
        if let Some(entry) = self.entries.last_mut()
            && entry.kind == kind
            && at.saturating_sub(self.last) < TIMELINE_RESOLUTION
        {
            entry.count += 1;
            return;
        }
        if self.entries.len() >= TIMELINE_CAP {
            return;
        }
        self.entries.push(FailureEntry {
            at: at.as_secs_f64(),
            kind: kind.to_owned(),
            count: 1,
        });
        self.last = at;
    }
}

/// What one tick of the schedule does.
#[derive(Debug, PartialEq, Eq)]
pub struct Pace {
    /// Requests to issue now.
    pub issue: u64,
    /// Requests dropped from the schedule after a stall (more than [`MAX_CATCH_UP`]).
    pub drop: u64,
}

/// `rate` requests/s from time zero: at `elapsed`, with `scheduled` handled so far, how
/// many are due.
pub fn pace(elapsed: Duration, rate: u32, scheduled: u64) -> Pace {
    let due = (elapsed.as_secs_f64() * f64::from(rate)) as u64;
    let owed = due.saturating_sub(scheduled);
    let cap = ((MAX_CATCH_UP.as_secs_f64() * f64::from(rate)) as u64).max(1);
    Pace {
        issue: owed.min(cap),
        drop: owed.saturating_sub(cap),
    }
}

/// Parses `500ms`, `60s`, `2m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 500ms, 60s, 2m or 1h"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("{s:?} is not a duration like 500ms, 60s, 2m or 1h")),
    }
}

/// Parses a consistency level by its CQL name, any case (`quorum`, `LOCAL_QUORUM`, `one`).
pub fn parse_consistency(s: &str) -> Result<Consistency, String> {
    Ok(match s.to_ascii_lowercase().replace('-', "_").as_str() {
        "any" => Consistency::Any,
        "one" => Consistency::One,
        "two" => Consistency::Two,
        "three" => Consistency::Three,
        "quorum" => Consistency::Quorum,
        "all" => Consistency::All,
        "local_quorum" => Consistency::LocalQuorum,
        "each_quorum" => Consistency::EachQuorum,
        "local_one" => Consistency::LocalOne,
        _ => {
            return Err(format!(
                "{s:?} is not a consistency level (one, two, three, quorum, all, local_quorum, each_quorum, local_one, any)"
            ));
        }
    })
}

/// Parses a share between 0 and 1.
pub fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number from 0 to 1")),
    }
}

/// Bytes of each row [`fill_blobs`] writes: 1 MiB.
pub const BLOB_BYTES: usize = 1 << 20;
/// Attempts per row in [`fill_blobs`] (a 1 MiB write can time out on a busy node; the
/// same key with the same bytes is written again).
const FILL_ATTEMPTS: u32 = 5;
/// Rows per page when [`count_blob_rows`] reads a table of 1 MiB rows.
const COUNT_PAGE: i32 = 32;
/// Bound on each request of the blob table helpers (a TRUNCATE flushes and snapshots).
const BLOB_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What [`fill_blobs`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct FillReport {
    /// `<keyspace>.<table>`.
    pub table: String,
    /// The first key written; the rows are `first_key..first_key + rows`.
    pub first_key: i64,
    /// Rows written (each acknowledged).
    pub rows: u64,
    /// Payload bytes written (`rows` × [`BLOB_BYTES`]).
    pub bytes: u64,
    /// Writes sent again after a failed attempt.
    pub retries: u64,
    /// From the session's start to the last acknowledgement.
    #[serde(serialize_with = "as_secs")]
    pub duration: Duration,
}

/// The 1 MiB of row `key`: pseudo-random bytes (incompressible: the table's SSTables hold
/// as many bytes as were written), the same for the same key.
pub fn blob(key: i64) -> Vec<u8> {
    let mut rng = SplitMix64::new((key as u64) ^ 0x6a09_e667_f3bc_c908);
    let mut bytes = Vec::with_capacity(BLOB_BYTES);
    while bytes.len() < BLOB_BYTES {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes
}

/// Writes `rows` rows of [`blob`]s into `<keyspace>.<table>` (`k bigint PRIMARY KEY, v
/// blob`; the keyspace created with SimpleStrategy RF 1 and the table created if missing),
/// keys `first_key..first_key + rows`, at CL ONE through `node` alone, at most
/// `concurrency` in flight; each row tried up to [`FILL_ATTEMPTS`] times.
pub fn fill_blobs(
    netns: Option<&Netns>,
    node: SocketAddr,
    keyspace: &str,
    table: &str,
    first_key: i64,
    rows: u64,
    concurrency: usize,
) -> Result<FillReport> {
    check_keyspace_name(keyspace)?;
    check_keyspace_name(table)?;
    if concurrency == 0 || concurrency > Semaphore::MAX_PERMITS {
        bail!("concurrency {concurrency} is out of range");
    }
    let (ks, t) = (keyspace.to_owned(), table.to_owned());
    on_runtime(netns, "fill", async move {
        let started = Instant::now();
        let session = Arc::new(connect(&[node]).await?);
        for statement in [
            format!(
                "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = \
                 {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            format!("CREATE TABLE IF NOT EXISTS {ks}.{t} (k bigint PRIMARY KEY, v blob)"),
        ] {
            session
                .query_unpaged(long_statement(&statement), &[])
                .await
                .with_context(|| statement.clone())?;
        }
        let mut insert = session
            .prepare(format!("INSERT INTO {ks}.{t} (k, v) VALUES (?, ?)"))
            .await
            .context("preparing the insert")?;
        insert.set_consistency(Consistency::One);
        insert.set_is_idempotent(true);
        let insert = Arc::new(insert);
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        let mut written = 0u64;
        let mut retries = 0u64;
        let mut collect = |done: Result<Result<u32>, tokio::task::JoinError>| -> Result<()> {
            let attempts = done??;
            written += 1;
            retries += u64::from(attempts - 1);
            Ok(())
        };
        for key in first_key..first_key + i64::try_from(rows)? {
            // Never closed: acquiring cannot fail. At most `concurrency` blobs in memory.
            let permit = permits.clone().acquire_owned().await?;
            let (session, insert) = (session.clone(), insert.clone());
            tasks.spawn(async move {
                let value = blob(key);
                let mut attempt = 1;
                loop {
                    match session.execute_unpaged(&insert, (key, &value)).await {
                        Ok(_) => break,
                        Err(e) if attempt >= FILL_ATTEMPTS => {
                            return Err(anyhow!(e).context(format!(
                                "writing key {key}: {FILL_ATTEMPTS} attempts failed"
                            )));
                        }
                        Err(_) => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
                drop(permit);
                Ok(attempt)
            });
            while let Some(done) = tasks.try_join_next() {
                collect(done)?;
            }
        }
        while let Some(done) = tasks.join_next().await {
            collect(done)?;
        }
        Ok(FillReport {
            table: format!("{ks}.{t}"),
            first_key,
            rows: written,
            bytes: written * BLOB_BYTES as u64,
            retries,
            duration: started.elapsed(),
        })
    })
}

/// The rows of `<keyspace>.<table>` that `node` answers with at CL ONE (only the keys
/// are selected, a few rows per page: each row may be 1 MiB on disk).
pub fn count_blob_rows(
    netns: Option<&Netns>,
    node: SocketAddr,
    keyspace: &str,
    table: &str,
) -> Result<u64> {
    check_keyspace_name(keyspace)?;
    check_keyspace_name(table)?;
    let query = format!("SELECT k FROM {keyspace}.{table}");
    on_runtime(netns, "count", async move {
        let session = connect(&[node]).await?;
        let mut select = long_statement(&query);
        select.set_consistency(Consistency::One);
        select.set_page_size(COUNT_PAGE);
        let mut count = 0u64;
        let mut state = scylla::response::PagingState::start();
        loop {
            let (result, next) = session
                .query_single_page(select.clone(), &[], state)
                .await
                .with_context(|| query.clone())?;
            count += result.into_rows_result()?.rows_num() as u64;
            match next.into_paging_control_flow() {
                std::ops::ControlFlow::Break(()) => return Ok(count),
                std::ops::ControlFlow::Continue(s) => state = s,
            }
        }
    })
}

/// Runs one CQL statement (a TRUNCATE, a schema change) through `node`.
pub fn run_statement(netns: Option<&Netns>, node: SocketAddr, statement: &str) -> Result<()> {
    let statement = statement.to_owned();
    on_runtime(netns, "cql", async move {
        let session = connect(&[node]).await?;
        session
            .query_unpaged(long_statement(&statement), &[])
            .await
            .with_context(|| statement.clone())?;
        Ok(())
    })
}

/// A statement with [`BLOB_REQUEST_TIMEOUT`] as its request timeout.
fn long_statement(text: &str) -> scylla::statement::Statement {
    let mut statement = scylla::statement::Statement::new(text);
    statement.set_request_timeout(Some(BLOB_REQUEST_TIMEOUT));
    statement
}

/// Runs `work` on a current-thread runtime on a thread that joined `netns`.
fn on_runtime<T: Send + 'static>(
    netns: Option<&Netns>,
    name: &str,
    work: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    spawn_in(netns, name, move || -> Result<T> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(work)
    })?
    .join()
    .map_err(|_| anyhow!("the {name} thread panicked"))??
}

/// SplitMix64: enough randomness to mix reads and writes and pick keys, no dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n), n > 0 (modulo bias is negligible for our n).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scylla::errors::{BrokenConnectionErrorKind, ConnectionPoolError, WriteType};

    #[test]
    fn percentiles() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        let cases: &[(&[f64], f64, f64)] = &[
            (&[], 50.0, 0.0),
            (&[7.0], 50.0, 7.0),
            (&[7.0], 99.0, 7.0),
            (&[1.0, 2.0], 50.0, 1.0),
            (&[1.0, 2.0], 99.0, 2.0),
            (&[1.0, 2.0, 3.0], 50.0, 2.0),
            (&hundred, 50.0, 50.0),
            (&hundred, 99.0, 99.0),
            (&hundred, 100.0, 100.0),
            (&hundred, 0.0, 1.0),
        ];
        for &(values, p, want) in cases {
            assert_eq!(percentile(values, p), want, "p{p} of {values:?}");
        }
    }

    #[test]
    fn longest_gaps() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        // (successes in arrival order, end, longest gap)
        let cases: &[(&[Duration], Duration, Duration)] = &[
            (&[], s(5), s(5)),
            (&[s(1), s(2), s(3)], s(3), s(1)),
            (&[ms(100), ms(200), s(4), ms(4100)], ms(4200), ms(3800)),
            // An outage still going on at the end counts.
            (&[s(1), s(2)], s(10), s(8)),
            // A late arrival of an earlier success does not shorten or lengthen a gap.
            (&[s(1), s(5), s(3)], s(5), s(4)),
            // Successes after issuing stopped (in-flight requests) close the last gap.
            (&[s(1), s(7)], s(6), s(6)),
        ];
        for &(successes, end, want) in cases {
            let mut g = GapTracker::default();
            for &at in successes {
                g.success(at);
            }
            assert_eq!(g.longest_until(end), want, "{successes:?} until {end:?}");
        }
    }

    #[test]
    fn timeline_thinning() {
        let ms = Duration::from_millis;
        /// (ms since start, kind) of each failure.
        type Failures<'a> = &'a [(u64, &'a str)];
        /// (seconds since start, kind, count) of each entry kept.
        type Kept<'a> = &'a [(f64, &'a str, u64)];
        let cases: &[(Failures, Kept)] = &[
            (&[], &[]),
            (&[(1000, "a")], &[(1.0, "a", 1)]),
            // Same kind every 5 ms: one entry per 100 ms.
            (
                &[
                    (1000, "a"),
                    (1005, "a"),
                    (1099, "a"),
                    (1100, "a"),
                    (1105, "a"),
                ],
                &[(1.0, "a", 3), (1.1, "a", 2)],
            ),
            // A change of kind is always entered.
            (
                &[(1000, "a"), (1001, "b"), (1002, "a"), (1003, "a")],
                &[(1.0, "a", 1), (1.001, "b", 1), (1.002, "a", 2)],
            ),
        ];
        for &(failures, want) in cases {
            let mut t = Timeline::default();
            for &(at, kind) in failures {
                t.push(ms(at), kind);
            }
            let want: Vec<FailureEntry> = want
                .iter()
                .map(|&(at, kind, count)| FailureEntry {
                    at,
                    kind: kind.to_owned(),
                    count,
                })
                .collect();
            assert_eq!(t.entries, want, "{failures:?}");
        }
        let mut full = Timeline::default();
        for i in 0..(TIMELINE_CAP as u64 + 10) {
            full.push(ms(i * 100), "a");
        }
        assert_eq!(full.entries.len(), TIMELINE_CAP);
        assert_eq!(
            full.entries.last().unwrap().at,
            (TIMELINE_CAP as f64 - 1.0) / 10.0
        );
    }

    #[test]
    fn failure_kinds() {
        let db = |e: DbError| {
            ExecutionError::LastAttemptError(RequestAttemptError::DbError(e, "msg".into()))
        };
        let cases: Vec<(ExecutionError, &str)> = vec![
            (
                ExecutionError::RequestTimeout(Duration::from_secs(12)),
                "client_timeout",
            ),
            (ExecutionError::EmptyPlan, "empty_plan"),
            (
                ExecutionError::ConnectionPoolError(ConnectionPoolError::Initializing),
                "no_connection",
            ),
            (
                ExecutionError::LastAttemptError(RequestAttemptError::BrokenConnectionError(
                    BrokenConnectionErrorKind::ChannelError.into(),
                )),
                "broken_connection",
            ),
            (
                ExecutionError::LastAttemptError(RequestAttemptError::UnableToAllocStreamId),
                "no_stream_id",
            ),
            (
                db(DbError::Unavailable {
                    consistency: Consistency::Quorum,
                    required: 2,
                    alive: 1,
                }),
                "unavailable",
            ),
            (db(DbError::Overloaded), "overloaded"),
            (db(DbError::IsBootstrapping), "is_bootstrapping"),
            (
                db(DbError::WriteTimeout {
                    consistency: Consistency::Quorum,
                    received: 1,
                    required: 2,
                    write_type: WriteType::Simple,
                }),
                "write_timeout",
            ),
            (
                db(DbError::ReadTimeout {
                    consistency: Consistency::Quorum,
                    received: 1,
                    required: 2,
                    data_present: false,
                }),
                "read_timeout",
            ),
            (db(DbError::ServerError), "server_error"),
            (db(DbError::Invalid), "other:db:Invalid"),
            (
                db(DbError::AlreadyExists {
                    keyspace: "ks".into(),
                    table: "t".into(),
                }),
                "other:db:AlreadyExists",
            ),
            (
                ExecutionError::LastAttemptError(RequestAttemptError::RepreparedIdMissingInBatch),
                "other:RepreparedIdMissingInBatch",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(failure_kind(&err), want, "{err:?}");
        }
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Option<Duration>)] = &[
            ("500ms", Some(Duration::from_millis(500))),
            ("60s", Some(Duration::from_secs(60))),
            ("0s", Some(Duration::ZERO)),
            ("2m", Some(Duration::from_secs(120))),
            ("1h", Some(Duration::from_secs(3600))),
            ("60", None),
            ("s", None),
            ("", None),
            ("1.5s", None),
            ("-1s", None),
            ("10 s", None),
            ("10d", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_duration(text).ok(), want, "{text:?}");
        }
    }

    #[test]
    fn consistencies_and_shares() {
        assert_eq!(parse_consistency("quorum"), Ok(Consistency::Quorum));
        assert_eq!(
            parse_consistency("LOCAL_QUORUM"),
            Ok(Consistency::LocalQuorum)
        );
        assert_eq!(parse_consistency("local-one"), Ok(Consistency::LocalOne));
        assert!(parse_consistency("serial").is_err());
        let shares: &[(&str, Option<f64>)] = &[
            ("0", Some(0.0)),
            ("0.5", Some(0.5)),
            ("1", Some(1.0)),
            ("1.5", None),
            ("-0.1", None),
            ("NaN", None),
            ("half", None),
        ];
        for &(text, want) in shares {
            assert_eq!(parse_share(text).ok(), want, "{text:?}");
        }
    }

    #[test]
    fn pacing() {
        let ms = Duration::from_millis;
        // (elapsed, rate, scheduled so far, issue, drop)
        let cases = [
            (ms(0), 200, 0, 0, 0),
            (ms(5), 200, 0, 1, 0),
            (ms(9), 200, 1, 0, 0),
            (ms(1000), 200, 195, 5, 0),
            // 10 000/s on a 1 ms tick: 10 per tick.
            (ms(1), 10_000, 0, 10, 0),
            // A 1 s stall at 200/s: 100 ms (20) caught up, 180 dropped.
            (ms(1000), 200, 0, 20, 180),
            // Slow rates still catch up at least one.
            (ms(3000), 1, 1, 1, 1),
            // Ahead of schedule: nothing.
            (ms(10), 200, 5, 0, 0),
        ];
        for (elapsed, rate, scheduled, issue, drop) in cases {
            assert_eq!(
                pace(elapsed, rate, scheduled),
                Pace { issue, drop },
                "{elapsed:?} at {rate}/s after {scheduled}"
            );
        }
    }

    #[test]
    fn report_of_a_recorder() {
        let mut r = Recorder {
            writes_ok: 2,
            reads_ok: 1,
            latencies_us: vec![3000, 1000, 2000],
            acked: vec![10, 11],
            ..Recorder::default()
        };
        r.failures.insert("unavailable".into(), 3);
        r.failures.insert("read_missing".into(), 1);
        r.gaps.success(Duration::from_secs(1));
        r.issuing_until = Some(Duration::from_secs(4));
        let report = r.report(Duration::from_secs(9));
        assert_eq!(report.failed(), 4);
        assert_eq!(report.duration, Duration::from_secs(4));
        assert_eq!(report.longest_gap, Duration::from_secs(3));
        assert_eq!(
            (report.latency_p50, report.latency_p99, report.latency_max),
            (2.0, 3.0, 3.0)
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["duration"], 4.0);
        assert_eq!(json["longest_gap"], 3.0);
        assert!(json.get("acked").is_none());
    }

    #[test]
    fn blobs_are_a_mebibyte_distinct_and_repeatable() {
        let a = blob(7);
        assert_eq!(a.len(), BLOB_BYTES);
        assert_eq!(a, blob(7));
        assert_ne!(a, blob(8));
        // Not a repeated pattern: the first and second halves differ.
        assert_ne!(a[..BLOB_BYTES / 2], a[BLOB_BYTES / 2..]);
    }

    #[test]
    fn splitmix_stays_in_range() {
        let mut rng = SplitMix64::new(42);
        for _ in 0..10_000 {
            let f = rng.next_f64();
            assert!((0.0..1.0).contains(&f));
            assert!(rng.below(7) < 7);
        }
    }
}
