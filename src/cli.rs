//! The command line: shape only. Values arrive as text and are validated in
//! `config.rs`, so every error can name the flag, its environment variable and what is
//! valid.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env;

/// ringkeeper: makes Apache Cassandra safe to run as a plain Kubernetes StatefulSet.
#[derive(Debug, Parser)]
#[command(name = "ringkeeper", version, about, max_term_width = 100)]
pub struct Cli {
    /// Logging options.
    #[command(flatten)]
    pub log: LogArgs,
    /// Whether to use the Kubernetes API.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Logging goes to stderr; stdout carries only the command's answer.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log filter, e.g. `info`, `debug`, `ringkeeper=debug,warn`; the CQL driver's own
    /// logs are off by default (`scylla=debug` turns them on).
    #[arg(long, global = true, env = env::LOG, default_value = "info,scylla=off")]
    pub log_level: String,
    /// Log format: `plain` for people, `json` for the cluster's log pipeline.
    #[arg(long, global = true, env = env::LOG_FORMAT, value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,
}

/// The Kubernetes API: optional, read through the pod's service account.
#[derive(Debug, Args)]
pub struct KubeArgs {
    /// `auto`: ask the Kubernetes API when the pod has a service-account token (the
    /// StatefulSet's replicas, the Node's topology labels, pod phases in status, Events on
    /// the Pod); `off`: never. Without it every command works from DNS and CQL alone.
    #[arg(long, global = true, env = env::KUBE_API, value_name = "MODE", default_value = "auto")]
    pub kube_api: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the seed list Cassandra should start with (comma-separated addresses).
    ///
    /// Exit 0 with the list on stdout; exit 1 when no safe list exists within --seed-wait
    /// (nothing on stdout in text format); exit 2 on bad input.
    Seeds(SeedsArgs),
    /// Decide how to boot, render the configuration and start (and supervise) Cassandra.
    ///
    /// Usage: ringkeeper entrypoint [OPTIONS] -- cassandra -f
    ///
    /// Exits with Cassandra's exit status (128+N if it was killed by signal N); exit 1
    /// without starting Cassandra when no safe seed list exists and only a person can change
    /// that ("a person must act: ..."); exit 2 on bad input. While other pods can still end
    /// the wait (they are starting, joining, coming back), it waits instead, not ready,
    /// logging what it waits for every 30 s.
    Entrypoint(Box<EntrypointArgs>),
    /// Readiness probe: is the local node joined and serving?
    ///
    /// Exit 0 when the node answers CQL, its bootstrap is COMPLETED and (4.1+) its own
    /// gossip status is NORMAL; exit 1 with a one-line reason otherwise; exit 2 on bad input.
    /// Asks only the local node.
    Ready(ReadyArgs),
    /// Liveness (and startup) probe: is the JVM alive and answering locally?
    ///
    /// Exit 0 (`alive`, the reason on stderr) while a drain runs, while the entrypoint has
    /// not started Cassandra yet, within --startup-grace of its start, and when the JVM
    /// answers a Java RMI handshake on its JMX port within --timeout; exit 1 with a
    /// one-line reason when the recorded Cassandra process is gone or the JVM does not
    /// answer; exit 2 on bad input. Never looks at the node's state (joining, streaming,
    /// leaving are all alive), starts no JVM and needs no JMX or CQL login.
    Alive(AliveArgs),
    /// The StatefulSet's pods side by side with the ring, and ring members that match no pod.
    ///
    /// Exit 0 when every expected pod is Up/Normal, nothing else is in the ring and all
    /// agree on the schema; exit 1 otherwise (the table or JSON says why); exit 2 on bad input.
    Status(StatusArgs),
    /// The preStop hook: turn the pod not-ready, move clients away, drain the node over
    /// JMX, all before --grace-period (minus --exit-margin) runs out.
    ///
    /// Prints one JSON summary (stages, durations, outcome). Exit 0 when the node is
    /// drained (or there was nothing to drain: not running, not joined, already drained);
    /// exit 3 when the deadline cut the drain short (Cassandra was sent SIGTERM: its
    /// shutdown hook drains too); exit 4 when the drain could not be done or confirmed
    /// through nodetool (Cassandra was sent SIGTERM); exit 2 on bad input.
    Drain(DrainArgs),
    /// Backups in an object store (a local directory by default): take this node's part,
    /// list them, show one, verify one.
    Backup(BackupArgs),
}

