//! The readiness probe's conversation with the local node: one TCP connection (TLS when
//! configured), CQL native protocol v4, no driver session. A session costs a control
//! connection, topology and metadata reads and a pool connection before the first query;
//! the probe needs one connection and two single-row reads, every few seconds in every pod.
//!
//! Round trips after the TCP (and TLS) handshake:
//! 1. STARTUP → READY; or → AUTHENTICATE, then AUTH_RESPONSE (SASL PLAIN) → AUTH_SUCCESS,
//!    one more. Nothing is sent ahead of the login's answer: Cassandra may run requests of
//!    one connection out of order, and a query that overtook the login would be refused.
//! 2. Both reads at once on two stream ids: `system.local` and this node's own row of
//!    `system_views.gossip_info` (by its partition key, the address dialed). Only when the
//!    node broadcasts another address than the one dialed is its gossip row read again by
//!    that address, a third round trip.
//!
//! Frames are built and parsed by the driver's own protocol crate, `scylla-cql`, and rows
//! are decoded with the same type checks the session applied. This module reads and writes
//! the frames, bounds their size, and classifies failures as `edge::cql` does: rejected
//! credentials are [`CqlError::Auth`] (the server's message names the user, never the
//! password); anything that keeps the node from answering is [`CqlError::Unreachable`]; an
//! error answer to a read is [`CqlError::Query`]. A missing `gossip_info` (Cassandra 4.0)
//! or one the role may not read is no gossip view, as before.
//!
//! It also surveys a saved peer's address ([`survey`]): the join record's addresses that
//! neither DNS nor the API attributes to this set now, where anything may answer after a
//! cold restart. The driver reads a frame of whatever length its header claims; here an
//! answer is read only up to a bound (4 MiB there, ample for a ring's system tables), and
//! only as its bytes arrive, so a stranger's header cannot become a large allocation.
//!
//! It does not: retry, bound time (the caller does, with `--timeout`), read anything else,
//! or log; the password leaves the process only inside the AUTH_RESPONSE frame.

mod frames;

use std::net::{IpAddr, SocketAddr};

use rustls::pki_types::ServerName;
use scylla_cql::frame::response::Response;
use scylla_cql::frame::response::error::DbError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cql::{self, CqlError, CqlSettings};
use crate::decide::ring::{GossipRow, LocalRow, PeerRow};
use frames::{
    auth_response, decode, gossip_rows, local_row, parse_header, query, startup, survey_gossip,
    survey_local, survey_peers,
};

/// What the probe read from the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// `system.local`: only `bootstrapped` and `broadcast_address` are read, the columns
    /// readiness looks at; the other fields stay empty.
    pub local: LocalRow,
    /// The node's own `gossip_info` row (`address` and status only): `None` when there is
    /// no gossip view (Cassandra 4.0 has no such table, or the role may not read it);
    /// `Some(None)` when gossip does not list the node under its broadcast address (yet).
    pub own_gossip: Option<Option<GossipRow>>,
}

/// Native protocol v4: spoken by Cassandra 4.0, 4.1 and 5.0. v5 adds segment framing with
/// checksums, which buys nothing for a few small frames on one connection.
const VERSION: u8 = 0x04;
/// A response's version byte: the protocol version with the direction bit set.
const RESPONSE_VERSION: u8 = 0x80 | VERSION;
const HEADER_LEN: usize = 9;
/// Largest response body accepted. The answers are a login step, an error message or one
/// short row (a few hundred bytes); a length beyond this comes from something that is not
/// a v4 node (a TLS record read as a frame, another service on the port) and must not
/// turn into an allocation.
const MAX_BODY: usize = 256 * 1024;
/// Largest answer a survey accepts: a `system.peers_v2` or `gossip_info` of a ring with
/// thousands of members, read without tokens, stays well under it.
const MAX_SURVEY_BODY: usize = 4 * 1024 * 1024;

/// Stream ids. The handshake is one request at a time; the two reads go out together and
/// their answers are told apart by stream id, in whatever order they come back.
const HANDSHAKE: i16 = 0;
const LOCAL: i16 = 1;
const GOSSIP: i16 = 2;
const PEERS: i16 = 3;

