//! The Java RMI transport handshake (JRMP) on the JMX port: the cheapest question a JVM
//! answers itself. No JVM on our side, no JMX login, no MBean read.
//!
//! The wire format, from the JDK's `sun.rmi.transport.tcp.TCPChannel.createConnection`
//! (client) and `TCPTransport.ConnectionHandler.run0` (server), constants in
//! `sun.rmi.transport.TransportConstants`:
//!
//! ```text
//! client: 4a 52 4d 49   magic "JRMI"
//!         00 02         version 2
//!         4b            StreamProtocol
//! server: 4e            ProtocolAck (4f ProtocolNack: protocol not supported)
//!         u16 + bytes   the client's host as the server sees it (DataOutput.writeUTF)
//!         i32           the client's port
//! client: u16 + bytes   its own endpoint (writeUTF; the server reads and discards it)
//!         i32
//! ```
//!
//! The server writes the ack from a Java thread after reading the header, so an answer
//! proves the JVM runs; a kernel-accepted connection does not (a JVM stopped in a GC
//! pause still completes the TCP handshake). Authentication (JMX's password file, or
//! JAAS) is checked later, when the client calls `RMIServer.newClient`, and the registry
//! answers this handshake without any. A registry behind TLS
//! (`com.sun.management.jmxremote.registry.ssl=true`) does not speak plain JRMP, and
//! would never answer here.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `JRMI`, version 2, StreamProtocol.
const HELLO: [u8; 7] = [0x4a, 0x52, 0x4d, 0x49, 0x00, 0x02, 0x4b];
/// TransportConstants.ProtocolAck.
const ACK: u8 = 0x4e;
/// TransportConstants.ProtocolNack: a JRMP server that does not take StreamProtocol.
const NACK: u8 = 0x4f;
/// Our endpoint, as the client sends it after the ack: an empty host (writeUTF of "")
/// and port 0; the server only reads and discards it.
const ENDPOINT: [u8; 6] = [0, 0, 0, 0, 0, 0];

/// Does the handshake with `host:port`, bounded by `limit`. `Ok` with the time taken when
/// the JVM answered; `Err` with what happened, naming the address.
pub async fn handshake(host: &str, port: u16, limit: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    let at = format!("{host}:{port}");
    match tokio::time::timeout(limit, exchange(host, port)).await {
        Ok(Ok(())) => Ok(start.elapsed()),
        Ok(Err(why)) => Err(format!("JMX at {at}: {why}")),
        Err(_) => Err(format!(
            "JMX at {at} did not answer the RMI handshake within {limit:?} (the JVM may be \
             stopped: a long GC pause, a stall)"
        )),
    }
}

async fn exchange(host: &str, port: u16) -> Result<(), String> {
    let mut stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (nothing listens there: JMX is not up, or on another \
                 port; see --jmx-port)"
                    .to_owned()
            }
            _ => format!("cannot connect: {e}"),
        })?;
    let _ = stream.set_nodelay(true);
    stream
        .write_all(&HELLO)
        .await
        .map_err(|e| format!("cannot send the RMI handshake: {e}"))?;
    let closed = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            "the connection was closed without an RMI answer".to_owned()
        }
        _ => format!("no RMI answer: {e}"),
    };
    match stream.read_u8().await.map_err(closed)? {
        ACK => {}
        // A JRMP server answered (it refused only the protocol): the JVM runs.
        NACK => return Ok(()),
        other => {
            return Err(format!(
                "answered {other:#04x}, not an RMI ProtocolAck: not a JMX (RMI) port"
            ));
        }
    }
    // The endpoint the server suggests: its length, then the host and the port.
    let len = stream.read_u16().await.map_err(closed)?;
    let mut rest = vec![0u8; usize::from(len) + 4];
    stream.read_exact(&mut rest).await.map_err(closed)?;
    // Polite end: the server waits for our endpoint before it reads messages, then sees
    // the connection close like any client's.
    let _ = stream.write_all(&ENDPOINT).await;
    let _ = stream.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A fake JRMP server that reads the client's hello and answers `reply` and closes its
    /// side (then reads the client's endpoint), or stays silent; returns its port and what
    /// it read.
    async fn server(reply: Option<Vec<u8>>) -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut hello = [0u8; 7];
            s.read_exact(&mut hello).await.unwrap();
            let mut got = hello.to_vec();
            match reply {
                Some(reply) => {
                    s.write_all(&reply).await.unwrap();
                    // Nothing more from this side: a short reply ends in a close.
                    s.shutdown().await.unwrap();
                    let mut rest = Vec::new();
                    let _ = s.read_to_end(&mut rest).await;
                    got.extend(rest);
                }
                None => tokio::time::sleep(Duration::from_secs(5)).await,
            }
            got
        });
        (port, task)
    }

    /// What TCPTransport writes: ack, writeUTF("127.0.0.1"), writeInt(port).
    fn ack() -> Vec<u8> {
        let mut v = vec![ACK, 0, 9];
        v.extend(b"127.0.0.1");
        v.extend(54321i32.to_be_bytes());
        v
    }

    #[tokio::test]
    async fn the_handshake_is_jrmp_stream_protocol() {
        let (port, task) = server(Some(ack())).await;
        let took = handshake("127.0.0.1", port, Duration::from_secs(2))
            .await
            .unwrap();
        assert!(took < Duration::from_secs(2));
        // The server saw the hello, then our (empty) endpoint, then the close.
        let got = task.await.unwrap();
        assert_eq!(got, [&HELLO[..], &ENDPOINT[..]].concat());
    }

    #[tokio::test]
    async fn a_nack_is_still_a_jvm_answering() {
        let (port, _task) = server(Some(vec![NACK])).await;
        handshake("127.0.0.1", port, Duration::from_secs(2))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn anything_else_is_no_answer() {
        let cases: Vec<(Option<Vec<u8>>, &str)> = vec![
            (Some(b"HTTP/1.1 400".to_vec()), "not an RMI ProtocolAck"),
            (Some(vec![ACK, 0, 9, b'1']), "closed without an RMI answer"),
            (Some(Vec::new()), "closed without an RMI answer"),
            (None, "did not answer the RMI handshake within"),
        ];
        for (reply, want) in cases {
            let (port, _task) = server(reply).await;
            let why = handshake("127.0.0.1", port, Duration::from_millis(300))
                .await
                .unwrap_err();
            assert!(why.contains(want), "{why}");
            assert!(why.contains(&format!("127.0.0.1:{port}")), "{why}");
        }
    }

    #[tokio::test]
    async fn a_port_nothing_listens_on_is_refused() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let why = handshake("127.0.0.1", port, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(why.contains("connection refused"), "{why}");
    }
}
