//! Names of every environment variable ringkeeper reads, in one place.
//!
//! Each flag that an operator may set from a manifest has an environment fallback
//! (clap `env = ...`). Pod facts come from the Downward API under the names the
//! Kubernetes docs use, and Cassandra settings under the names the official image uses,
//! so existing manifests carry over.

/// Equivalent to `--pod-name`. Set from the Downward API `metadata.name`.
pub const POD_NAME: &str = "POD_NAME";
/// Fallback for `--pod-name`: a StatefulSet pod's hostname is its name.
pub const HOSTNAME: &str = "HOSTNAME";
/// Equivalent to `--namespace`. Set from the Downward API `metadata.namespace`.
pub const POD_NAMESPACE: &str = "POD_NAMESPACE";
/// Equivalent to `--pod-ip`. Set from the Downward API `status.podIP`.
pub const POD_IP: &str = "POD_IP";
/// Equivalent to `--service`: the headless Service that governs the StatefulSet.
pub const SERVICE: &str = "RINGKEEPER_SERVICE";
/// Equivalent to `--cluster-domain`.
pub const CLUSTER_DOMAIN: &str = "RINGKEEPER_CLUSTER_DOMAIN";
/// Equivalent to `--seed-count`.
pub const SEED_COUNT: &str = "RINGKEEPER_SEED_COUNT";
/// Equivalent to `--replicas`.
pub const REPLICAS: &str = "RINGKEEPER_REPLICAS";
/// Equivalent to `--extra-seeds`.
pub const EXTRA_SEEDS: &str = "RINGKEEPER_EXTRA_SEEDS";
/// Equivalent to `--seed-wait`.
pub const SEED_WAIT: &str = "RINGKEEPER_SEED_WAIT";
/// Equivalent to `--data-dir`.
pub const DATA_DIR: &str = "RINGKEEPER_DATA_DIR";
/// Equivalent to `--log-level` (a tracing filter such as `info` or `ringkeeper=debug`).
pub const LOG: &str = "RINGKEEPER_LOG";
/// Equivalent to `--log-format`.
pub const LOG_FORMAT: &str = "RINGKEEPER_LOG_FORMAT";
/// Equivalent to `--conf-template`.
pub const CONF_TEMPLATE: &str = "RINGKEEPER_CONF_TEMPLATE";
/// Equivalent to `--conf-out`.
pub const CONF_OUT: &str = "RINGKEEPER_CONF_OUT";
/// Equivalent to `--cluster-name` (the official image's name for it).
pub const CLUSTER_NAME: &str = "CASSANDRA_CLUSTER_NAME";
/// Equivalent to `--dc` (the official image's name for it).
pub const DC: &str = "CASSANDRA_DC";
/// Equivalent to `--rack` (the official image's name for it).
pub const RACK: &str = "CASSANDRA_RACK";
/// Equivalent to `--topology`: `flags` (DC/rack from `--dc`/`--rack`, the join record, else
/// `dc1`/`rack1`) or `node-labels` (else the Node's topology labels, waited for).
pub const TOPOLOGY: &str = "RINGKEEPER_TOPOLOGY";
/// Equivalent to `--exec`.
pub const EXEC: &str = "RINGKEEPER_EXEC";

