//! The probes' and `status`'s configuration: `alive`, `ready`, `status`.

use super::*;

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
            Some(text) => Some(parse_count(&text, 1, names::MAX_ORDINAL).ok_or_else(|| {
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
