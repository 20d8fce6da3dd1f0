//! At most three Cassandra nodes alive on this machine at once (2 cores), across every test
//! process: a test reserves as many nodes as its ring will ever run together before it
//! starts the first, and gives them back when the reservation drops.
//!
//! Why across processes: `scripts/test` runs the test files side by side, so that rings of
//! one or two nodes (the drain tests, the load test, TLS) run together and the tests that
//! need no node at all run beside them; an in-process lock could not see another file's
//! ring. Each slot is a file locked with `flock`: the kernel releases it when the holder
//! exits, however it exits, so a killed test never leaves the budget spent.
//!
//! Who goes first when slots free up (the waiting reservations' sizes are in the budget's
//! directory): a ring smaller than the machine before a ring of the whole machine, so the
//! small rings run packed together and the three-node rings one after another after them
//! (not a three-node ring taking the machine between two one-node tests that could have
//! shared it); among the small ones the larger first, so a two-node ring runs beside a
//! one-node ring (three one-node rings first would leave the two-node rings waiting for two
//! of them to end, with a slot idle whenever one ends alone). A waiting reservation holds
//! the others back only while the free slots would serve it: a slot it cannot use yet goes
//! to whoever can.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How many Cassandra nodes this machine runs at once.
pub const MACHINE_NODES: usize = 3;

/// How often a waiting reservation looks again.
const LOOK_AGAIN: Duration = Duration::from_millis(300);

/// Where each reservation, when given back, appends a line (test, nodes, when it was
/// asked for, waited and held, in seconds), for `scripts/test`'s table of where the time
/// went. Unset: nothing is written.
pub const LOG_ENV: &str = "RINGKEEPER_NODE_BUDGET_LOG";

/// Nodes reserved; given back on drop (the slot files' locks go with their handles).
#[derive(Debug)]
pub struct Reservation {
    slots: Vec<File>,
    /// How long the reservation waited for its slots.
    pub waited: Duration,
    asked: std::time::SystemTime,
    held_since: Instant,
    /// Where to log it when it is given back (`LOG_ENV`).
    log: Option<PathBuf>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let Some(log) = &self.log else {
            return;
        };
        // The test harness names each test's thread after the test.
        let thread = std::thread::current();
        let asked = self
            .asked
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let line = format!(
            "{}\t{}\t{}\t{:.0}\t{:.0}\n",
            thread.name().unwrap_or("?"),
            self.slots.len(),
            asked.as_secs(),
            self.waited.as_secs_f64(),
            self.held_since.elapsed().as_secs_f64(),
        );
        // One short append per line: lines from processes side by side do not interleave.
        let _ = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    }
}

impl Reservation {
    /// How many nodes this reservation holds.
    pub fn nodes(&self) -> usize {
        self.slots.len()
    }
}

/// Reserves `nodes` Cassandra nodes, waiting while they are in use elsewhere. Panics on a
/// count outside 1..=3 (a test's mistake) and when the budget's directory cannot be used.
#[allow(clippy::disallowed_methods)] // A test-suite knob, not product configuration.
pub fn reserve(nodes: usize) -> Reservation {
    let log = std::env::var_os(LOG_ENV).map(PathBuf::from);
    reserve_in(&budget_dir(), nodes, log)
}

fn reserve_in(dir: &Path, nodes: usize, log: Option<PathBuf>) -> Reservation {
    assert!(
        (1..=MACHINE_NODES).contains(&nodes),
        "a ring of {nodes} nodes: this machine runs 1 to {MACHINE_NODES} at once"
    );
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let wanting = Wanting::announce(dir, nodes);
    let asked = std::time::SystemTime::now();
    let start = Instant::now();
    loop {
        if let Some(slots) = try_take(dir, nodes) {
            // Served: no longer holds a larger reservation back.
            drop(wanting);
            return Reservation {
                slots,
                waited: start.elapsed(),
                asked,
                held_since: Instant::now(),
                log,
            };
        }
        std::thread::sleep(LOOK_AGAIN);
    }
}

/// The slots, all or none; none while a reservation that goes first (see the module's
/// comment) waits and would be served by the free slots.
fn try_take(dir: &Path, nodes: usize) -> Option<Vec<File>> {
    // One taker at a time, so that two never split the free slots between them.
    let gate = open(&dir.join("gate"));
    gate.lock()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut free: Vec<File> = (0..MACHINE_NODES)
        .map(|slot| open(&dir.join(format!("slot-{slot}"))))
        .filter(|file| file.try_lock().is_ok())
        .collect();
    if free.len() < nodes
        || Wanting::sizes(dir)
            .into_iter()
            .any(|size| goes_before(size, nodes) && size <= free.len())
    {
        // The slots tried are given back as `free` drops.
        return None;
    }
    free.truncate(nodes);
    Some(free)
}

