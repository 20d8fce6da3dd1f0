//! Validates the command line into typed configuration.
//!
//! `Inputs::gather` is the one place that reads the environment beyond clap (the
//! `HOSTNAME` fallback) and the files that fill defaults (service-account namespace,
//! resolv.conf). Everything after it is pure validation, so each rule is unit-tested and
//! each error names the flag, the environment variable, the bad value and what is valid.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{
    AliveArgs, CqlArgs, DrainArgs, DrainSettingsArgs, EntrypointArgs, EventPodArgs, IdentityArgs,
    KubeArgs, OutputFormat, ReadyArgs, SeedingArgs, SeedsArgs, StatusArgs, StatusFormat,
};
use crate::decide::heap;
use crate::decide::identity::{self, PodName, check_domain, check_label};
use crate::decide::placement::Topology;
use crate::env;

/// How to authenticate to nodes and verify them, from the command line: credential and
/// TLS file paths (read by `edge::cql::load_settings`), and the name node certificates must carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CqlAccess {
    /// Username file.
    pub username: Option<PathBuf>,
    /// Password file.
    pub password: Option<PathBuf>,
    /// CA certificate(s), PEM.
    pub ca: Option<PathBuf>,
    /// Client certificate chain, PEM.
    pub cert: Option<PathBuf>,
    /// Client private key, PEM.
    pub key: Option<PathBuf>,
    /// The name to verify in every node's certificate instead of the node's IP address.
    pub tls_server_name: Option<rustls::pki_types::ServerName<'static>>,
}

/// Largest `--seed-count`: Cassandra warns above 20 seeds; 1000 leaves room for
/// benchmarks without letting a typo start thousands of lookups. The same limit bounds a
/// replica count from the API (`decide::replicas::MAX_ORDINALS`).
pub const MAX_SEED_COUNT: u32 = crate::decide::replicas::MAX_ORDINALS;
/// Longest `--seed-wait`: a boot whose answer is not final after an hour is stuck on
/// something that more waiting before deciding will not fix.
pub const MAX_SEED_WAIT: Duration = Duration::from_secs(3600);
/// The cluster domain when nothing else says.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// Values from outside the command line that fill defaults, read once at startup.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `$HOSTNAME`: fallback for the pod name.
    pub hostname: Option<String>,
    /// Contents of the service-account namespace file, if present.
    pub sa_namespace: Option<String>,
    /// Contents of /etc/resolv.conf, if readable.
    pub resolv_conf: Option<String>,
    /// `$JVM_EXTRA_OPTS`: kept, and extended, when a boot decision adds JVM properties.
    pub jvm_extra_opts: Option<String>,
    /// `$MAX_HEAP_SIZE` (empty counts as unset, as in `cassandra-env.sh`): wins over
    /// `--memory-limit`.
    pub max_heap_size: Option<String>,
    /// `$HEAP_NEWSIZE` (empty counts as unset).
    pub heap_newsize: Option<String>,
}

impl Inputs {
    /// Reads the fallbacks from the environment and the filesystem.
    #[allow(clippy::disallowed_methods)] // The one place env is read outside clap.
    pub fn gather() -> Self {
        Inputs {
            hostname: std::env::var(env::HOSTNAME).ok(),
            sa_namespace: std::fs::read_to_string(env::SERVICE_ACCOUNT_NAMESPACE_FILE).ok(),
            resolv_conf: std::fs::read_to_string(env::RESOLV_CONF).ok(),
            jvm_extra_opts: std::env::var(env::JVM_EXTRA_OPTS).ok(),
            max_heap_size: std::env::var(env::MAX_HEAP_SIZE)
                .ok()
                .filter(|v| !v.is_empty()),
            heap_newsize: std::env::var(env::HEAP_NEWSIZE)
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }
}

/// A bad input. Displayed as the whole message; exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn invalid(flag: &str, var: &str, value: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("invalid {flag} (env {var}) value {value:?}: {why}"))
}

fn missing(flag: &str, var: &str, extra: &str) -> ConfigError {
    ConfigError(format!("{flag} is required: pass it or set {var}{extra}"))
}

/// This pod, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// StatefulSet name and ordinal.
    pub pod: PodName,
    /// Namespace.
    pub namespace: String,
    /// Pod IP.
    pub pod_ip: IpAddr,
    /// Headless Service name.
    pub service: String,
    /// Cluster DNS domain.
    pub cluster_domain: String,
    /// The data volume.
    pub data_dir: PathBuf,
}

/// A configured extra seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraSeed {
    /// Used as is.
    Ip(IpAddr),
    /// Looked up through the resolver (search domains apply).
    Name(String),
}

/// How the seed list is computed, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeding {
    /// Candidates are ordinals `0..seed_count` (bounded by `replicas`).
    pub seed_count: u32,
    /// Upper bound on ordinals.
    pub replicas: Option<u32>,
    /// Extra seeds, in the given order.
    pub extra_seeds: Vec<ExtraSeed>,
    /// How long to wait for names to resolve.
    pub wait: Duration,
    /// Expected cluster name (entrypoint falls back to the template's).
    pub cluster_name: Option<String>,
    /// Explicit evidence for a replace: the old address.
    pub replace_address: Option<IpAddr>,
    /// How long the identity record's previous node must have been seen down before it is
    /// replaced automatically.
    pub replace_after_down: Duration,
    /// How to reach candidates over CQL.
    pub cql: CqlConfig,
}

/// One name to look up for the seed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateName {
    /// Ordinal for StatefulSet pods, `None` for extra seeds.
    pub ordinal: Option<u32>,
    /// The extra seed or the pod's FQDN (no trailing dot).
    pub name: String,
    /// Set for IP-literal extra seeds.
    pub literal: Option<IpAddr>,
    /// True for names that must be looked up exactly as written (pod FQDNs), without
    /// trying search domains first.
    pub absolute: bool,
}

impl Seeding {
    /// The candidates, in priority order: the StatefulSet's first ordinals, then extras.
    pub fn candidates(&self, id: &Identity) -> Vec<CandidateName> {
        let count = self
            .replicas
            .map_or(self.seed_count, |r| r.min(self.seed_count));
        let pods = (0..count).map(|ordinal| CandidateName {
            ordinal: Some(ordinal),
            name: identity::pod_fqdn(
                &id.pod.set,
                ordinal,
                &id.service,
                &id.namespace,
                &id.cluster_domain,
            ),
            literal: None,
            absolute: true,
        });
        let extras = self.extra_seeds.iter().map(|extra| match extra {
            ExtraSeed::Ip(ip) => CandidateName {
                ordinal: None,
                name: ip.to_string(),
                literal: Some(*ip),
                absolute: true,
            },
            ExtraSeed::Name(name) => CandidateName {
                ordinal: None,
                name: name.trim_end_matches('.').to_owned(),
                literal: None,
                absolute: name.ends_with('.'),
            },
        });
        pods.chain(extras).collect()
    }
}

