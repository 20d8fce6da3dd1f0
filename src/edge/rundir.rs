//! The run directory (`--run-dir`): what one pod start shares between its commands.
//!
//! * `cassandra.pid` — Cassandra's PID and its start time, written by the entrypoint.
//!   `drain` signals only that process, and only after `/proc` shows the same start time:
//!   a bare PID may have been reused, and outside a pod's PID namespace PID 1 is the
//!   machine's init. `alive` takes the file's age as the time since Cassandra started.
//! * `draining` — the drain marker (`decide::drain::Marker`, JSON): its existence makes
//!   `ready` fail at once; the entrypoint reads it on SIGTERM.
//!
//! The entrypoint empties both at start, so a marker never outlives its pod start.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::decide::drain::{Marker, Process};

const PID_FILE: &str = "cassandra.pid";
const MARKER_FILE: &str = "draining";

/// A process as `/proc` identifies it: its PID, its start time (clock ticks after boot,
/// field 22 of `/proc/<pid>/stat`), which together never repeat, and its parent's PID
/// (field 4), which must match too: where `/proc` is not the PID namespace's own (a test
/// or a user running the binary outside the pod's namespace), a recorded PID names some
/// other process of the machine, whose parent differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// The PID.
    pub pid: i32,
    /// Its start time.
    pub start_ticks: u64,
    /// Its parent's PID.
    pub ppid: i32,
}

impl ProcessRecord {
    /// Reads the record of a running process from `/proc`.
    pub fn of(pid: i32) -> io::Result<ProcessRecord> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let (ppid, start_ticks) = parse_stat(&stat).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/<pid>/stat")
        })?;
        Ok(ProcessRecord {
            pid,
            start_ticks,
            ppid,
        })
    }

    /// The record of a child of this process. Refused when `/proc` is not this PID
    /// namespace's own (the child's parent there is not us): such a record could name
    /// another process of the machine.
    pub fn of_child(pid: i32) -> io::Result<ProcessRecord> {
        let record = ProcessRecord::of(pid)?;
        if i32::try_from(std::process::id()).ok() != Some(record.ppid) {
            return Err(foreign_proc());
        }
        Ok(record)
    }

    /// The record of this process (Cassandra's, after `exec`), refused likewise.
    pub fn of_self() -> io::Result<ProcessRecord> {
        let own = i32::try_from(std::process::id()).map_err(|_| foreign_proc())?;
        let stat = std::fs::read_to_string("/proc/self/stat")?;
        let pid: Option<i32> = stat.split_whitespace().next().and_then(|p| p.parse().ok());
        if pid != Some(own) {
            return Err(foreign_proc());
        }
        ProcessRecord::of(own)
    }

    /// What `/proc` says of the recorded process now.
    pub fn state(&self) -> Process {
        match ProcessRecord::of(self.pid) {
            Ok(now) if now == *self && !zombie(self.pid) => Process::Running,
            _ => Process::Gone,
        }
    }
}

/// Whether the drain a marker names still runs: its PID shows in `/proc` with the start
/// time the marker recorded (a PID alone may have been reused by then, and a preStop that
/// waited on such a process would wait out its grace period and stop Cassandra without a
/// drain). A marker without a start time (an older version's) is judged by its PID.
pub fn drain_running(marker: &Marker) -> bool {
    let Ok(pid) = i32::try_from(marker.pid) else {
        return false;
    };
    if pid == 0 {
        return false;
    }
    match (ProcessRecord::of(pid), marker.start_ticks) {
        (Ok(now), Some(ticks)) => now.start_ticks == ticks && !zombie(pid),
        (Ok(_), None) => !zombie(pid),
        (Err(_), _) => false,
    }
}

/// This process's start time, for a marker; `None` where `/proc` is not this PID
/// namespace's own.
pub fn own_start_ticks() -> Option<u64> {
    ProcessRecord::of_self().ok().map(|r| r.start_ticks)
}

/// Fields 4 (parent PID) and 22 (start time) of `/proc/<pid>/stat`; the command name
/// (field 2) may hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_stat(stat: &str) -> Option<(i32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the name: field 3 (state) is the first, field 4 the second, field 22 the 20th.
    let mut fields = rest.split_whitespace();
    let ppid = fields.nth(1)?.parse().ok()?;
    let start = fields.nth(17)?.parse().ok()?;
    Some((ppid, start))
}

fn foreign_proc() -> io::Error {
    io::Error::other(
        "/proc does not show this PID namespace (mount the namespace's own /proc): no PID recorded",
    )
}

/// A zombie has exited; only its parent's wait is missing.
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|state| state == "Z")
        })
        .unwrap_or(false)
}

