//! One round's look at the ring (`Observe`), and the real one (`Network`): the
//! candidates' names looked up, the nodes they name asked over CQL, and the join record's
//! saved peers asked with the size-bounded client, each a few at a time.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::config::{CandidateName, Identity};
use crate::decide::data::JoinRecord;
use crate::decide::seeds::{self, Candidate, Cql, Lookup, SavedPeer};
use crate::edge::cql::{self, CqlSettings};
use crate::edge::cql_probe;
use crate::edge::dns::Dns;
use crate::edge::{Pending, spawn_bounded};

/// Most lookups in flight at once. A burst of hundreds of UDP queries overflows a DNS
/// server's socket buffer and costs re-sends; a few dozen keep the server busy without that
/// (measured in BENCHMARKS.md), and are polite to a cluster DNS that every pod asks at boot.
const MAX_IN_FLIGHT: usize = 32;
/// Candidates probed over CQL at once.
const MAX_PROBES_IN_FLIGHT: usize = 16;

/// What one round of `resolve` saw.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// Every candidate name, looked up, and asked over CQL unless it is this pod.
    pub candidates: Vec<Candidate>,
    /// The join record's saved peers, asked at the addresses no candidate was asked at.
    pub saved_peers: Vec<SavedPeer>,
}

/// One round's look at the ring: the only IO of `resolve`. A trait so that the rounds
/// around it (the waits, their reports, the refusals waited out or ended on, the replica
/// bound read again, the replace's down time) are table-tested with scripted rounds under
/// paused time (`tests`), with no DNS server or node; `Network` is the real one.
pub trait Observe: Send + Sync {
    /// Looks up `names` (each within `budget`), asks the nodes they name over CQL (with
    /// `liveness`, who gossip says is alive too), and asks `record`'s saved peers.
    fn round<'a>(
        &'a self,
        names: &'a [CandidateName],
        budget: Duration,
        record: Option<&'a JoinRecord>,
        liveness: bool,
    ) -> Pending<'a, anyhow::Result<Round>>;
}

/// The ring as this pod reaches it: DNS for the names, CQL for the nodes.
pub struct Network<'a> {
    /// This pod (never probed as a candidate).
    pub identity: &'a Identity,
    /// The resolver, as the pod's resolv.conf configures it.
    pub dns: &'a Dns,
    /// How candidates and saved peers are asked.
    pub cql: &'a CqlSettings,
}

impl Observe for Network<'_> {
    fn round<'a>(
        &'a self,
        names: &'a [CandidateName],
        budget: Duration,
        record: Option<&'a JoinRecord>,
        liveness: bool,
    ) -> Pending<'a, anyhow::Result<Round>> {
        Box::pin(async move {
            let mut candidates = lookup_all(self.dns, names, budget).await;
            // The saved peers are asked alongside the candidates, at the addresses no
            // candidate is asked at.
            let asked: Vec<IpAddr> = candidates
                .iter()
                .filter_map(Candidate::probe_address)
                .collect();
            let saved = async {
                match record {
                    Some(record) => probe_saved(record, &asked, self.identity, self.cql).await,
                    None => Ok(Vec::new()),
                }
            };
            let (probes, saved_peers) = tokio::join!(
                probe_all(&mut candidates, self.identity, self.cql, liveness),
                saved
            );
            probes?;
            Ok(Round {
                candidates,
                saved_peers: saved_peers?,
            })
        })
    }
}

