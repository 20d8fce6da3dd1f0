//! Pure. The JVM heap from the container's memory limit.
//!
//! The official image's `cassandra-env.sh` sizes the heap from the machine's memory
//! (`free -m`): in a container that is the node's memory, not the container's limit, so
//! a pod with a 4 GiB limit on a 64 GiB node gets an 8 GiB heap and is OOM-killed. It
//! takes `MAX_HEAP_SIZE` and `HEAP_NEWSIZE` from the environment instead when they are
//! set, and (4.1 and 5.0) refuses to start under CMS when only one of them is (CMS is
//! 4.1's default collector on JDK 11; with G1, 5.0's, `HEAP_NEWSIZE` is not used). So
//! when the limit is known, both are set:
//!
//! * heap: half the limit, as `cassandra-env.sh` itself takes half the memory (trunk's:
//!   min(1/2 memory, 31 GiB)): the rest is for what is not heap (off-heap memtables and
//!   bloom filters, direct buffers, metaspace, thread stacks) and the page cache;
//!   at most 31 GiB (past 32 GiB the JVM stops compressing object pointers, and a bigger
//!   heap holds less); at least `MIN_HEAP_MIB`.
//! * young generation: `cassandra-env.sh`'s own rule, min(100 MiB per core, 1/4 heap),
//!   counting the cores the container may use (its CPU limit), not the machine's.
//!
//! A `MAX_HEAP_SIZE` already in the environment wins (with its `HEAP_NEWSIZE`, or none):
//! it was set on purpose.

/// One mebibyte.
pub const MIB: u64 = 1 << 20;
/// The smallest heap: below it Cassandra spends its time collecting garbage.
pub const MIN_HEAP_MIB: u64 = 256;
/// The smallest memory limit `--memory-limit` takes: twice the smallest heap, since the
/// heap is half the limit.
pub const MIN_MEMORY_LIMIT: u64 = 2 * MIN_HEAP_MIB * MIB;
/// The largest heap: 31 GiB, under the 32 GiB where compressed object pointers end.
pub const MAX_HEAP_MIB: u64 = 31 * 1024;
/// Young generation per core, as `cassandra-env.sh` counts it.
pub const NEW_PER_CORE_MIB: u64 = 100;

/// The facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts<'a> {
    /// The container's memory limit in bytes (`--memory-limit`), if given.
    pub memory_limit: Option<u64>,
    /// The cores the container may use (at least 1).
    pub cores: u32,
    /// `MAX_HEAP_SIZE` in the environment, if set and not empty.
    pub max_heap_size: Option<&'a str>,
    /// `HEAP_NEWSIZE` in the environment, if set and not empty.
    pub heap_newsize: Option<&'a str>,
}

/// What to do about the heap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heap {
    /// No memory limit given: leave the heap to `cassandra-env.sh`.
    Untouched,
    /// `MAX_HEAP_SIZE` is in the environment: it wins, nothing is set.
    FromEnvironment {
        /// Its value.
        max_heap_size: String,
    },
    /// Set these for Cassandra.
    Set {
        /// `MAX_HEAP_SIZE`, e.g. `2048M`.
        max_heap_size: String,
        /// `HEAP_NEWSIZE`, e.g. `200M`; `None` when the environment's is kept.
        heap_newsize: Option<String>,
    },
}

/// Decides the heap; see the module documentation for the rules.
pub fn heap(facts: &Facts<'_>) -> Heap {
    if let Some(value) = facts.max_heap_size {
        return Heap::FromEnvironment {
            max_heap_size: value.to_owned(),
        };
    }
    let Some(limit) = facts.memory_limit else {
        return Heap::Untouched;
    };
    let heap_mib = (limit / 2 / MIB).clamp(MIN_HEAP_MIB, MAX_HEAP_MIB);
    let new_mib = (NEW_PER_CORE_MIB * u64::from(facts.cores.max(1))).min(heap_mib / 4);
    Heap::Set {
        max_heap_size: format!("{heap_mib}M"),
        heap_newsize: match facts.heap_newsize {
            Some(_) => None,
            None => Some(format!("{new_mib}M")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn heap_table() {
        let set = |heap: &str, new: Option<&str>| Heap::Set {
            max_heap_size: heap.into(),
            heap_newsize: new.map(Into::into),
        };
        /// Name, memory limit, cores, MAX_HEAP_SIZE, HEAP_NEWSIZE, expected.
        type Case = (
            &'static str,
            Option<u64>,
            u32,
            Option<&'static str>,
            Option<&'static str>,
            Heap,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("no limit: cassandra-env.sh decides", None, 4, None, None, Heap::Untouched),
            ("4 GiB, 2 cores: half, young gen by cores", Some(4 * GIB), 2, None, None, set("2048M", Some("200M"))),
            ("4 GiB, 8 cores: young gen a quarter of the heap", Some(4 * GIB), 8, None, None, set("2048M", Some("512M"))),
            ("1 GiB", Some(GIB), 1, None, None, set("512M", Some("100M"))),
            ("the smallest limit taken", Some(MIN_MEMORY_LIMIT), 4, None, None, set("256M", Some("64M"))),
            ("below it, the floor", Some(300 * MIB), 1, None, None, set("256M", Some("64M"))),
            ("odd bytes round down", Some(3 * GIB + 12345), 16, None, None, set("1536M", Some("384M"))),
            ("62 GiB: 31 GiB", Some(62 * GIB), 16, None, None, set("31744M", Some("1600M"))),
            ("256 GiB: capped at 31 GiB", Some(256 * GIB), 64, None, None, set("31744M", Some("6400M"))),
            ("no cores reported counts as one", Some(4 * GIB), 0, None, None, set("2048M", Some("100M"))),
            ("MAX_HEAP_SIZE set: it wins", Some(4 * GIB), 2, Some("3G"), None, Heap::FromEnvironment { max_heap_size: "3G".into() }),
            ("MAX_HEAP_SIZE set without a limit", None, 2, Some("3G"), Some("300M"), Heap::FromEnvironment { max_heap_size: "3G".into() }),
            ("HEAP_NEWSIZE alone is kept: the pair is complete", Some(4 * GIB), 2, None, Some("300M"), set("2048M", None)),
        ];
        for (name, memory_limit, cores, max_heap_size, heap_newsize, want) in cases {
            let got = heap(&Facts {
                memory_limit,
                cores,
                max_heap_size,
                heap_newsize,
            });
            assert_eq!(got, want, "{name}");
        }
    }
}
