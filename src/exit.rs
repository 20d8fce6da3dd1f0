//! How a run ends: the one place that prints the answer and chooses the exit code.
//!
//! * 0 — success: the answer is on stdout (or Cassandra exited 0).
//! * 1 — a negative answer: no safe seed list, Cassandra not started, not ready, not
//!   alive. Not an error.
//! * 2 — bad input or an unexpected error (clap uses 2 for usage errors too).
//! * 3, 4 — `drain` was cut short by its deadline, or could not drain (see `cli.rs`).
//! * N — `entrypoint` exits with Cassandra's status (128+signal when killed), or 0 after
//!   a clean shutdown.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

/// The normal outcomes of a command.
#[derive(Debug)]
pub enum Outcome {
    /// Print this on stdout, exit 0.
    Answer(String),
    /// Print `stdout` on stdout and `note` on stderr (why the answer is yes), exit 0.
    Noted {
        /// The answer.
        stdout: String,
        /// Why, for a person reading the probe's output.
        note: String,
    },
    /// A negative answer: print `stdout` if any, the reason on stderr, exit 1.
    Refused {
        /// Machine-readable answer, e.g. the JSON report.
        stdout: Option<String>,
        /// What was seen and what to do.
        reason: String,
    },
    /// Exit with this code (the supervised child's).
    Exit(u8),
    /// Print this on stdout and exit with this code (`drain`: its summary, whatever the
    /// outcome).
    Report {
        /// The summary.
        stdout: String,
        /// The exit code.
        code: u8,
    },
}

/// Exit code for a negative answer.
pub const REFUSED: u8 = 1;
/// Exit code for bad input or an unexpected error.
pub const ERROR: u8 = 2;

/// Prints the outcome and returns the exit code.
pub fn finish(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(Outcome::Answer(text)) => {
            let mut out = std::io::stdout().lock();
            // A closed stdout (e.g. piped into `head`) is not our failure.
            let _ = writeln!(out, "{text}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Noted { stdout, note }) => {
            let _ = writeln!(std::io::stdout().lock(), "{stdout}");
            eprintln!("ringkeeper: {note}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Refused { stdout, reason }) => {
            if let Some(text) = stdout {
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
            eprintln!("ringkeeper: {reason}");
            ExitCode::from(REFUSED)
        }
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Ok(Outcome::Report { stdout, code }) => {
            let _ = writeln!(std::io::stdout().lock(), "{stdout}");
            ExitCode::from(code)
        }
        Err(err) => error(&err),
    }
}

/// Prints an error as one line with its causes, and returns exit code 2.
pub fn error(err: &anyhow::Error) -> ExitCode {
    eprintln!("ringkeeper: error: {err:#}");
    ExitCode::from(ERROR)
}
