//! `ringkeeper status`: the expected pods side by side with the ring as one live node
//! sees it, plus members that match no pod, and how the views of every other node that
//! answers compare with it (a pod that founded a ring of its own, a host ID that changed).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};
use tracing::debug;

use crate::cli::StatusFormat;
use crate::config::{CandidateName, KubeApi, StatusConfig};
use crate::decide::api_facts::{Fact, PodObject, Wants, gaps, pods_gap};
use crate::decide::identity::pod_fqdn;
use crate::decide::ring::{RingView, view};
use crate::decide::seeds::Lookup;
use crate::decide::status::{ExpectedPod, assess, compare, table, with_views};
use crate::edge::cql::{self, CqlSettings};
use crate::edge::dns::Dns;
use crate::edge::kube::{Kube, log_gaps, replica_bound};
use crate::edge::spawn_bounded;
use crate::exit::Outcome;

/// Bound on reading one other node's view: a node that is up answers in milliseconds.
const VIEW_TIMEOUT: Duration = Duration::from_secs(2);
/// Other nodes read at once.
const MAX_VIEWS_IN_FLIGHT: usize = 16;
/// How long views that disagree are read again before the disagreement is reported: a
/// membership change reaches every node within a gossip round or two (each node gossips
/// once a second), the same care as the liveness window.
const SPLIT_WINDOW: Duration = Duration::from_secs(5);
/// Pause between those reads.
const SPLIT_POLL: Duration = Duration::from_millis(500);

