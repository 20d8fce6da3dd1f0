//! Pure. Classifies a data directory from a listing of what Cassandra left in it.

use super::seeds::DataState;

/// What the data directories contain, as gathered by the filesystem edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataListing {
    /// Number of `*-Data.db` files of the `system.local` table, across all
    /// `data_file_directories` (`<dir>/system/local-<id>/`).
    pub system_local_sstables: usize,
    /// Number of other entries Cassandra writes (commit log segments, keyspace
    /// directories, hints), across all configured directories.
    pub other_entries: usize,
}

/// `system.local` holds the host ID, tokens and bootstrap state; Cassandra flushes it to
/// disk when it records its bootstrap state, so an sstable of it means the node has an
/// identity. Anything else means a first boot that did not get that far.
pub fn classify(listing: &DataListing) -> DataState {
    if listing.system_local_sstables > 0 {
        DataState::Present
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
        let l = |local, other| DataListing {
            system_local_sstables: local,
            other_entries: other,
        };
        assert_eq!(classify(&l(0, 0)), DataState::Empty);
        assert_eq!(classify(&l(0, 3)), DataState::Partial);
        assert_eq!(classify(&l(1, 0)), DataState::Present);
        assert_eq!(classify(&l(2, 40)), DataState::Present);
    }
}
