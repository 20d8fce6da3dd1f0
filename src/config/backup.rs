//! `ringkeeper backup`'s configuration: the store, the backup's name, and for `create`
//! how to reach the local node.

use super::*;
use crate::cli::{BackupArgs, BackupCommand, BackupCreateArgs};
use crate::decide::backup::layout;

/// Where backups live, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A directory (a backup volume).
    Local(PathBuf),
    /// An S3 bucket, or an S3-compatible store's (endpoint from `AWS_ENDPOINT_URL`).
    S3 {
        /// The bucket.
        bucket: String,
        /// Where under the bucket ("" for its root), without a trailing '/'.
        prefix: String,
    },
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Local(dir) => write!(f, "{}", dir.display()),
            StoreUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl StoreUrl {
    /// Parses `--store`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| invalid("--store", env::BACKUP_STORE, text, why);
        let valid = "expected an absolute path, file:///path or s3://bucket[/prefix]";
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            // S3's bucket naming rules, in short: 3 to 63 of a-z, 0-9, '.', '-'.
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                });
            if !bucket_ok {
                return Err(bad(&format!(
                    "{bucket:?} is not a bucket name (3 to 63 of a-z, 0-9, '.', '-'); {valid}"
                )));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
                return Err(bad(&format!(
                    "the prefix {prefix:?} has an empty, '.' or '..' segment; {valid}"
                )));
            }
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        let path = trimmed.strip_prefix("file://").unwrap_or(trimmed);
        if trimmed.contains("://") && !trimmed.starts_with("file://") {
            return Err(bad(valid));
        }
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return Err(bad(valid));
        }
        Ok(StoreUrl::Local(path))
    }
}

/// The local node, as `backup create` and `restore-table` reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupNode {
    /// The local node's CQL address.
    pub host: IpAddr,
    /// CQL settings.
    pub cql: CqlConfig,
    /// nodetool and JMX.
    pub jmx: Jmx,
    /// The data volume.
    pub data_dir: PathBuf,
    /// This pod's name.
    pub pod: String,
}

/// `ringkeeper backup create`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupCreateConfig {
    /// The backup's name.
    pub name: String,
    /// The node.
    pub node: BackupNode,
    /// Upload rate limit, bytes a second (`None`: none).
    pub max_rate: Option<u64>,
}

/// `ringkeeper backup restore-table`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupTableConfig {
    /// The backup's name.
    pub name: String,
    /// Keyspace and table.
    pub table: (String, String),
    /// Create the table when it is gone.
    pub create_table: bool,
    /// The node.
    pub node: BackupNode,
}

/// `ringkeeper backup`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupConfig {
    /// The store.
    pub store: StoreUrl,
    /// What to do.
    pub action: BackupAction,
}

/// What `backup` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupAction {
    /// Take this node's part.
    Create(Box<BackupCreateConfig>),
    /// List the backups.
    List(StatusFormat),
    /// Show one.
    Status(String, StatusFormat),
    /// Verify one.
    Verify(String, StatusFormat),
    /// Delete what the rules do not keep.
    Prune(PruneRules),
    /// Restore one table online.
    RestoreTable(Box<BackupTableConfig>),
    /// Ask every pod of the set for its part: the backup's name (none: named from the
    /// time of the request) and the pods.
    Request(Option<String>, Vec<String>),
}

/// `backup prune`'s rules, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneRules {
    /// What to keep.
    pub rules: crate::decide::backup::prune::Rules,
    /// Delete nothing.
    pub dry_run: bool,
}

impl PruneRules {
    fn from_args(args: crate::cli::BackupPruneArgs) -> Result<Self, ConfigError> {
        let crate::cli::BackupPruneArgs {
            keep_last,
            keep_within,
            stale_after,
            dry_run,
        } = args;
        let keep_last = keep_last
            .map(|n| {
                parse_count(&n, 0, 1_000_000)
                    .map(|n| n as usize)
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "invalid --keep-last value {n:?}: expected a number of backups"
                        ))
                    })
            })
            .transpose()?;
        let duration = |flag: &str, text: &str| {
            parse_age(text).ok_or_else(|| {
                ConfigError(format!(
                    "invalid {flag} value {text:?}: expected a duration like 7d, 36h or 90m"
                ))
            })
        };
        let keep_within = keep_within
            .map(|t| duration("--keep-within", &t))
            .transpose()?;
        if keep_last.is_none() && keep_within.is_none() {
            return Err(ConfigError(
                "backup prune needs a rule: --keep-last N, --keep-within DURATION, or both".into(),
            ));
        }
        Ok(PruneRules {
            rules: crate::decide::backup::prune::Rules {
                keep_last,
                keep_within,
                stale_after: duration("--stale-after", &stale_after)?,
            },
            dry_run,
        })
    }
}

