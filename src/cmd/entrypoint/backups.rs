//! Requested backups of the set (`ringkeeper backup request`), taken by each pod with no
//! operator: while Cassandra runs, the entrypoint looks in the store every `--backup-poll`
//! for a request that names its pod (`decide::backup::request::due`) and takes its part as
//! `ringkeeper backup create`, a child process at the lowest CPU and I/O priority (`nice`,
//! `ionice -c 3` where the image has them). A part cut short by the pod's stop is
//! incomplete, and taken again after the next start, within an hour of the request.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::config::{CqlConfig, Identity, Jmx, StoreUrl};
use crate::decide::backup::layout::{self, Key};
use crate::decide::backup::manifest::Request;
use crate::decide::backup::request;
use crate::decide::events;
use crate::decide::ring::Bootstrapped;
use crate::edge::cql::{self, CqlSettings};
use crate::edge::kube::Events;
use crate::edge::store;

/// What the taker needs to run `backup create` for this pod.
pub(super) struct Taker {
    /// The store.
    pub store: StoreUrl,
    /// How often to look.
    pub poll: Duration,
    /// `backup create`'s flags after the name.
    pub create_flags: Vec<OsString>,
    /// This pod.
    pub pod: String,
    /// Its node's address, and how to ask it whether it has joined.
    pub ip: std::net::IpAddr,
    pub settings: CqlSettings,
    /// Where a refused part is reported (`BackupRefused`).
    pub events: Events,
}

impl Taker {
    pub(super) fn new(
        (store, poll): (StoreUrl, Duration),
        identity: &Identity,
        cql: &CqlConfig,
        settings: &CqlSettings,
        jmx: &Jmx,
        events: Events,
    ) -> Self {
        let mut create_flags: Vec<OsString> = vec![
            "--host".into(),
            identity.pod_ip.to_string().into(),
            "--data-dir".into(),
            identity.data_dir.clone().into(),
            "--pod-name".into(),
            identity.pod.to_string().into(),
        ];
        create_flags.extend(cql.to_args());
        create_flags.extend(jmx.to_args());
        Taker {
            store,
            poll,
            create_flags,
            pod: identity.pod.to_string(),
            ip: identity.pod_ip,
            settings: settings.clone(),
            events,
        }
    }

    /// Looks every `poll` and takes what is due, for as long as the task lives.
    pub(super) async fn run(self) {
        let mut tries: BTreeMap<String, u32> = BTreeMap::new();
        // Opened once, and again after a look that failed: keys from a mounted Secret's
        // file are read again once rotated ones are refused.
        let mut opened: Option<store::Store> = None;
        loop {
            tokio::time::sleep(self.poll).await;
            if opened.is_none() {
                match store::open(&self.store) {
                    Ok(store) => opened = Some(store),
                    Err(e) => {
                        warn!(error = %e, "could not open the backup store");
                        continue;
                    }
                }
            }
            let Some(store) = opened.as_ref() else {
                continue;
            };
            let due = match self.due(store, &tries).await {
                Ok(due) => due,
                Err(e) => {
                    warn!(error = %e, "could not look for requested backups");
                    opened = None;
                    continue;
                }
            };
            let Some(name) = due else { continue };
            // Not before the node answers as joined: `backup create` would refuse, and the
            // tries of a start would all be spent while Cassandra starts (after a restart
            // in the middle of a part, the part would then never be taken again).
            if !self.node_joined().await {
                debug!(backup = %name, "a requested backup waits for the node to answer as joined");
                continue;
            }
            *tries.entry(name.clone()).or_default() += 1;
            info!(backup = %name, "taking this pod's part of a requested backup");
            let summary = match self.create(&name).await {
                Ok(summary) => summary,
                Err(e) => {
                    warn!(backup = %name, error = %e, "could not run backup create");
                    continue;
                }
            };
            if let Some(reason) = refusal(&summary) {
                warn!(backup = %name, %reason, "this pod's part of the backup was refused");
                self.events
                    .publish(&events::backup_refused(&name, &reason))
                    .await;
                continue;
            }
            // The store says whether the part is complete (the child's exit status is the
            // supervision loop's: it reaps every child).
            match self.completed(store, &name).await {
                Ok(true) => info!(backup = %name, "this pod's part of the backup is complete"),
                Ok(false) => {
                    warn!(backup = %name, "this pod's part of the backup did not complete")
                }
                Err(e) => {
                    warn!(backup = %name, error = %e, "could not read the store after the backup")
                }
            }
        }
    }

