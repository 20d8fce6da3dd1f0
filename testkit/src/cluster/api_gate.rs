//! The pods' way to the API server: a TCP relay on the node at [`GATE_PORT`], which the
//! kubelet names in every container's `KUBERNETES_SERVICE_PORT`. A test can hold it:
//! new connections are then accepted and never answered, as from an API server too busy
//! to answer in time, for the pods alone (the runner and `kubectl` go to the API server
//! directly and carry on). Held connections are closed when the gate opens again.
//!
//! TLS passes through untouched: the API server's certificate names the gateway's IP,
//! whatever the port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::control_plane::API_PORT;
use super::network::GATEWAY;

/// The port pods reach the API server at.
pub const GATE_PORT: u16 = 6444;

/// The gate; clones share it.
#[derive(Clone)]
pub struct ApiGate {
    held: Arc<AtomicBool>,
    opened: watch::Sender<()>,
}

impl ApiGate {
    /// Starts the relay. Must run on a thread in the node's network namespace (the
    /// cluster's runtime).
    pub async fn start() -> Result<ApiGate> {
        let listener = TcpListener::bind(SocketAddr::new(GATEWAY.into(), GATE_PORT)).await?;
        let gate = ApiGate {
            held: Arc::new(AtomicBool::new(false)),
            opened: watch::channel(()).0,
        };
        let g = gate.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let g = g.clone();
                tokio::spawn(async move {
                    if g.held.load(Ordering::SeqCst) {
                        // Hold it, unanswered, until the gate opens; then close it.
                        let mut opened = g.opened.subscribe();
                        let _ = opened.changed().await;
                        drop(client);
                        return;
                    }
                    relay(client).await;
                });
            }
        });
        Ok(gate)
    }

    /// Holds new connections (`true`) or lets them through again (`false`).
    pub fn hold(&self, held: bool) {
        self.held.store(held, Ordering::SeqCst);
        if !held {
            self.opened.send_replace(());
        }
    }
}

async fn relay(mut client: TcpStream) {
    let Ok(mut server) = TcpStream::connect(SocketAddr::new(GATEWAY.into(), API_PORT)).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