/// Equivalent to `--replace-address`.
pub const REPLACE_ADDRESS: &str = "RINGKEEPER_REPLACE_ADDRESS";
/// Equivalent to `--cql-port`.
pub const CQL_PORT: &str = "RINGKEEPER_CQL_PORT";
/// Equivalent to `--cql-username-file`.
pub const CQL_USERNAME_FILE: &str = "RINGKEEPER_CQL_USERNAME_FILE";
/// Equivalent to `--cql-password-file`.
pub const CQL_PASSWORD_FILE: &str = "RINGKEEPER_CQL_PASSWORD_FILE";
/// Equivalent to `--cql-ca-file`.
pub const CQL_CA_FILE: &str = "RINGKEEPER_CQL_CA_FILE";
/// Equivalent to `--cql-tls-server-name`.
pub const CQL_TLS_SERVER_NAME: &str = "RINGKEEPER_CQL_TLS_SERVER_NAME";
/// Equivalent to `--cql-cert-file`.
pub const CQL_CERT_FILE: &str = "RINGKEEPER_CQL_CERT_FILE";
/// Equivalent to `--cql-key-file`.
pub const CQL_KEY_FILE: &str = "RINGKEEPER_CQL_KEY_FILE";
/// Equivalent to `ready --timeout`.
pub const READY_TIMEOUT: &str = "RINGKEEPER_READY_TIMEOUT";
/// Equivalent to `--run-dir`.
pub const RUN_DIR: &str = "RINGKEEPER_RUN_DIR";
/// Equivalent to `--grace-period`: the pod's terminationGracePeriodSeconds.
pub const GRACE_PERIOD: &str = "RINGKEEPER_GRACE_PERIOD";
/// Equivalent to `--exit-margin`.
pub const EXIT_MARGIN: &str = "RINGKEEPER_EXIT_MARGIN";
/// Equivalent to `--client-wait`.
pub const CLIENT_WAIT: &str = "RINGKEEPER_CLIENT_WAIT";
/// Equivalent to `--replace-after-down`.
pub const REPLACE_AFTER_DOWN: &str = "RINGKEEPER_REPLACE_AFTER_DOWN";
/// Equivalent to `--scale-down-settle`.
pub const SCALE_DOWN_SETTLE: &str = "RINGKEEPER_SCALE_DOWN_SETTLE";
/// Equivalent to `--nodetool`.
pub const NODETOOL: &str = "RINGKEEPER_NODETOOL";
/// Equivalent to `--jmx-host`.
pub const JMX_HOST: &str = "RINGKEEPER_JMX_HOST";
/// Equivalent to `--jmx-port`.
pub const JMX_PORT: &str = "RINGKEEPER_JMX_PORT";
/// Equivalent to `--jmx-username`.
pub const JMX_USERNAME: &str = "RINGKEEPER_JMX_USERNAME";
/// Equivalent to `--jmx-password-file`.
pub const JMX_PASSWORD_FILE: &str = "RINGKEEPER_JMX_PASSWORD_FILE";
/// Equivalent to `alive --timeout`.
pub const ALIVE_TIMEOUT: &str = "RINGKEEPER_ALIVE_TIMEOUT";
/// Equivalent to `alive --startup-grace`.
pub const STARTUP_GRACE: &str = "RINGKEEPER_STARTUP_GRACE";
/// Equivalent to `--memory-limit`: the container's memory limit in bytes, as the
/// Downward API `resourceFieldRef: limits.memory` gives it.
pub const MEMORY_LIMIT: &str = "RINGKEEPER_MEMORY_LIMIT";

/// Set for the Cassandra command: the rendered configuration directory. The official
/// image's `cassandra` script puts it first on the classpath.
pub const CASSANDRA_CONF: &str = "CASSANDRA_CONF";

/// Set for the Cassandra command: JVM flags a boot decision needs, appended to any value
/// already in the environment. The official image's `cassandra-env.sh` reads it.
pub const JVM_EXTRA_OPTS: &str = "JVM_EXTRA_OPTS";

/// Read, and set for the Cassandra command: the JVM heap (`-Xms`/`-Xmx`) the official
/// image's `cassandra-env.sh` uses instead of its own estimate from the machine's memory.
/// Set from `--memory-limit` unless the environment already has it.
pub const MAX_HEAP_SIZE: &str = "MAX_HEAP_SIZE";
/// Read, and set for the Cassandra command with `MAX_HEAP_SIZE`: the young generation
/// (`-Xmn`, CMS only). `cassandra-env.sh` (4.1, 5.0) refuses to start under CMS when only
/// one of the two is set.
pub const HEAP_NEWSIZE: &str = "HEAP_NEWSIZE";

/// Where Kubernetes mounts the pod's namespace: fallback for `--namespace`.
pub const SERVICE_ACCOUNT_NAMESPACE_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/// The resolver configuration: source of search domains (and the cluster domain).
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Equivalent to `--kube-api`: `auto` (use the Kubernetes API when the pod has a
/// service-account token) or `off`.
pub const KUBE_API: &str = "RINGKEEPER_KUBE_API";
/// The pod's service-account token: without it, no Kubernetes API access.
pub const SERVICE_ACCOUNT_TOKEN_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// Equivalent to `--store` (`backup`): where backups go.
pub const BACKUP_STORE: &str = "RINGKEEPER_BACKUP_STORE";
/// Equivalent to `--max-rate` (`backup create`).
pub const BACKUP_MAX_RATE: &str = "RINGKEEPER_BACKUP_MAX_RATE";
/// Equivalent to `--restore-backup` (`entrypoint`).
pub const RESTORE_BACKUP: &str = "RINGKEEPER_RESTORE_BACKUP";
/// Equivalent to `--backup-poll` (`entrypoint`).
pub const BACKUP_POLL: &str = "RINGKEEPER_BACKUP_POLL";
