//! CQL to exactly the node it is asked about: a scylla session whose host filter admits
//! only that address (no pools to the rest of the cluster), with no schema fetch, one
//! connection, and explicit connect and request timeouts. Credentials and CA come from
//! files; neither the password nor file contents ever reach a log line or an error.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use scylla::client::PoolSize;
use scylla::client::SelfIdentity;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::host_filter::AllowListHostFilter;

use crate::config::CqlAccess;
use crate::decide::ring::{GossipRow, LocalRow, PeerRow, liveness_settled};

/// How long to watch heartbeats before calling a member down. A live member's heartbeat
/// reaches the observer within a gossip round or two (each node gossips to one random
/// peer a second), so a single read a second later misses it now and then; Cassandra's
/// own failure detector waits longer still (about 18 s at phi 8).
pub const LIVENESS_WINDOW: Duration = Duration::from_secs(5);
/// Pause between reads of `gossip_info` within the window.
const LIVENESS_POLL: Duration = Duration::from_millis(500);

/// The driver name ringkeeper's connections announce (`system_views.clients.driver_name`).
pub const DRIVER_NAME: &str = "ringkeeper";

/// How to reach and authenticate to nodes.
#[derive(Clone)]
pub struct CqlSettings {
    /// Native transport port.
    pub port: u16,
    /// Bound on connecting (TCP, TLS, handshake, authentication).
    pub connect_timeout: Duration,
    /// Bound on each request.
    pub request_timeout: Duration,
    /// Username and password, read from files.
    pub credentials: Option<(String, Secret)>,
    /// TLS client configuration.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// A password that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The password itself, for the one place that sends it (a login).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why talking to a node failed, classified for decisions and messages.
#[derive(Debug, thiserror::Error)]
pub enum CqlError {
    /// Nothing answered in time, or the connection was refused.
    #[error("{addr} does not answer CQL: {detail}")]
    Unreachable {
        /// The node.
        addr: SocketAddr,
        /// What happened (no secrets).
        detail: String,
    },
    /// The node rejected the credentials.
    #[error(
        "{addr} rejected the CQL credentials (check --cql-username-file / --cql-password-file): {detail}"
    )]
    Auth {
        /// The node.
        addr: SocketAddr,
        /// The server's message (it names the user, never the password).
        detail: String,
    },
    /// A query failed.
    #[error("query to {addr} failed: {detail}")]
    Query {
        /// The node.
        addr: SocketAddr,
        /// What happened.
        detail: String,
    },
}

/// Reads the credentials and TLS files named by the flags. Errors name the flag and the
/// path, never the contents.
pub fn load_settings(
    port: u16,
    connect_timeout: Duration,
    request_timeout: Duration,
    files: &CqlAccess,
) -> anyhow::Result<CqlSettings> {
    let read = |flag: &str, path: &Path| -> anyhow::Result<String> {
        std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
            .map_err(|e| anyhow::anyhow!("cannot read {flag} {}: {e}", path.display()))
    };
    let credentials = match (&files.username, &files.password) {
        (None, None) => None,
        (Some(u), Some(p)) => Some((
            read("--cql-username-file", u)?,
            Secret(read("--cql-password-file", p)?),
        )),
        _ => anyhow::bail!(
            "--cql-username-file and --cql-password-file go together: give both or neither"
        ),
    };
    let tls = match &files.ca {
        None => {
            if files.cert.is_some() || files.key.is_some() {
                anyhow::bail!("--cql-cert-file and --cql-key-file need --cql-ca-file (TLS)");
            }
            None
        }
        Some(ca) => Some(Arc::new(tls_config(
            ca,
            files.cert.as_deref(),
            files.key.as_deref(),
            files.tls_server_name.clone(),
        )?)),
    };
    Ok(CqlSettings {
        port,
        connect_timeout,
        request_timeout,
        credentials,
        tls,
    })
}

