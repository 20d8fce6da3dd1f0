//! Pure. Classifies a data directory from a listing of what Cassandra left in it.

use super::seeds::DataState;

/// File in `--data-dir` that the entrypoint writes once it has seen the node's
/// `system.local.bootstrapped` = COMPLETED: proof that the state on disk belongs to a node
/// that finished joining (a bootstrap cut short also leaves `system.local` behind).
pub const JOINED_MARKER: &str = "ringkeeper-joined";

/// What the data directories contain, as gathered by the filesystem edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataListing {
    /// Number of `*-Data.db` files of the `system.local` table, across all
    /// `data_file_directories` (`<dir>/system/local-<id>/`).
    pub system_local_sstables: usize,
    /// Number of other entries Cassandra writes (commit log segments, keyspace
    /// directories, hints), across all configured directories.
    pub other_entries: usize,
    /// Whether `JOINED_MARKER` exists.
    pub joined_marker: bool,
}

/// `system.local` holds the host ID, tokens and bootstrap state; Cassandra flushes it to
/// disk when it records its bootstrap state, so an sstable of it means the node has an
/// identity; the marker says it also finished joining. Other files without it mean a
/// first boot that did not get that far. A marker alone (state wiped) means nothing.
pub fn classify(listing: &DataListing) -> DataState {
    if listing.system_local_sstables > 0 && listing.joined_marker {
        DataState::Present
    } else if listing.system_local_sstables > 0 {
        DataState::Unconfirmed
    } else if listing.other_entries > 0 {
        DataState::Partial
    } else {
        DataState::Empty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let l = |local, other, joined_marker| DataListing {
            system_local_sstables: local,
            other_entries: other,
            joined_marker,
        };
        assert_eq!(classify(&l(0, 0, false)), DataState::Empty);
        assert_eq!(classify(&l(0, 0, true)), DataState::Empty);
        assert_eq!(classify(&l(0, 3, false)), DataState::Partial);
        assert_eq!(classify(&l(0, 3, true)), DataState::Partial);
        assert_eq!(classify(&l(1, 0, false)), DataState::Unconfirmed);
        assert_eq!(classify(&l(1, 0, true)), DataState::Present);
        assert_eq!(classify(&l(2, 40, true)), DataState::Present);
    }
}
