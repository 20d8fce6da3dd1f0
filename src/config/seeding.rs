//! How the seed list is computed (`--seed-wait`, `--seed-count`, extra seeds, the cluster
//! name, `--replace-after-down`) and the `seeds` command's configuration.

use super::*;

/// Largest `--seed-count`: Cassandra warns above 20 seeds; 1000 leaves room for
/// benchmarks without letting a typo start thousands of lookups. The same limit bounds a
/// replica count from the API (`decide::replicas::MAX_ORDINALS`).
pub const MAX_SEED_COUNT: u32 = crate::decide::replicas::MAX_ORDINALS;
/// Longest `--seed-wait`: a boot whose answer is not final after an hour is stuck on
/// something that more waiting before deciding will not fix.
pub const MAX_SEED_WAIT: Duration = Duration::from_secs(3600);
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
            name: names::pod_fqdn(
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
                let max = names::MAX_ORDINAL;
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

pub(super) fn parse_extra_seed(s: &str) -> Result<ExtraSeed, &'static str> {
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