fn tls_config(
    ca: &Path,
    cert: Option<&Path>,
    key: Option<&Path>,
    server_name: Option<ServerName<'static>>,
) -> anyhow::Result<rustls::ClientConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let pem = |flag: &str, path: &Path| -> anyhow::Result<Vec<u8>> {
        std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read {flag} {}: {e}", path.display()))
    };
    let certs = |flag: &str, path: &Path| -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let bytes = pem(flag, path)?;
        let certs = rustls_pemfile::certs(&mut bytes.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow::anyhow!("{flag} {} is not PEM certificates: {e}", path.display())
            })?;
        if certs.is_empty() {
            anyhow::bail!("{flag} {} holds no PEM certificate", path.display());
        }
        Ok(certs)
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in certs("--cql-ca-file", ca)? {
        roots.add(c).map_err(|e| {
            anyhow::anyhow!(
                "--cql-ca-file {}: unusable CA certificate: {e}",
                ca.display()
            )
        })?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS setup: {e}"))?;
    let builder = match server_name {
        None => builder.with_root_certificates(roots),
        Some(name) => {
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| anyhow::anyhow!("TLS setup: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NamedServerVerifier { inner, name }))
        }
    };
    match (cert, key) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = certs("--cql-cert-file", cert)?;
            let bytes = pem("--cql-key-file", key)?;
            let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut bytes.as_slice())
                .ok()
                .flatten()
                .ok_or_else(|| {
                    anyhow::anyhow!("--cql-key-file {} holds no PEM private key", key.display())
                })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                anyhow::anyhow!(
                    "--cql-cert-file/--cql-key-file do not form a usable client identity: {e}"
                )
            })
        }
        _ => anyhow::bail!("--cql-cert-file and --cql-key-file go together: give both or neither"),
    }
}

/// Verifies node certificates against the CA, checking a configured name instead of the
/// address dialed. The driver always names the server by its IP, but certificates for
/// pods rarely carry pod IPs (they change on every reschedule): they carry the Service's
/// DNS names, shared by every pod. Chain, validity and signatures are checked as usual.
#[derive(Debug)]
struct NamedServerVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl rustls::client::danger::ServerCertVerifier for NamedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _dialed: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// An open session to one node.
pub struct Node {
    session: Session,
    addr: SocketAddr,
}

/// Connects to `ip` only.
pub async fn connect(ip: IpAddr, settings: &CqlSettings) -> Result<Node, CqlError> {
    let addr = SocketAddr::new(ip, settings.port);
    let unreachable = |detail: String| CqlError::Unreachable { addr, detail };
    let filter = AllowListHostFilter::new([addr]).map_err(|e| unreachable(e.to_string()))?;
    let profile = ExecutionProfile::builder()
        .request_timeout(Some(settings.request_timeout))
        .build();
    let mut builder = SessionBuilder::new()
        .known_node_addr(addr)
        .host_filter(Arc::new(filter))
        .fetch_schema_metadata(false)
        .fetch_full_schema_metadata(false)
        .pool_size(PoolSize::PerHost(NonZeroUsize::MIN))
        .connection_timeout(settings.connect_timeout)
        .metadata_request_serverside_timeout(settings.request_timeout)
        .auto_await_schema_agreement(false)
        // Named, so that `system_views.clients` tells ringkeeper's connections from the
        // applications' (the drain waits for the latter to go quiet).
        .custom_identity(SelfIdentity::new().with_custom_driver_name(DRIVER_NAME))
        .default_execution_profile_handle(profile.into_handle());
    if let Some((user, Secret(password))) = &settings.credentials {
        builder = builder.user(user.clone(), password.clone());
    }
    if let Some(tls) = &settings.tls {
        builder = builder.tls_context(Some(tls.clone()));
    }
    // The driver's own timeouts bound each step; this bounds the whole handshake.
    let session = match tokio::time::timeout(settings.connect_timeout * 2, builder.build()).await {
        Err(_) => {
            return Err(unreachable(format!(
                "no session within {:?}",
                settings.connect_timeout * 2
            )));
        }
        Ok(Err(e)) => {
            let detail = e.to_string();
            let lower = detail.to_ascii_lowercase();
            return Err(
                if lower.contains("authenticat")
                    || lower.contains("password")
                    || lower.contains("credentials")
                {
                    CqlError::Auth { addr, detail }
                } else if lower.contains("notvalidforname") || lower.contains("not valid for name")
                {
                    unreachable(name_mismatch(&detail))
                } else {
                    unreachable(detail)
                },
            );
        }
        Ok(Ok(session)) => session,
    };
    Ok(Node { session, addr })
}