/// How to reach Cassandra's native transport (CQL).
#[derive(Debug, Args)]
pub struct CqlArgs {
    /// CQL (native transport) port.
    #[arg(long, env = env::CQL_PORT, value_name = "PORT", default_value = "9042")]
    pub cql_port: String,
    /// File holding the CQL username (PasswordAuthenticator); never on the command line.
    #[arg(long, env = env::CQL_USERNAME_FILE, value_name = "FILE")]
    pub cql_username_file: Option<PathBuf>,
    /// File holding the CQL password.
    #[arg(long, env = env::CQL_PASSWORD_FILE, value_name = "FILE")]
    pub cql_password_file: Option<PathBuf>,
    /// CA certificate(s) (PEM) to verify nodes with; turns on TLS.
    #[arg(long, env = env::CQL_CA_FILE, value_name = "FILE")]
    pub cql_ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM), for nodes that require client certificates.
    #[arg(long, env = env::CQL_CERT_FILE, value_name = "FILE")]
    pub cql_cert_file: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, env = env::CQL_KEY_FILE, value_name = "FILE")]
    pub cql_key_file: Option<PathBuf>,
    /// Name every node's certificate must carry, verified instead of the node's IP address
    /// (e.g. the headless Service's DNS name, when certificates name the Service, not pods).
    #[arg(long, env = env::CQL_TLS_SERVER_NAME, value_name = "NAME")]
    pub cql_tls_server_name: Option<String>,
}

/// `ringkeeper ready`.
#[derive(Debug, Args)]
pub struct ReadyArgs {
    /// The local node's CQL address [default: 127.0.0.1].
    #[arg(long, env = env::POD_IP, value_name = "IP")]
    pub host: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub cql: CqlArgs,
    /// Give up (not ready) after this long; keep it below the probe's timeoutSeconds.
    #[arg(long, env = env::READY_TIMEOUT, value_name = "DURATION", default_value = "2s")]
    pub timeout: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunDirArgs,
}

/// `ringkeeper alive`.
#[derive(Debug, Args)]
pub struct AliveArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunDirArgs,
    /// JMX host whose RMI handshake is asked (the same as `drain`'s).
    #[arg(long, env = env::JMX_HOST, value_name = "HOST", default_value = "127.0.0.1")]
    pub jmx_host: String,
    /// JMX port.
    #[arg(long, env = env::JMX_PORT, value_name = "PORT", default_value = "7199")]
    pub jmx_port: String,
    /// Give up (not alive) when the JVM has not answered within this; keep it below the
    /// probe's timeoutSeconds.
    #[arg(long, env = env::ALIVE_TIMEOUT, value_name = "DURATION", default_value = "2s")]
    pub timeout: String,
    /// For this long after the entrypoint started Cassandra, alive without asking JMX
    /// (which Cassandra opens a few seconds into its start, before the commit log replay).
    #[arg(long, env = env::STARTUP_GRACE, value_name = "DURATION", default_value = "60s")]
    pub startup_grace: String,
}

/// Where ringkeeper keeps what one pod start shares between its commands: Cassandra's
/// PID (recorded by the entrypoint) and the drain marker (written by `drain`, read by
/// `ready` and the entrypoint). The entrypoint empties it at every start.
#[derive(Debug, Args)]
pub struct RunDirArgs {
    /// The run directory; in a pod, a path in the container's own filesystem or an
    /// emptyDir shared by nothing else.
    #[arg(long, env = env::RUN_DIR, value_name = "DIR", default_value = "/run/ringkeeper")]
    pub run_dir: PathBuf,
}