/// The columns readiness needs, no more: `tokens` alone can be thousands of bytes.
const LOCAL_CQL: &str =
    "SELECT bootstrapped, broadcast_address FROM system.local WHERE key = 'local'";

/// The node's own gossip row: `address` is the table's partition key, so this reads one
/// partition instead of every endpoint's state.
fn gossip_cql(address: IpAddr) -> String {
    // An inet literal is a quoted string; an IP address has no quote to escape.
    format!(
        "SELECT address, status_with_port, status FROM system_views.gossip_info \
         WHERE address = '{address}'"
    )
}

/// Reads what readiness needs from the node at `ip`, over one connection.
pub async fn observe(ip: IpAddr, settings: &CqlSettings) -> Result<Observation, CqlError> {
    let (stream, addr) = open(ip, settings).await?;
    converse(stream, addr, credentials(settings)).await
}

/// What a survey read: the rows a candidate's answer is made of
/// (`decide::seeds::member_answer`), with the columns that answer uses and no more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// `system.local`: `cluster_name`, `host_id`, `broadcast_address`.
    pub local: LocalRow,
    /// `system.peers_v2`: `peer`, `host_id`.
    pub peers: Vec<PeerRow>,
    /// `system_views.gossip_info`: `address`, `host_id`, status, `generation`; `None`
    /// without a gossip view.
    pub gossip: Option<Vec<GossipRow>>,
}

const SURVEY_LOCAL_CQL: &str =
    "SELECT cluster_name, host_id, broadcast_address FROM system.local WHERE key = 'local'";
/// Without `tokens`, which alone is most of a peer's row (up to 256 per node).
const SURVEY_PEERS_CQL: &str = "SELECT peer, host_id FROM system.peers_v2";
/// Explicit columns: `hostname` may cost a reverse DNS lookup per row.
const SURVEY_GOSSIP_CQL: &str = "SELECT address, host_id, status_with_port, status, generation \
     FROM system_views.gossip_info";

/// Asks the node at `ip` for its ring (`system.local`, `system.peers_v2`, `gossip_info`)
/// over one connection, every answer bounded in size: for addresses whose owner is not
/// known (a saved peer's), where the driver would read whatever length a header claims.
pub async fn survey(ip: IpAddr, settings: &CqlSettings) -> Result<Survey, CqlError> {
    let (stream, addr) = open(ip, settings).await?;
    survey_over(stream, addr, credentials(settings)).await
}

/// A byte stream to a node: TCP, or TLS over it.
trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Duplex for S {}

/// Connects to the node at `ip` (TLS when configured).
async fn open(
    ip: IpAddr,
    settings: &CqlSettings,
) -> Result<(Box<dyn Duplex>, SocketAddr), CqlError> {
    let addr = SocketAddr::new(ip, settings.port);
    let unreachable = |e: std::io::Error| CqlError::Unreachable {
        addr,
        detail: transport_detail(&e),
    };
    let tcp = TcpStream::connect(addr).await.map_err(unreachable)?;
    // Every request goes out in one write and waits for its answer, so Nagle's algorithm
    // could only hold a write back until an ACK the node delays.
    tcp.set_nodelay(true).map_err(unreachable)?;
    match &settings.tls {
        None => Ok((Box::new(tcp), addr)),
        Some(config) => {
            // The node is named by the IP dialed, as the driver names it; the verifier in
            // `edge::cql` checks --cql-tls-server-name instead when given.
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(ServerName::from(ip), tcp)
                .await
                .map_err(unreachable)?;
            Ok((Box::new(tls), addr))
        }
    }
}

fn credentials(settings: &CqlSettings) -> Option<(&str, &str)> {
    settings
        .credentials
        .as_ref()
        .map(|(user, password)| (user.as_str(), password.expose()))
}