/// `ringkeeper seeds`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedsConfig {
    /// This pod.
    pub identity: Identity,
    /// Seed settings.
    pub seeding: Seeding,
    /// Output format.
    pub format: OutputFormat,
}

/// `ringkeeper entrypoint`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrypointConfig {
    /// This pod.
    pub identity: Identity,
    /// Seed settings.
    pub seeding: Seeding,
    /// Template directory (read only).
    pub conf_template: PathBuf,
    /// Output directory.
    pub conf_out: PathBuf,
    /// Datacenter, when given (else chosen by `decide::placement`).
    pub dc: Option<String>,
    /// Rack, when given (else chosen by `decide::placement`).
    pub rack: Option<String>,
    /// Where DC and rack come from otherwise.
    pub topology: Topology,
    /// The run directory (Cassandra's PID, the drain marker).
    pub run_dir: PathBuf,
    /// How to drain when SIGTERM comes without a preStop drain.
    pub drain: DrainSettings,
    /// The container's memory limit in bytes, if given: the heap is sized from it.
    pub memory_limit: Option<u64>,
    /// Replace the process instead of supervising.
    pub exec: bool,
    /// The Cassandra command.
    pub command: Vec<std::ffi::OsString>,
}

impl SeedsConfig {
    /// Validates `seeds` arguments.
    pub fn from_args(args: SeedsArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let SeedsArgs {
            identity,
            seeding,
            format,
        } = args;
        let identity = Identity::from_args(identity, inputs)?;
        let seeding = Seeding::from_args(seeding, &identity)?;
        Ok(SeedsConfig {
            identity,
            seeding,
            format,
        })
    }
}

impl EntrypointConfig {
    /// Validates `entrypoint` arguments.
    pub fn from_args(args: EntrypointArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let EntrypointArgs {
            identity,
            seeding,
            conf_template,
            conf_out,
            dc,
            rack,
            topology,
            run,
            drain,
            memory_limit,
            exec,
            command,
        } = args;
        let identity = Identity::from_args(identity, inputs)?;
        let memory_limit = memory_limit
            .as_deref()
            .map(parse_memory_limit)
            .transpose()?;
        let drain = DrainSettings::from_args(drain)?;
        let run_dir = absolute_run_dir(run.run_dir)?;
        let seeding = Seeding::from_args(seeding, &identity)?;
        if !conf_out.is_absolute() {
            return Err(invalid(
                "--conf-out",
                env::CONF_OUT,
                &conf_out.display().to_string(),
                "expected an absolute path",
            ));
        }
        if !conf_template.is_absolute() {
            return Err(invalid(
                "--conf-template",
                env::CONF_TEMPLATE,
                &conf_template.display().to_string(),
                "expected an absolute path",
            ));
        }
        if conf_out == conf_template {
            return Err(ConfigError(format!(
                "--conf-out (env {}) must differ from --conf-template (env {}): the template \
                 is never edited in place (it is often a read-only ConfigMap); both are {:?}",
                env::CONF_OUT,
                env::CONF_TEMPLATE,
                conf_out
            )));
        }
        for (flag, var, value) in [("--dc", env::DC, &dc), ("--rack", env::RACK, &rack)] {
            let Some(value) = value else { continue };
            if !crate::decide::placement::usable(value) {
                return Err(invalid(
                    flag,
                    var,
                    value,
                    "expected letters, digits, '-', '_' or '.'",
                ));
            }
        }
        let topology = match topology.trim() {
            "flags" => Topology::Flags,
            "node-labels" => Topology::NodeLabels,
            _ => {
                return Err(invalid(
                    "--topology",
                    env::TOPOLOGY,
                    &topology,
                    "expected flags or node-labels",
                ));
            }
        };
        if command.first().is_none_or(|c| c.is_empty()) {
            return Err(ConfigError(
                "no Cassandra command given: put it after `--`, e.g. `ringkeeper entrypoint -- cassandra -f`".into(),
            ));
        }
        Ok(EntrypointConfig {
            identity,
            seeding,
            conf_template,
            conf_out,
            dc,
            rack,
            topology,
            run_dir,
            drain,
            memory_limit,
            exec,
            command,
        })
    }
}

/// `--memory-limit`: bytes, or a Kubernetes quantity, at least `heap::MIN_MEMORY_LIMIT`.
fn parse_memory_limit(text: &str) -> Result<u64, ConfigError> {
    let bytes = parse_quantity(text).ok_or_else(|| {
        invalid(
            "--memory-limit",
            env::MEMORY_LIMIT,
            text,
            "expected a number of bytes (as the Downward API's resourceFieldRef limits.memory \
             gives it) or a Kubernetes quantity like 4Gi, 4096Mi or 4G",
        )
    })?;
    if bytes < heap::MIN_MEMORY_LIMIT {
        return Err(invalid(
            "--memory-limit",
            env::MEMORY_LIMIT,
            text,
            format!(
                "too small for Cassandra: at least {}Mi (the heap is half the limit, and at \
                 least {} MiB)",
                heap::MIN_MEMORY_LIMIT / heap::MIB,
                heap::MIN_HEAP_MIB
            ),
        ));
    }
    Ok(bytes)
}

/// A Kubernetes memory quantity in bytes: a whole or decimal number with an optional
/// binary (`Ki`..`Ei`) or decimal (`k`..`E`) suffix, e.g. `4294967296`, `4Gi`, `4096Mi`,
/// `1.5Gi`, `4G`. Fractions of a byte round up, as Kubernetes rounds the Downward API's
/// value. No exponents, no milli (`m`): neither describes a memory limit.
pub fn parse_quantity(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let multiplier: u128 = match suffix {
        "" => 1,
        "k" => 1000,
        "M" => 1000u128.pow(2),
        "G" => 1000u128.pow(3),
        "T" => 1000u128.pow(4),
        "P" => 1000u128.pow(5),
        "E" => 1000u128.pow(6),
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || fraction.len() > 9 || fraction.contains('.') {
        return None;
    }
    let whole: u128 = whole.parse().ok()?;
    let scale = 10u128.pow(fraction.len() as u32);
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let bytes = whole
        .checked_mul(scale)?
        .checked_add(fraction)?
        .checked_mul(multiplier)?;
    u64::try_from(bytes.div_ceil(scale)).ok()
}

/// How to drain, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainSettings {
    /// terminationGracePeriodSeconds.
    pub grace_period: Duration,
    /// Kept back for Cassandra to exit after SIGTERM.
    pub exit_margin: Duration,
    /// Longest wait for clients to go quiet.
    pub client_wait: Duration,
    /// A scale-down's settle delay before spec.replicas is read again.
    pub scale_down_settle: Duration,
    /// How to run nodetool.
    pub jmx: Jmx,
}