/// A TLS failure because the node's certificate does not carry the name checked, with
/// what to do about it.
pub(crate) fn name_mismatch(detail: &str) -> String {
    format!(
        "{detail} (the node's certificate does not carry the name checked: its IP, \
         or --cql-tls-server-name when given; set --cql-tls-server-name to a \
         name the node certificates carry)"
    )
}

impl Node {
    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn query_error(&self, e: impl std::fmt::Display) -> CqlError {
        CqlError::Query {
            addr: self.addr,
            detail: e.to_string(),
        }
    }

    /// `system.local`.
    pub async fn local(&self) -> Result<LocalRow, CqlError> {
        type Row = (
            Option<String>,
            Option<uuid::Uuid>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<Vec<String>>,
            Option<String>,
            Option<IpAddr>,
            Option<uuid::Uuid>,
        );
        let result = self
            .session
            .query_unpaged(
                "SELECT cluster_name, host_id, data_center, rack, bootstrapped, tokens, release_version, \
                 broadcast_address, schema_version FROM system.local WHERE key = 'local'",
                &[],
            )
            .await
            .map_err(|e| self.query_error(e))?
            .into_rows_result()
            .map_err(|e| self.query_error(e))?;
        let row: Option<Row> = result.maybe_first_row().map_err(|e| self.query_error(e))?;
        let (
            cluster_name,
            host_id,
            dc,
            rack,
            bootstrapped,
            tokens,
            release_version,
            broadcast_address,
            schema,
        ) = row.ok_or_else(|| self.query_error("system.local is empty"))?;
        Ok(LocalRow {
            cluster_name,
            host_id: host_id.map(|u| u.to_string()),
            dc,
            rack,
            bootstrapped,
            tokens: tokens.map_or(0, |t| t.len()),
            release_version,
            broadcast_address,
            schema_version: schema.map(|u| u.to_string()),
        })
    }

    /// The node's client connections other than ringkeeper's own, from
    /// `system_views.clients` (4.0+): how many, and the requests they sent so far.
    pub async fn client_traffic(&self) -> Result<(u32, u64), CqlError> {
        type Row = (Option<String>, Option<i64>);
        let result = self
            .session
            .query_unpaged(
                "SELECT driver_name, request_count FROM system_views.clients",
                &[],
            )
            .await
            .map_err(|e| self.query_error(e))?
            .into_rows_result()
            .map_err(|e| self.query_error(e))?;
        let (mut connections, mut requests) = (0u32, 0u64);
        for row in result.rows::<Row>().map_err(|e| self.query_error(e))? {
            let (driver, count) = row.map_err(|e| self.query_error(e))?;
            if driver.as_deref() != Some(DRIVER_NAME) {
                connections += 1;
                requests += u64::try_from(count.unwrap_or(0)).unwrap_or(0);
            }
        }
        Ok((connections, requests))
    }

    /// `system.peers_v2`, falling back to `system.peers`.
    pub async fn peers(&self) -> Result<Vec<PeerRow>, CqlError> {
        type Row = (
            Option<IpAddr>,
            Option<uuid::Uuid>,
            Option<String>,
            Option<String>,
            Option<Vec<String>>,
            Option<String>,
            Option<uuid::Uuid>,
        );
        let columns = "peer, host_id, data_center, rack, tokens, release_version, schema_version";
        let result = match self
            .session
            .query_unpaged(format!("SELECT {columns} FROM system.peers_v2"), &[])
            .await
        {
            Ok(r) => r,
            Err(_) => self
                .session
                .query_unpaged(format!("SELECT {columns} FROM system.peers"), &[])
                .await
                .map_err(|e| self.query_error(e))?,
        };
        let rows = result.into_rows_result().map_err(|e| self.query_error(e))?;
        let mut out = Vec::new();
        for row in rows.rows::<Row>().map_err(|e| self.query_error(e))? {
            let (address, host_id, dc, rack, tokens, release_version, schema) =
                row.map_err(|e| self.query_error(e))?;
            out.push(PeerRow {
                address,
                host_id: host_id.map(|u| u.to_string()),
                dc,
                rack,
                tokens: tokens.map_or(0, |t| t.len()),
                release_version,
                schema_version: schema.map(|u| u.to_string()),
            });
        }
        Ok(out)
    }

