//! A loopback relay that stands between the CQL driver and an address not yet known to be
//! this set's, and ends the connection when a response frame announces a body larger
//! than a bound.
//!
//! Why: the driver allocates whatever a frame header announces (scylla-cql 2.0's
//! `read_response_frame` reserves the announced length, up to 4 GiB, before reading it),
//! and no setting bounds it. Saved peer addresses from a join record may be held by
//! anything after a cold restart; whatever answers there must not be able to make PID 1
//! reserve gigabytes. The probe of `ready` (`edge::cql_probe`) bounds its own frames; the
//! driver's sessions to unverified addresses go through this relay instead.
//!
//! The relay reads only frame headers (native protocol v4, unframed: the only version
//! the driver speaks), copies each body through a small buffer, and never holds a body.
//! Over TLS it cannot read headers, and is not needed: an endpoint that passed the
//! certificate check holds a key the cluster's CA signed.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tracing::warn;

/// A v4 frame header: version, flags, stream (2), opcode, body length (4).
const HEADER_LEN: usize = 9;

/// Largest response body relayed from an unverified address. The driver's topology reads
/// (`system.peers_v2` with every node's tokens) and `gossip_info` of a ring of a thousand
/// nodes stay well below it; a larger announcement is not a node of a ring this size.
pub const MAX_UNVERIFIED_BODY: u32 = 16 * 1024 * 1024;

/// A running relay; it stops, with every connection through it, when dropped.
pub struct FrameGuard {
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl FrameGuard {
    /// Starts a relay on a loopback port to `target`, bounding response bodies at
    /// `max_body` bytes.
    pub async fn start(target: SocketAddr, max_body: u32) -> io::Result<FrameGuard> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let local = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    break;
                };
                connections.spawn(relay(client, target, max_body));
                // Finished connections are reaped as new ones come.
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(FrameGuard { local, task })
    }

    /// The address to dial instead of the target.
    pub fn local(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

async fn relay(client: TcpStream, target: SocketAddr, max_body: u32) {
    let Ok(server) = TcpStream::connect(target).await else {
        // The driver sees the connection close, as if the target refused it.
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    };
    let responses = async {
        if let Err(e) = responses(&mut server_read, &mut client_write, max_body).await
            && e.kind() == io::ErrorKind::InvalidData
        {
            warn!(address = %target, error = %e, "a saved peer's address answered with a frame too large for a node: connection closed");
        }
        let _ = client_write.shutdown().await;
    };
    // Either direction ending ends both: the driver then sees the connection closed.
    tokio::select! {
        () = requests => {}
        () = responses => {}
    }
}

/// Copies response frames from `from` to `to`, header by header, until either side ends
/// or a header announces a body over `max_body` (an `InvalidData` error).
async fn responses<R, W>(from: &mut R, to: &mut W, max_body: u32) -> io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut header = [0u8; HEADER_LEN];
    loop {
        match from.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let length = body_length(&header, max_body)?;
        to.write_all(&header).await?;
        let copied = tokio::io::copy(&mut (&mut *from).take(u64::from(length)), to).await?;
        if copied < u64::from(length) {
            return Ok(());
        }
        to.flush().await?;
    }
}

/// The body length a response header announces, or why it is refused.
fn body_length(header: &[u8; HEADER_LEN], max_body: u32) -> io::Result<u32> {
    let length = u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
    if length > max_body {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a response frame announced {length} bytes, more than the {max_body} \
                 accepted from an address not known to be this set's"
            ),
        ));
    }
    Ok(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u32) -> [u8; HEADER_LEN] {
        let mut h = [0x84, 0, 0, 0, 0x02, 0, 0, 0, 0];
        h[5..].copy_from_slice(&length.to_be_bytes());
        h
    }

    #[test]
    fn body_lengths_up_to_the_bound_pass() {
        let cases = [
            (0, 16, true),
            (16, 16, true),
            (17, 16, false),
            (u32::MAX, MAX_UNVERIFIED_BODY, false),
        ];
        for (length, max, ok) in cases {
            assert_eq!(
                body_length(&header(length), max).is_ok(),
                ok,
                "{length} of {max}"
            );
        }
    }

    #[tokio::test]
    async fn frames_pass_whole_and_an_oversized_one_ends_the_stream() {
        let mut input = Vec::new();
        input.extend_from_slice(&header(3));
        input.extend_from_slice(b"abc");
        input.extend_from_slice(&header(0));
        input.extend_from_slice(&header(u32::MAX));
        input.extend_from_slice(b"never relayed");
        let mut out = Vec::new();
        let e = responses(&mut input.as_slice(), &mut out, 1024)
            .await
            .expect_err("the oversized frame is refused");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let mut want = Vec::new();
        want.extend_from_slice(&header(3));
        want.extend_from_slice(b"abc");
        want.extend_from_slice(&header(0));
        assert_eq!(out, want);
    }

    /// Something at a saved peer's address answers the driver's first request with a
    /// header announcing 4 GiB and then holds the connection open. Unguarded, the driver
    /// reserves the announced length and waits for it until the connect timeout; through
    /// the guard the connection ends at the header.
    #[tokio::test]
    async fn a_rogue_answer_at_a_saved_address_ends_at_its_header() {
        use std::time::{Duration, Instant};
        let rogue = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = rogue.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut s, _)) = rogue.accept().await {
                let mut first = [0u8; HEADER_LEN];
                if s.read_exact(&mut first).await.is_ok() {
                    let mut h = header(u32::MAX);
                    h[2..4].copy_from_slice(&first[2..4]);
                    let _ = s.write_all(&h).await;
                }
                held.push(s);
            }
        });
        let settings = crate::edge::cql::CqlSettings {
            port: addr.port(),
            connect_timeout: Duration::from_secs(8),
            request_timeout: Duration::from_secs(8),
            credentials: None,
            tls: None,
        };
        let start = Instant::now();
        let answer = crate::edge::cql::probe_unverified(addr.ip(), &settings)
            .await
            .expect("no answer is an answer, not an error");
        assert!(
            matches!(answer, crate::decide::seeds::Cql::NoAnswer { .. }),
            "{answer:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "the guarded probe waited {:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn a_stream_that_ends_between_frames_ends_cleanly() {
        let mut input = header(2).to_vec();
        input.extend_from_slice(b"ok");
        let mut out = Vec::new();
        responses(&mut input.as_slice(), &mut out, 1024)
            .await
            .expect("a clean end");
        assert_eq!(out, input);
    }
}