/// How to reach JMX through nodetool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jmx {
    /// The nodetool command.
    pub nodetool: PathBuf,
    /// JMX host.
    pub host: String,
    /// JMX port.
    pub port: u16,
    /// Username and password file, with JMX authentication.
    pub auth: Option<(String, PathBuf)>,
}

/// Longest `--grace-period` (and margin, client wait): a day is far beyond any drain, so
/// only the absurd is refused.
pub const MAX_GRACE_PERIOD: Duration = Duration::from_secs(24 * 3600);
/// Longest `--scale-down-settle`: a count corrected within minutes; a longer delay would
/// only eat the time a decommission needs.
pub const MAX_SCALE_DOWN_SETTLE: Duration = Duration::from_secs(600);
/// The least time a drain must have after the margin: below this nothing can complete.
pub const MIN_DRAIN_TIME: Duration = Duration::from_secs(1);

impl DrainSettings {
    /// Validates the drain flags.
    pub fn from_args(args: DrainSettingsArgs) -> Result<Self, ConfigError> {
        let DrainSettingsArgs {
            grace_period,
            exit_margin,
            client_wait,
            scale_down_settle,
            nodetool,
            jmx_host,
            jmx_port,
            jmx_username,
            jmx_password_file,
        } = args;
        let duration = |flag: &str, var: &str, text: &str, max: Duration| {
            parse_duration(text).filter(|d| *d <= max).ok_or_else(|| {
                invalid(
                    flag,
                    var,
                    text,
                    format!(
                        "expected a duration of at most {}s, like 30, 30s, 2m or 500ms",
                        max.as_secs()
                    ),
                )
            })
        };
        let grace = duration(
            "--grace-period",
            env::GRACE_PERIOD,
            &grace_period,
            MAX_GRACE_PERIOD,
        )?;
        let margin = duration(
            "--exit-margin",
            env::EXIT_MARGIN,
            &exit_margin,
            MAX_GRACE_PERIOD,
        )?;
        let client_wait = duration(
            "--client-wait",
            env::CLIENT_WAIT,
            &client_wait,
            MAX_GRACE_PERIOD,
        )?;
        let scale_down_settle = duration(
            "--scale-down-settle",
            env::SCALE_DOWN_SETTLE,
            &scale_down_settle,
            MAX_SCALE_DOWN_SETTLE,
        )?;
        if grace < margin + MIN_DRAIN_TIME {
            return Err(ConfigError(format!(
                "--grace-period (env {}) {grace_period:?} leaves no time to drain after --exit-margin \
                 (env {}) {exit_margin:?}: the grace period must exceed the margin by at least 1s",
                env::GRACE_PERIOD,
                env::EXIT_MARGIN
            )));
        }
        if nodetool.as_os_str().is_empty() {
            return Err(invalid(
                "--nodetool",
                env::NODETOOL,
                "",
                "expected a path or a command name",
            ));
        }
        let (host, port) = jmx_address(&jmx_host, &jmx_port)?;
        let auth = match (jmx_username, jmx_password_file) {
            (None, None) => None,
            (Some(user), Some(file)) => {
                if user.trim().is_empty() || user.contains(char::is_whitespace) {
                    return Err(invalid(
                        "--jmx-username",
                        env::JMX_USERNAME,
                        &user,
                        "expected a user name without spaces",
                    ));
                }
                Some((user, file))
            }
            _ => {
                return Err(ConfigError(format!(
                    "--jmx-username (env {}) and --jmx-password-file (env {}) go together: give both or neither",
                    env::JMX_USERNAME,
                    env::JMX_PASSWORD_FILE
                )));
            }
        };
        Ok(DrainSettings {
            grace_period: grace,
            exit_margin: margin,
            client_wait,
            scale_down_settle,
            jmx: Jmx {
                nodetool,
                host,
                port,
                auth,
            },
        })
    }
}

/// `--jmx-host` and `--jmx-port` (`drain`, the entrypoint, `alive`), validated.
fn jmx_address(host_text: &str, port_text: &str) -> Result<(String, u16), ConfigError> {
    let host = host_text.trim().to_owned();
    if host.is_empty()
        || !(host.parse::<IpAddr>().is_ok() || check_domain(&host.to_ascii_lowercase()).is_ok())
    {
        return Err(invalid(
            "--jmx-host",
            env::JMX_HOST,
            host_text,
            "expected an IP address or a host name",
        ));
    }
    let port = parse_count(port_text, 1, 65535).ok_or_else(|| {
        invalid(
            "--jmx-port",
            env::JMX_PORT,
            port_text,
            "expected a port number from 1 to 65535",
        )
    })?;
    Ok((host, port as u16))
}

/// `ringkeeper alive`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliveConfig {
    /// The run directory (Cassandra's process record, the drain marker).
    pub run_dir: PathBuf,
    /// JMX host.
    pub jmx_host: String,
    /// JMX port.
    pub jmx_port: u16,
    /// Bound on the JMX handshake.
    pub timeout: Duration,
    /// How long after Cassandra's start JMX is not asked.
    pub startup_grace: Duration,
}

/// Longest `alive --startup-grace`: an hour is far beyond any JVM start; more is a typo.
pub const MAX_STARTUP_GRACE: Duration = Duration::from_secs(3600);