/// The run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    /// The directory at `dir` (not created yet).
    pub fn new(dir: &Path) -> RunDir {
        RunDir {
            dir: dir.to_owned(),
        }
    }

    /// Creates the directory and removes what an earlier start of the pod left.
    pub fn reset(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        for name in [PID_FILE, MARKER_FILE] {
            match std::fs::remove_file(self.dir.join(name)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Records Cassandra's process.
    pub fn record_cassandra(&self, record: &ProcessRecord) -> io::Result<()> {
        self.write(PID_FILE, &serde_json::to_vec(record)?)
    }

    /// The recorded Cassandra process, if any.
    pub fn cassandra(&self) -> io::Result<Option<ProcessRecord>> {
        match std::fs::read(self.dir.join(PID_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", self.dir.join(PID_FILE).display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The recorded Cassandra process and when it was recorded: the entrypoint writes the
    /// record as it starts Cassandra (just after the spawn, or just before `--exec`, where
    /// the process's own start time is the entrypoint's, seed wait included).
    pub fn cassandra_since(&self) -> io::Result<Option<(ProcessRecord, SystemTime)>> {
        let Some(record) = self.cassandra()? else {
            return Ok(None);
        };
        let at = std::fs::metadata(self.dir.join(PID_FILE))?.modified()?;
        Ok(Some((record, at)))
    }

    /// True when the directory exists.
    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    /// True while a drain marker exists: the cheapest check, for `ready`.
    pub fn draining(&self) -> bool {
        self.dir.join(MARKER_FILE).exists()
    }

    /// The drain marker, if any (an unreadable one counts as a drain without outcome).
    pub fn marker(&self) -> io::Result<Option<Marker>> {
        match std::fs::read(self.dir.join(MARKER_FILE)) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).unwrap_or(Marker {
                started_at_ms: 0,
                pid: 0,
                start_ticks: None,
                grace_period_ms: 0,
                outcome: None,
            }))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the drain marker (atomically: `ready` may look at any moment).
    pub fn write_marker(&self, marker: &Marker) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        self.write(MARKER_FILE, &serde_json::to_vec(marker)?)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_names() {
        let fields: Vec<String> = (3..=30).map(|i| i.to_string()).collect();
        let tail = fields.join(" ");
        for name in ["java", "a b", "x) (y", ")"] {
            let stat = format!("123 ({name}) {tail}");
            assert_eq!(parse_stat(&stat), Some((4, 22)), "{stat}");
        }
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_process_is_running_and_a_changed_start_time_or_parent_is_not() {
        let me = ProcessRecord::of_self().unwrap();
        assert_eq!(me.state(), Process::Running);
        // Not a child of itself.
        assert!(ProcessRecord::of_child(me.pid).is_err());
        let reused = ProcessRecord {
            start_ticks: me.start_ticks + 1,
            ..me
        };
        assert_eq!(reused.state(), Process::Gone);
        let other_parent = ProcessRecord {
            ppid: me.ppid + 1,
            ..me
        };
        assert_eq!(other_parent.state(), Process::Gone);
    }

    #[test]
    fn a_drain_is_running_only_with_its_pid_and_start_time() {
        let own = ProcessRecord::of_self().unwrap();
        let marker = |pid: u32, start_ticks| Marker {
            started_at_ms: 0,
            pid,
            start_ticks,
            grace_period_ms: 0,
            outcome: None,
        };
        let pid = std::process::id();
        assert!(drain_running(&marker(pid, Some(own.start_ticks))));
        assert_eq!(own_start_ticks(), Some(own.start_ticks));
        // The PID reused by another process: not the drain.
        assert!(!drain_running(&marker(pid, Some(own.start_ticks + 1))));
        // An older marker: the PID alone.
        assert!(drain_running(&marker(pid, None)));
        assert!(!drain_running(&marker(0, None)));
        assert!(!drain_running(&marker(u32::MAX, None)));
    }

    #[test]
    fn reset_clears_what_an_earlier_start_left() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(&tmp.path().join("run"));
        run.reset().unwrap();
        assert!(!run.draining());
        run.write_marker(&Marker {
            started_at_ms: 1,
            pid: 1,
            start_ticks: None,
            grace_period_ms: 1,
            outcome: None,
        })
        .unwrap();
        run.record_cassandra(&ProcessRecord {
            pid: 1,
            start_ticks: 2,
            ppid: 0,
        })
        .unwrap();
        assert!(run.draining());
        assert_eq!(run.cassandra().unwrap().unwrap().start_ticks, 2);
        run.reset().unwrap();
        assert!(!run.draining());
        assert_eq!(run.cassandra().unwrap(), None);
    }
}