/// How the node is drained: the bound, and how to reach JMX. Shared by `drain` and the
/// entrypoint, which drains the node itself when SIGTERM comes without a preStop drain.
#[derive(Debug, Args)]
pub struct DrainSettingsArgs {
    /// The pod's terminationGracePeriodSeconds: everything ends before it, counted from
    /// the start of the drain (of the SIGTERM for the entrypoint), e.g. `30`, `90s`, `5m`.
    #[arg(long, env = env::GRACE_PERIOD, value_name = "DURATION", default_value = "30s")]
    pub grace_period: String,
    /// Time kept back from --grace-period for Cassandra to exit after SIGTERM.
    #[arg(long, env = env::EXIT_MARGIN, value_name = "DURATION", default_value = "5s")]
    pub exit_margin: String,
    /// Longest wait for clients to stop sending requests to this node after its shutdown
    /// was announced, before the native transport is closed.
    #[arg(long, env = env::CLIENT_WAIT, value_name = "DURATION", default_value = "10s")]
    pub client_wait: String,
    /// How long a pod scaled away waits before it reads spec.replicas again and
    /// decommissions only if it is still scaled away (a count corrected within it, or a
    /// re-apply that restores it, decommissions no one); at most a quarter of the time the
    /// drain has.
    #[arg(long, env = env::SCALE_DOWN_SETTLE, value_name = "DURATION", default_value = "30s")]
    pub scale_down_settle: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub jmx: JmxArgs,
}

/// How to reach the local node's JMX through nodetool (`drain`, the entrypoint,
/// `backup`).
#[derive(Debug, Args)]
pub struct JmxArgs {
    /// The nodetool command (a path, or a name looked up in PATH).
    #[arg(long, env = env::NODETOOL, value_name = "PATH", default_value = "nodetool")]
    pub nodetool: PathBuf,
    /// JMX host nodetool connects to.
    #[arg(long, env = env::JMX_HOST, value_name = "HOST", default_value = "127.0.0.1")]
    pub jmx_host: String,
    /// JMX port.
    #[arg(long, env = env::JMX_PORT, value_name = "PORT", default_value = "7199")]
    pub jmx_port: String,
    /// JMX username, when JMX authentication is on (with --jmx-password-file).
    #[arg(long, env = env::JMX_USERNAME, value_name = "NAME")]
    pub jmx_username: Option<String>,
    /// JMX password file in nodetool's `-pwf` format (`<username> <password>` lines, as
    /// jmxremote.password); never on the command line.
    #[arg(long, env = env::JMX_PASSWORD_FILE, value_name = "FILE")]
    pub jmx_password_file: Option<PathBuf>,
}

/// `ringkeeper drain`.
#[derive(Debug, Args)]
pub struct DrainArgs {
    /// The local node's CQL address, to watch its clients [default: 127.0.0.1].
    #[arg(long, env = env::POD_IP, value_name = "IP")]
    pub host: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub cql: CqlArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunDirArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub settings: DrainSettingsArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub pod: EventPodArgs,
    /// The data volume: a decommission (a pod scaled away) marks it, so that Cassandra
    /// never starts on it again, and removes its join record.
    #[arg(long, env = env::DATA_DIR, value_name = "DIR", default_value = "/var/lib/cassandra")]
    pub data_dir: PathBuf,
}

/// The pod `drain` publishes its Events on; without a name (or API access) it publishes
/// none, and drains all the same.
#[derive(Debug, Args)]
pub struct EventPodArgs {
    /// This pod's name, for Events on it [env: POD_NAME, then HOSTNAME].
    #[arg(long, env = env::POD_NAME, value_name = "NAME")]
    pub pod_name: Option<String>,
    /// This pod's namespace [default: the service-account namespace file].
    #[arg(long, env = env::POD_NAMESPACE, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// `ringkeeper status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub identity: IdentityArgs,
    /// The StatefulSet's replica count: pods 0..N are expected [default: the StatefulSet's
    /// spec.replicas from the Kubernetes API, else the pods whose names resolve].
    #[arg(long, env = env::REPLICAS, value_name = "N")]
    pub replicas: Option<String>,
    /// The node to ask [default: this pod's IP].
    #[arg(long, value_name = "IP")]
    pub host: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub cql: CqlArgs,
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub output: StatusFormat,
    /// Give up after this long.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub timeout: String,
}

/// Who this pod is. Each value falls back to the environment the Downward API provides.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// This pod's name, `<statefulset>-<ordinal>` [env: POD_NAME, then HOSTNAME].
    #[arg(long, env = env::POD_NAME, value_name = "NAME")]
    pub pod_name: Option<String>,
    /// This pod's namespace [default: the service-account namespace file].
    #[arg(long, env = env::POD_NAMESPACE, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// This pod's IP: the address Cassandra listens on and gossips with.
    #[arg(long, env = env::POD_IP, value_name = "IP")]
    pub pod_ip: Option<String>,
    /// The headless Service governing the StatefulSet [default: the StatefulSet name].
    #[arg(long, env = env::SERVICE, value_name = "NAME")]
    pub service: Option<String>,
    /// The cluster DNS domain [default: from /etc/resolv.conf's
    /// `<namespace>.svc.<domain>` search entry, else cluster.local].
    #[arg(long, env = env::CLUSTER_DOMAIN, value_name = "DOMAIN")]
    pub cluster_domain: Option<String>,
    /// The data volume: whether it holds a node's state decides how the node boots.
    #[arg(long, env = env::DATA_DIR, value_name = "DIR", default_value = "/var/lib/cassandra")]
    pub data_dir: PathBuf,
}

