//! The preStop drain's configuration: grace period, exit margin, JMX, the scale-down
//! settle delay.

use super::*;

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
            jmx,
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
        Ok(DrainSettings {
            grace_period: grace,
            exit_margin: margin,
            client_wait,
            scale_down_settle,
            jmx: Jmx::from_args(jmx)?,
        })
    }
}

impl Jmx {
    /// The flags that reproduce these settings.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--nodetool".into(),
            self.nodetool.clone().into(),
            "--jmx-host".into(),
            self.host.clone().into(),
            "--jmx-port".into(),
            self.port.to_string().into(),
        ];
        if let Some((user, file)) = &self.auth {
            args.extend([
                "--jmx-username".into(),
                user.into(),
                "--jmx-password-file".into(),
                file.clone().into(),
            ]);
        }
        args
    }

    /// Validates the nodetool and JMX flags.
    pub fn from_args(args: JmxArgs) -> Result<Self, ConfigError> {
        let JmxArgs {
            nodetool,
            jmx_host,
            jmx_port,
            jmx_username,
            jmx_password_file,
        } = args;
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
        Ok(Jmx {
            nodetool,
            host,
            port,
            auth,
        })
    }
}

/// `--jmx-host` and `--jmx-port` (`drain`, the entrypoint, `alive`), validated.
pub(super) fn jmx_address(host_text: &str, port_text: &str) -> Result<(String, u16), ConfigError> {
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
        ];
        args.extend(self.jmx.to_args());
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
        let data_dir = absolute_data_dir(data_dir)?;
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
