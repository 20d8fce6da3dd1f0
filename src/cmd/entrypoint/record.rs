//! What the entrypoint keeps while Cassandra runs: the join record on the volume
//! (`Recorder`) and this pod's entry in the identity record in the Kubernetes API
//! (`IdentityWriter`). Both are what later boots decide from: a restart lists the node as
//! its own seed only with a join record, and a pod that lost its disk replaces its node
//! automatically from the identity record.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::config::Identity;
use crate::decide::api_facts::{ApiFacts, Fact, SetFacts};
use crate::decide::cluster_record::PodEntry;
use crate::decide::data::{JoinRecord, identity_changes, record_of};
use crate::decide::events;
use crate::decide::retry;
use crate::decide::ring::Bootstrapped;
use crate::decide::seeds::BootMode;
use crate::edge::cql::{self, CqlError, CqlSettings};
use crate::edge::datadir;
use crate::edge::kube::{Events, Kube};

/// How often the entrypoint asks the local node whether it has joined.
const JOIN_POLL: Duration = Duration::from_secs(3);
/// How often it reads the ring again to keep the record current once joined: members
/// join, leave and change addresses over the node's life, and a restart compares
/// candidates with the ring as last seen.
const RECORD_REFRESH: Duration = Duration::from_secs(30);
/// How long the join may stay unconfirmed before each warning (a bootstrap or replace
/// streams for as long as the data takes, without CQL).
const JOIN_WARN_EVERY: Duration = Duration::from_secs(600);
/// How often after the node rejected the credentials: roles may appear later (the
/// default superuser is created `superuser_setup_delay_ms` after the first start, an
/// operator may create the probe's role later), but failed logins are logged by the node.
const JOIN_POLL_AFTER_AUTH_ERROR: Duration = Duration::from_secs(30);

/// Keeps the join record (`ringkeeper-joined` in `--data-dir`) for the node it
/// supervises. A node that started without a confirmed join (new, replacing, or restarting
/// after an interrupted bootstrap) is watched until `system.local` says COMPLETED; then,
/// and every `RECORD_REFRESH` while it runs, its host ID and the ring members it sees are
/// written whenever they changed. Later restarts list the node as its own seed only with
/// a record, and take as seeds only candidates whose ring lists this host ID.
pub(super) struct Recorder {
    ip: IpAddr,
    settings: CqlSettings,
    data_dir: PathBuf,
    /// The record on disk, once there is one.
    last: Option<JoinRecord>,
    /// Where to announce the first record (a confirmed join), and how the node booted.
    joined: (Events, BootMode),
    /// Keeps this pod's entry in the identity record in the Kubernetes API, when there
    /// is access.
    identity: Option<IdentityWriter>,
}

/// This pod's entry in the identity record (`decide::cluster_record`): written once the
/// node is NORMAL (its join confirmed) at each start, again when what it says changes (an
/// address, a rack) or its data volume's free space moved by 1 % of the volume (a
/// scale-down judges the room there from it, `decide::scale_down::room`), and every `IDENTITY_REFRESH` in any case (so an entry someone removed
/// comes back, and `last_seen` stays current). Whether or not the record could be read at
/// boot in time: an API server that was slow then must not leave this pod without an entry for its
/// whole run (had it then lost its disk, nothing would replace it). A failed write is
/// retried sooner than the Recorder's refresh at first (`retry::after_failed_writes`),
/// logged once and raised once as a Warning Event, and a write that succeeds after
/// failures is raised as a Normal Event.
struct IdentityWriter {
    kube: Kube,
    set: SetFacts,
    events: Events,
    /// The entry last written by this process, and when.
    written: Option<(PodEntry, tokio::time::Instant)>,
    /// Writes that failed since the last one that succeeded.
    failures: u32,
}

/// How often this pod's entry is written again although it did not change.
const IDENTITY_REFRESH: Duration = Duration::from_secs(600);