/// How the seed list is computed.
#[derive(Debug, Args)]
pub struct SeedingArgs {
    /// How many of the StatefulSet's first ordinals are seed candidates (1 to 1000).
    #[arg(long, env = env::SEED_COUNT, value_name = "N", default_value = "3")]
    pub seed_count: String,
    /// The StatefulSet's replica count: an upper bound on ordinals [default: the
    /// StatefulSet's spec.replicas from the Kubernetes API, else none].
    #[arg(long, env = env::REPLICAS, value_name = "N")]
    pub replicas: Option<String>,
    /// More seeds, comma-separated names or IPs: seeds of other datacenters, or nodes
    /// outside this StatefulSet. Listed after the StatefulSet's pods.
    #[arg(long, env = env::EXTRA_SEEDS, value_name = "LIST")]
    pub extra_seeds: Option<String>,
    /// How long the boot plan may wait for names to resolve and pods to answer before its
    /// answer is final, e.g. `90s`, `2m`, `500ms` (0 to 1h). Then ordinal 0 may found, and a
    /// refusal is final: `seeds` exits 1; the entrypoint exits 1 only where a person must
    /// act, and otherwise keeps waiting.
    #[arg(long, env = env::SEED_WAIT, value_name = "DURATION", default_value = "60s")]
    pub seed_wait: String,
    /// cluster_name: a candidate that answers as a node of another cluster is refused
    /// [entrypoint default: the template's].
    #[arg(long, env = env::CLUSTER_NAME, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// The old IP of this pod's previous incarnation, when it lost its disk: boot with
    /// -Dcassandra.replace_address_first_boot=<IP> (never as a seed). It must be a ring member.
    #[arg(long, env = env::REPLACE_ADDRESS, value_name = "IP")]
    pub replace_address: Option<String>,
    /// How long this pod's previous node (from the identity record) must have been seen
    /// down, continuously, by every ring member that answers before it is replaced
    /// automatically (30s to 1h).
    #[arg(long, env = env::REPLACE_AFTER_DOWN, value_name = "DURATION", default_value = "180s")]
    pub replace_after_down: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub cql: CqlArgs,
}

/// `ringkeeper seeds`.
#[derive(Debug, Args)]
pub struct SeedsArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub seeding: SeedingArgs,
    /// `text`: the seed list as one line; `json`: the decision with its reasons.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Output format of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// A table for people.
    Table,
    /// The whole report, for scripts.
    Json,
}

/// Output format of `seeds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line, comma-separated addresses.
    Text,
    /// The decision and every candidate's outcome.
    Json,
}