impl AliveConfig {
    /// Validates `alive` arguments.
    pub fn from_args(args: AliveArgs) -> Result<Self, ConfigError> {
        let AliveArgs {
            run,
            jmx_host,
            jmx_port,
            timeout,
            startup_grace,
        } = args;
        let (jmx_host, jmx_port) = jmx_address(&jmx_host, &jmx_port)?;
        let limit = parse_duration(&timeout)
            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(300))
            .ok_or_else(|| {
                invalid(
                    "--timeout",
                    env::ALIVE_TIMEOUT,
                    &timeout,
                    "expected a duration above 0 and at most 5m, like 2s or 500ms",
                )
            })?;
        let grace = parse_duration(&startup_grace)
            .filter(|d| *d <= MAX_STARTUP_GRACE)
            .ok_or_else(|| {
                invalid(
                    "--startup-grace",
                    env::STARTUP_GRACE,
                    &startup_grace,
                    "expected a duration of at most 1h, like 60s, 2m or 0",
                )
            })?;
        Ok(AliveConfig {
            run_dir: absolute_run_dir(run.run_dir)?,
            jmx_host,
            jmx_port,
            timeout: limit,
            startup_grace: grace,
        })
    }
}

impl DrainSettings {
    /// The flags that reproduce these settings with `grace_period` instead (the
    /// entrypoint runs `ringkeeper drain` with the grace period it has left).
    pub fn to_args(&self, grace_period: Duration) -> Vec<OsString> {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        let mut args: Vec<OsString> = vec![
            "--grace-period".into(),
            ms(grace_period).into(),
            "--exit-margin".into(),
            ms(self.exit_margin).into(),
            "--client-wait".into(),
            ms(self.client_wait).into(),
            "--scale-down-settle".into(),
            ms(self.scale_down_settle).into(),
            "--nodetool".into(),
            self.jmx.nodetool.clone().into(),
            "--jmx-host".into(),
            self.jmx.host.clone().into(),
            "--jmx-port".into(),
            self.jmx.port.to_string().into(),
        ];
        if let Some((user, file)) = &self.jmx.auth {
            args.extend([
                "--jmx-username".into(),
                user.into(),
                "--jmx-password-file".into(),
                file.clone().into(),
            ]);
        }
        args
    }
}

impl CqlConfig {
    /// The flags that reproduce this configuration.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--cql-port".into(), self.port.to_string().into()];
        let a = &self.access;
        for (flag, path) in [
            ("--cql-username-file", &a.username),
            ("--cql-password-file", &a.password),
            ("--cql-ca-file", &a.ca),
            ("--cql-cert-file", &a.cert),
            ("--cql-key-file", &a.key),
        ] {
            if let Some(path) = path {
                args.extend([flag.into(), path.clone().into()]);
            }
        }
        if let Some(name) = &a.tls_server_name {
            let text = match name {
                rustls::pki_types::ServerName::DnsName(d) => d.as_ref().to_owned(),
                rustls::pki_types::ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
                other => format!("{other:?}"),
            };
            args.extend(["--cql-tls-server-name".into(), text.into()]);
        }
        args
    }
}

/// `ringkeeper drain`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainConfig {
    /// The local node's CQL address.
    pub host: IpAddr,
    /// CQL settings.
    pub cql: CqlConfig,
    /// The run directory.
    pub run_dir: PathBuf,
    /// The bound and JMX.
    pub settings: DrainSettings,
    /// The pod to publish Events on, or why there is none (a drain never fails for it).
    pub pod: Result<PodRef, String>,
    /// The data volume (a decommission marks it).
    pub data_dir: PathBuf,
}

impl DrainConfig {
    /// Validates `drain` arguments.
    pub fn from_args(args: DrainArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let DrainArgs {
            host,
            cql,
            run,
            settings,
            pod,
            data_dir,
        } = args;
        if !data_dir.is_absolute() {
            return Err(invalid(
                "--data-dir",
                env::DATA_DIR,
                &data_dir.display().to_string(),
                "expected an absolute path",
            ));
        }
        Ok(DrainConfig {
            host: local_host(host)?,
            cql: CqlConfig::from_args(cql)?,
            run_dir: absolute_run_dir(run.run_dir)?,
            settings: DrainSettings::from_args(settings)?,
            pod: PodRef::from_args(pod, inputs),
            data_dir,
        })
    }
}

/// `--host` of the commands that ask the local node: an IP, 127.0.0.1 by default.
fn local_host(host: Option<String>) -> Result<IpAddr, ConfigError> {
    match host {
        None => Ok(IpAddr::from([127, 0, 0, 1])),
        Some(text) => text.trim().parse().map_err(|_| {
            invalid(
                "--host",
                env::POD_IP,
                &text,
                "expected an IPv4 or IPv6 address",
            )
        }),
    }
}

fn absolute_run_dir(dir: PathBuf) -> Result<PathBuf, ConfigError> {
    if dir.is_absolute() {
        Ok(dir)
    } else {
        Err(invalid(
            "--run-dir",
            env::RUN_DIR,
            &dir.display().to_string(),
            "expected an absolute path",
        ))
    }
}

impl Identity {
    /// Validates the identity flags, filling defaults from `inputs`.
    pub fn from_args(args: IdentityArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let IdentityArgs {
            pod_name,
            namespace,
            pod_ip,
            service,
            cluster_domain,
            data_dir,
        } = args;

        let pod_name = pod_name
            .or_else(|| inputs.hostname.clone())
            .ok_or_else(|| missing("--pod-name", env::POD_NAME, " (or HOSTNAME)"))?;
        let pod: PodName = pod_name
            .parse()
            .map_err(|e| invalid("--pod-name", env::POD_NAME, &pod_name, e))?;

        let namespace = match namespace {
            Some(ns) => ns,
            None => inputs
                .sa_namespace
                .as_deref()
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| {
                    missing(
                        "--namespace",
                        env::POD_NAMESPACE,
                        &format!(
                            " (or mount the service-account file {})",
                            env::SERVICE_ACCOUNT_NAMESPACE_FILE
                        ),
                    )
                })?,
        };
        check_label(&namespace).map_err(|e| {
            invalid(
                "--namespace",
                env::POD_NAMESPACE,
                &namespace,
                format!("not a Kubernetes namespace name: {e}"),
            )
        })?;

        let pod_ip_text = pod_ip
            .ok_or_else(|| missing("--pod-ip", env::POD_IP, " (Downward API status.podIP)"))?;
        let pod_ip: IpAddr = pod_ip_text.trim().parse().map_err(|_| {
            invalid(
                "--pod-ip",
                env::POD_IP,
                &pod_ip_text,
                "expected an IPv4 or IPv6 address",
            )
        })?;
        if pod_ip.is_unspecified() || pod_ip.is_multicast() {
            return Err(invalid(
                "--pod-ip",
                env::POD_IP,
                &pod_ip_text,
                "expected the pod's own unicast address",
            ));
        }

