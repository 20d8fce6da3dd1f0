//! `ringkeeper ready`: the readiness probe. Reads the local node over one CQL connection
//! (`edge::cql_probe`), within `--timeout`, and judges it with `decide::ring::readiness`.

use tokio::time::timeout;

use crate::config::ReadyConfig;
use crate::decide::ring::{Readiness, readiness};
use crate::edge::cql::{self, CqlError};
use crate::edge::cql_probe;
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
    match timeout(limit, cql_probe::observe(host, &settings)).await {
        Err(_) => Ok(not_ready(format!(
            "no answer from {host}:{} within {limit:?}",
            cql_cfg.port
        ))),
        Ok(Err(e @ CqlError::Auth { .. })) => Err(e.into()),
        Ok(Err(e)) => Ok(not_ready(e.to_string())),
        Ok(Ok(seen)) => Ok(
            match readiness(&seen.local, seen.own_gossip.as_ref().map(Option::as_ref)) {
                Readiness::Ready => Outcome::Answer("ready".into()),
                Readiness::NotReady(reason) => not_ready(reason),
            },
        ),
    }
}

fn not_ready(reason: String) -> Outcome {
    Outcome::Refused {
        stdout: None,
        reason: format!("not ready: {reason}"),
    }
}