/// `ringkeeper entrypoint`.
#[derive(Debug, Args)]
pub struct EntrypointArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub seeding: SeedingArgs,
    /// The base configuration directory; never modified (it may be a read-only ConfigMap).
    #[arg(long, env = env::CONF_TEMPLATE, value_name = "DIR", default_value = "/etc/cassandra")]
    pub conf_template: PathBuf,
    /// Where the effective configuration is written; Cassandra gets it as CASSANDRA_CONF.
    #[arg(long, env = env::CONF_OUT, value_name = "DIR", default_value = "/run/ringkeeper/conf")]
    pub conf_out: PathBuf,
    /// Datacenter name, written to cassandra-rackdc.properties [default: where this node's
    /// data last ran, else (--topology node-labels) the Node's topology.kubernetes.io/region
    /// label, else dc1].
    #[arg(long, env = env::DC, value_name = "NAME")]
    pub dc: Option<String>,
    /// Rack name, written to cassandra-rackdc.properties [default: where this node's data
    /// last ran, else (--topology node-labels) the Node's topology.kubernetes.io/zone label,
    /// else rack1].
    #[arg(long, env = env::RACK, value_name = "NAME")]
    pub rack: Option<String>,
    /// Where DC and rack come from when --dc/--rack are not given and the node has no join
    /// record: `flags` (dc1/rack1; the Node is not asked) or `node-labels` (the Node's
    /// topology labels through the Kubernetes API; Cassandra is not started until they are
    /// known).
    #[arg(long, env = env::TOPOLOGY, value_name = "FROM", default_value = "flags")]
    pub topology: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunDirArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub drain: DrainSettingsArgs,
    /// The container's memory limit, in bytes as the Downward API's `resourceFieldRef:
    /// limits.memory` gives it (or a quantity like `4Gi`): Cassandra's heap is then half of
    /// it, at most 31 GiB (MAX_HEAP_SIZE and HEAP_NEWSIZE are set for it, unless
    /// MAX_HEAP_SIZE is already in the environment) [default: cassandra-env.sh's estimate
    /// from the machine's memory].
    #[arg(long, env = env::MEMORY_LIMIT, value_name = "BYTES")]
    pub memory_limit: Option<String>,
    /// Replace this process with Cassandra instead of supervising it.
    #[arg(long, env = env::EXEC, value_parser = clap::builder::BoolishValueParser::new(), default_value = "false", num_args = 0..=1, default_missing_value = "true")]
    pub exec: bool,
    /// Restore this pod's part of this backup before Cassandra's first start, when the
    /// volume is empty: every file downloaded and checked, then put in place, so the node
    /// comes back with its host ID, tokens and data (it neither joins nor streams). A
    /// volume that holds a node's state starts as it is. Refused, Cassandra not started,
    /// when the backup does not match the set (size, pod names, cluster name) or an object
    /// is missing or corrupt.
    #[arg(long, env = env::RESTORE_BACKUP, value_name = "NAME")]
    pub restore_backup: Option<String>,
    /// The backup store (as `ringkeeper backup --store`): where --restore-backup's backup
    /// lives [default: /backups], and, when given, where the pod looks for requested
    /// backups of the set (`ringkeeper backup request`) every --backup-poll and takes its
    /// part, at the lowest CPU and I/O priority.
    #[arg(long, env = env::BACKUP_STORE, value_name = "URL")]
    pub backup_store: Option<String>,
    /// How often the pod looks for requested backups of the set.
    #[arg(long, env = env::BACKUP_POLL, value_name = "DURATION", default_value = "30s")]
    pub backup_poll: String,
    /// The command that starts Cassandra in the foreground, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// `ringkeeper backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where backups live: an absolute path (a backup volume; `file:///path` too) or
    /// `s3://bucket[/prefix]` for S3 and S3-compatible stores, whose credentials, region
    /// and endpoint come from the standard AWS_* environment variables (AWS_ENDPOINT_URL,
    /// AWS_ALLOW_HTTP for a plain-HTTP gateway), never from flags.
    #[arg(long, global = true, env = env::BACKUP_STORE, value_name = "URL", default_value = "/backups")]
    pub store: String,
    /// What to do.
    #[command(subcommand)]
    pub command: BackupCommand,
}

/// `ringkeeper backup` subcommands.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take this node's part of a backup: snapshot (flush and hard links), upload the
    /// files the store lacks, write the manifest last, clear the snapshot.
    ///
    /// Prints a JSON summary (on a refusal: backup, pod and `refused`, the reason). Exit 0
    /// when the part is complete; exit 1 when it was refused (the node is not joined, the
    /// volume lacks room for a snapshot, the part exists) or could not complete (nothing
    /// is listed as complete then); exit 2 on bad input.
    Create(Box<BackupCreateArgs>),
    /// The backups in the store, each with its parts' states.
    List(BackupListArgs),
    /// One backup: each node's part, its files, bytes, uploads and duration.
    ///
    /// Exit 0 when every part is complete, 1 otherwise, 2 for an unknown backup.
    Status(BackupShowArgs),
    /// Read every object a backup references and check its size and SHA-256.
    ///
    /// Exit 0 when all are intact; exit 1 naming each missing or corrupt object (and any
    /// incomplete part); exit 2 for an unknown backup.
    Verify(BackupShowArgs),
    /// Delete the backups the rules do not keep, then every stored object no kept backup
    /// references; safe while a backup runs (its pending marker keeps what it will use).
    ///
    /// Always keeps the newest complete backup and every backup with a part being taken.
    /// Prints a JSON summary. Exit 0; 2 on bad input (no rule given) or a store error.
    Prune(BackupPruneArgs),
    /// Restore one table on this node, online, from this pod's part of a backup (after a
    /// TRUNCATE or a DROP): its files downloaded and checked, then loaded with `nodetool
    /// import`; no restart. Run it in every pod of the set.
    ///
    /// Prints a JSON summary. Exit 0 when loaded; 1 when refused (the table is gone and
    /// --create-table was not given, the backup has no part for this pod, an object is
    /// missing or corrupt); 2 on bad input or a failure.
    RestoreTable(Box<BackupTableArgs>),
    /// Ask for a backup of the whole set: every pod's entrypoint (run with --backup-store)
    /// takes its part within a minute or so; the backup is complete when each has.
    ///
    /// Writes the request to the store and prints it as JSON. Exit 0; 1 when a backup of
    /// that name exists; 2 on bad input. For a CronJob or `kubectl exec` in any pod.
    Request(BackupRequestArgs),
}

