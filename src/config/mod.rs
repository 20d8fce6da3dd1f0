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
    JmxArgs, KubeArgs, OutputFormat, ReadyArgs, SeedingArgs, SeedsArgs, StatusArgs, StatusFormat,
};
use crate::decide::heap;
use crate::decide::identity::{self as names, PodName, check_domain, check_label};
use crate::decide::placement::Topology;
use crate::env;

mod backup;
mod cql;
mod drain;
mod entrypoint;
mod identity;
mod probes;
mod seeding;

pub use backup::*;
pub use cql::*;
pub use drain::*;
pub use entrypoint::*;
pub use identity::*;
pub use probes::*;
pub use seeding::*;

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

/// `--data-dir`: an absolute path.
fn absolute_data_dir(dir: PathBuf) -> Result<PathBuf, ConfigError> {
    if dir.is_absolute() {
        Ok(dir)
    } else {
        Err(invalid(
            "--data-dir",
            env::DATA_DIR,
            &dir.display().to_string(),
            "expected an absolute path",
        ))
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
mod tests;