/// Whether a waiting reservation of `waiting` nodes is served before one of `asking`.
fn goes_before(waiting: usize, asking: usize) -> bool {
    // Smaller than the machine first; among those, the larger first.
    let rank = |n: usize| {
        if n < MACHINE_NODES {
            MACHINE_NODES - n
        } else {
            MACHINE_NODES
        }
    };
    rank(waiting) < rank(asking)
}

fn open(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Shared by every test process of the machine (the tests run as root).
fn budget_dir() -> PathBuf {
    std::env::temp_dir().join("ringkeeper-node-budget")
}

/// A waiting reservation's announcement: a file named for its size and its process,
/// removed when it is served (or its process ends: a dead process's file is ignored).
#[derive(Debug)]
struct Wanting(PathBuf);

static NEXT: AtomicU64 = AtomicU64::new(0);

impl Wanting {
    fn announce(dir: &Path, nodes: usize) -> Self {
        let path = dir.join(format!(
            "wants-{nodes}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        open(&path);
        Wanting(path)
    }

    /// The sizes of the reservations that wait, from live processes (a dead process's
    /// announcement is removed).
    fn sizes(dir: &Path) -> Vec<usize> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let mut parts = name.strip_prefix("wants-")?.split('-');
                let (size, pid) = (parts.next()?, parts.next()?);
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_file(e.path());
                    return None;
                }
                size.parse().ok()
            })
            .collect()
    }
}

impl Drop for Wanting {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_all_or_none_and_come_back_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let two = reserve_in(dir.path(), 2, None);
        assert_eq!(two.nodes(), 2);
        assert!(try_take(dir.path(), 2).is_none(), "one free, two asked");
        let one = try_take(dir.path(), 1).expect("the third node");
        assert!(try_take(dir.path(), 1).is_none(), "all three in use");
        drop(two);
        assert_eq!(try_take(dir.path(), 2).map(|s| s.len()), Some(2));
        drop(one);
        assert_eq!(try_take(dir.path(), 3).map(|s| s.len()), Some(3));
    }

    #[test]
    fn small_rings_go_first_the_larger_of_them_first_while_the_free_slots_serve_them() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            // (slots held by others, waiting reservations: size and whether its process
            // lives, asked, served)
            (0, vec![], 3, true),
            (0, vec![(1, true)], 3, false),
            (0, vec![(2, true)], 3, false),
            (0, vec![(2, true)], 2, true),
            (0, vec![(2, true)], 1, false),
            (1, vec![(2, true)], 1, false),
            (2, vec![(2, true)], 1, true),
            (0, vec![(1, true)], 2, true),
            (0, vec![(1, false)], 3, true),
            (0, vec![(2, false)], 1, true),
            (0, vec![(3, true)], 1, true),
            (2, vec![(1, true)], 3, false),
            (1, vec![], 3, false),
        ];
        for (held, waiting, asked, served) in cases {
            let others: Vec<File> = (0..held)
                .map(|slot| {
                    let file = open(&dir.path().join(format!("slot-{slot}")));
                    file.try_lock().unwrap();
                    file
                })
                .collect();
            let markers: Vec<PathBuf> = waiting
                .iter()
                .map(|&(size, alive)| {
                    // PID 1 lives; no process has the largest PID Linux allows.
                    let pid = if alive { 1 } else { 4_194_304 };
                    let path = dir.path().join(format!("wants-{size}-{pid}-0"));
                    std::fs::write(&path, "").unwrap();
                    path
                })
                .collect();
            assert_eq!(
                try_take(dir.path(), asked).is_some(),
                served,
                "{held} held, {waiting:?} waiting, {asked} asked"
            );
            for (path, (_, alive)) in markers.iter().zip(&waiting) {
                assert_eq!(path.exists(), *alive, "a dead process's wait is forgotten");
                let _ = std::fs::remove_file(path);
            }
            drop(others);
        }
    }

    #[test]
    #[should_panic(expected = "this machine runs 1 to 3 at once")]
    fn four_nodes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        reserve_in(dir.path(), 4, None);
    }
}
