//! The `ringkeeper` binary: parse, start logging, run, exit. See `lib.rs` for the layout.

use std::process::ExitCode;

use clap::Parser;
use ringkeeper::{cli::Cli, exit, telemetry};

fn main() -> ExitCode {
    // One TLS crypto provider for the whole process, installed before any client exists:
    // kube's client panics ("no process-level CryptoProvider") when more than one provider
    // is compiled in (a dependency's feature can bring ring in beside aws-lc-rs) and none
    // is installed. An error only means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // clap prints usage errors itself and exits 2.
    let cli = Cli::parse();
    if let Err(e) = telemetry::init(&cli.log) {
        return exit::error(&e.into());
    }
    // One thread is enough: the work is waiting on DNS, the network and a child process.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return exit::error(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    exit::finish(runtime.block_on(ringkeeper::run(cli)))
}