        let service = service.unwrap_or_else(|| pod.set.clone());
        check_label(&service).map_err(|e| {
            invalid(
                "--service",
                env::SERVICE,
                &service,
                format!("not a Service name: {e}"),
            )
        })?;

        let cluster_domain = match cluster_domain {
            Some(domain) => {
                let trimmed = domain.trim_end_matches('.');
                check_domain(trimmed).map_err(|e| {
                    invalid(
                        "--cluster-domain",
                        env::CLUSTER_DOMAIN,
                        &domain,
                        format!("expected a DNS domain like cluster.local: {e}"),
                    )
                })?;
                trimmed.to_owned()
            }
            None => inputs
                .resolv_conf
                .as_deref()
                .and_then(|conf| identity::cluster_domain_from_resolv_conf(conf, &namespace))
                .unwrap_or_else(|| DEFAULT_CLUSTER_DOMAIN.to_owned()),
        };

        if !data_dir.is_absolute() {
            return Err(invalid(
                "--data-dir",
                env::DATA_DIR,
                &data_dir.display().to_string(),
                "expected an absolute path",
            ));
        }

        Ok(Identity {
            pod,
            namespace,
            pod_ip,
            service,
            cluster_domain,
            data_dir,
        })
    }
}

/// The shortest `--replace-after-down`: Cassandra refuses to replace a node whose gossip
/// was heard from within its ring delay (30 s by default), and a shorter wait would take
/// a node that merely restarted, or is partitioned for a moment, for lost.
pub const MIN_REPLACE_AFTER_DOWN: Duration = Duration::from_secs(30);

impl Seeding {
    /// Validates the seed flags.
    pub fn from_args(args: SeedingArgs, id: &Identity) -> Result<Self, ConfigError> {
        let SeedingArgs {
            seed_count,
            replicas,
            extra_seeds,
            seed_wait,
            cluster_name,
            replace_address,
            replace_after_down,
            cql,
        } = args;
        let seed_count = parse_count(&seed_count, 1, MAX_SEED_COUNT).ok_or_else(|| {
            invalid(
                "--seed-count",
                env::SEED_COUNT,
                &seed_count,
                format!("expected a whole number from 1 to {MAX_SEED_COUNT}"),
            )
        })?;
        let replicas = match replicas {
            None => None,
            Some(text) => {
                let max = identity::MAX_ORDINAL;
                let n = parse_count(&text, 1, max).ok_or_else(|| {
                    invalid(
                        "--replicas",
                        env::REPLICAS,
                        &text,
                        format!("expected a whole number from 1 to {max}"),
                    )
                })?;
                if id.pod.ordinal >= n {
                    return Err(invalid(
                        "--replicas",
                        env::REPLICAS,
                        &text,
                        format!(
                            "this pod's ordinal is {}, so the StatefulSet has more than {n} replicas (valid ordinals are 0 to {})",
                            id.pod.ordinal,
                            n - 1
                        ),
                    ));
                }
                Some(n)
            }
        };
        // With one candidate, ordinal 0 asks nobody whether a ring already exists: after
        // losing its disk it would found a second cluster beside the survivors.
        if seed_count == 1 && replicas != Some(1) {
            return Err(invalid(
                "--seed-count",
                env::SEED_COUNT,
                "1",
                "with one seed candidate ordinal 0 cannot tell whether a ring already exists, and \
                 after losing its disk it would found a second cluster: use 2 or more (default 3), \
                 or --replicas 1 for a one-node cluster",
            ));
        }
        let extra_seeds = match extra_seeds {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    parse_extra_seed(s).map_err(|why| {
                        invalid(
                            "--extra-seeds",
                            env::EXTRA_SEEDS,
                            &list,
                            format!("{s:?} {why}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let wait = parse_duration(&seed_wait)
            .filter(|d| *d <= MAX_SEED_WAIT)
            .ok_or_else(|| {
                invalid(
                    "--seed-wait",
                    env::SEED_WAIT,
                    &seed_wait,
                    "expected a duration from 0s to 1h, like 90s, 2m or 500ms",
                )
            })?;
        if let Some(name) = &cluster_name
            && (name.trim().is_empty() || name.contains(['\n', '\r']))
        {
            return Err(invalid(
                "--cluster-name",
                env::CLUSTER_NAME,
                name,
                "expected a non-empty, single-line name",
            ));
        }
        let replace_address = match replace_address {
            None => None,
            Some(text) => {
                let ip: IpAddr = text.trim().parse().map_err(|_| {
                    invalid("--replace-address", env::REPLACE_ADDRESS, &text, "expected the old node's IP address (not a DNS name: a pod's name resolves to its new IP)")
                })?;
                // This pod's own IP is fine: a pod that lost its disk may come back on its
                // old address, and Cassandra replaces a node at the same address too.
                Some(ip)
            }
        };
        let replace_after_down = parse_duration(&replace_after_down)
            .filter(|d| (MIN_REPLACE_AFTER_DOWN..=MAX_SEED_WAIT).contains(d))
            .ok_or_else(|| {
                invalid(
                    "--replace-after-down",
                    env::REPLACE_AFTER_DOWN,
                    &replace_after_down,
                    "expected a duration from 30s to 1h, like 180s or 5m",
                )
            })?;
        Ok(Seeding {
            seed_count,
            replicas,
            extra_seeds,
            wait,
            cluster_name,
            replace_address,
            replace_after_down,
            cql: CqlConfig::from_args(cql)?,
        })
    }
}

/// How to reach CQL, validated (files are read later, by the CQL edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CqlConfig {
    /// Native transport port.
    pub port: u16,
    /// Credential and TLS files, and the TLS server name.
    pub access: CqlAccess,
}

impl CqlConfig {
    /// Validates the CQL flags.
    pub fn from_args(args: CqlArgs) -> Result<Self, ConfigError> {
        let CqlArgs {
            cql_port,
            cql_username_file,
            cql_password_file,
            cql_ca_file,
            cql_cert_file,
            cql_key_file,
            cql_tls_server_name,
        } = args;
        let port = parse_count(&cql_port, 1, 65535).ok_or_else(|| {
            invalid(
                "--cql-port",
                env::CQL_PORT,
                &cql_port,
                "expected a port number from 1 to 65535",
            )
        })?;
        if cql_username_file.is_some() != cql_password_file.is_some() {
            return Err(ConfigError(format!(
                "--cql-username-file (env {}) and --cql-password-file (env {}) go together: give both or neither",
                env::CQL_USERNAME_FILE,
                env::CQL_PASSWORD_FILE
            )));
        }
        if cql_cert_file.is_some() != cql_key_file.is_some() {
            return Err(ConfigError(format!(
                "--cql-cert-file (env {}) and --cql-key-file (env {}) go together: give both or neither",
                env::CQL_CERT_FILE,
                env::CQL_KEY_FILE
            )));
        }
        let tls_server_name = match cql_tls_server_name {
            None => None,
            Some(text) => {
                let trimmed = text.trim().trim_end_matches('.').to_owned();
                let Ok(name) = rustls::pki_types::ServerName::try_from(trimmed) else {
                    return Err(invalid(
                        "--cql-tls-server-name",
                        env::CQL_TLS_SERVER_NAME,
                        &text,
                        "expected a DNS name (e.g. cassandra.default.svc.cluster.local) or an IP address",
                    ));
                };
                if cql_ca_file.is_none() {
                    return Err(ConfigError(format!(
                        "--cql-tls-server-name needs --cql-ca-file (env {}): it names what node certificates are verified against",
                        env::CQL_CA_FILE
                    )));
                }
                Some(name)
            }
        };
        if cql_cert_file.is_some() && cql_ca_file.is_none() {
            return Err(ConfigError(format!(
                "--cql-cert-file needs --cql-ca-file (env {}): client certificates are only sent over TLS",
                env::CQL_CA_FILE
            )));
        }
        Ok(CqlConfig {
            port: port as u16,
            access: CqlAccess {
                username: cql_username_file,
                password: cql_password_file,
                ca: cql_ca_file,
                cert: cql_cert_file,
                key: cql_key_file,
                tls_server_name,
            },
        })
    }
}

/// `ringkeeper ready`, validated.
#[derive(Debug, Clone)]
pub struct ReadyConfig {
    /// The local node's address.
    pub host: IpAddr,
    /// CQL settings.
    pub cql: CqlConfig,
    /// Overall deadline.
    pub timeout: Duration,
    /// The run directory (the drain marker).
    pub run_dir: PathBuf,
}

impl ReadyConfig {
    /// Validates `ready` arguments.
    pub fn from_args(args: ReadyArgs) -> Result<Self, ConfigError> {
        let ReadyArgs {
            host,
            cql,
            timeout,
            run,
        } = args;
        let host = local_host(host)?;
        let timeout_value = timeout;
        let timeout = parse_duration(&timeout_value)
            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(300))
            .ok_or_else(|| {
                invalid(
                    "--timeout",
                    env::READY_TIMEOUT,
                    &timeout_value,
                    "expected a duration above 0 and at most 5m, like 2s or 500ms",
                )
            })?;
        Ok(ReadyConfig {
            host,
            cql: CqlConfig::from_args(cql)?,
            timeout,
            run_dir: absolute_run_dir(run.run_dir)?,
        })
    }
}

/// `ringkeeper status`, validated.
#[derive(Debug, Clone)]
pub struct StatusConfig {
    /// This pod.
    pub identity: Identity,
    /// Expected replica count.
    pub replicas: Option<u32>,
    /// The node to ask.
    pub host: IpAddr,
    /// CQL settings.
    pub cql: CqlConfig,
    /// Output format.
    pub output: StatusFormat,
    /// Overall deadline.
    pub timeout: Duration,
}

impl StatusConfig {
    /// Validates `status` arguments.
    pub fn from_args(args: StatusArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let StatusArgs {
            identity,
            replicas,
            host,
            cql,
            output,
            timeout,
        } = args;
        let identity = Identity::from_args(identity, inputs)?;
        let replicas = match replicas {
            None => None,
            Some(text) => Some(parse_count(&text, 1, identity::MAX_ORDINAL).ok_or_else(|| {
                invalid(
                    "--replicas",
                    env::REPLICAS,
                    &text,
                    "expected a whole number of at least 1",
                )
            })?),
        };
        let host = match host {
            None => identity.pod_ip,
            Some(text) => text.trim().parse().map_err(|_| {
                ConfigError(format!(
                    "invalid --host value {text:?}: expected an IPv4 or IPv6 address"
                ))
            })?,
        };
        let timeout = parse_duration(&timeout)
            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(600))
            .ok_or_else(|| ConfigError(format!("invalid --timeout value {timeout:?}: expected a duration above 0 and at most 10m")))?;
        Ok(StatusConfig {
            identity,
            replicas,
            host,
            cql: CqlConfig::from_args(cql)?,
            output,
            timeout,
        })
    }
}

/// Whether to use the Kubernetes API (`--kube-api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeApi {
    /// Use it when the pod has a service-account token.
    Auto,
    /// Never.
    Off,
}

impl KubeApi {
    /// Validates `--kube-api`.
    pub fn from_args(args: &KubeArgs) -> Result<Self, ConfigError> {
        match args.kube_api.trim() {
            "auto" => Ok(KubeApi::Auto),
            "off" => Ok(KubeApi::Off),
            _ => Err(invalid(
                "--kube-api",
                env::KUBE_API,
                &args.kube_api,
                "expected auto or off",
            )),
        }
    }