impl IdentityWriter {
    /// A writer whenever the API can be asked; the set as the API described it, or by the
    /// name parsed from the pod name (the record's name is all a write needs).
    fn new(
        kube: &Kube,
        facts: &ApiFacts,
        parsed_set: &str,
        events: &Events,
    ) -> Option<IdentityWriter> {
        // No client at all (not in a cluster, no token, off), or a definite "no" to the
        // read (denied): the one line about the API's gaps said "no identity record", and
        // a write would only fail the same way. A read that came late or not at all is no
        // answer: the writes go on in the background.
        let readable = match &facts.record {
            Fact::Known(_) => true,
            Fact::Unknown(u) => u.missing == crate::decide::api_facts::Missing::Late,
            Fact::NotAsked => false,
        };
        if !readable || !matches!(kube.access(), crate::decide::api_facts::Access::Connected) {
            return None;
        }
        let set = match &facts.set {
            Fact::Known(set) => set.clone(),
            _ => SetFacts {
                name: parsed_set.to_owned(),
                ..SetFacts::default()
            },
        };
        Some(IdentityWriter {
            kube: kube.again(),
            set,
            events: events.clone(),
            written: None,
            failures: 0,
        })
    }

    async fn keep(&mut self, record: &JoinRecord, tokens: usize, space: Option<(u64, u64)>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(entry) = PodEntry::of(record, tokens, now) else {
            debug!("no cluster name or address yet: identity record not written");
            return;
        };
        let entry = entry.with_space(space);
        if self.written.as_ref().is_some_and(|(w, at)| {
            w.same_node(&entry) && !entry.space_moved(w) && at.elapsed() < IDENTITY_REFRESH
        }) {
            return;
        }
        let configmap = crate::decide::cluster_record::configmap_name(&self.set.name);
        // A fresh mark each time: a client that once went unanswered sends nothing more
        // (`Kube::again`), and these writes are the ones that must go on trying.
        match self.kube.again().write_identity(&self.set, &entry).await {
            Ok(()) => {
                let first = self.written.is_none();
                if first || self.failures > 0 {
                    info!(
                        %configmap, host_id = %entry.host_id, address = %entry.address,
                        failed_before = self.failures,
                        "identity record written: a later boot of this pod without its data replaces this node, and ordinal 0 never founds a second cluster"
                    );
                } else {
                    debug!(%configmap, "identity record entry refreshed");
                }
                if self.failures > 0 {
                    let _ = self
                        .events
                        .spawn(events::record_written(&configmap, self.failures));
                }
                self.written = Some((entry, tokio::time::Instant::now()));
                self.failures = 0;
            }
            Err(why) => {
                self.failures += 1;
                if self.failures == 1 {
                    warn!(why = %why, %configmap, "identity record not written; retrying after 5 s, then less often, up to every 30 s while the node runs");
                    let _ = self
                        .events
                        .spawn(events::record_not_written(&configmap, &why));
                } else {
                    debug!(why = %why, failures = self.failures, "identity record still not written");
                }
            }
        }
    }
}

impl Recorder {
    /// The recorder for the node this pod starts as `mode`: `record` is the join record
    /// the boot trusted (`None`: the join is watched for), and the first record written is
    /// announced on `events`.
    pub(super) fn new(
        identity: &Identity,
        settings: &CqlSettings,
        record: Option<JoinRecord>,
        kube: &Kube,
        facts: &ApiFacts,
        events: Events,
        mode: BootMode,
    ) -> Recorder {
        Recorder {
            ip: identity.pod_ip,
            settings: settings.clone(),
            data_dir: identity.data_dir.clone(),
            last: record,
            identity: IdentityWriter::new(kube, facts, &identity.pod.set, &events),
            joined: (events, mode),
        }
    }

