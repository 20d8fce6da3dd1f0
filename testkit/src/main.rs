//! `rk-testkit`: the local ring for people (`ring up|down|status`), the DNS server the
//! ring runs in the background (`dns`), a client load against a ring (`load`), a
//! rolling restart under load, side by side with a bare `nodetool drain` (`rolling`), and
//! a table of 1 MiB random blobs for the backup benchmark (`blobs fill|count|cql`).
//! Test-only; not shipped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use ringkeeper_testkit::container;
use ringkeeper_testkit::dns::{self, DnsThread, ZoneSource};
use ringkeeper_testkit::load::{self, Load, LoadSpec};
use ringkeeper_testkit::netns::Netns;
use ringkeeper_testkit::ring::{self, Ring, RingSpec};
use ringkeeper_testkit::rolling;

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
    /// Run a client load (writes and reads at a steady rate) for `--duration` or until
    /// SIGINT/SIGTERM, then print the report as JSON (a second signal aborts).
    Load(LoadArgs),
    /// A rolling restart of a fresh 3-pod ring under a QUORUM load, side by side: once
    /// with a bare `nodetool drain` as preStop, once with `ringkeeper drain`. Prints each
    /// run's JSON report on stderr and the side-by-side table (Markdown) on stdout.
    Rolling {
        /// State directory (emptied first).
        #[arg(long)]
        dir: PathBuf,
        /// Cassandra version to run.
        #[arg(long, default_value = "5.0.8")]
        cassandra: String,
        /// Total client requests per second (half writes, half reads).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
        rate: u32,
        /// The pods' terminationGracePeriodSeconds.
        #[arg(long, default_value = "60s", value_parser = load::parse_duration)]
        grace: Duration,
    },
    /// A table of 1 MiB random blobs (incompressible), for `scripts/bench-backup`: fill
    /// it, count its rows, or run one statement (a TRUNCATE) through one node.
    Blobs {
        #[command(subcommand)]
        action: BlobsCmd,
    },
    /// The pod runner's container shim: namespaces, then the container's PID 1 (see
    /// `container.rs`); exits as the container did.
    #[command(hide = true)]
    Container {
        /// The container spec (JSON) the pod runner wrote.
        spec: PathBuf,
    },
    /// The container's PID 1 before it execs the command: builds the root, drops
    /// privileges.
    #[command(hide = true)]
    ContainerInit {
        /// The container spec (JSON).
        spec: PathBuf,
    },
}

#[derive(clap::Args)]
struct LoadArgs {
    /// Network namespace to run in (e.g. rk-local for `ring up`).
    #[arg(long)]
    netns: Option<String>,
    /// Contact points, comma-separated `IP:port`.
    #[arg(long, value_delimiter = ',', required = true)]
    nodes: Vec<SocketAddr>,
    /// Keyspace (created with SimpleStrategy if missing; table `<keyspace>.kv`).
    #[arg(long, default_value = "load")]
    keyspace: String,
    /// Replication factor of a keyspace this creates.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    replication_factor: u32,
    /// Consistency level of every request (one, quorum, all, local_quorum, ...).
    #[arg(long, default_value = "quorum", value_parser = load::parse_consistency)]
    consistency: scylla::statement::Consistency,
    /// Total requests per second.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    rate: u32,
    /// Share of requests that are writes (0 to 1).
    #[arg(long, default_value_t = 0.5, value_parser = load::parse_share)]
    write_share: f64,
    /// At most this many requests in flight.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    concurrency: u32,
    /// Payload bytes per write.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(..=1_048_576))]
    payload: u32,
    /// Mark the statements idempotent, so the driver retries on the next node after a
    /// broken connection or an overloaded answer.
    #[arg(long)]
    idempotent: bool,
    /// How long to run: 500ms, 60s, 2m, 1h.
    #[arg(long, default_value = "60s", value_parser = load::parse_duration)]
    duration: Duration,
    /// Also write the JSON report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Afterwards, read back every acknowledged write at the same consistency; the report
    /// gets `missing` (a count) and `missing_keys` (the first 100), and the command
    /// fails if any is missing.
    #[arg(long)]
    check: bool,
}

