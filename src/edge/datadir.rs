//! Reads what Cassandra left in its state directories.

use std::io;
use std::path::Path;

use crate::decide::data::{DataListing, JOINED_MARKER};
use crate::render::DataDirs;

/// Lists the state directories, and whether `data_dir` holds the joined marker. Missing
/// directories count as empty; any other error (permissions, I/O) is returned, because
/// guessing "empty" could make a node with data bootstrap as new.
pub fn list(dirs: &DataDirs, data_dir: &Path) -> io::Result<DataListing> {
    let mut listing = DataListing {
        joined_marker: data_dir.join(JOINED_MARKER).try_exists().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot read {}: {e}", data_dir.display()))
        })?,
        ..DataListing::default()
    };
    for dir in &dirs.data {
        listing.other_entries += count_entries(dir)?;
        let system = dir.join("system");
        for table in read_dir_or_empty(&system)? {
            let table = table?;
            if table.file_name().to_string_lossy().starts_with("local-") {
                for file in read_dir_or_empty(&table.path())? {
                    if file?.file_name().to_string_lossy().ends_with("-Data.db") {
                        listing.system_local_sstables += 1;
                    }
                }
            }
        }
    }
    for dir in [&dirs.commitlog, &dirs.hints] {
        listing.other_entries += count_entries(dir)?;
    }
    Ok(listing)
}

/// Records that the node whose state is in `data_dir` finished joining: written to a
/// temporary file, synced, then renamed, so a crash never leaves a marker half-written.
pub fn write_joined_marker(data_dir: &Path, content: &str) -> io::Result<()> {
    use std::io::Write;
    let path = data_dir.join(JOINED_MARKER);
    let tmp = data_dir.join(format!(".{JOINED_MARKER}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(data_dir)?.sync_all()
}

/// Removes the joined marker (and syncs the directory, so it stays removed).
pub fn remove_joined_marker(data_dir: &Path) -> io::Result<()> {
    let path = data_dir.join(JOINED_MARKER);
    std::fs::remove_file(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot remove {}: {e}", path.display())))?;
    std::fs::File::open(data_dir)?.sync_all()
}

fn count_entries(dir: &Path) -> io::Result<usize> {
    let mut n = 0;
    for entry in read_dir_or_empty(dir)? {
        entry?;
        n += 1;
    }
    Ok(n)
}

fn read_dir_or_empty(
    dir: &Path,
) -> io::Result<Box<dyn Iterator<Item = io::Result<std::fs::DirEntry>>>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(Box::new(entries)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Box::new(std::iter::empty())),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot read {}: {e}", dir.display()),
        )),
    }
}
