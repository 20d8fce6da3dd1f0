//! Runs `nodetool` against the local node's JMX, bounded in time. There is no CQL way to
//! drain or to read the operation mode in Cassandra 4.x/5.0, and no usable JMX client in
//! Rust, so the drain goes through the tool operators already have.
//!
//! Each run starts in its own process group, so a run that overstays its bound is killed
//! with everything it started (the image's `nodetool` is a shell script around java).

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::config::Jmx;

/// Why a nodetool run gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum NodetoolError {
    /// The command could not be started.
    #[error("cannot run nodetool {program:?} (set --nodetool): {detail}")]
    Missing {
        /// The command.
        program: String,
        /// The OS error.
        detail: String,
    },
    /// It did not finish within its bound (it was killed).
    #[error("nodetool {command} did not finish within {limit:?}")]
    TimedOut {
        /// The nodetool command (`drain`, ...).
        command: String,
        /// The bound.
        limit: Duration,
    },
    /// It exited non-zero: 1 for a refusal (bad usage, an illegal state), 2 for other
    /// errors, such as JMX being unreachable.
    #[error("nodetool {command} exited {code}: {output}")]
    Failed {
        /// The nodetool command.
        command: String,
        /// Its exit code (-1 when killed by a signal).
        code: i32,
        /// The end of what it printed.
        output: String,
    },
}

/// Runs `nodetool <args>` against `jmx` within `limit`; returns its stdout.
pub async fn run(jmx: &Jmx, args: &[&str], limit: Duration) -> Result<String, NodetoolError> {
    let mut cmd = tokio::process::Command::new(&jmx.nodetool);
    cmd.args(["-h", &jmx.host, "-p", &jmx.port.to_string()]);
    if let Some((user, file)) = &jmx.auth {
        cmd.args(["-u", user]).arg("-pwf").arg(file);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let command = args.join(" ");
    let child = cmd.spawn().map_err(|e| NodetoolError::Missing {
        program: jmx.nodetool.display().to_string(),
        detail: e.to_string(),
    })?;
    let group = child.id().and_then(|id| i32::try_from(id).ok());
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Err(_) => {
            // The group this run created: the script and the JVM it started.
            if let Some(pgid) = group {
                let _ = kill(Pid::from_raw(-pgid), Signal::SIGKILL);
            }
            Err(NodetoolError::TimedOut { command, limit })
        }
        Ok(Err(e)) => Err(NodetoolError::Failed {
            command,
            code: -1,
            output: e.to_string(),
        }),
        Ok(Ok(out)) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into()),
        Ok(Ok(out)) => Err(NodetoolError::Failed {
            command,
            code: out.status.code().unwrap_or(-1),
            output: last_lines(&format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )),
        }),
    }
}

/// The last few non-empty lines, on one line: enough to say why, never a stack trace.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("at "))
        .collect();
    let start = lines.len().saturating_sub(3);
    lines[start..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_to_its_last_lines_without_stack_frames() {
        let text = "error: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'.\n\tat a.b(C.java:1)\n\n";
        assert_eq!(
            last_lines(text),
            "error: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'."
        );
        assert_eq!(last_lines("1\n2\n3\n4\n"), "2 | 3 | 4");
    }
}