/// `7d`, or what `parse_duration` reads (`36h`, `90m`, `30s`).
fn parse_age(text: &str) -> Option<Duration> {
    match text.trim().strip_suffix('d') {
        Some(days) if !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()) => days
            .parse::<u64>()
            .ok()?
            .checked_mul(86_400)
            .map(Duration::from_secs),
        _ => parse_duration(text),
    }
}

fn backup_name(name: &str) -> Result<String, ConfigError> {
    layout::check_name(name)
        .map(|()| name.to_owned())
        .map_err(|why| ConfigError(format!("invalid backup name: {why}")))
}

impl BackupConfig {
    /// Validates `backup` arguments.
    pub fn from_args(args: BackupArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let store = StoreUrl::parse(&args.store)?;
        let action = match args.command {
            BackupCommand::Create(create) => {
                BackupAction::Create(Box::new(BackupCreateConfig::from_args(*create, inputs)?))
            }
            BackupCommand::List(list) => BackupAction::List(list.format),
            BackupCommand::Status(show) => {
                BackupAction::Status(backup_name(&show.name)?, show.format)
            }
            BackupCommand::Prune(prune) => BackupAction::Prune(PruneRules::from_args(prune)?),
            BackupCommand::Request(request) => {
                let crate::cli::BackupRequestArgs {
                    name,
                    set,
                    replicas,
                    pod_name,
                } = request;
                let set = match set.or_else(|| {
                    let pod = pod_name.or_else(|| inputs.hostname.clone())?;
                    pod.trim().parse::<PodName>().ok().map(|p| p.set)
                }) {
                    Some(set) if check_label(&set).is_ok() => set,
                    Some(set) => {
                        return Err(ConfigError(format!(
                            "invalid --set value {set:?}: expected a StatefulSet name"
                        )));
                    }
                    None => {
                        return Err(ConfigError(format!(
                            "backup request needs the set: --set NAME, or run it in a pod of the \
                             set (--pod-name, env {})",
                            env::POD_NAME
                        )));
                    }
                };
                let text = replicas.ok_or_else(|| missing("--replicas", env::REPLICAS, ""))?;
                let n = parse_count(&text, 1, 1000).ok_or_else(|| {
                    invalid(
                        "--replicas",
                        env::REPLICAS,
                        &text,
                        "expected a count from 1 to 1000",
                    )
                })?;
                BackupAction::Request(
                    name.as_deref().map(backup_name).transpose()?,
                    (0..n).map(|i| format!("{set}-{i}")).collect(),
                )
            }
            BackupCommand::RestoreTable(table) => {
                let crate::cli::BackupTableArgs {
                    name,
                    table,
                    create_table,
                    node,
                } = *table;
                BackupAction::RestoreTable(Box::new(BackupTableConfig {
                    name: backup_name(&name)?,
                    table: crate::decide::backup::table::parse_name(&table)
                        .map_err(|why| ConfigError(format!("invalid table: {why}")))?,
                    create_table,
                    node: BackupNode::from_args(node, inputs)?,
                }))
            }
            BackupCommand::Verify(show) => {
                BackupAction::Verify(backup_name(&show.name)?, show.format)
            }
        };
        Ok(BackupConfig { store, action })
    }
}

impl BackupCreateConfig {
    fn from_args(args: BackupCreateArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let BackupCreateArgs {
            name,
            node,
            max_rate,
        } = args;
        let rate = parse_bytes(&max_rate).ok_or_else(|| {
            invalid(
                "--max-rate",
                env::BACKUP_MAX_RATE,
                &max_rate,
                "expected bytes a second like 50MiB, 500KiB, 1GiB or 1048576, or 0 for no limit",
            )
        })?;
        Ok(BackupCreateConfig {
            name: backup_name(&name)?,
            node: BackupNode::from_args(node, inputs)?,
            max_rate: (rate > 0).then_some(rate),
        })
    }
}

impl BackupNode {
    fn from_args(args: crate::cli::BackupNodeArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let crate::cli::BackupNodeArgs {
            host,
            cql,
            jmx,
            data_dir,
            pod_name,
        } = args;
        let data_dir = absolute_data_dir(data_dir)?;
        let pod = pod_name
            .or_else(|| inputs.hostname.clone())
            .map(|p| p.trim().to_owned())
            .ok_or_else(|| missing("--pod-name", env::POD_NAME, " (or HOSTNAME)"))?;
        if pod.len() > 253 || check_domain(&pod).is_err() {
            return Err(invalid(
                "--pod-name",
                env::POD_NAME,
                &pod,
                "expected a pod name (lowercase letters, digits, '-' and '.')",
            ));
        }
        Ok(BackupNode {
            host: local_host(host)?,
            cql: CqlConfig::from_args(cql)?,
            jmx: Jmx::from_args(jmx)?,
            data_dir,
            pod,
        })
    }
}