    /// Whether the local node answers CQL with its bootstrap COMPLETED.
    async fn node_joined(&self) -> bool {
        let Ok(node) = cql::connect(self.ip, &self.settings).await else {
            return false;
        };
        node.local().await.is_ok_and(|local| {
            Bootstrapped::parse(local.bootstrapped.as_deref()) == Bootstrapped::Completed
        })
    }

    async fn completed(&self, store: &store::Store, name: &str) -> anyhow::Result<bool> {
        Ok(store
            .read(&layout::member_key(name, &self.pod))
            .await?
            .is_some())
    }

    async fn due(
        &self,
        store: &store::Store,
        tries: &BTreeMap<String, u32>,
    ) -> anyhow::Result<Option<String>> {
        let keys = store.keys(layout::BACKUPS).await?;
        let mut requests = Vec::new();
        let mut done = BTreeSet::new();
        for (key, _) in &keys {
            match layout::parse(key) {
                Key::Request { .. } => {
                    if let Some(bytes) = store.read(key).await? {
                        requests.push(serde_json::from_slice::<Request>(&bytes)?);
                    }
                }
                Key::Member { backup, pod } if pod == self.pod => {
                    done.insert(backup);
                }
                _ => {}
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Ok(request::due(&requests, &self.pod, now, &done, tries).map(|r| r.backup.clone()))
    }

    /// Runs `[ionice -c 3] [nice -n 19] ringkeeper --log-format json backup --store S
    /// create NAME ...` and returns once it has closed its stdout (it ended). It is not
    /// waited for: the supervision loop's `waitpid(-1)` reaps it, as every child, so no
    /// exit status of another child is ever taken here and no PID is signalled after it
    /// could be reused. A part running when the entrypoint ends goes on until it ends or
    /// the container stops (it is then incomplete, and taken again after the next start).
    async fn create(&self, name: &str) -> std::io::Result<String> {
        let mut last = std::io::Error::other("no way to run it");
        let exe = std::env::current_exe()?;
        let mut args: Vec<OsString> = vec![
            exe.into(),
            "--log-format".into(),
            "json".into(),
            "backup".into(),
            "--store".into(),
            self.store.to_string().into(),
            "create".into(),
            name.into(),
        ];
        args.extend(self.create_flags.iter().cloned());
        // Lowest priority where the image has the tools; as it is otherwise.
        for wrapper in [
            &["ionice", "-c", "3", "nice", "-n", "19"][..],
            &["nice", "-n", "19"],
            &[],
        ] {
            let mut all: Vec<OsString> = wrapper.iter().map(OsString::from).collect();
            all.extend(args.iter().cloned());
            let mut cmd = std::process::Command::new(&all[0]);
            // Its summary (stdout) is logged here: the container's stdout is Cassandra's.
            cmd.args(&all[1..])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped());
            match cmd.spawn() {
                Ok(mut child) => {
                    let stdout = child.stdout.take();
                    // Reaped by the supervision loop's waitpid(-1), like every child.
                    drop(child);
                    let summary = tokio::task::spawn_blocking(move || {
                        let mut text = String::new();
                        if let Some(mut out) = stdout {
                            let _ = std::io::Read::read_to_string(&mut out, &mut text);
                        }
                        text
                    })
                    .await
                    .unwrap_or_default();
                    if !summary.trim().is_empty() {
                        info!(backup = %name, summary = %summary.trim(), "backup create answered");
                    }
                    return Ok(summary);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !wrapper.is_empty() => {
                    last = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

/// The reason `backup create` gave on stdout when it refused the part, if it did.
fn refusal(summary: &str) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_str(summary.trim()).ok()?;
    answer["refused"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn a_refusal_is_read_from_the_answer() {
        // (stdout of `backup create`, the refusal read)
        let cases = [
            (
                r#"{"backup":"b","pod":"cassandra-0","refused":"no room"}"#,
                Some("no room"),
            ),
            (r#"{"backup":"b","pod":"cassandra-0","files":3}"#, None),
            ("", None),
            ("not json", None),
        ];
        for (summary, want) in cases {
            assert_eq!(refusal(summary).as_deref(), want, "{summary}");
        }
    }
}