/// Looks up every candidate concurrently (at most `MAX_IN_FLIGHT` at a time), each
/// bounded by `budget`.
pub(crate) async fn lookup_all(
    dns: &Dns,
    names: &[CandidateName],
    budget: Duration,
) -> Vec<Candidate> {
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut set = JoinSet::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(address) = name.literal {
            set.spawn(async move { (i, Lookup::Literal { address }) });
            continue;
        }
        let dns = dns.clone();
        let query = name.name.clone();
        let absolute = name.absolute;
        spawn_bounded(&mut set, &permits, async move {
            let lookup = tokio::time::timeout(budget, dns.lookup(&query, absolute))
                .await
                .unwrap_or(Lookup::Timeout);
            (i, lookup)
        });
    }
    let mut lookups: Vec<Option<Lookup>> = vec![None; names.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, lookup)) => lookups[i] = Some(lookup),
            Err(e) => warn!(error = %e, "lookup task failed"),
        }
    }
    names
        .iter()
        .zip(lookups)
        .map(|(name, lookup)| Candidate {
            name: name.name.clone(),
            ordinal: name.ordinal,
            lookup: lookup.unwrap_or(Lookup::Failed {
                error: "lookup task failed".into(),
            }),
            cql: Cql::NotAsked,
        })
        .collect()
}

/// Asks the peers this node last saw at their saved addresses, where Cassandra will gossip
/// at start whatever the seed list says; the `asked` addresses are asked as candidates.
/// A few at a time, like the candidates.
async fn probe_saved(
    record: &JoinRecord,
    asked: &[IpAddr],
    identity: &Identity,
    settings: &CqlSettings,
) -> anyhow::Result<Vec<SavedPeer>> {
    let permits = Arc::new(Semaphore::new(MAX_PROBES_IN_FLIGHT));
    let mut set = JoinSet::new();
    // A saved address is one that neither DNS nor the API attributes to this set now:
    // after a cold restart any pod, or anything else, may hold it. The CQL password goes
    // there only over TLS (whose certificate check names the node); without TLS the
    // address is asked without credentials, so a password never travels in clear text
    // to a stranger (a ring with authentication then cannot be read there: not judged).
    let withheld = settings.credentials.is_some() && settings.tls.is_none();
    let settings = if withheld {
        &CqlSettings {
            credentials: None,
            ..settings.clone()
        }
    } else {
        settings
    };
    for peer in record.peers.iter().flatten() {
        let Some(address) = peer
            .address
            .filter(|a| *a != identity.pod_ip && !asked.contains(a))
        else {
            continue;
        };
        let settings = settings.clone();
        let host_id = peer.host_id.clone();
        spawn_bounded(&mut set, &permits, async move {
            (host_id, address, survey_saved(address, &settings).await)
        });
    }
    let mut saved = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (host_id, address, result) =
            joined.map_err(|e| anyhow::anyhow!("probe task failed: {e}"))?;
        // Whatever answers at an old address may be anything now (another cluster with
        // other credentials): a rejected login there cannot be judged, but is no error
        // of this node's settings.
        let cql = result.unwrap_or_else(|e| {
            if withheld {
                debug!(%address, error = %e, "a saved peer's address asks for credentials, which are not sent there without TLS: not judged");
            } else {
                warn!(%address, error = %e, "a saved peer's address answers but cannot be read: not judged");
            }
            Cql::NoAnswer {
                detail: e.to_string(),
            }
        });
        saved.push(SavedPeer {
            host_id,
            address,
            cql,
            identity: None,
        });
    }
    saved.sort_by_key(|p| p.address);
    Ok(saved)
}

/// Asks one saved address for its ring with the size-bounded client (`cql_probe::survey`):
/// whatever holds the address now may be no Cassandra node at all, and the driver would
/// allocate whatever length a reply's header claims. Bounded in time like a driver probe.
async fn survey_saved(address: IpAddr, settings: &CqlSettings) -> Result<Cql, cql::CqlError> {
    let limit = settings.connect_timeout * 2 + settings.request_timeout;
    match tokio::time::timeout(limit, cql_probe::survey(address, settings)).await {
        Ok(Ok(s)) => Ok(seeds::member_answer(s.local, &s.peers, s.gossip, None)),
        Ok(Err(e @ cql::CqlError::Auth { .. })) => Err(e),
        Ok(Err(e)) => Ok(Cql::NoAnswer {
            detail: e.to_string(),
        }),
        Err(_) => Ok(Cql::NoAnswer {
            detail: format!("{address}: no answer within {limit:?}"),
        }),
    }
}