/// The survey's conversation: the login, then the three reads at once.
async fn survey_over<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    addr: SocketAddr,
    credentials: Option<(&str, &str)>,
) -> Result<Survey, CqlError> {
    let mut conn = Conn {
        stream,
        addr,
        max_body: MAX_SURVEY_BODY,
    };
    conn.login(credentials).await?;
    let mut reads = query(LOCAL, SURVEY_LOCAL_CQL);
    reads.extend(query(PEERS, SURVEY_PEERS_CQL));
    reads.extend(query(GOSSIP, SURVEY_GOSSIP_CQL));
    conn.send(&reads).await?;
    let [local, peers, gossip] = conn.answers([LOCAL, PEERS, GOSSIP]).await?;
    let survey = Survey {
        local: survey_local(local).map_err(|e| conn.query_error(e))?,
        peers: survey_peers(peers).map_err(|e| conn.query_error(e))?,
        gossip: survey_gossip(gossip).map_err(|e| conn.query_error(e))?,
    };
    conn.close().await;
    Ok(survey)
}

/// The conversation itself, over any byte stream (a socket, TLS, or a test's pipe).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    addr: SocketAddr,
    credentials: Option<(&str, &str)>,
) -> Result<Observation, CqlError> {
    let mut conn = Conn {
        stream,
        addr,
        max_body: MAX_BODY,
    };
    conn.login(credentials).await?;

    let mut reads = query(LOCAL, LOCAL_CQL);
    reads.extend(query(GOSSIP, &gossip_cql(addr.ip())));
    conn.send(&reads).await?;
    let [local, gossip] = conn.answers([LOCAL, GOSSIP]).await?;
    let local = local_row(local).map_err(|e| conn.query_error(e))?;
    let gossip = gossip_rows(gossip).map_err(|e| conn.query_error(e))?;

    let own_gossip = match (gossip, local.broadcast_address) {
        (None, _) => None,
        (Some(_), None) => Some(None),
        (Some(rows), Some(own)) if own == addr.ip() => Some(find(rows, own)),
        // Dialed at another address than it broadcasts (e.g. `--host 127.0.0.1`): its
        // gossip row is under the broadcast address.
        (Some(_), Some(own)) => {
            conn.send(&query(GOSSIP, &gossip_cql(own))).await?;
            let response = match conn.recv().await? {
                (GOSSIP, response) => response,
                (stream, _) => return Err(conn.unreachable(unexpected_stream(stream))),
            };
            gossip_rows(response)
                .map_err(|e| conn.query_error(e))?
                .map(|rows| find(rows, own))
        }
    };
    conn.close().await;
    Ok(Observation { local, own_gossip })
}

fn find(rows: Vec<GossipRow>, address: IpAddr) -> Option<GossipRow> {
    rows.into_iter().find(|g| g.address == Some(address))
}

fn unexpected_stream(stream: i16) -> String {
    format!("an answer on stream {stream}, which no request used")
}

/// One connection to the node, for error messages that name it.
struct Conn<S> {
    stream: S,
    addr: SocketAddr,
    /// The largest answer body read.
    max_body: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn unreachable(&self, detail: String) -> CqlError {
        CqlError::Unreachable {
            addr: self.addr,
            detail,
        }
    }

    fn query_error(&self, detail: String) -> CqlError {
        CqlError::Query {
            addr: self.addr,
            detail,
        }
    }

    fn auth(&self, detail: String) -> CqlError {
        CqlError::Auth {
            addr: self.addr,
            detail,
        }
    }

    async fn send(&mut self, frames: &[u8]) -> Result<(), CqlError> {
        self.stream
            .write_all(frames)
            .await
            .map_err(|e| self.unreachable(transport_detail(&e)))?;
        // TLS buffers the records it sealed until flushed.
        self.stream
            .flush()
            .await
            .map_err(|e| self.unreachable(transport_detail(&e)))
    }

