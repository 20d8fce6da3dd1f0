//! `ringkeeper ready`: the readiness probe. Asks only the local node, over one CQL
//! connection, within `--timeout`.

use tokio::time::timeout;

use crate::config::ReadyConfig;
use crate::decide::ring::{Readiness, readiness};
use crate::edge::cql::{self, CqlError};
use crate::edge::rundir::RunDir;
use crate::exit::Outcome;

/// Runs `ringkeeper ready`.
pub async fn run(cfg: ReadyConfig) -> anyhow::Result<Outcome> {
    let ReadyConfig {
        host,
        cql: cql_cfg,
        timeout: limit,
        run_dir,
    } = cfg;
    // A drain has begun: not ready, without asking the node (it is going away, and the
    // answer must not depend on whether it still answers).
    if RunDir::new(&run_dir).draining() {
        return Ok(not_ready(format!(
            "draining (a drain marker is in {})",
            run_dir.display()
        )));
    }
    // Bad credential or CA files are configuration errors (exit 2), not "not ready".
    let settings = cql::load_settings(cql_cfg.port, limit, limit, &cql_cfg.access)?;
    let verdict = timeout(limit, async {
        let node = cql::connect(host, &settings).await?;
        let local = node.local().await?;
        let gossip = node.gossip().await?;
        let own = gossip.as_ref().map(|rows| {
            rows.iter()
                .find(|g| g.address.is_some() && g.address == local.broadcast_address)
        });
        Ok::<_, CqlError>(readiness(&local, own))
    })
    .await;
    match verdict {
        Err(_) => Ok(not_ready(format!(
            "no answer from {host}:{} within {limit:?}",
            cql_cfg.port
        ))),
        Ok(Err(e @ CqlError::Auth { .. })) => Err(e.into()),
        Ok(Err(e)) => Ok(not_ready(e.to_string())),
        Ok(Ok(Readiness::Ready)) => Ok(Outcome::Answer("ready".into())),
        Ok(Ok(Readiness::NotReady(reason))) => Ok(not_ready(reason)),
    }
}

fn not_ready(reason: String) -> Outcome {
    Outcome::Refused {
        stdout: None,
        reason: format!("not ready: {reason}"),
    }
}
