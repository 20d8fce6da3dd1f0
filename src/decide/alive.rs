//! Pure. Liveness: is the JVM alive and answering locally? The answer of `ringkeeper
//! alive`, meant for the liveness and startup probes.
//!
//! A liveness probe that fails restarts the container, so it must stay true through
//! everything a healthy node does, however long it takes: waiting for seeds, replaying
//! the commit log, bootstrapping (streaming for hours), decommissioning, draining. None of
//! those is a reason to kill the node, so none of them is looked at: not the node's mode,
//! not its gossip state, not the native transport (which a joining node does not open).
//! What is looked at:
//!
//! * the drain marker: a drain has begun and the pod is going away; a restart now would
//!   only cut the drain short. Alive.
//! * no Cassandra recorded in the run directory: the entrypoint has not started it yet
//!   (it is deciding how to boot, or waiting for other pods). Alive: restarting the
//!   container cannot make the wait shorter.
//! * the recorded process (PID, start time and parent, checked against `/proc`) is gone:
//!   not alive.
//! * it started less than the startup grace ago: alive. Cassandra opens JMX early in its
//!   start (`CassandraDaemon.setup` calls `maybeInitJmx` before the startup checks and the
//!   commit log replay), so the grace covers only the JVM's own start and reading the
//!   configuration, however long the replay takes.
//! * otherwise the JVM must answer a Java RMI (JRMP) handshake on its JMX port within
//!   the timeout. A TCP connection alone proves nothing: the kernel completes it while
//!   the JVM is stopped (a long GC pause, a stall); the handshake's answer is written by
//!   the JVM's RMI threads. It needs no JMX login (authentication comes later, with the
//!   first call), and starts no JVM on our side.

use std::time::Duration;

/// What the run directory records of Cassandra, as `/proc` confirms it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The run directory does not exist: the entrypoint has not started, or this probe's
    /// `--run-dir` is not the entrypoint's.
    NoRunDir,
    /// No Cassandra process recorded yet.
    Nothing,
    /// The recorded process has exited (or its PID now names another process).
    Gone {
        /// The recorded PID.
        pid: i32,
    },
    /// The recorded process runs.
    Running {
        /// Its PID.
        pid: i32,
        /// How long ago the entrypoint recorded that it started Cassandra.
        age: Duration,
    },
}

/// What the JVM's JMX port answered to the JRMP handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jmx {
    /// Not asked (yet).
    NotAsked,
    /// The JVM answered the handshake.
    Answered {
        /// How long the handshake took.
        took: Duration,
    },
    /// No answer: refused, closed, not JRMP, or nothing within the timeout.
    NoAnswer {
        /// What happened, naming the address.
        why: String,
    },
}

/// The facts the answer is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// A drain marker is in the run directory.
    pub draining: bool,
    /// Cassandra's process.
    pub cassandra: Recorded,
    /// The startup grace (`--startup-grace`).
    pub startup_grace: Duration,
    /// What JMX answered.
    pub jmx: Jmx,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// Alive, and why.
    Alive(String),
    /// Not alive, and why.
    NotAlive(String),
    /// Ask JMX, then decide again with its answer.
    AskJmx,
}

/// Decides liveness; see the module documentation for the rules.
pub fn liveness(facts: &Facts) -> Liveness {
    if facts.draining {
        return Liveness::Alive(
            "draining (a drain marker is in the run directory): the pod is going away".into(),
        );
    }
    let (pid, age) = match facts.cassandra {
        Recorded::NoRunDir => {
            return Liveness::NotAlive(
                "the run directory does not exist: the entrypoint has not started, or this \
                 probe's --run-dir is not the entrypoint's"
                    .into(),
            );
        }
        Recorded::Nothing => {
            return Liveness::Alive(
                "waiting to start Cassandra: the entrypoint is still deciding how to boot, or \
                 waiting for other pods"
                    .into(),
            );
        }
        Recorded::Gone { pid } => {
            return Liveness::NotAlive(format!("cassandra (pid {pid}) has exited"));
        }
        Recorded::Running { pid, age } => (pid, age),
    };
    if age < facts.startup_grace {
        return Liveness::Alive(format!(
            "starting: cassandra (pid {pid}) started {}s ago, within --startup-grace {}s",
            age.as_secs(),
            facts.startup_grace.as_secs()
        ));
    }
    match &facts.jmx {
        Jmx::NotAsked => Liveness::AskJmx,
        Jmx::Answered { took } => Liveness::Alive(format!(
            "cassandra (pid {pid}) answered the JMX (RMI) handshake in {} ms",
            took.as_millis()
        )),
        Jmx::NoAnswer { why } => Liveness::NotAlive(format!("cassandra (pid {pid}): {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_table() {
        let s = Duration::from_secs;
        let grace = s(60);
        let running = |age| Recorded::Running { pid: 42, age };
        let answered = Jmx::Answered {
            took: Duration::from_millis(3),
        };
        let silent = Jmx::NoAnswer {
            why: "no answer from 127.0.0.1:7199 within 2s".into(),
        };
        enum Want {
            Alive(&'static str),
            NotAlive(&'static str),
            AskJmx,
        }
        #[rustfmt::skip]
        let cases: Vec<(&str, bool, Recorded, Jmx, Want)> = vec![
            ("draining, whatever else", true, Recorded::Gone { pid: 42 }, silent.clone(), Want::Alive("draining")),
            ("draining, JMX silent", true, running(s(600)), silent.clone(), Want::Alive("draining")),
            ("no run directory", false, Recorded::NoRunDir, Jmx::NotAsked, Want::NotAlive("--run-dir")),
            ("waiting for seeds (nothing started)", false, Recorded::Nothing, Jmx::NotAsked, Want::Alive("waiting to start Cassandra")),
            ("process gone", false, Recorded::Gone { pid: 42 }, Jmx::NotAsked, Want::NotAlive("pid 42) has exited")),
            ("just started", false, running(s(0)), Jmx::NotAsked, Want::Alive("starting")),
            ("starting, JMX not up yet", false, running(s(59)), silent.clone(), Want::Alive("within --startup-grace 60s")),
            ("grace over: ask JMX", false, running(s(60)), Jmx::NotAsked, Want::AskJmx),
            ("JMX answers", false, running(s(3600)), answered.clone(), Want::Alive("answered the JMX (RMI) handshake in 3 ms")),
            ("JMX silent after the grace", false, running(s(61)), silent.clone(), Want::NotAlive("no answer from 127.0.0.1:7199")),
        ];
        for (name, draining, cassandra, jmx, want) in cases {
            let got = liveness(&Facts {
                draining,
                cassandra,
                startup_grace: grace,
                jmx,
            });
            match (&got, want) {
                (Liveness::Alive(why), Want::Alive(part))
                | (Liveness::NotAlive(why), Want::NotAlive(part)) => {
                    assert!(why.contains(part), "{name}: {why:?} lacks {part:?}")
                }
                (Liveness::AskJmx, Want::AskJmx) => {}
                (got, _) => panic!("{name}: got {got:?}"),
            }
        }
    }

    #[test]
    fn a_zero_grace_asks_jmx_at_once() {
        let facts = Facts {
            draining: false,
            cassandra: Recorded::Running {
                pid: 1,
                age: Duration::ZERO,
            },
            startup_grace: Duration::ZERO,
            jmx: Jmx::NotAsked,
        };
        assert_eq!(liveness(&facts), Liveness::AskJmx);
    }
}
