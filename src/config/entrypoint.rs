//! The entrypoint's configuration: template, output, heap from the memory limit, the
//! command it starts.

use super::*;

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
    /// The backup to restore into an empty volume, and its store.
    pub restore: Option<(StoreUrl, String)>,
    /// Where to look for requested backups of the set, and how often (`None`: never).
    pub backup_requests: Option<(StoreUrl, Duration)>,
    /// The Cassandra command.
    pub command: Vec<std::ffi::OsString>,
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
            restore_backup,
            backup_store,
            backup_poll,
            command,
        } = args;
        let store = backup_store.as_deref().map(StoreUrl::parse).transpose()?;
        let poll = parse_duration(&backup_poll)
            .filter(|d| (Duration::from_secs(1)..=Duration::from_secs(3600)).contains(d))
            .ok_or_else(|| {
                invalid(
                    "--backup-poll",
                    env::BACKUP_POLL,
                    &backup_poll,
                    "expected a duration from 1s to 1h, like 30s or 5m",
                )
            })?;
        let restore = match restore_backup {
            None => None,
            Some(name) => {
                crate::decide::backup::layout::check_name(&name).map_err(|why| {
                    ConfigError(format!(
                        "invalid --restore-backup (env {}): {why}",
                        env::RESTORE_BACKUP
                    ))
                })?;
                let url = store
                    .clone()
                    .unwrap_or_else(|| StoreUrl::Local(PathBuf::from("/backups")));
                Some((url, name))
            }
        };
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
            restore,
            backup_requests: store.map(|s| (s, poll)),
            command,
        })
    }
}

/// `--memory-limit`: bytes, or a Kubernetes quantity, at least `heap::MIN_MEMORY_LIMIT`.
pub(super) fn parse_memory_limit(text: &str) -> Result<u64, ConfigError> {
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
