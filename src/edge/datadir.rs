//! Reads what Cassandra left in its state directories.

use std::io;
use std::path::Path;

use crate::decide::data::{DataListing, JOINED_MARKER, JoinRecord, Joined};
use crate::render::DataDirs;

/// Lists the state directories, and whether `data_dir` holds the joined marker. Missing
/// directories count as empty; any other error (permissions, I/O) is returned, because
/// guessing "empty" could make a node with data bootstrap as new.
pub fn list(dirs: &DataDirs, data_dir: &Path) -> io::Result<DataListing> {
    let mut listing = DataListing {
        joined: read_record(data_dir)?,
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

/// Reads the join record. A file that is not valid text or not a record is `Unusable`
/// (treated as no record); an error reading it (permissions, I/O) is returned, because
/// guessing could make a node with data boot as something it is not.
pub fn read_record(data_dir: &Path) -> io::Result<Joined> {
    let path = data_dir.join(JOINED_MARKER);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(match String::from_utf8(bytes) {
            Ok(text) => Joined::from_text(&text),
            Err(_) => Joined::Unusable("not UTF-8 text".into()),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Joined::Missing),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Records that the node whose state is in `data_dir` finished joining, and who it and
/// its ring are: written to a temporary file, synced, then renamed, so a crash never
/// leaves a record half-written.
pub fn write_record(data_dir: &Path, record: &JoinRecord) -> io::Result<()> {
    use std::io::Write;
    let path = data_dir.join(JOINED_MARKER);
    let tmp = data_dir.join(format!(".{JOINED_MARKER}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(record.render().as_bytes())?;
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

/// Reads the marker a decommission left (`decide::scale_down::DECOMMISSIONED_MARKER`):
/// `None` when there is none; its contents, or why they cannot be read (the marker's
/// presence is what counts). An error reading the directory is returned: guessing "no
/// marker" could start a node that left the ring.
pub fn read_decommissioned(
    data_dir: &Path,
) -> io::Result<Option<Result<crate::decide::scale_down::Decommissioned, String>>> {
    let path = data_dir.join(crate::decide::scale_down::DECOMMISSIONED_MARKER);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Clears a volume that holds a decommissioned node (`decide::scale_down::VolumeCheck::
/// Reinitialize`): the contents of every Cassandra directory, the join record, then the
/// marker last, so a start cut short in the middle finds the marker and clears again.
pub fn clear_decommissioned(dirs: &DataDirs, data_dir: &Path) -> io::Result<()> {
    let cassandra = dirs
        .data
        .iter()
        .chain([&dirs.commitlog, &dirs.hints, &dirs.saved_caches]);
    for dir in cassandra {
        for entry in read_dir_or_empty(dir)? {
            let entry = entry?;
            // The marker goes last; a volume root's `lost+found` is the filesystem's.
            let name = entry.file_name();
            if name == crate::decide::scale_down::DECOMMISSIONED_MARKER || name == "lost+found" {
                continue;
            }
            let path = entry.path();
            let removed = if path.is_dir() && !path.is_symlink() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| {
                io::Error::new(e.kind(), format!("cannot remove {}: {e}", path.display()))
            })?;
        }
    }
    match remove_joined_marker(data_dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let marker = data_dir.join(crate::decide::scale_down::DECOMMISSIONED_MARKER);
    std::fs::remove_file(&marker).map_err(|e| {
        io::Error::new(e.kind(), format!("cannot remove {}: {e}", marker.display()))
    })?;
    std::fs::File::open(data_dir)?.sync_all()
}

/// Marks `data_dir` as holding a decommissioned node, and removes the join record (which
/// vouched for a ring member): written to a temporary file, synced, renamed, then the
/// record removed and the directory synced, so a crash leaves the marker or nothing.
pub fn mark_decommissioned(
    data_dir: &Path,
    marker: &crate::decide::scale_down::Decommissioned,
) -> io::Result<()> {
    use std::io::Write;
    let name = crate::decide::scale_down::DECOMMISSIONED_MARKER;
    let path = data_dir.join(name);
    let tmp = data_dir.join(format!(".{name}.tmp"));
    let text = serde_json::to_vec(marker).map_err(io::Error::other)?;
    let write = || -> io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))?;
    match remove_joined_marker(data_dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::File::open(data_dir)?.sync_all(),
        other => other,
    }
}
