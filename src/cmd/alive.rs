//! `ringkeeper alive`: the liveness (and startup) probe. Reads the run directory and
//! `/proc`, and, only when those cannot answer, does one JRMP handshake with the JVM's
//! JMX port (`edge::jrmp`); `decide::alive` judges. No JVM, no CQL, no JMX login.

use std::time::SystemTime;

use crate::config::AliveConfig;
use crate::decide::alive::{self, Facts, Jmx, Liveness, Recorded};
use crate::decide::drain::Process;
use crate::edge::jrmp;
use crate::edge::rundir::RunDir;
use crate::exit::Outcome;

/// Runs `ringkeeper alive`.
pub async fn run(cfg: AliveConfig) -> anyhow::Result<Outcome> {
    let AliveConfig {
        run_dir,
        jmx_host,
        jmx_port,
        timeout,
        startup_grace,
    } = cfg;
    let run = RunDir::new(&run_dir);
    let cassandra = if !run.exists() {
        Recorded::NoRunDir
    } else {
        match run.cassandra_since() {
            Ok(None) => Recorded::Nothing,
            Ok(Some((record, since))) => match record.state() {
                Process::Running => Recorded::Running {
                    pid: record.pid,
                    // A clock set back makes the record look new: still starting.
                    age: SystemTime::now().duration_since(since).unwrap_or_default(),
                },
                _ => Recorded::Gone { pid: record.pid },
            },
            // The record is written atomically; one that cannot be read is no answer.
            Err(e) => anyhow::bail!(
                "cannot read the Cassandra process record in --run-dir {}: {e}",
                run_dir.display()
            ),
        }
    };
    let mut facts = Facts {
        draining: run.draining(),
        cassandra,
        startup_grace,
        jmx: Jmx::NotAsked,
    };
    let mut answer = alive::liveness(&facts);
    if answer == Liveness::AskJmx {
        facts.jmx = match jrmp::handshake(&jmx_host, jmx_port, timeout).await {
            Ok(took) => Jmx::Answered { took },
            Err(why) => Jmx::NoAnswer { why },
        };
        answer = alive::liveness(&facts);
    }
    Ok(match answer {
        Liveness::Alive(why) => Outcome::Noted {
            stdout: "alive".into(),
            note: format!("alive: {why}"),
        },
        Liveness::NotAlive(why) if facts.cassandra == Recorded::NoRunDir => Outcome::Refused {
            stdout: None,
            reason: format!("not alive: {why} ({})", run_dir.display()),
        },
        Liveness::NotAlive(why) => Outcome::Refused {
            stdout: None,
            reason: format!("not alive: {why}"),
        },
        Liveness::AskJmx => unreachable!("JMX was asked"),
    })
}
