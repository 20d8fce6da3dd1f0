//! The probe's frames, v4: the requests it sends (STARTUP, AUTH_RESPONSE, QUERY), built
//! by `scylla-cql`, and the answers it reads: a header checked before its body is read
//! (version, opcode, a length within the bound), the body parsed, and rows decoded with
//! the driver's type checks into `decide::ring`'s rows. No IO here: `super` reads and
//! writes the bytes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use bytes::Bytes;
use scylla_cql::Consistency;
use scylla_cql::frame::protocol_features::ProtocolFeatures;
use scylla_cql::frame::request::query::QueryParameters;
use scylla_cql::frame::request::{AuthResponse, Query, SerializableRequest, Startup};
use scylla_cql::frame::response::error::DbError;
use scylla_cql::frame::response::{Response, ResponseOpcode, result};
use scylla_cql::frame::{SerializedRequest, parse_response_body_extensions};

use super::{HANDSHAKE, HEADER_LEN, RESPONSE_VERSION, error_detail, unexpected};
use crate::decide::ring::{GossipRow, LocalRow, PeerRow};

/// Serializes one request frame. Only a string longer than 2 GiB fails to serialize, and
/// none of ours can be: the statements are fixed, and a login is a file's first lines.
pub(super) fn frame(stream: i16, request: &impl SerializableRequest) -> Vec<u8> {
    let mut frame = SerializedRequest::make(request, None, false)
        .expect("requests of bounded size always serialize");
    frame.set_stream(stream);
    frame.get_data().to_vec()
}

/// STARTUP, v4, no compression.
pub(super) fn startup() -> Vec<u8> {
    // One option, so the frame's bytes do not depend on a map's iteration order.
    let options = HashMap::from([(Cow::Borrowed("CQL_VERSION"), Cow::Borrowed("3.0.0"))]);
    frame(HANDSHAKE, &Startup { options })
}

/// AUTH_RESPONSE with a SASL PLAIN token (RFC 4616: no authorization identity, NUL, user,
/// NUL, password), what PasswordAuthenticator expects.
pub(super) fn auth_response(user: &str, password: &str) -> Vec<u8> {
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
pub(super) fn query(stream: i16, cql: &str) -> Vec<u8> {
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

/// A response frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) flags: u8,
    pub(super) stream: i16,
    pub(super) opcode: ResponseOpcode,
    pub(super) length: usize,
}

pub(super) fn parse_header(raw: &[u8; HEADER_LEN], max_body: usize) -> Result<Header, String> {
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
pub(super) fn decode(header: &Header, body: Vec<u8>) -> Result<Response, String> {
    let body = parse_response_body_extensions(header.flags, None, Bytes::from(body))
        .map_err(|e| format!("malformed {:?} frame: {e}", header.opcode))?
        .body;
    Response::deserialize(&ProtocolFeatures::default(), header.opcode, body, None)
        .map_err(|e| format!("malformed {:?} frame: {e}", header.opcode))
}

/// The rows of a RESULT, decoded as `Row` (which checks the columns' types).
pub(super) fn rows<R>(response: Response, table: &str) -> Result<Vec<R>, String>
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

pub(super) fn local_row(response: Response) -> Result<LocalRow, String> {
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
pub(super) fn gossip_rows(response: Response) -> Result<Option<Vec<GossipRow>>, String> {
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
pub(super) fn no_gossip_view(response: &Response) -> bool {
    matches!(response, Response::Error(e) if e.error == DbError::Unauthorized
        || e.reason.contains("gossip_info")
        || e.reason.contains("system_views"))
}

pub(super) fn survey_local(response: Response) -> Result<LocalRow, String> {
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

pub(super) fn survey_peers(response: Response) -> Result<Vec<PeerRow>, String> {
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
pub(super) fn survey_gossip(response: Response) -> Result<Option<Vec<GossipRow>>, String> {
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
