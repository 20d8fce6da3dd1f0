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

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use rustls::pki_types::ServerName;
use scylla_cql::Consistency;
use scylla_cql::frame::protocol_features::ProtocolFeatures;
use scylla_cql::frame::request::query::QueryParameters;
use scylla_cql::frame::request::{AuthResponse, Query, SerializableRequest, Startup};
use scylla_cql::frame::response::error::DbError;
use scylla_cql::frame::response::{Response, ResponseOpcode, result};
use scylla_cql::frame::{SerializedRequest, parse_response_body_extensions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cql::{self, CqlError, CqlSettings};
use crate::decide::ring::{GossipRow, LocalRow, PeerRow};

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
    let (mut local, mut peers, mut gossip) = (None, None, None);
    for _ in 0..3 {
        let (stream, response) = conn.recv().await?;
        let slot = match stream {
            LOCAL => &mut local,
            PEERS => &mut peers,
            GOSSIP => &mut gossip,
            other => return Err(conn.unreachable(unexpected_stream(other))),
        };
        if slot.replace(response).is_some() {
            return Err(conn.unreachable("two answers on one stream id".into()));
        }
    }
    let (Some(local), Some(peers), Some(gossip)) = (local, peers, gossip) else {
        return Err(conn.unreachable("two answers on one stream id".into()));
    };
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
    let (mut local, mut gossip) = (None, None);
    for _ in 0..2 {
        match conn.recv().await? {
            (LOCAL, response) => local = Some(response),
            (GOSSIP, response) => gossip = Some(response),
            (stream, _) => return Err(conn.unreachable(unexpected_stream(stream))),
        }
    }
    let (Some(local), Some(gossip)) = (local, gossip) else {
        return Err(conn.unreachable("two answers on one stream id".into()));
    };
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

// ---- frames out ----

/// Serializes one request frame. Only a string longer than 2 GiB fails to serialize, and
/// none of ours can be: the statements are fixed, and a login is a file's first lines.
fn frame(stream: i16, request: &impl SerializableRequest) -> Vec<u8> {
    let mut frame = SerializedRequest::make(request, None, false)
        .expect("requests of bounded size always serialize");
    frame.set_stream(stream);
    frame.get_data().to_vec()
}

/// STARTUP, v4, no compression.
fn startup() -> Vec<u8> {
    // One option, so the frame's bytes do not depend on a map's iteration order.
    let options = HashMap::from([(Cow::Borrowed("CQL_VERSION"), Cow::Borrowed("3.0.0"))]);
    frame(HANDSHAKE, &Startup { options })
}

/// AUTH_RESPONSE with a SASL PLAIN token (RFC 4616: no authorization identity, NUL, user,
/// NUL, password), what PasswordAuthenticator expects.
fn auth_response(user: &str, password: &str) -> Vec<u8> {
    let mut token = Vec::with_capacity(user.len() + password.len() + 2);
    token.push(0);
    token.extend_from_slice(user.as_bytes());
    token.push(0);
    token.extend_from_slice(password.as_bytes());
    frame(
        HANDSHAKE,
        &AuthResponse {
            response: Some(token),
        },
    )
}

/// QUERY without bound values or paging, at consistency ONE: both tables are node-local.
fn query(stream: i16, cql: &str) -> Vec<u8> {
    frame(
        stream,
        &Query {
            contents: Cow::Borrowed(cql),
            parameters: QueryParameters {
                consistency: Consistency::One,
                ..QueryParameters::default()
            },
        },
    )
}

// ---- frames in ----

/// A response frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    flags: u8,
    stream: i16,
    opcode: ResponseOpcode,
    length: usize,
}

fn parse_header(raw: &[u8; HEADER_LEN], max_body: usize) -> Result<Header, String> {
    let [version, flags, s0, s1, opcode, l0, l1, l2, l3] = *raw;
    if version != RESPONSE_VERSION {
        return Err(match version {
            // TLS record types (alert, handshake): the port speaks TLS.
            0x15 | 0x16 => {
                "the node answered with TLS (its CQL port requires it: give --cql-ca-file)".into()
            }
            v if v & 0x80 == 0 => format!("not a CQL response (first byte {v:#04x})"),
            v => format!("the node answered in protocol v{}, not v4", v & 0x7f),
        });
    }
    let opcode = ResponseOpcode::try_from(opcode)
        .map_err(|_| format!("not a CQL response (opcode {opcode:#04x})"))?;
    let length = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
    if length > max_body {
        return Err(format!(
            "a {length}-byte answer, larger than any this probe expects ({max_body})"
        ));
    }
    Ok(Header {
        flags,
        stream: i16::from_be_bytes([s0, s1]),
        opcode,
        length,
    })
}

