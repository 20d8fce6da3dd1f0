//! ringkeeper: an in-pod agent that makes Apache Cassandra safe to run as a plain
//! Kubernetes StatefulSet.
//!
//! # Layout
//!
//! * `main.rs` — parses the command line, starts logging, calls [`run`], maps the outcome
//!   to an exit code. Nothing else.
//! * [`cli`] — the command line's shape; [`config`] validates it into typed configuration
//!   (and is the only place that reads the environment); [`env`] names every variable.
//! * [`decide`] — pure decisions over observed facts: pod identity, seed rules (and
//!   which refusals to wait out), retry schedule, data-directory classification,
//!   supervision policy, liveness, heap size. No IO.
//! * [`render`] — pure rendering of cassandra.yaml and cassandra-rackdc.properties.
//! * [`edge`] — IO: DNS, CQL, the Kubernetes API (optional), the data and config
//!   directories, the Cassandra process, the JMX port's RMI handshake.
//! * [`gather`] — the boot plan's facts gathered round after round (DNS, CQL, the join
//!   and identity records), shared by `seeds`, `entrypoint` and `status`.
//! * [`cmd`] — one module per subcommand: gather → decide → act → report. Commands do
//!   not import each other.
//! * [`exit`] — outcomes, printing and exit codes; [`telemetry`] — logging.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod decide;
pub mod edge;
pub mod env;
pub mod exit;
pub mod gather;
pub mod render;
pub mod telemetry;

use cli::{Cli, Command};
use config::{
    AliveConfig, BackupConfig, DrainConfig, EntrypointConfig, Inputs, KubeApi, ReadyConfig,
    SeedsConfig, StatusConfig,
};
use exit::Outcome;

/// Runs one subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // `ready` and `alive` run every few seconds as probes: they need none of the fallbacks
    // that `Inputs::gather` reads from files, so only the other commands gather them. They
    // never ask the Kubernetes API either.
    let kube = KubeApi::from_args(&cli.kube)?;
    match cli.command {
        Command::Ready(args) => cmd::ready::run(ReadyConfig::from_args(args)?).await,
        Command::Alive(args) => cmd::alive::run(AliveConfig::from_args(args)?).await,
        Command::Seeds(args) => {
            cmd::seeds::run(SeedsConfig::from_args(args, &Inputs::gather())?, kube).await
        }
        Command::Entrypoint(args) => {
            let inputs = Inputs::gather();
            let cfg = EntrypointConfig::from_args(*args, &inputs)?;
            cmd::entrypoint::run(cfg, &inputs, cli.log.log_format, kube).await
        }
        Command::Drain(args) => {
            cmd::drain::run(DrainConfig::from_args(args, &Inputs::gather())?, kube).await
        }
        Command::Status(args) => {
            cmd::status::run(StatusConfig::from_args(args, &Inputs::gather())?, kube).await
        }
        Command::Backup(args) => {
            cmd::backup::run(BackupConfig::from_args(args, &Inputs::gather())?).await
        }
    }
}