/// Where `blobs` connects: one node, from inside a namespace.
#[derive(clap::Args)]
struct BlobsTarget {
    /// Network namespace to run in.
    #[arg(long)]
    netns: Option<String>,
    /// The node's CQL address (the only coordinator).
    #[arg(long, default_value = "127.0.0.11:9042")]
    node: SocketAddr,
}

/// The blobs' table.
#[derive(clap::Args)]
struct BlobsTable {
    /// Keyspace.
    #[arg(long)]
    keyspace: String,
    /// Table.
    #[arg(long)]
    table: String,
}

#[derive(Subcommand)]
enum BlobsCmd {
    /// Write `--mib` rows of 1 MiB random bytes (keys from `--first-key`) at CL ONE, the
    /// keyspace created with RF 1 and the table (`k bigint PRIMARY KEY, v blob`) if
    /// missing; print a JSON report (rows, bytes, retries, seconds).
    Fill {
        #[command(flatten)]
        target: BlobsTarget,
        #[command(flatten)]
        of: BlobsTable,
        /// MiB to write: one row each.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        mib: u64,
        /// The first row's key.
        #[arg(long, default_value_t = 0)]
        first_key: i64,
        /// Writes in flight.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
        concurrency: u32,
    },
    /// Print the number of rows of the table (keys only, a few rows per page).
    Count {
        #[command(flatten)]
        target: BlobsTarget,
        #[command(flatten)]
        of: BlobsTable,
    },
    /// Run one CQL statement (e.g. `TRUNCATE ks.t`).
    Cql {
        #[command(flatten)]
        target: BlobsTarget,
        /// The statement.
        statement: String,
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
        Cmd::Load(args) => run_load(args),
        Cmd::Blobs { action } => blobs(action),
        Cmd::Container { spec } => {
            let code = container::shim(&spec)?;
            // The shim's status is its container's, as a runtime reports it.
            #[allow(clippy::disallowed_methods)]
            std::process::exit(code)
        }
        Cmd::ContainerInit { spec } => container::init(&spec),
        Cmd::Rolling {
            dir,
            cassandra,
            rate,
            grace,
        } => rolling(&dir, &cassandra, rate, grace),
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

/// The namespace of `rolling`'s ring (not the local ring's: both may exist).
const ROLLING_NETNS: &str = "rk-rolling";

fn rolling(dir: &std::path::Path, version: &str, rate: u32, grace: Duration) -> Result<()> {
    // Three of the machine's three nodes: waits for a test suite running beside it.
    let _nodes = ringkeeper_testkit::node_budget::reserve(3);
    let cassandra = ring::Cassandra::fetch(version)?;
    let _ = std::fs::remove_dir_all(dir);
    let mut spec = spec_for(dir, cassandra)?;
    spec.netns = ROLLING_NETNS.into();
    spec.grace_period = grace;
    // As in production: CQL opens only once gossip has settled.
    spec.jvm_opts = vec!["-Dcassandra.skip_wait_for_gossip_to_settle=-1".into()];
    let mut ring = Ring::create(spec)?;
    for o in 0..3 {
        eprintln!("starting pod {o} ...");
        ring.start_ready(o, Duration::from_secs(240))?;
    }
    let nodes: Vec<SocketAddr> = (0..3)
        .map(|o| SocketAddr::new(ring::default_ip(o), 9042))
        .collect();
    let mut runs = Vec::new();
    for (prestop, keyspace) in [
        (ring::PreStop::NodetoolDrain, "load_nodetool"),
        (ring::PreStop::Ringkeeper(vec![]), "load_ringkeeper"),
    ] {
        let mut load = LoadSpec::new(nodes.clone());
        load.keyspace = keyspace.into();
        load.rate = rate;
        eprintln!(
            "rolling restart with preStop `{}` ...",
            rolling::label(&prestop)
        );
        let report = rolling::rolling_restart(
            &mut ring,
            &[0, 1, 2],
            &prestop,
            grace,
            load,
            Duration::from_secs(5),
        )?;
        eprintln!("{}", serde_json::to_string(&report)?);
        runs.push(report);
    }
    print!("{}", rolling::table(version, &runs));
    Ok(())
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

fn blobs(action: BlobsCmd) -> Result<()> {
    let netns = |t: &BlobsTarget| t.netns.as_deref().map(Netns::existing);
    match action {
        BlobsCmd::Fill {
            target,
            of: BlobsTable { keyspace, table },
            mib,
            first_key,
            concurrency,
        } => {
            let report = load::fill_blobs(
                netns(&target).as_ref(),
                target.node,
                &keyspace,
                &table,
                first_key,
                mib,
                usize::try_from(concurrency)?,
            )?;
            println!("{}", serde_json::to_string(&report)?);
        }
        BlobsCmd::Count {
            target,
            of: BlobsTable { keyspace, table },
        } => println!(
            "{}",
            load::count_blob_rows(netns(&target).as_ref(), target.node, &keyspace, &table)?
        ),
        BlobsCmd::Cql { target, statement } => {
            load::run_statement(netns(&target).as_ref(), target.node, &statement)?;
        }
    }
    Ok(())
}

fn run_load(args: LoadArgs) -> Result<()> {
    let LoadArgs {
        netns,
        nodes,
        keyspace,
        replication_factor,
        consistency,
        rate,
        write_share,
        concurrency,
        payload,
        idempotent,
        duration,
        out,
        check,
    } = args;
    let ns = netns.as_deref().map(Netns::existing);
    let spec = LoadSpec {
        keyspace: keyspace.clone(),
        replication_factor,
        consistency,
        rate,
        write_share,
        concurrency: usize::try_from(concurrency)?,
        payload: usize::try_from(payload)?,
        idempotent,
        ..LoadSpec::new(nodes.clone())
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Start first: until the load runs, a signal ends the process the usual way.
    let load = Load::start(ns.as_ref(), spec)?;
    let (mut term, mut int) = {
        use tokio::signal::unix::{SignalKind, signal};
        let _in_rt = rt.enter();
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    eprintln!("load running against {nodes:?} for {duration:?} (SIGINT/SIGTERM stops it)");
    rt.block_on(async {
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = term.recv() => eprintln!("SIGTERM: stopping the load"),
            _ = int.recv() => eprintln!("SIGINT: stopping the load"),
        }
    });
    // Stopping waits for requests in flight (up to the driver's request timeout): on a
    // thread, so that a second signal can abort.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(load.stop());
    });
    let report = rt.block_on(async {
        tokio::select! {
            report = rx => report.context("the load stopped without a report")?,
            _ = term.recv() => bail!("second signal: aborted while requests were in flight"),
            _ = int.recv() => bail!("second signal: aborted while requests were in flight"),
        }
    })?;
    let mut json = serde_json::to_value(&report)?;
    let mut missing_count = 0;
    if check {
        eprintln!(
            "reading back {} acknowledged writes ...",
            report.acked.len()
        );
        let missing =
            load::missing_writes(ns.as_ref(), &nodes, &keyspace, &report.acked, consistency)?;
        missing_count = missing.len();
        json["missing"] = missing_count.into();
        json["missing_keys"] = missing.iter().take(100).copied().collect::<Vec<_>>().into();
    }
    let text = serde_json::to_string_pretty(&json)?;
    if let Some(out) = &out {
        std::fs::write(out, format!("{text}\n"))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    println!("{text}");
    if missing_count > 0 {
        bail!("{missing_count} acknowledged writes are missing");
    }
    Ok(())
}