/// Parses a response body. Warnings and a custom payload, which any answer may carry, are
/// skipped; a compressed body is refused, since STARTUP asked for no compression.
fn decode(header: &Header, body: Vec<u8>) -> Result<Response, String> {
    let body = parse_response_body_extensions(header.flags, None, Bytes::from(body))
        .map_err(|e| format!("malformed {:?} frame: {e}", header.opcode))?
        .body;
    Response::deserialize(&ProtocolFeatures::default(), header.opcode, body, None)
        .map_err(|e| format!("malformed {:?} frame: {e}", header.opcode))
}

/// The rows of a RESULT, decoded as `Row` (which checks the columns' types).
fn rows<R>(response: Response, table: &str) -> Result<Vec<R>, String>
where
    R: for<'frame, 'metadata> scylla_cql::deserialize::row::DeserializeRow<'frame, 'metadata>,
{
    let raw = match response {
        Response::Result(result::Result::Rows((raw, _paging))) => raw,
        Response::Error(e) => return Err(error_detail(&e)),
        other => return Err(unexpected(&other, &format!("a read of {table}"))),
    };
    let rows = raw
        .deserialize_metadata()
        .map_err(|e| format!("{table}: {e}"))?;
    rows.rows_iter::<R>()
        .map_err(|e| format!("{table}: {e}"))?
        .map(|row| row.map_err(|e| format!("{table}: {e}")))
        .collect()
}

fn local_row(response: Response) -> Result<LocalRow, String> {
    let (bootstrapped, broadcast_address) =
        rows::<(Option<String>, Option<IpAddr>)>(response, "system.local")?
            .into_iter()
            .next()
            .ok_or("system.local is empty")?;
    Ok(LocalRow {
        bootstrapped,
        broadcast_address,
        ..LocalRow::default()
    })
}

/// `Ok(None)` without a gossip view: the table does not exist (Cassandra 4.0) or the role
/// may not read it.
fn gossip_rows(response: Response) -> Result<Option<Vec<GossipRow>>, String> {
    if no_gossip_view(&response) {
        return Ok(None);
    }
    let rows = rows::<(Option<IpAddr>, Option<String>, Option<String>)>(
        response,
        "system_views.gossip_info",
    )?;
    Ok(Some(
        rows.into_iter()
            .map(|(address, status_with_port, status)| GossipRow {
                address,
                status: crate::decide::ring::gossip_status(status_with_port, status),
                ..GossipRow::default()
            })
            .collect(),
    ))
}

/// The table does not exist (Cassandra 4.0) or the role may not read it.
fn no_gossip_view(response: &Response) -> bool {
    matches!(response, Response::Error(e) if e.error == DbError::Unauthorized
        || e.reason.contains("gossip_info")
        || e.reason.contains("system_views"))
}

fn survey_local(response: Response) -> Result<LocalRow, String> {
    type Row = (Option<String>, Option<uuid::Uuid>, Option<IpAddr>);
    let (cluster_name, host_id, broadcast_address) = rows::<Row>(response, "system.local")?
        .into_iter()
        .next()
        .ok_or("system.local is empty")?;
    Ok(LocalRow {
        cluster_name,
        host_id: host_id.map(|u| u.to_string()),
        broadcast_address,
        ..LocalRow::default()
    })
}

fn survey_peers(response: Response) -> Result<Vec<PeerRow>, String> {
    type Row = (Option<IpAddr>, Option<uuid::Uuid>);
    Ok(rows::<Row>(response, "system.peers_v2")?
        .into_iter()
        .map(|(address, host_id)| PeerRow {
            address,
            host_id: host_id.map(|u| u.to_string()),
            ..PeerRow::default()
        })
        .collect())
}