/// Runs `ringkeeper status`.
pub async fn run(cfg: StatusConfig, kube_api: KubeApi) -> anyhow::Result<Outcome> {
    let StatusConfig {
        identity,
        replicas,
        host,
        cql: cql_cfg,
        output,
        timeout: limit,
    } = cfg;
    let settings = cql::load_settings(cql_cfg.port, limit, limit, &cql_cfg.access)?;
    let others_settings = CqlSettings {
        connect_timeout: VIEW_TIMEOUT.min(limit),
        request_timeout: VIEW_TIMEOUT.min(limit),
        ..settings.clone()
    };
    let dns = Dns::from_system_conf()?;
    let kube = Kube::connect(kube_api, &identity.namespace, &identity.pod.to_string());
    // The StatefulSet (for the replica count, unless --replicas gave it) is read while
    // the node is asked for the ring, and each expected Pod object while the names resolve.
    let wants = Wants {
        own_pod: replicas.is_none(),
        set: replicas.is_none().then(|| identity.pod.set.clone()),
        pods: true,
        ..Wants::default()
    };
    let deadline = Instant::now() + limit;
    let result = timeout(limit, async {
        let (ring, facts) = tokio::join!(
            async {
                let node = cql::connect(host, &settings).await?;
                let local = node.local().await?;
                let peers = node.peers().await?;
                Ok::<_, cql::CqlError>((node, local, peers))
            },
            kube.own_facts(&wants)
        );
        let (node, local, peers) = ring?;
        log_gaps(&gaps(&facts, &wants));
        let replicas = replica_bound(replicas, &facts, identity.pod.ordinal);
        // Expected pods: 0..replicas, or as many as could exist (ring size, at least 3)
        // of which those whose names resolve.
        let count = replicas.unwrap_or_else(|| ((peers.len() + 1) as u32).max(3));
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
        let pod_names: Vec<String> = (0..count)
            .map(|o| format!("{}-{o}", identity.pod.set))
            .collect();
        let names = Arc::new(names);
        let (lookups, objects) = tokio::join!(
            crate::gather::lookup_all(&dns, &names, limit / 4),
            kube.pods(&pod_names)
        );
        if let Some(gap) = pods_gap(&objects, &facts.access) {
            log_gaps(&[gap]);
        }
        let expected: Vec<ExpectedPod> = lookups
            .into_iter()
            .zip(objects)
            .filter_map(|(c, (name, object))| {
                let address = match &c.lookup {
                    Lookup::Resolved { addresses } => addresses.first().copied(),
                    _ => None,
                };
                (replicas.is_some() || address.is_some()).then_some(ExpectedPod {
                    name,
                    address,
                    object: match object {
                        Fact::Known(object) => object,
                        Fact::Unknown(_) | Fact::NotAsked => PodObject::Unknown,
                    },
                })
            })
            .collect();
        // Every other node that may answer: the pods, and the members this node knows.
        let mut addresses: Vec<IpAddr> = expected.iter().filter_map(|p| p.address).collect();
        addresses.extend(peers.iter().filter_map(|p| p.address));
        addresses.retain(|a| *a != host);
        addresses.sort();
        addresses.dedup();

        // The other views are read while this node's liveness window runs. Half the time
        // budget at most, so a down member is reported, not a timeout.
        let window = cql::LIVENESS_WINDOW.min(limit / 2);
        let reads_until = deadline - limit / 4;
        let (gossip, others) = tokio::join!(
            node.gossip_over_time(&peers, window),
            read_views(&addresses, &others_settings, reads_until)
        );
        // A node of another cluster at an address this ring once used (a reused IP) is
        // not part of the comparison.
        let others: Vec<(IpAddr, RingView)> = others
            .into_iter()
            .filter(|(ip, v)| {
                let same = v.cluster_name == local.cluster_name;
                if !same {
                    debug!(%ip, cluster = ?v.cluster_name, "a node of another cluster: not compared");
                }
                same
            })
            .collect();
        let gossip = gossip?;
        let pair = gossip.as_ref().map(|(a, b)| (a.as_slice(), b.as_slice()));
        let ring = view(&local, &peers, pair);
        let report = assess(&expected, &ring);
        // Only the nodes that answered are read again below: one that did not may cost
        // its whole bound each time (an address nothing answers on).
        let answered: Vec<IpAddr> = others.iter().map(|(ip, _)| *ip).collect();
        let all: Vec<RingView> = std::iter::once(ring.clone())
            .chain(others.into_iter().map(|(_, v)| v))
            .collect();
        let (mut summaries, mut splits) = compare(&expected, &all);
        // Views disagree while a change travels through gossip: read them all again until
        // they agree or the window (or the budget, keeping a margin to report) is over.
        let settle_until = (Instant::now() + SPLIT_WINDOW).min(deadline - limit / 8);
        while !splits.is_empty() && Instant::now() + SPLIT_POLL < settle_until {
            debug!(splits = splits.len(), "views disagree; reading them again");
            tokio::time::sleep(SPLIT_POLL).await;
            let again = async {
                let own = view(&node.local().await?, &node.peers().await?, pair);
                let others = read_views(&answered, &others_settings, settle_until).await;
                Ok::<_, cql::CqlError>(
                    std::iter::once(own)
                        .chain(others.into_iter().map(|(_, v)| v))
                        .collect::<Vec<RingView>>(),
                )
            };
            // A read that would overrun the window, or did not hear back from every node
            // that answered before, compares less than the last one: keep that.
            match tokio::time::timeout_at(settle_until, again).await {
                Ok(all) => {
                    let all = all?;
                    if all.len() < answered.len() + 1 {
                        debug!("not every view read again in time; keeping the last comparison");
                        break;
                    }
                    (summaries, splits) = compare(&expected, &all);
                }
                Err(_) => break,
            }
        }
        Ok::<_, cql::CqlError>(with_views(report, summaries, splits))
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

/// Reads each node's own view (`system.local` and `system.peers_v2`), a few at a time,
/// each within `VIEW_TIMEOUT` and all by `until`; nodes that do not answer in time are
/// left out, in address order.
async fn read_views(
    addresses: &[IpAddr],
    settings: &CqlSettings,
    until: Instant,
) -> Vec<(IpAddr, RingView)> {
    let permits = Arc::new(Semaphore::new(MAX_VIEWS_IN_FLIGHT));
    let mut set = JoinSet::new();
    for &ip in addresses {
        let settings = settings.clone();
        spawn_bounded(&mut set, &permits, async move {
            let read = async {
                let node = cql::connect(ip, &settings).await?;
                let local = node.local().await?;
                let peers = node.peers().await?;
                Ok::<_, cql::CqlError>(view(&local, &peers, None))
            };
            match timeout(VIEW_TIMEOUT, read).await {
                Ok(Ok(v)) => Some((ip, v)),
                Ok(Err(e)) => {
                    debug!(%ip, error = %e, "no view from this node");
                    None
                }
                Err(_) => {
                    debug!(%ip, "no view from this node in time");
                    None
                }
            }
        });
    }
    let mut views = Vec::new();
    loop {
        match tokio::time::timeout_at(until, set.join_next()).await {
            Ok(Some(Ok(Some(v)))) => views.push(v),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                debug!(left = set.len(), "out of time for other views");
                break;
            }
        }
    }
    views.sort_by_key(|(ip, _)| *ip);
    views
}