    /// Reads `gossip_info` now and again every half second until the heartbeat of every
    /// peer in `peers` advanced (or it shut down), for at most `window` (normally
    /// `LIVENESS_WINDOW`); returns the first and the latest read, or `None` without
    /// `gossip_info`.
    pub async fn gossip_over_time(
        &self,
        peers: &[PeerRow],
        window: Duration,
    ) -> Result<Option<(Vec<GossipRow>, Vec<GossipRow>)>, CqlError> {
        let watch: Vec<IpAddr> = peers.iter().filter_map(|p| p.address).collect();
        let Some(first) = self.gossip().await? else {
            return Ok(None);
        };
        let start = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(LIVENESS_POLL).await;
            let Some(latest) = self.gossip().await? else {
                return Ok(None);
            };
            if liveness_settled(&first, &latest, &watch) || start.elapsed() >= window {
                return Ok(Some((first, latest)));
            }
        }
    }

    /// `system_views.gossip_info` (Cassandra 4.1+). `Ok(None)` when the node has no such
    /// table or the role may not read it: the caller reports that liveness is unknown.
    pub async fn gossip(&self) -> Result<Option<Vec<GossipRow>>, CqlError> {
        type Row = (
            Option<IpAddr>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i32>,
            Option<i32>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        // Explicit columns: `hostname` may cost a reverse DNS lookup per row.
        let result = match self
            .session
            .query_unpaged(
                "SELECT address, host_id, status_with_port, status, heartbeat, generation, dc, rack, \"schema\" \
                 FROM system_views.gossip_info",
                &[],
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let text = e.to_string();
                if text.contains("gossip_info") || text.contains("system_views") || text.contains("nauthorized") {
                    return Ok(None);
                }
                return Err(self.query_error(text));
            }
        };
        let rows = result.into_rows_result().map_err(|e| self.query_error(e))?;
        let mut out = Vec::new();
        for row in rows.rows::<Row>().map_err(|e| self.query_error(e))? {
            let (
                address,
                host_id,
                status_with_port,
                status,
                heartbeat,
                generation,
                dc,
                rack,
                schema,
            ) = row.map_err(|e| self.query_error(e))?;
            out.push(GossipRow {
                address,
                host_id,
                status: crate::decide::ring::gossip_status(status_with_port, status),
                heartbeat,
                generation,
                dc,
                rack,
                schema,
            });
        }
        Ok(Some(out))
    }
}

/// Asks a seed candidate who it is: its cluster name, the members it knows, and which of
/// them are moving token ranges. A candidate that does not answer is `NoAnswer`; rejected
/// credentials are an error (a live node we cannot read must never look like "no ring").
///
/// With `liveness`, gossip is read twice a heartbeat apart to tell which members are down
/// (a second slower; only needed when a node without data decides how to join).
pub async fn probe(
    ip: IpAddr,
    settings: &CqlSettings,
    liveness: bool,
) -> Result<crate::decide::seeds::Cql, CqlError> {
    use crate::decide::seeds::Cql;
    let node = match connect(ip, settings).await {
        Ok(node) => node,
        Err(e @ CqlError::Auth { .. }) => return Err(e),
        Err(e) => {
            return Ok(Cql::NoAnswer {
                detail: e.to_string(),
            });
        }
    };
    let read = async {
        let local = node.local().await?;
        let peers = node.peers().await?;
        let (gossip, again) = if liveness {
            match node.gossip_over_time(&peers, LIVENESS_WINDOW).await? {
                Some((first, latest)) => (Some(first), Some(latest)),
                None => (None, None),
            }
        } else {
            (node.gossip().await?, None)
        };
        Ok::<_, CqlError>((local, peers, gossip, again))
    };
    let (local, peers, gossip, again) = match read.await {
        Ok(x) => x,
        Err(e) => {
            return Ok(Cql::NoAnswer {
                detail: e.to_string(),
            });
        }
    };
    Ok(crate::decide::seeds::member_answer(
        local, &peers, gossip, again,
    ))
}