/// Probes every resolved candidate other than this pod over CQL, a few at a time.
async fn probe_all(
    candidates: &mut [Candidate],
    identity: &Identity,
    settings: &CqlSettings,
    liveness: bool,
) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(MAX_PROBES_IN_FLIGHT));
    let mut set = JoinSet::new();
    for (i, c) in candidates.iter().enumerate() {
        if c.ordinal == Some(identity.pod.ordinal) {
            continue;
        }
        let Some(ip) = c.probe_address().filter(|ip| *ip != identity.pod_ip) else {
            continue;
        };
        let settings = settings.clone();
        spawn_bounded(&mut set, &permits, async move {
            (i, cql::probe(ip, &settings, liveness).await)
        });
    }
    while let Some(joined) = set.join_next().await {
        let (i, result) = joined.map_err(|e| anyhow::anyhow!("probe task failed: {e}"))?;
        let answer = result?;
        match &answer {
            Cql::Member {
                cluster_name,
                movements,
                ..
            } => {
                debug!(name = %candidates[i].name, ?cluster_name, ?movements, "candidate answers CQL as a ring member")
            }
            Cql::NoAnswer { detail } => {
                debug!(name = %candidates[i].name, %detail, "candidate does not answer CQL")
            }
            Cql::NotAsked => {}
        }
        candidates[i].cql = answer;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::data;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A v4 response frame.
    fn frame(stream: [u8; 2], opcode: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![0x84, 0, stream[0], stream[1], opcode];
        f.extend_from_slice(&(body.len() as u32).to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    fn string(s: &str) -> Vec<u8> {
        let mut b = (s.len() as u16).to_be_bytes().to_vec();
        b.extend_from_slice(s.as_bytes());
        b
    }

    /// Pod 1 at 127.0.0.2, whose join record saved one peer at 127.0.0.1 (where a test's
    /// stand-in listens), with `data_dir` as its volume.
    fn saved_peer_at_loopback(data_dir: &std::path::Path) -> (JoinRecord, Identity) {
        let record = JoinRecord {
            format: 2,
            host_id: "11111111-1111-1111-1111-111111111111".into(),
            cluster_name: Some("c".into()),
            address: Some("127.0.0.2".parse().unwrap()),
            peers: Some(vec![data::KnownPeer {
                host_id: "22222222-2222-2222-2222-222222222222".into(),
                address: Some("127.0.0.1".parse().unwrap()),
            }]),
            recorded_at: None,
            dc: None,
            rack: None,
        };
        let identity = Identity {
            pod: "cassandra-1".parse().unwrap(),
            namespace: "db".into(),
            pod_ip: "127.0.0.2".parse().unwrap(),
            service: "cassandra".into(),
            cluster_domain: "cluster.local".into(),
            data_dir: data_dir.to_owned(),
        };
        (record, identity)
    }

    /// A stand-in at a saved peer's address: reads each request frame, keeps its body in
    /// `seen`, and writes what `answer` makes of its stream id and opcode; `None` ends the
    /// connection.
    async fn stand_in(
        listener: tokio::net::TcpListener,
        seen: Arc<std::sync::Mutex<Vec<u8>>>,
        answer: fn([u8; 2], u8) -> Option<Vec<u8>>,
    ) {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                loop {
                    let mut header = [0u8; 9];
                    if s.read_exact(&mut header).await.is_err() {
                        return;
                    }
                    let len = u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
                    let mut body = vec![0u8; len.min(1 << 16) as usize];
                    if s.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    seen.lock().unwrap().extend_from_slice(&body);
                    let Some(answer) = answer([header[2], header[3]], header[4]) else {
                        return;
                    };
                    if s.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// Something at a saved peer's address that asks for a login, as a node with
    /// PasswordAuthenticator would, and keeps every byte it is sent.
    async fn asks_for_a_login(
        listener: tokio::net::TcpListener,
        seen: Arc<std::sync::Mutex<Vec<u8>>>,
    ) {
        stand_in(listener, seen, |stream, opcode| match opcode {
            // OPTIONS -> SUPPORTED {CQL_VERSION: [3.0.0]}
            0x05 => {
                let mut b = 1u16.to_be_bytes().to_vec();
                b.extend(string("CQL_VERSION"));
                b.extend(1u16.to_be_bytes());
                b.extend(string("3.0.0"));
                Some(frame(stream, 0x06, &b))
            }
            // STARTUP -> AUTHENTICATE
            0x01 => Some(frame(
                stream,
                0x03,
                &string("org.apache.cassandra.auth.PasswordAuthenticator"),
            )),
            // AUTH_RESPONSE (or anything else): an error, and the end.
            _ => None,
        })
        .await
    }

    /// The CQL password never goes to a saved peer's address without TLS: after a cold
    /// restart anything may hold it, and it would read the password in clear text.
    #[tokio::test]
    async fn no_password_to_a_saved_address_without_tls() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        tokio::spawn(asks_for_a_login(listener, seen.clone()));
        let dir = tempfile::tempdir().unwrap();
        let (user, password) = (dir.path().join("user"), dir.path().join("password"));
        std::fs::write(&user, "cassandra\n").unwrap();
        std::fs::write(&password, "s3cret-never-sent\n").unwrap();
        let settings = cql::load_settings(
            port,
            Duration::from_secs(3),
            Duration::from_secs(3),
            &crate::config::CqlAccess {
                username: Some(user),
                password: Some(password),
                ..Default::default()
            },
        )
        .unwrap();
        let (record, identity) = saved_peer_at_loopback(dir.path());
        let saved = probe_saved(&record, &[], &identity, &settings)
            .await
            .unwrap();
        assert_eq!(saved.len(), 1, "{saved:?}");
        let seen = seen.lock().unwrap().clone();
        assert!(
            !String::from_utf8_lossy(&seen).contains("s3cret-never-sent"),
            "the password was sent: {:?}",
            String::from_utf8_lossy(&seen)
        );
        assert!(
            String::from_utf8_lossy(&seen).contains("CQL_VERSION"),
            "the address was asked at all"
        );
    }

    /// Something at a saved peer's address that completes the handshake, then answers
    /// every read with a header claiming a 4 GiB body and sends no more.
    async fn claims_a_huge_answer(listener: tokio::net::TcpListener) {
        stand_in(listener, Default::default(), |stream, opcode| {
            Some(match opcode {
                // STARTUP -> READY
                0x01 => frame(stream, 0x02, &[]),
                // OPTIONS -> SUPPORTED {}
                0x05 => frame(stream, 0x06, &0u16.to_be_bytes()),
                // A read: a RESULT header that claims u32::MAX bytes.
                _ => {
                    let mut f = vec![0x84, 0, stream[0], stream[1], 0x08];
                    f.extend_from_slice(&u32::MAX.to_be_bytes());
                    f
                }
            })
        })
        .await
    }

    /// A saved address is read with a bound on each answer's size: a reply whose header
    /// claims gigabytes is refused at once (no answer from a node), not read or allocated,
    /// and not waited on until the request's timeout.
    #[tokio::test]
    async fn a_saved_address_cannot_claim_a_huge_answer() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(claims_a_huge_answer(listener));
        let dir = tempfile::tempdir().unwrap();
        let settings = cql::load_settings(
            port,
            Duration::from_secs(5),
            Duration::from_secs(5),
            &crate::config::CqlAccess::default(),
        )
        .unwrap();
        let (record, identity) = saved_peer_at_loopback(dir.path());
        let started = Instant::now();
        let saved = probe_saved(&record, &[], &identity, &settings)
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "waited {:?} on a claimed body",
            started.elapsed()
        );
        match &saved[..] {
            [
                SavedPeer {
                    cql: Cql::NoAnswer { detail },
                    ..
                },
            ] => assert!(detail.contains("larger than any"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }
}