/// `Ok(None)` without a gossip view, as [`gossip_rows`].
fn survey_gossip(response: Response) -> Result<Option<Vec<GossipRow>>, String> {
    if no_gossip_view(&response) {
        return Ok(None);
    }
    type Row = (
        Option<IpAddr>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i32>,
    );
    let rows = rows::<Row>(response, "system_views.gossip_info")?;
    Ok(Some(
        rows.into_iter()
            .map(
                |(address, host_id, status_with_port, status, generation)| GossipRow {
                    address,
                    host_id,
                    status: crate::decide::ring::gossip_status(status_with_port, status),
                    generation,
                    ..GossipRow::default()
                },
            )
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    //! Frames in, frames out: byte tables for the codec, and whole conversations with a
    //! scripted node over an in-memory pipe (no network).

    use super::*;

    const PASSWORD_AUTHENTICATOR: &str = "org.apache.cassandra.auth.PasswordAuthenticator";
    const NODE: &str = "10.0.0.1:9042";

    /// `[string]`: u16 length, bytes.
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u16).to_be_bytes());
        out.extend(s.as_bytes());
    }

    /// A response frame: v4 response header, then the body.
    fn response(stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![RESPONSE_VERSION, 0];
        out.extend(stream.to_be_bytes());
        out.push(opcode);
        out.extend((body.len() as u32).to_be_bytes());
        out.extend(body);
        out
    }

    fn ready_frame() -> Vec<u8> {
        response(HANDSHAKE, 0x02, &[])
    }

    fn authenticate() -> Vec<u8> {
        let mut body = Vec::new();
        string(&mut body, PASSWORD_AUTHENTICATOR);
        response(HANDSHAKE, 0x03, &body)
    }

    fn auth_success() -> Vec<u8> {
        // [bytes] token: null.
        response(HANDSHAKE, 0x10, &(-1i32).to_be_bytes())
    }

    fn error(stream: i16, code: i32, message: &str) -> Vec<u8> {
        let mut body = code.to_be_bytes().to_vec();
        string(&mut body, message);
        response(stream, 0x00, &body)
    }

    const TEXT: u16 = 0x000D;
    const INET: u16 = 0x0010;

    /// RESULT Rows with global table spec: `columns` (name, type id), then each row's
    /// cells (`None` is a null).
    fn rows_frame(
        stream: i16,
        table: (&str, &str),
        columns: &[(&str, u16)],
        rows: &[Vec<Option<Vec<u8>>>],
    ) -> Vec<u8> {
        let mut body = 2i32.to_be_bytes().to_vec(); // kind: Rows
        body.extend(1i32.to_be_bytes()); // flags: global table spec
        body.extend((columns.len() as i32).to_be_bytes());
        string(&mut body, table.0);
        string(&mut body, table.1);
        for (name, ty) in columns {
            string(&mut body, name);
            body.extend(ty.to_be_bytes());
        }
        body.extend((rows.len() as i32).to_be_bytes());
        for row in rows {
            for cell in row {
                match cell {
                    Some(value) => {
                        body.extend((value.len() as i32).to_be_bytes());
                        body.extend(value);
                    }
                    None => body.extend((-1i32).to_be_bytes()),
                }
            }
        }
        response(stream, 0x08, &body)
    }

    fn text(s: &str) -> Option<Vec<u8>> {
        Some(s.as_bytes().to_vec())
    }

    fn inet(s: &str) -> Option<Vec<u8>> {
        Some(match s.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        })
    }

    fn local_frame(bootstrapped: Option<&str>, broadcast: Option<&str>) -> Vec<u8> {
        rows_frame(
            LOCAL,
            ("system", "local"),
            &[("bootstrapped", TEXT), ("broadcast_address", INET)],
            &[vec![bootstrapped.and_then(text), broadcast.and_then(inet)]],
        )
    }

    fn gossip_frame(stream: i16, rows: &[(&str, &str, &str)]) -> Vec<u8> {
        rows_frame(
            stream,
            ("system_views", "gossip_info"),
            &[
                ("address", INET),
                ("status_with_port", TEXT),
                ("status", TEXT),
            ],
            &rows
                .iter()
                .map(|(a, swp, s)| vec![inet(a), text(swp), text(s)])
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn requests_on_the_wire() {
        let select = "SELECT 1";
        let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
            (
                "STARTUP: v4 request, stream 0, opcode 0x01, {CQL_VERSION: 3.0.0}",
                startup(),
                [
                    &[0x04, 0, 0, 0, 0x01, 0, 0, 0, 22][..],
                    &[0, 1, 0, 11],
                    b"CQL_VERSION",
                    &[0, 5],
                    b"3.0.0",
                ]
                .concat(),
            ),
            (
                "AUTH_RESPONSE: opcode 0x0F, [bytes] of NUL user NUL password",
                auth_response("cassandra", "s3cr3t"),
                [
                    &[0x04, 0, 0, 0, 0x0F, 0, 0, 0, 21][..],
                    &[0, 0, 0, 17, 0],
                    b"cassandra",
                    &[0],
                    b"s3cr3t",
                ]
                .concat(),
            ),
            (
                "QUERY: opcode 0x07, [long string], consistency ONE, no flags",
                query(LOCAL, select),
                [
                    &[0x04, 0, 0, 1, 0x07, 0, 0, 0, 15][..],
                    &[0, 0, 0, 8],
                    select.as_bytes(),
                    &[0, 1, 0],
                ]
                .concat(),
            ),
            (
                "QUERY on stream 2",
                query(GOSSIP, select)[..4].to_vec(),
                vec![0x04, 0, 0, 2],
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got, want, "{what}");
        }
        assert_eq!(
            gossip_cql("10.0.0.1".parse().unwrap()),
            "SELECT address, status_with_port, status FROM system_views.gossip_info \
             WHERE address = '10.0.0.1'"
        );
        assert!(gossip_cql("fd00::1".parse().unwrap()).ends_with("address = 'fd00::1'"));
    }

    #[test]
    fn headers() {
        let ok = |stream, opcode, length| {
            Ok(Header {
                flags: 0,
                stream,
                opcode,
                length,
            })
        };
        let cases: Vec<([u8; HEADER_LEN], Result<Header, &str>)> = vec![
            (
                [0x84, 0, 0, 0, 0x02, 0, 0, 0, 0],
                ok(0, ResponseOpcode::Ready, 0),
            ),
            (
                [0x84, 0, 0, 2, 0x08, 0, 0, 1, 0],
                ok(2, ResponseOpcode::Result, 256),
            ),
            (
                [0x84, 0, 0xff, 0xff, 0x0C, 0, 0, 0, 4],
                ok(-1, ResponseOpcode::Event, 4),
            ),
            (
                [0x84, 0x08, 0, 1, 0x00, 0, 0, 0, 9],
                Ok(Header {
                    flags: 0x08,
                    stream: 1,
                    opcode: ResponseOpcode::Error,
                    length: 9,
                }),
            ),
            (
                [0x84, 0, 0, 0, 0x08, 0, 4, 0, 0],
                ok(0, ResponseOpcode::Result, MAX_BODY),
            ),
            ([0x84, 0, 0, 0, 0x08, 0, 4, 0, 1], Err("larger than any")),
            (
                [0x84, 0, 0, 0, 0x08, 0xff, 0xff, 0xff, 0xff],
                Err("larger than any"),
            ),
            ([0x84, 0, 0, 0, 0x07, 0, 0, 0, 0], Err("opcode 0x07")),
            ([0x04, 0, 0, 0, 0x02, 0, 0, 0, 0], Err("first byte 0x04")),
            ([0x85, 0, 0, 0, 0x02, 0, 0, 0, 0], Err("protocol v5")),
            ([0x83, 0, 0, 0, 0x02, 0, 0, 0, 0], Err("protocol v3")),
            (
                [0x15, 0x03, 0x03, 0, 0x02, 0x02, 0x28, 0, 0],
                Err("--cql-ca-file"),
            ),
            (
                [0x16, 0x03, 0x03, 0, 0x7a, 0x02, 0, 0, 0x76],
                Err("--cql-ca-file"),
            ),
            (*b"HTTP/1.1 ", Err("not a CQL response")),
        ];
        for (raw, want) in cases {
            match (parse_header(&raw, MAX_BODY), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{raw:02x?}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{raw:02x?}: {got}"),
                (got, want) => panic!("{raw:02x?}: got {got:?}, want {want:?}"),
            }
        }
    }

    fn decoded(frame: &[u8]) -> Result<(i16, Response), String> {
        let header = parse_header(frame[..HEADER_LEN].try_into().unwrap(), MAX_SURVEY_BODY)?;
        assert_eq!(header.length, frame.len() - HEADER_LEN);
        Ok((
            header.stream,
            decode(&header, frame[HEADER_LEN..].to_vec())?,
        ))
    }

    #[test]
    fn handshake_answers() {
        assert!(matches!(decoded(&ready_frame()), Ok((0, Response::Ready))));
        match decoded(&authenticate()) {
            Ok((0, Response::Authenticate(a))) => {
                assert_eq!(a.authenticator_name, PASSWORD_AUTHENTICATOR)
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decoded(&auth_success()),
            Ok((0, Response::AuthSuccess(_)))
        ));
        let bad = "Provided username cassandra and/or password are incorrect";
        match decoded(&error(HANDSHAKE, 0x0100, bad)) {
            Ok((0, Response::Error(e))) => {
                assert_eq!(
                    (e.error, e.reason.as_str()),
                    (DbError::AuthenticationError, bad)
                )
            }
            other => panic!("{other:?}"),
        }
        // A warning list before the body is skipped.
        let mut warned = error(LOCAL, 0x2200, "x");
        let mut warning = vec![0, 1];
        string(&mut warning, "a warning");
        warned[1] = 0x08;
        let body: Vec<u8> = [&warning[..], &warned[HEADER_LEN..]].concat();
        warned.truncate(5);
        warned.extend((body.len() as u32).to_be_bytes());
        warned.extend(body);
        assert!(matches!(decoded(&warned), Ok((1, Response::Error(e))) if e.reason == "x"));
        // A compressed body was never asked for.
        let mut compressed = ready_frame();
        compressed[1] = 0x01;
        assert!(decoded(&compressed).is_err());
    }

    #[test]
    fn rows_decode_with_type_checks() {
        let local = |frame: Vec<u8>| local_row(decoded(&frame).unwrap().1);
        assert_eq!(
            local(local_frame(Some("COMPLETED"), Some("10.0.0.1"))),
            Ok(LocalRow {
                bootstrapped: Some("COMPLETED".into()),
                broadcast_address: Some("10.0.0.1".parse().unwrap()),
                ..LocalRow::default()
            })
        );
        assert_eq!(local(local_frame(None, None)), Ok(LocalRow::default()));
        let empty = rows_frame(
            LOCAL,
            ("system", "local"),
            &[("bootstrapped", TEXT), ("broadcast_address", INET)],
            &[],
        );
        assert_eq!(local(empty), Err("system.local is empty".into()));
        // A column of another type than expected is an error, not a wrong value.
        let swapped = rows_frame(
            LOCAL,
            ("system", "local"),
            &[("bootstrapped", INET), ("broadcast_address", INET)],
            &[vec![inet("10.0.0.1"), inet("10.0.0.1")]],
        );
        assert!(local(swapped).unwrap_err().starts_with("system.local:"));
        let malformed_inet = rows_frame(
            LOCAL,
            ("system", "local"),
            &[("bootstrapped", TEXT), ("broadcast_address", INET)],
            &[vec![text("COMPLETED"), Some(vec![10, 0, 0])]],
        );
        assert!(local(malformed_inet).is_err());

        let gossip = |frame: Vec<u8>| gossip_rows(decoded(&frame).unwrap().1);
        let row = |address: &str, status: &str| GossipRow {
            address: Some(address.parse().unwrap()),
            status: Some(status.into()),
            ..GossipRow::default()
        };
        type GossipCase<'a> = (&'a str, Vec<u8>, Result<Option<Vec<GossipRow>>, String>);
        let cases: Vec<GossipCase> = vec![
            (
                "status_with_port preferred",
                gossip_frame(GOSSIP, &[("10.0.0.1", "NORMAL,-1", "NORMAL,-1x")]),
                Ok(Some(vec![row("10.0.0.1", "NORMAL,-1")])),
            ),
            (
                "an empty status_with_port falls back to status",
                gossip_frame(GOSSIP, &[("10.0.0.1", "", "LEAVING,1")]),
                Ok(Some(vec![row("10.0.0.1", "LEAVING,1")])),
            ),
            ("no row", gossip_frame(GOSSIP, &[]), Ok(Some(vec![]))),
            (
                "Cassandra 4.0: no such table",
                error(GOSSIP, 0x2200, "table gossip_info does not exist"),
                Ok(None),
            ),
            (
                "the role may not read system_views",
                error(
                    GOSSIP,
                    0x2100,
                    "User probe has no SELECT permission on <table x.y> or any of its parents",
                ),
                Ok(None),
            ),
            (
                "another error is an error",
                error(GOSSIP, 0x1001, "Operation timed out"),
                Err("Operation timed out".into()),
            ),
        ];
        for (what, frame, want) in cases {
            match (gossip(frame), want) {
                (Err(got), Err(want)) => assert!(got.starts_with(&want), "{what}: {got}"),
                (got, want) => assert_eq!(got, want, "{what}"),
            }
        }
    }

    /// One exchange of a scripted node: the exact bytes it expects, and its answer (empty:
    /// it closes the connection instead).
    type Step = (Vec<u8>, Vec<u8>);

    /// Runs the probe's conversation against a node that follows `script`, then checks
    /// that the probe sent nothing more and closed the connection.
    async fn converse_with(
        script: Vec<Step>,
        credentials: Option<(&str, &str)>,
    ) -> Result<Observation, CqlError> {
        let (probe_end, mut node_end) = tokio::io::duplex(64 * 1024);
        let node = tokio::spawn(async move {
            for (i, (expected, answer)) in script.into_iter().enumerate() {
                let mut got = vec![0u8; expected.len()];
                node_end.read_exact(&mut got).await.unwrap();
                assert_eq!(got, expected, "request {i}");
                if answer.is_empty() {
                    return;
                }
                node_end.write_all(&answer).await.unwrap();
            }
            let mut rest = Vec::new();
            node_end.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty(), "unexpected requests: {rest:02x?}");
        });
        let seen = converse(probe_end, NODE.parse().unwrap(), credentials).await;
        if seen.is_ok() {
            node.await.unwrap();
        }
        seen
    }

    fn reads(dialed: &str) -> Vec<u8> {
        [
            query(LOCAL, LOCAL_CQL),
            query(GOSSIP, &gossip_cql(dialed.parse().unwrap())),
        ]
        .concat()
    }

    fn observation(bootstrapped: &str, own: Option<Option<(&str, &str)>>) -> Observation {
        Observation {
            local: LocalRow {
                bootstrapped: Some(bootstrapped.into()),
                broadcast_address: Some("10.0.0.1".parse().unwrap()),
                ..LocalRow::default()
            },
            own_gossip: own.map(|row| {
                row.map(|(address, status)| GossipRow {
                    address: Some(address.parse().unwrap()),
                    status: Some(status.into()),
                    ..GossipRow::default()
                })
            }),
        }
    }

    #[tokio::test]
    async fn conversations() {
        let completed = || local_frame(Some("COMPLETED"), Some("10.0.0.1"));
        let normal = || gossip_frame(GOSSIP, &[("10.0.0.1", "NORMAL,1", "NORMAL,1")]);
        let both = |a: Vec<u8>, b: Vec<u8>| [a, b].concat();
        type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<Step>, Observation);
        let cases: Vec<Case> = vec![
            (
                "no authenticator: two round trips",
                None,
                vec![
                    (startup(), ready_frame()),
                    (reads("10.0.0.1"), both(completed(), normal())),
                ],
                observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1")))),
            ),
            (
                "answers in either order",
                None,
                vec![
                    (startup(), ready_frame()),
                    (reads("10.0.0.1"), both(normal(), completed())),
                ],
                observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1")))),
            ),
            (
                "PasswordAuthenticator: one round trip more",
                Some(("cassandra", "cassandra")),
                vec![
                    (startup(), authenticate()),
                    (auth_response("cassandra", "cassandra"), auth_success()),
                    (reads("10.0.0.1"), both(completed(), normal())),
                ],
                observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1")))),
            ),
            (
                "credentials given, none asked for",
                Some(("cassandra", "cassandra")),
                vec![
                    (startup(), ready_frame()),
                    (reads("10.0.0.1"), both(completed(), normal())),
                ],
                observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1")))),
            ),
            (
                "Cassandra 4.0: no gossip view",
                None,
                vec![
                    (startup(), ready_frame()),
                    (
                        reads("10.0.0.1"),
                        both(
                            completed(),
                            error(GOSSIP, 0x2200, "table gossip_info does not exist"),
                        ),
                    ),
                ],
                observation("COMPLETED", None),
            ),
            (
                "not in its own gossip yet",
                None,
                vec![
                    (startup(), ready_frame()),
                    (
                        reads("10.0.0.1"),
                        both(completed(), gossip_frame(GOSSIP, &[])),
                    ),
                ],
                observation("COMPLETED", Some(None)),
            ),
            (
                "joining",
                None,
                vec![
                    (startup(), ready_frame()),
                    (
                        reads("10.0.0.1"),
                        both(
                            local_frame(Some("IN_PROGRESS"), Some("10.0.0.1")),
                            gossip_frame(GOSSIP, &[("10.0.0.1", "BOOT,1", "BOOT,1")]),
                        ),
                    ),
                ],
                observation("IN_PROGRESS", Some(Some(("10.0.0.1", "BOOT,1")))),
            ),
        ];
        for (what, credentials, script, want) in cases {
            assert_eq!(
                converse_with(script, credentials).await.unwrap(),
                want,
                "{what}"
            );
        }
    }

    #[tokio::test]
    async fn dialed_at_another_address_than_it_broadcasts() {
        // `--host 127.0.0.1` to a node that broadcasts 10.0.0.1: its gossip row is read
        // again under the broadcast address.
        let probe_end = "127.0.0.1:9042".parse::<SocketAddr>().unwrap();
        let (probe, mut node) = tokio::io::duplex(64 * 1024);
        let script: Vec<Step> = vec![
            (startup(), ready_frame()),
            (
                reads("127.0.0.1"),
                [
                    local_frame(Some("COMPLETED"), Some("10.0.0.1")),
                    gossip_frame(GOSSIP, &[]),
                ]
                .concat(),
            ),
            (
                query(GOSSIP, &gossip_cql("10.0.0.1".parse().unwrap())),
                gossip_frame(GOSSIP, &[("10.0.0.1", "NORMAL,1", "NORMAL,1")]),
            ),
        ];
        let serve = tokio::spawn(async move {
            for (expected, answer) in script {
                let mut got = vec![0u8; expected.len()];
                node.read_exact(&mut got).await.unwrap();
                assert_eq!(got, expected);
                node.write_all(&answer).await.unwrap();
            }
        });
        let seen = converse(probe, probe_end, None).await.unwrap();
        serve.await.unwrap();
        assert_eq!(
            seen,
            observation("COMPLETED", Some(Some(("10.0.0.1", "NORMAL,1"))))
        );
    }

    #[tokio::test]
    async fn failures_are_classified() {
        let bad = "Provided username cassandra and/or password are incorrect";
        type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<Step>, &'a str);
        let cases: Vec<Case> = vec![
            (
                "wrong password",
                Some(("cassandra", "Wr0ng-s3cret")),
                vec![
                    (startup(), authenticate()),
                    (
                        auth_response("cassandra", "Wr0ng-s3cret"),
                        error(HANDSHAKE, 0x0100, bad),
                    ),
                ],
                "auth",
            ),
            (
                "a login asked for, none given",
                None,
                vec![(startup(), authenticate())],
                "auth",
            ),
            (
                "a challenge PLAIN cannot answer",
                Some(("cassandra", "cassandra")),
                vec![
                    (startup(), authenticate()),
                    (
                        auth_response("cassandra", "cassandra"),
                        response(HANDSHAKE, 0x0E, &(-1i32).to_be_bytes()),
                    ),
                ],
                "auth",
            ),
            (
                "closed before answering",
                None,
                vec![(startup(), Vec::new())],
                "unreachable",
            ),
            (
                "a protocol error at STARTUP",
                None,
                vec![(
                    startup(),
                    error(HANDSHAKE, 0x000A, "Invalid or unsupported protocol version"),
                )],
                "unreachable",
            ),
            (
                "an answer on a stream never used",
                None,
                vec![(startup(), response(7, 0x02, &[]))],
                "unreachable",
            ),
            (
                "the read of system.local fails",
                None,
                vec![
                    (startup(), ready_frame()),
                    (
                        reads("10.0.0.1"),
                        [
                            error(LOCAL, 0x0000, "java.lang.RuntimeException: disk failure"),
                            gossip_frame(GOSSIP, &[]),
                        ]
                        .concat(),
                    ),
                ],
                "query",
            ),
        ];
        for (what, credentials, script, want) in cases {
            let err = converse_with(script, credentials).await.unwrap_err();
            let kind = match &err {
                CqlError::Auth { .. } => "auth",
                CqlError::Unreachable { .. } => "unreachable",
                CqlError::Query { .. } => "query",
            };
            assert_eq!(kind, want, "{what}: {err}");
            let text = err.to_string();
            assert!(text.contains(NODE), "{what}: {text}");
            assert!(
                !text.contains("s3cret"),
                "{what}: the password leaked: {text}"
            );
        }
    }

    const UUID: u16 = 0x000C;
    const INT: u16 = 0x0009;

    fn uuid(s: &str) -> Option<Vec<u8>> {
        Some(s.parse::<uuid::Uuid>().unwrap().as_bytes().to_vec())
    }

    /// A survey against a scripted node: the login, the three reads at once (answers in
    /// any order), rows decoded into what `member_answer` reads; a missing gossip view is
    /// none; a body over the survey's bound is refused from its header.
    #[tokio::test]
    async fn surveys() {
        let (a, b) = (
            "11111111-1111-1111-1111-111111111111",
            "22222222-2222-2222-2222-222222222222",
        );
        let local = rows_frame(
            LOCAL,
            ("system", "local"),
            &[
                ("cluster_name", TEXT),
                ("host_id", UUID),
                ("broadcast_address", INET),
            ],
            &[vec![text("ring"), uuid(a), inet("10.0.0.1")]],
        );
        let peers = rows_frame(
            PEERS,
            ("system", "peers_v2"),
            &[("peer", INET), ("host_id", UUID)],
            &[vec![inet("10.0.0.2"), uuid(b)]],
        );
        let gossip = rows_frame(
            GOSSIP,
            ("system_views", "gossip_info"),
            &[
                ("address", INET),
                ("host_id", TEXT),
                ("status_with_port", TEXT),
                ("status", TEXT),
                ("generation", INT),
            ],
            &[vec![
                inet("10.0.0.2"),
                text(b),
                text("NORMAL,1"),
                None,
                Some(1_700_000_000i32.to_be_bytes().to_vec()),
            ]],
        );
        let reads = [
            query(LOCAL, SURVEY_LOCAL_CQL),
            query(PEERS, SURVEY_PEERS_CQL),
            query(GOSSIP, SURVEY_GOSSIP_CQL),
        ]
        .concat();
        let no_view = error(GOSSIP, 0x2200, "table gossip_info does not exist");
        let mut huge = vec![RESPONSE_VERSION, 0, 0, LOCAL as u8, 0x08];
        huge.extend(((MAX_SURVEY_BODY + 1) as u32).to_be_bytes());
        let want = |gossip: bool| Survey {
            local: LocalRow {
                cluster_name: Some("ring".into()),
                host_id: Some(a.into()),
                broadcast_address: Some("10.0.0.1".parse().unwrap()),
                ..LocalRow::default()
            },
            peers: vec![PeerRow {
                address: Some("10.0.0.2".parse().unwrap()),
                host_id: Some(b.into()),
                ..PeerRow::default()
            }],
            gossip: gossip.then(|| {
                vec![GossipRow {
                    address: Some("10.0.0.2".parse().unwrap()),
                    host_id: Some(b.into()),
                    status: Some("NORMAL,1".into()),
                    generation: Some(1_700_000_000),
                    ..GossipRow::default()
                }]
            }),
        };
        type Case = (&'static str, Vec<u8>, Result<Survey, &'static str>);
        let cases: Vec<Case> = vec![
            (
                "all three",
                [gossip.clone(), local.clone(), peers.clone()].concat(),
                Ok(want(true)),
            ),
            (
                "no gossip view",
                [local.clone(), no_view, peers.clone()].concat(),
                Ok(want(false)),
            ),
            (
                "a claimed body over the bound",
                huge,
                Err("larger than any"),
            ),
        ];
        for (what, answers, want) in cases {
            let (probe, mut node) = tokio::io::duplex(64 * 1024);
            let reads = reads.clone();
            let serve = tokio::spawn(async move {
                let mut got = vec![0u8; startup().len()];
                node.read_exact(&mut got).await.unwrap();
                node.write_all(&ready_frame()).await.unwrap();
                let mut got = vec![0u8; reads.len()];
                node.read_exact(&mut got).await.unwrap();
                assert_eq!(got, reads);
                node.write_all(&answers).await.unwrap();
                // Held open: a short body must not be waited for.
                let mut rest = Vec::new();
                let _ = node.read_to_end(&mut rest).await;
            });
            let got = survey_over(probe, NODE.parse().unwrap(), None).await;
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{what}"),
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{what}: {e}"),
                (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
            }
            serve.abort();
        }
    }
}