/// What a scale-down decision reads from the local node (`decide::scale_down`).
impl Node {
    /// Every keyspace's replication (`system_schema.keyspaces`, always readable).
    pub async fn keyspaces(&self) -> Result<Vec<crate::decide::scale_down::Keyspace>, CqlError> {
        type Row = (
            Option<String>,
            Option<std::collections::BTreeMap<String, String>>,
        );
        let result = self
            .session
            .query_unpaged(
                "SELECT keyspace_name, replication FROM system_schema.keyspaces",
                &[],
            )
            .await
            .map_err(|e| self.query_error(e))?
            .into_rows_result()
            .map_err(|e| self.query_error(e))?;
        let mut out = Vec::new();
        for row in result.rows::<Row>().map_err(|e| self.query_error(e))? {
            let (name, replication) = row.map_err(|e| self.query_error(e))?;
            if let Some(name) = name {
                out.push(crate::decide::scale_down::Keyspace {
                    name,
                    replication: replication.unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// The LOAD gossip carries for `address` (`system_views.gossip_info.load`, 4.1+: the
    /// bytes of its live SSTables, as a decimal number). `None` without the table, without
    /// permission, or without a value yet (it is gossiped every `broadcast_interval_ms`).
    pub async fn gossip_load(&self, address: IpAddr) -> Option<String> {
        type Row = (Option<IpAddr>, Option<String>);
        let result = self
            .session
            .query_unpaged("SELECT address, load FROM system_views.gossip_info", &[])
            .await
            .ok()?
            .into_rows_result()
            .ok()?;
        let rows = result.rows::<Row>().ok()?;
        rows.flatten()
            .find(|(a, _)| *a == Some(address))
            .and_then(|(_, load)| load)
            .filter(|l| !l.is_empty())
    }

    /// A JVM system property of the node (`system_views.system_properties`, which lists
    /// the `cassandra.*` ones that are set). `None` when unset or not readable.
    pub async fn system_property(&self, name: &str) -> Option<String> {
        type Row = (Option<String>,);
        let result = self
            .session
            .query_unpaged(
                "SELECT value FROM system_views.system_properties WHERE name = ?",
                (name,),
            )
            .await
            .ok()?
            .into_rows_result()
            .ok()?;
        result.maybe_first_row::<Row>().ok().flatten()?.0
    }
}

/// What a backup records of the local node (`decide::backup::manifest`).
impl Node {
    /// The node's tokens (`system.local.tokens`).
    pub async fn local_tokens(&self) -> Result<Vec<String>, CqlError> {
        type Row = (Option<Vec<String>>,);
        let result = self
            .session
            .query_unpaged("SELECT tokens FROM system.local WHERE key = 'local'", &[])
            .await
            .map_err(|e| self.query_error(e))?
            .into_rows_result()
            .map_err(|e| self.query_error(e))?;
        let row: Option<Row> = result.maybe_first_row().map_err(|e| self.query_error(e))?;
        let mut tokens = row.and_then(|r| r.0).unwrap_or_default();
        tokens.sort_by_key(|t| t.parse::<i64>().unwrap_or(i64::MIN));
        Ok(tokens)
    }

    /// The schema as CQL: `DESCRIBE SCHEMA`, answered by the node itself (4.0+), every
    /// keyspace, type, table, index and view that is not a system one.
    pub async fn describe_schema(&self) -> Result<String, CqlError> {
        use futures::TryStreamExt;
        type Row = (String, String, String, String);
        let rows: Vec<Row> = self
            .session
            .query_iter("DESCRIBE SCHEMA", &[])
            .await
            .map_err(|e| self.query_error(e))?
            .rows_stream::<Row>()
            .map_err(|e| self.query_error(e))?
            .try_collect()
            .await
            .map_err(|e| self.query_error(e))?;
        Ok(rows
            .into_iter()
            .map(|(_, _, _, statement)| statement)
            .collect::<Vec<_>>()
            .join("\n\n"))
    }
}

/// What restoring one table asks the local node.
impl Node {
    /// Whether `keyspace.table` exists (`system_schema.tables`).
    pub async fn table_exists(&self, keyspace: &str, table: &str) -> Result<bool, CqlError> {
        type Row = (String,);
        let result = self
            .session
            .query_unpaged(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?",
                (keyspace, table),
            )
            .await
            .map_err(|e| self.query_error(e))?
            .into_rows_result()
            .map_err(|e| self.query_error(e))?;
        Ok(result
            .maybe_first_row::<Row>()
            .map_err(|e| self.query_error(e))?
            .is_some())
    }

    /// Runs a schema statement (the driver waits for the ring to agree on the schema).
    pub async fn schema_statement(&self, statement: &str) -> Result<(), CqlError> {
        self.session
            .query_unpaged(statement, &[])
            .await
            .map(|_| ())
            .map_err(|e| self.query_error(e))
    }
}