    /// Reads the local node until it is stopped (aborted when Cassandra ends).
    pub(super) async fn run(mut self) {
        let mut pause = self.next_read();
        let mut auth_warned = false;
        let mut next_warning = tokio::time::Instant::now() + JOIN_WARN_EVERY;
        let mut last_answer = String::from("no answer yet");
        loop {
            tokio::time::sleep(pause).await;
            pause = self.next_read();
            if self.last.is_none() && tokio::time::Instant::now() >= next_warning {
                warn!(
                    last_answer = %last_answer,
                    "the join is still not confirmed (a bootstrap may still be streaming); until it \
                     is, restarts will not list this node as its own seed"
                );
                next_warning += JOIN_WARN_EVERY;
            }
            let observed = async {
                let node = cql::connect(self.ip, &self.settings).await?;
                let local = node.local().await?;
                if Bootstrapped::parse(local.bootstrapped.as_deref()) != Bootstrapped::Completed {
                    return Ok((local, None));
                }
                let peers = node.peers().await?;
                Ok::<_, CqlError>((local, Some(peers)))
            };
            match observed.await {
                Ok((local, Some(peers))) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    match record_of(&local, &peers, now) {
                        Some(record) => {
                            self.keep(record);
                            if let (Some(writer), Some(kept)) = (&mut self.identity, &self.last) {
                                let space = datadir::space(&self.data_dir)
                                    .inspect_err(
                                        |e| debug!(error = %e, "the data volume's free space"),
                                    )
                                    .ok();
                                writer.keep(kept, local.tokens, space).await;
                            }
                        }
                        None => debug!("the local node reports no host ID yet"),
                    }
                }
                Ok((local, None)) => {
                    debug!(bootstrapped = ?local.bootstrapped, "node has not joined yet");
                    last_answer = format!("bootstrapped = {:?}", local.bootstrapped);
                }
                Err(CqlError::Auth { .. }) => {
                    last_answer = "the local node rejected the CQL credentials".to_owned();
                    if !auth_warned {
                        warn!(
                            "the local node rejected the CQL credentials: the join is not recorded \
                             or kept current; retrying every 30 s"
                        );
                        auth_warned = true;
                    }
                    pause = JOIN_POLL_AFTER_AUTH_ERROR;
                }
                Err(e) => {
                    debug!(error = %e, "local node not answering CQL");
                    last_answer = e.to_string();
                }
            }
        }
    }

    /// How long until the next read: polling for the join until there is a record, then
    /// the slower refresh, sooner while the identity record's entry could not be written.
    fn next_read(&self) -> Duration {
        match (&self.last, &self.identity) {
            (None, _) => JOIN_POLL,
            (Some(_), Some(writer)) if writer.failures > 0 => {
                retry::after_failed_writes(writer.failures).min(RECORD_REFRESH)
            }
            (Some(_), _) => RECORD_REFRESH,
        }
    }

    /// Writes `record` if it differs from the last one written.
    fn keep(&mut self, record: JoinRecord) {
        if self
            .last
            .as_ref()
            .is_some_and(|last| last.same_ring(&record))
        {
            return;
        }
        if let Some(last) = &self.last {
            for (address, before, now) in identity_changes(last, &record) {
                warn!(
                    %address,
                    before = %before,
                    now = %now,
                    "a ring member changed host ID at the same address without a replace (a replace \
                     there keeps the host ID): a node that founded a new, empty cluster may have merged \
                     into this ring; check `ringkeeper status` and Cassandra's \"Changing ...'s host ID\" log"
                );
            }
        }
        let peers = record.peers.as_ref().map_or(0, Vec::len);
        match datadir::write_record(&self.data_dir, &record) {
            Ok(()) if self.last.is_none() => {
                info!(
                    host_id = %record.host_id,
                    peers,
                    "node joined the ring: join recorded in --data-dir"
                );
                // A replace, if this start was one, is over.
                if let Err(e) = datadir::remove_replacing(&self.data_dir) {
                    warn!(error = %e, "cannot remove the replace marker: the next start removes it (the join record shows the replace finished)");
                }
                let (events, mode) = &self.joined;
                if let Some(event) = events::joined(mode, &record.host_id, peers) {
                    events.spawn(event);
                }
            }
            Ok(()) => info!(
                host_id = %record.host_id,
                peers,
                "ring changed: join record updated"
            ),
            Err(e) => {
                warn!(
                    error = %e,
                    data_dir = %self.data_dir.display(),
                    "cannot write the join record: later restarts will not list this node as its own seed, or check the ring against an old record"
                );
                return;
            }
        }
        self.last = Some(record);
    }
}