/// `ringkeeper backup request`.
#[derive(Debug, Args)]
pub struct BackupRequestArgs {
    /// The backup's name (1 to 63 of a-z, 0-9, '-') [default: scheduled- and the UTC
    /// time, scheduled-20261207-030000: for a CronJob].
    pub name: Option<String>,
    /// The StatefulSet's name [default: from --pod-name, in a pod of the set].
    #[arg(long, value_name = "NAME")]
    pub set: Option<String>,
    /// The set's pods: ordinals 0 to N-1 each take a part.
    #[arg(long, env = env::REPLICAS, value_name = "N")]
    pub replicas: Option<String>,
    /// This pod's name, to find the set's [env: POD_NAME, then HOSTNAME].
    #[arg(long, env = env::POD_NAME, value_name = "NAME")]
    pub pod_name: Option<String>,
}

/// `ringkeeper backup prune`.
#[derive(Debug, Args)]
pub struct BackupPruneArgs {
    /// Keep the newest N complete backups.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<String>,
    /// Keep the backups taken within this long (`7d`, `36h`, `90m`).
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<String>,
    /// A part's pending marker older than this belongs to a backup that stopped midway
    /// (deleted with its backup; its objects are no longer kept for it).
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub stale_after: String,
    /// Say what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `ringkeeper backup create`.
#[derive(Debug, Args)]
pub struct BackupCreateArgs {
    /// The backup's name (1 to 63 of a-z, 0-9, '-').
    pub name: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub node: BackupNodeArgs,
    /// Upload at most this many bytes a second (`50MiB`, `500KiB`, `1GiB`, a number of
    /// bytes; `0` for no limit), so a backup leaves the node its disk and network.
    #[arg(long, env = env::BACKUP_MAX_RATE, value_name = "BYTES", default_value = "50MiB")]
    pub max_rate: String,
}

/// `ringkeeper backup restore-table`.
#[derive(Debug, Args)]
pub struct BackupTableArgs {
    /// The backup's name.
    pub name: String,
    /// The table, as `<keyspace>.<table>`.
    pub table: String,
    /// Create the table from the backup's schema when it is gone (dropped). Give it in
    /// one pod first; the others then find the table.
    #[arg(long)]
    pub create_table: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub node: BackupNodeArgs,
}

/// The local node, as `backup create` and `restore-table` reach it.
#[derive(Debug, Args)]
pub struct BackupNodeArgs {
    /// The local node's CQL address [default: 127.0.0.1].
    #[arg(long, env = env::POD_IP, value_name = "IP")]
    pub host: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub cql: CqlArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub jmx: JmxArgs,
    /// The data volume (snapshots are found under it; their paths are kept relative to
    /// it).
    #[arg(long, env = env::DATA_DIR, value_name = "DIR", default_value = "/var/lib/cassandra")]
    pub data_dir: PathBuf,
    /// This pod's name: the part's name in the backup [env: POD_NAME, then HOSTNAME].
    #[arg(long, env = env::POD_NAME, value_name = "NAME")]
    pub pod_name: Option<String>,
}

/// `ringkeeper backup list`.
#[derive(Debug, Args)]
pub struct BackupListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}

/// `ringkeeper backup status` and `verify`.
#[derive(Debug, Args)]
pub struct BackupShowArgs {
    /// The backup's name.
    pub name: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}
