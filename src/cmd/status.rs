//! `ringkeeper status`: the expected pods side by side with the ring as one live node
//! sees it, plus members that match no pod.

use std::sync::Arc;

use anyhow::Context;
use tokio::time::timeout;

use crate::cli::StatusFormat;
use crate::config::{CandidateName, StatusConfig};
use crate::decide::identity::pod_fqdn;
use crate::decide::ring::view;
use crate::decide::seeds::Lookup;
use crate::decide::status::{ExpectedPod, assess, table};
use crate::edge::cql;
use crate::edge::dns::Dns;
use crate::exit::Outcome;

/// Runs `ringkeeper status`.
pub async fn run(cfg: StatusConfig) -> anyhow::Result<Outcome> {
    let StatusConfig {
        identity,
        replicas,
        host,
        cql: cql_cfg,
        output,
        timeout: limit,
    } = cfg;
    let settings = cql::load_settings(cql_cfg.port, limit, limit, &cql_cfg.access)?;
    let dns = Dns::from_system_conf()?;
    let result = timeout(limit, async {
        let node = cql::connect(host, &settings).await?;
        let local = node.local().await?;
        let peers = node.peers().await?;
        // Half the time budget at most, so a down member is reported, not a timeout.
        let window = cql::LIVENESS_WINDOW.min(limit / 2);
        let gossip = node.gossip_over_time(&peers, window).await?;
        let ring = view(
            &local,
            &peers,
            gossip.as_ref().map(|(a, b)| (a.as_slice(), b.as_slice())),
        );
        // Expected pods: 0..replicas, or as many as could exist (ring size, at least 3)
        // of which those whose names resolve.
        let count = replicas.unwrap_or_else(|| (ring.members.len() as u32).max(3));
        let names: Vec<CandidateName> = (0..count)
            .map(|o| CandidateName {
                ordinal: Some(o),
                name: pod_fqdn(
                    &identity.pod.set,
                    o,
                    &identity.service,
                    &identity.namespace,
                    &identity.cluster_domain,
                ),
                literal: None,
                absolute: true,
            })
            .collect();
        let lookups = crate::cmd::seeds::lookup_all(&dns, &Arc::new(names), limit).await;
        let expected: Vec<ExpectedPod> = lookups
            .into_iter()
            .filter_map(|c| {
                let address = match &c.lookup {
                    Lookup::Resolved { addresses } => addresses.first().copied(),
                    _ => None,
                };
                let ordinal = c.ordinal?;
                (replicas.is_some() || address.is_some()).then(|| ExpectedPod {
                    name: format!("{}-{ordinal}", identity.pod.set),
                    address,
                })
            })
            .collect();
        Ok::<_, cql::CqlError>(assess(&expected, &ring))
    })
    .await;
    let report = match result {
        Err(_) => {
            return Ok(Outcome::Refused {
                stdout: None,
                reason: format!("no ring view from {host} within {limit:?}"),
            });
        }
        Ok(Err(e @ cql::CqlError::Auth { .. })) => return Err(e.into()),
        Ok(Err(e)) => {
            return Ok(Outcome::Refused {
                stdout: None,
                reason: format!("cannot read the ring: {e}"),
            });
        }
        Ok(Ok(report)) => report,
    };
    let text = match output {
        StatusFormat::Table => table(&report).trim_end().to_owned(),
        StatusFormat::Json => {
            serde_json::to_string_pretty(&report).context("serializing the report")?
        }
    };
    Ok(if report.healthy {
        Outcome::Answer(text)
    } else {
        Outcome::Refused {
            stdout: Some(text),
            reason: format!("ring is not healthy: {}", report.problems.join("; ")),
        }
    })
}