    /// The flag that reproduces it (the entrypoint passes it to the drain it runs).
    pub fn as_arg(self) -> &'static str {
        match self {
            KubeApi::Auto => "auto",
            KubeApi::Off => "off",
        }
    }
}

/// A pod by name and namespace: where `drain` publishes its Events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// The pod's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
}

impl PodRef {
    /// The pod from `--pod-name` (or `HOSTNAME`) and `--namespace` (or the
    /// service-account file), or why there is none. Lenient on purpose: a drain must run
    /// whatever these say, so a bad value costs the Events, not the drain.
    pub fn from_args(args: EventPodArgs, inputs: &Inputs) -> Result<PodRef, String> {
        let EventPodArgs {
            pod_name,
            namespace,
        } = args;
        let name = pod_name
            .or_else(|| inputs.hostname.clone())
            .ok_or_else(|| format!("no pod name (--pod-name, env {})", env::POD_NAME))?;
        let name = name.trim().to_owned();
        if name.len() > 253 || check_domain(&name).is_err() {
            return Err(format!(
                "--pod-name (env {}) {name:?} is not a pod name",
                env::POD_NAME
            ));
        }
        let namespace = namespace
            .or_else(|| inputs.sa_namespace.clone())
            .map(|n| n.trim().to_owned())
            .ok_or_else(|| format!("no namespace (--namespace, env {})", env::POD_NAMESPACE))?;
        if check_label(&namespace).is_err() {
            return Err(format!(
                "--namespace (env {}) {namespace:?} is not a namespace name",
                env::POD_NAMESPACE
            ));
        }
        Ok(PodRef { name, namespace })
    }
}