    async fn recv(&mut self) -> Result<(i16, Response), CqlError> {
        let mut raw = [0u8; HEADER_LEN];
        self.stream
            .read_exact(&mut raw)
            .await
            .map_err(|e| self.unreachable(transport_detail(&e)))?;
        let header = parse_header(&raw, self.max_body).map_err(|e| self.unreachable(e))?;
        // Read as the bytes come, never allocated ahead from the header's word alone.
        let mut body = Vec::with_capacity(header.length.min(64 * 1024));
        (&mut self.stream)
            .take(header.length as u64)
            .read_to_end(&mut body)
            .await
            .map_err(|e| self.unreachable(transport_detail(&e)))?;
        if body.len() < header.length {
            return Err(self.unreachable("the node closed the connection".into()));
        }
        let response = decode(&header, body).map_err(|e| self.unreachable(e))?;
        Ok((header.stream, response))
    }

    /// STARTUP, and the login when the node asks for one.
    async fn login(&mut self, credentials: Option<(&str, &str)>) -> Result<(), CqlError> {
        self.send(&startup()).await?;
        let authenticator = match self.handshake_reply("STARTUP").await? {
            Response::Ready => return Ok(()),
            Response::Authenticate(a) => a.authenticator_name,
            Response::Error(e) => return Err(self.unreachable(error_detail(&e))),
            other => return Err(self.unreachable(unexpected(&other, "STARTUP"))),
        };
        let Some((user, password)) = credentials else {
            return Err(self.auth(format!(
                "the node requires a login ({authenticator}) and none was given"
            )));
        };
        self.send(&auth_response(user, password)).await?;
        match self.handshake_reply("AUTH_RESPONSE").await? {
            Response::AuthSuccess(_) => Ok(()),
            Response::Error(e) if e.error == DbError::AuthenticationError => {
                Err(self.auth(e.reason))
            }
            Response::Error(e) => Err(self.unreachable(error_detail(&e))),
            // PasswordAuthenticator settles a PLAIN login in one step; a challenge means
            // an authenticator that wants more than a username and password.
            Response::AuthChallenge(_) => Err(self.auth(format!(
                "{authenticator} asked for more than a username and password"
            ))),
            other => Err(self.unreachable(unexpected(&other, "AUTH_RESPONSE"))),
        }
    }

    async fn handshake_reply(&mut self, request: &str) -> Result<Response, CqlError> {
        match self.recv().await? {
            (HANDSHAKE, response) => Ok(response),
            (stream, _) => Err(self.unreachable(format!(
                "{} in reply to {request}",
                unexpected_stream(stream)
            ))),
        }
    }

    /// Ends the connection cleanly (TLS close_notify, then FIN), so the node logs no
    /// broken connection. Best effort: the answer is already in.
    /// The answers to reads sent at once on the stream ids `streams`, in that order,
    /// whatever order the node answered in.
    async fn answers<const N: usize>(
        &mut self,
        streams: [i16; N],
    ) -> Result<[Response; N], CqlError> {
        let mut got: [Option<Response>; N] = std::array::from_fn(|_| None);
        for _ in 0..N {
            let (stream, response) = self.recv().await?;
            let Some(slot) = streams.iter().position(|&s| s == stream) else {
                return Err(self.unreachable(unexpected_stream(stream)));
            };
            if got[slot].replace(response).is_some() {
                return Err(self.unreachable("two answers on one stream id".into()));
            }
        }
        // N answers, none on a stream twice: every slot holds one.
        Ok(got.map(|r| r.expect("one answer per stream id")))
    }

    async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }
}

/// What a transport error says, and for a certificate that does not carry the name
/// checked, what to set.
fn transport_detail(e: &std::io::Error) -> String {
    use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
    let name_mismatch = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|tls| {
            matches!(
                tls,
                rustls::Error::InvalidCertificate(NotValidForName | NotValidForNameContext { .. })
            )
        });
    if name_mismatch {
        cql::name_mismatch(&e.to_string())
    } else if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the node closed the connection".into()
    } else {
        e.to_string()
    }
}

fn error_detail(e: &scylla_cql::frame::response::error::Error) -> String {
    format!("{} ({})", e.reason, e.error)
}

fn unexpected(response: &Response, request: &str) -> String {
    format!(
        "unexpected {:?} in reply to {request}",
        response.to_response_kind()
    )
}

#[cfg(test)]
mod tests;
