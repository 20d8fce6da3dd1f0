//! `rk-testkit`: the local ring for people (`ring up|down|status`) and the DNS server the
//! ring runs in the background (`dns`). Test-only; not shipped.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use ringkeeper_testkit::dns::{self, DnsThread, ZoneSource};
use ringkeeper_testkit::netns::Netns;
use ringkeeper_testkit::ring::{self, Ring, RingSpec};

#[derive(Parser)]
#[command(name = "rk-testkit", about = "ringkeeper's test harness")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve DNS from a zone file (re-read at every query) until killed.
    Dns {
        /// Network namespace to serve in.
        #[arg(long)]
        netns: Option<String>,
        /// Listen address.
        #[arg(long, default_value = ring::DNS_ADDR)]
        listen: String,
        /// Zone file: `<name> <ip>[,<ip>] | NXDOMAIN | SERVFAIL | DROP` per line.
        #[arg(long)]
        zone_file: PathBuf,
    },
    /// The local ring.
    Ring {
        #[command(subcommand)]
        action: RingCmd,
    },
}

#[derive(Subcommand)]
enum RingCmd {
    /// Start N nodes one after another (like an OrderedReady StatefulSet), each through
    /// `ringkeeper entrypoint`, then print `nodetool status`.
    Up {
        /// Number of nodes (at most 3 on a small machine).
        #[arg(long, default_value_t = 3)]
        nodes: u32,
        /// State directory.
        #[arg(long)]
        dir: PathBuf,
        /// Cassandra version to run.
        #[arg(long, default_value = "5.0.8")]
        cassandra: String,
    },
    /// Stop the nodes, the DNS server and the namespace.
    Down {
        /// State directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Print `nodetool status` of the first node.
    Status {
        /// State directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// The namespace name of the local ring.
const NETNS: &str = "rk-local";

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Dns {
            netns,
            listen,
            zone_file,
        } => {
            let ns = netns.as_deref().map(Netns::existing);
            let _server = DnsThread::start(
                dns::parse_listen(&listen)?,
                ns.as_ref(),
                ZoneSource::File(zone_file),
            )?;
            eprintln!("serving DNS on {listen}");
            loop {
                std::thread::park();
            }
        }
        Cmd::Ring { action } => match action {
            RingCmd::Up {
                nodes,
                dir,
                cassandra,
            } => up(nodes, dir, &cassandra),
            RingCmd::Down { dir } => down(&dir),
            RingCmd::Status { dir } => {
                let spec = spec_for(
                    &dir,
                    ring::Cassandra::fetch(&read(&dir, "cassandra-version")?)?,
                )?;
                let out = Ring::nodetool_detached(&spec, 0, &["status"])?;
                print!("{out}");
                Ok(())
            }
        },
    }
}

fn spec_for(dir: &std::path::Path, cassandra: ring::Cassandra) -> Result<RingSpec> {
    let me = std::env::current_exe()?;
    let ringkeeper = me.with_file_name("ringkeeper");
    if !ringkeeper.exists() {
        bail!(
            "{} not found: build it first (cargo build)",
            ringkeeper.display()
        );
    }
    Ok(RingSpec::new(dir.to_owned(), NETNS, ringkeeper, cassandra))
}

fn read(dir: &std::path::Path, name: &str) -> Result<String> {
    Ok(std::fs::read_to_string(dir.join(name))
        .with_context(|| format!("no ring in {} (run `ring up` first)", dir.display()))?
        .trim()
        .to_owned())
}

fn up(nodes: u32, dir: PathBuf, version: &str) -> Result<()> {
    if !(1..=3).contains(&nodes) {
        bail!("--nodes must be 1 to 3 on this machine");
    }
    if dir.join("dns.pid").exists() {
        bail!(
            "a ring already runs in {} (run `ring down` first)",
            dir.display()
        );
    }
    let cassandra = ring::Cassandra::fetch(version)?;
    let _ = std::fs::remove_dir_all(&dir);
    let spec = spec_for(&dir, cassandra)?;
    let mut ring = Ring::create_detached(spec, &std::env::current_exe()?)?;
    std::fs::write(dir.join("cassandra-version"), version)?;
    for ordinal in 0..nodes {
        eprintln!(
            "starting {} through `ringkeeper entrypoint` ...",
            ring.spec.fqdn(ordinal)
        );
        ring.start_ready(ordinal, Duration::from_secs(240))?;
        eprintln!(
            "  {} is up (CQL on {}:9042)",
            ring.spec.fqdn(ordinal),
            ring::default_ip(ordinal)
        );
    }
    print!("{}", ring.nodetool(0, &["status"])?);
    eprintln!(
        "\nlogs: {}/node-*/entrypoint.log (ringkeeper) and node-*/logs/system.log (Cassandra)",
        dir.display()
    );
    Ok(())
}

fn down(dir: &std::path::Path) -> Result<()> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("no ring in {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir()
            && let Ok(pid) = std::fs::read_to_string(path.join("pid"))
        {
            pids.push(pid.trim().parse::<i32>()?);
        }
    }
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    for &pid in &pids {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for &pid in &pids {
        while kill(Pid::from_raw(pid), None).is_ok() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
    }
    if let Ok(pid) = read(dir, "dns.pid") {
        let _ = kill(Pid::from_raw(pid.parse()?), Signal::SIGKILL);
        let _ = std::fs::remove_file(dir.join("dns.pid"));
    }
    Netns::delete(NETNS);
    eprintln!("ring in {} stopped ({} nodes)", dir.display(), pids.len());
    Ok(())
}