/// `50MiB`, `500KiB`, `1GiB`, `10MB`, or a number of bytes.
fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// An S3 store's keys from an AWS shared credentials file (the file
/// `AWS_SHARED_CREDENTIALS_FILE` names, for example a Secret mounted as a file, so the keys
/// are in no process's environment). Its `Debug` never shows a value.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedKeys {
    /// `aws_access_key_id`.
    pub access_key_id: String,
    /// `aws_secret_access_key`.
    pub secret_access_key: String,
    /// `aws_session_token`, when the profile has one.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for SharedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedKeys { .. }")
    }
}

/// The keys of `profile` in the text of an AWS shared credentials file: INI sections
/// (`[name]`, or `[profile name]` as in the AWS config file), `key = value` lines, `#` and
/// `;` comments. The error says what is missing, never a value.
pub fn shared_keys(text: &str, profile: &str) -> Result<SharedKeys, String> {
    let mut section: Option<String> = None;
    let mut found = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            let name = name.strip_prefix("profile ").map_or(name, str::trim);
            found |= name == profile;
            section = Some(name.to_owned());
            continue;
        }
        if section.as_deref() != Some(profile) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        match key.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => id = value,
            "aws_secret_access_key" => secret = value,
            "aws_session_token" => token = value,
            _ => {}
        }
    }
    if !found {
        return Err(format!(
            "no profile [{profile}] (AWS_PROFILE names another; the default is \"default\")"
        ));
    }
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(SharedKeys {
            access_key_id,
            secret_access_key,
            session_token: token,
        }),
        (id, _) => Err(format!(
            "profile [{profile}] lacks {}",
            if id.is_none() {
                "aws_access_key_id"
            } else {
                "aws_secret_access_key"
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        let cases = [
            ("0", Some(0)),
            ("1048576", Some(1 << 20)),
            ("50MiB", Some(50 << 20)),
            ("500KiB", Some(500 << 10)),
            ("1GiB", Some(1 << 30)),
            ("10MB", Some(10_000_000)),
            ("", None),
            ("MiB", None),
            ("5 TiB", None),
            ("-1", None),
            ("99999999999GiB", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_bytes(text), want, "{text}");
        }
    }

    #[test]
    fn store_urls() {
        let ok = [
            ("/backups", StoreUrl::Local("/backups".into())),
            ("file:///mnt/b", StoreUrl::Local("/mnt/b".into())),
            (
                "s3://my-bucket",
                StoreUrl::S3 {
                    bucket: "my-bucket".into(),
                    prefix: String::new(),
                },
            ),
            (
                "s3://my.bucket/ring/a/",
                StoreUrl::S3 {
                    bucket: "my.bucket".into(),
                    prefix: "ring/a".into(),
                },
            ),
        ];
        for (text, want) in ok {
            assert_eq!(StoreUrl::parse(text).unwrap(), want, "{text}");
        }
        let bad = [
            ("backups", "expected an absolute path"),
            ("file://rel", "expected an absolute path"),
            ("gs://b", "expected an absolute path"),
            ("s3://", "is not a bucket name"),
            ("s3://Big", "is not a bucket name"),
            ("s3://bucket/a/../b", "'..' segment"),
        ];
        for (text, want) in bad {
            let err = StoreUrl::parse(text).unwrap_err().0;
            assert!(
                err.contains("--store (env RINGKEEPER_BACKUP_STORE)"),
                "{err}"
            );
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn shared_credentials_files_are_read_by_profile_and_never_shown() {
        let file = "# keys\n[default]\naws_access_key_id = AK1\naws_secret_access_key=SK1\n\n\
                    [profile backup]\n; comment\nAWS_ACCESS_KEY_ID = AK2\n\
                    aws_secret_access_key = SK2\naws_session_token = T2\n[half]\n\
                    aws_access_key_id = AK3\n";
        let keys = |id: &str, secret: &str, token: Option<&str>| SharedKeys {
            access_key_id: id.into(),
            secret_access_key: secret.into(),
            session_token: token.map(Into::into),
        };
        // (profile, keys or the error's words)
        let cases: [(&str, Result<SharedKeys, &str>); 4] = [
            ("default", Ok(keys("AK1", "SK1", None))),
            ("backup", Ok(keys("AK2", "SK2", Some("T2")))),
            ("half", Err("profile [half] lacks aws_secret_access_key")),
            ("other", Err("no profile [other]")),
        ];
        for (profile, want) in cases {
            match (shared_keys(file, profile), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{profile}"),
                (Err(got), Err(words)) => {
                    assert!(got.contains(words), "{profile}: {got}");
                    assert!(!got.contains("AK") && !got.contains("SK"), "{got}");
                }
                (got, want) => panic!("{profile}: {got:?}, want {want:?}"),
            }
        }
        assert_eq!(
            format!("{:?}", keys("AK1", "SK1", None)),
            "SharedKeys { .. }"
        );
    }
}