fn parse_count(text: &str, min: u32, max: u32) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u32>().ok().filter(|n| (min..=max).contains(n))
}

fn parse_extra_seed(s: &str) -> Result<ExtraSeed, &'static str> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ExtraSeed::Ip(ip));
    }
    if s.contains(':') {
        return Err(
            "has a port or is not an address: ports are not supported, seeds use this node's storage_port",
        );
    }
    let name = s.trim_end_matches('.').to_ascii_lowercase();
    if name.len() > 253 || check_domain(&name).is_err() {
        return Err("is neither an IP address nor a DNS name");
    }
    Ok(ExtraSeed::Name(if s.ends_with('.') {
        format!("{name}.")
    } else {
        name
    }))
}

/// Parses `90s`, `2m`, `1h`, `500ms`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return None;
    }
    let n: u64 = number.parse().ok()?;
    let millis = match unit {
        "ms" => n,
        "" | "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn seeds_config(args: &[&str], inputs: &Inputs) -> Result<SeedsConfig, ConfigError> {
        let mut argv = vec!["ringkeeper", "seeds"];
        argv.extend_from_slice(args);
        let cli = crate::cli::Cli::try_parse_from(argv).expect("clap accepts the shape");
        let crate::cli::Command::Seeds(args) = cli.command else {
            unreachable!()
        };
        SeedsConfig::from_args(args, inputs)
    }

    const BASE: &[&str] = &[
        "--pod-name",
        "cass-dc1-2",
        "--namespace",
        "db",
        "--pod-ip",
        "10.0.0.3",
    ];

    fn with(extra: &[&str]) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = BASE.to_vec();
        for e in extra {
            v.push(Box::leak(e.to_string().into_boxed_str()));
        }
        v
    }

    #[test]
    fn identity_defaults() {
        let cfg = seeds_config(BASE, &Inputs::default()).unwrap();
        assert_eq!(
            cfg.identity.pod,
            PodName {
                set: "cass-dc1".into(),
                ordinal: 2
            }
        );
        assert_eq!(cfg.identity.service, "cass-dc1");
        assert_eq!(cfg.identity.cluster_domain, "cluster.local");
        assert_eq!(cfg.seeding.seed_count, 3);
        assert_eq!(cfg.seeding.wait, Duration::from_secs(60));
        let names: Vec<String> = cfg
            .seeding
            .candidates(&cfg.identity)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            [
                "cass-dc1-0.cass-dc1.db.svc.cluster.local",
                "cass-dc1-1.cass-dc1.db.svc.cluster.local",
                "cass-dc1-2.cass-dc1.db.svc.cluster.local"
            ]
        );
    }

    #[test]
    fn one_seed_candidate_only_for_a_one_node_cluster() {
        let args = |extra: &[&'static str]| -> Vec<&'static str> {
            BASE.iter()
                .map(|a| if *a == "cass-dc1-2" { "cass-dc1-0" } else { a })
                .chain(extra.iter().copied())
                .collect()
        };
        let ok = seeds_config(
            &args(&["--seed-count", "1", "--replicas", "1"]),
            &Inputs::default(),
        );
        assert_eq!(ok.unwrap().seeding.seed_count, 1);
        for extra in [
            &["--seed-count", "1"][..],
            &["--seed-count", "1", "--replicas", "3"],
        ] {
            let err = seeds_config(&args(extra), &Inputs::default()).unwrap_err();
            assert!(err.0.contains("second cluster"), "{extra:?}: {}", err.0);
        }
    }

    #[test]
    fn fallbacks_from_inputs() {
        let inputs = Inputs {
            hostname: Some("web-7".into()),
            sa_namespace: Some("prod\n".into()),
            resolv_conf: Some(
                "search prod.svc.k8s.corp svc.k8s.corp k8s.corp\noptions ndots:5\n".into(),
            ),
            jvm_extra_opts: None,
            ..Inputs::default()
        };
        let cfg = seeds_config(&["--pod-ip", "10.1.1.1"], &inputs).unwrap();
        assert_eq!(cfg.identity.pod.to_string(), "web-7");
        assert_eq!(cfg.identity.namespace, "prod");
        assert_eq!(cfg.identity.cluster_domain, "k8s.corp");
    }

    #[test]
    fn replicas_bound_candidates_and_extras_follow() {
        let cfg = seeds_config(
            &with(&[
                "--replicas",
                "2",
                "--extra-seeds",
                " 10.9.0.1, seeds.dc2 ,,Seed-3.Other.Svc.Cluster.Local.",
            ]),
            &Inputs::default(),
        );
        // Ordinal 2 with 2 replicas is out of range.
        assert!(cfg.unwrap_err().0.contains("ordinal is 2"));
        let cfg = seeds_config(
            &with(&[
                "--replicas",
                "3",
                "--seed-count",
                "5",
                "--extra-seeds",
                " 10.9.0.1, seeds.dc2 ,,Seed-3.Other.Svc.Cluster.Local.",
            ]),
            &Inputs::default(),
        )
        .unwrap();
        let c = cfg.seeding.candidates(&cfg.identity);
        assert_eq!(c.len(), 6);
        assert_eq!(c[3].literal, Some("10.9.0.1".parse().unwrap()));
        assert_eq!((c[4].name.as_str(), c[4].absolute), ("seeds.dc2", false));
        assert_eq!(
            (c[5].name.as_str(), c[5].absolute),
            ("seed-3.other.svc.cluster.local", true)
        );
    }

    #[test]
    fn bad_values_name_flag_env_and_value() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &[
                    "--pod-name",
                    "cassandra",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                ],
                &[
                    "--pod-name",
                    "POD_NAME",
                    "\"cassandra\"",
                    "<statefulset>-<ordinal>",
                ],
            ),
            (
                &[
                    "--pod-name",
                    "cassandra-x",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                ],
                &["--pod-name", "numeric ordinal"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "Db",
                    "--pod-ip",
                    "10.0.0.1",
                ],
                &["--namespace", "POD_NAMESPACE", "\"Db\""],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0",
                ],
                &["--pod-ip", "POD_IP", "\"10.0.0\"", "IPv4 or IPv6"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "0.0.0.0",
                ],
                &["--pod-ip", "unicast"],
            ),
            (
                &["--pod-name", "c-0", "--namespace", "db"],
                &["--pod-ip is required", "POD_IP"],
            ),
            (
                &["--pod-name", "c-0", "--pod-ip", "10.0.0.1"],
                &["--namespace is required", "POD_NAMESPACE"],
            ),
            (
                &["--namespace", "db", "--pod-ip", "10.0.0.1"],
                &["--pod-name is required", "POD_NAME", "HOSTNAME"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--service",
                    "my_svc",
                ],
                &["--service", "RINGKEEPER_SERVICE"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--cluster-domain",
                    "a..b",
                ],
                &["--cluster-domain", "RINGKEEPER_CLUSTER_DOMAIN"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--seed-count",
                    "0",
                ],
                &[
                    "--seed-count",
                    "RINGKEEPER_SEED_COUNT",
                    "\"0\"",
                    "1 to 1000",
                ],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--seed-count=-3",
                ],
                &["--seed-count", "\"-3\""],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--seed-count",
                    "1001",
                ],
                &["--seed-count"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--replicas",
                    "many",
                ],
                &["--replicas", "RINGKEEPER_REPLICAS", "\"many\""],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--extra-seeds",
                    "a.b,bad host",
                ],
                &["--extra-seeds", "RINGKEEPER_EXTRA_SEEDS", "\"bad host\""],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--extra-seeds",
                    "10.0.0.9:7000",
                ],
                &["--extra-seeds", "ports are not supported"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--seed-wait",
                    "soon",
                ],
                &["--seed-wait", "RINGKEEPER_SEED_WAIT", "\"soon\"", "90s"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--seed-wait",
                    "2h",
                ],
                &["--seed-wait", "0s to 1h"],
            ),
            (
                &[
                    "--pod-name",
                    "c-0",
                    "--namespace",
                    "db",
                    "--pod-ip",
                    "10.0.0.1",
                    "--data-dir",
                    "data",
                ],
                &["--data-dir", "RINGKEEPER_DATA_DIR", "absolute"],
            ),
        ];
        for (args, needles) in cases {
            let err = seeds_config(args, &Inputs::default())
                .expect_err(&format!("{args:?} should fail"))
                .0;
            for needle in *needles {
                assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
            }
        }
    }

    #[test]
    fn memory_quantities() {
        const GI: u64 = 1 << 30;
        #[rustfmt::skip]
        let cases: &[(&str, Option<u64>)] = &[
            ("4294967296", Some(4 * GI)),      // what the Downward API gives (divisor 1)
            ("4Gi", Some(4 * GI)),
            ("4096Mi", Some(4 * GI)),
            ("4194304Ki", Some(4 * GI)),
            (" 4Gi ", Some(4 * GI)),
            ("1.5Gi", Some(GI + GI / 2)),
            ("4G", Some(4_000_000_000)),
            ("4000M", Some(4_000_000_000)),
            ("512k", Some(512_000)),
            ("1Ti", Some(1 << 40)),
            ("0.1", Some(1)),                  // a fraction of a byte rounds up
            ("4gi", None),
            ("4GB", None),
            ("4Gi4", None),
            ("1e9", None),
            ("100m", None),
            ("-4Gi", None),
            ("", None),
            ("Gi", None),
            (".5Gi", None),
            ("1.2.3", None),
            ("99999999999999999999Ei", None), // overflows
            ("18446744073709551616", None),   // u64::MAX + 1
        ];
        for (text, want) in cases {
            assert_eq!(parse_quantity(text), *want, "{text:?}");
        }
        assert_eq!(parse_memory_limit("512Mi"), Ok(512 << 20));
        let err = parse_memory_limit("511Mi").unwrap_err().0;
        assert!(err.contains("at least 512Mi"), "{err}");
        let err = parse_memory_limit("4GB").unwrap_err().0;
        for part in [
            "--memory-limit",
            "RINGKEEPER_MEMORY_LIMIT",
            "\"4GB\"",
            "4Gi",
        ] {
            assert!(err.contains(part), "{err} lacks {part}");
        }
    }

    #[test]
    fn durations() {
        let ok = |s: &str, ms: u64| {
            assert_eq!(parse_duration(s), Some(Duration::from_millis(ms)), "{s}")
        };
        ok("90s", 90_000);
        ok("90", 90_000);
        ok("2m", 120_000);
        ok("1h", 3_600_000);
        ok("500ms", 500);
        ok("0", 0);
        for bad in [
            "",
            "s",
            "1.5s",
            "-1s",
            "10 s",
            "1d",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn kube_api_values() {
        let parse = |v: &str| {
            KubeApi::from_args(&KubeArgs {
                kube_api: v.to_owned(),
            })
        };
        assert_eq!(parse("auto"), Ok(KubeApi::Auto));
        assert_eq!(parse("off"), Ok(KubeApi::Off));
        let err = parse("maybe").unwrap_err().0;
        for needle in [
            "--kube-api",
            "RINGKEEPER_KUBE_API",
            "\"maybe\"",
            "auto or off",
        ] {
            assert!(err.contains(needle), "{err}");
        }
        for mode in [KubeApi::Auto, KubeApi::Off] {
            assert_eq!(parse(mode.as_arg()), Ok(mode));
        }
    }

    #[test]
    fn the_drain_finds_its_pod_leniently() {
        let pod = |name: Option<&str>, ns: Option<&str>, inputs: &Inputs| {
            PodRef::from_args(
                EventPodArgs {
                    pod_name: name.map(str::to_owned),
                    namespace: ns.map(str::to_owned),
                },
                inputs,
            )
        };
        let none = Inputs::default();
        let pod_env = Inputs {
            hostname: Some("cassandra-2".into()),
            sa_namespace: Some("db\n".into()),
            ..Inputs::default()
        };
        let want = |n: &str, ns: &str| {
            Ok(PodRef {
                name: n.into(),
                namespace: ns.into(),
            })
        };
        assert_eq!(pod(Some("c-1"), Some("db"), &none), want("c-1", "db"));
        assert_eq!(pod(None, None, &pod_env), want("cassandra-2", "db"));
        assert_eq!(pod(Some("c-1"), None, &pod_env), want("c-1", "db"));
        let why = |r: Result<PodRef, String>| r.unwrap_err();
        assert!(why(pod(None, Some("db"), &none)).contains("POD_NAME"));
        assert!(why(pod(Some("c-1"), None, &none)).contains("POD_NAMESPACE"));
        assert!(why(pod(Some("../x"), Some("db"), &none)).contains("not a pod name"));
        assert!(why(pod(Some("c-1"), Some("Db"), &none)).contains("not a namespace name"));
    }
}
