//! The files of a node's snapshot, found on its data volume: each
//! `<table dir>/snapshots/<tag>/...` under it (every `data_file_directories` entry lives on
//! the volume), with its size and modification time, and the path it has once restored
//! (`<table dir>/...`, relative to the volume). And the leftovers of snapshots ringkeeper
//! took and could not clear.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::decide::backup::layout::SNAPSHOT_PREFIX;
use crate::decide::backup::upload::SnapshotFile;

/// What Cassandra writes into a snapshot's directory beside the table's files: the list
/// of its files with the snapshot's time, and the table's CQL. Neither belongs in the
/// table's directory once restored; the backup's manifest holds the whole schema.
const SNAPSHOT_OWN: [&str; 2] = ["manifest.json", "schema.cql"];

/// A snapshot file, and where it is now.
#[derive(Debug, Clone)]
pub struct Found {
    /// As the manifest records it.
    pub file: SnapshotFile,
    /// Its path on disk now.
    pub on_disk: PathBuf,
}

/// Every file of the snapshot `tag` under `volume`.
pub fn files(volume: &Path, tag: &str) -> io::Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut snapshot_dirs = Vec::new();
    find_snapshot_dirs(volume, &mut snapshot_dirs)?;
    for snapshots in snapshot_dirs {
        let dir = snapshots.join(tag);
        if !dir.is_dir() {
            continue;
        }
        // Restored to the table's directory: the snapshot's place left out.
        let table_dir = snapshots.parent().unwrap_or(volume);
        let table_rel = table_dir.strip_prefix(volume).unwrap_or(table_dir);
        walk_files(&dir, &mut |path, meta| {
            let inner = path.strip_prefix(&dir).unwrap_or(path);
            if SNAPSHOT_OWN.iter().any(|own| inner == Path::new(own)) {
                return;
            }
            let rel = table_rel.join(inner);
            out.push(Found {
                file: SnapshotFile {
                    path: rel.to_string_lossy().into_owned(),
                    size: meta.len(),
                    mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                },
                on_disk: path.to_owned(),
            });
        })?;
    }
    out.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    Ok(out)
}

/// The bytes of every file on the volume outside snapshots: the node's live data, commit
/// log and caches (what a snapshot can come to pin as compaction rewrites it).
pub fn live_bytes(volume: &Path) -> io::Result<u64> {
    let mut total = 0;
    walk(volume, &mut |_, meta| total += meta.len(), true)?;
    Ok(total)
}

/// Removes the snapshots ringkeeper took (`ringkeeper-backup-*`) that are still on the
/// volume: a backup stopped midway leaves one. Returns the directories removed. Only
/// while Cassandra is not running (the entrypoint, before it starts it).
pub fn clear_leftovers(volume: &Path) -> io::Result<Vec<PathBuf>> {
    let mut snapshot_dirs = Vec::new();
    find_snapshot_dirs(volume, &mut snapshot_dirs)?;
    let mut removed = Vec::new();
    for snapshots in snapshot_dirs {
        for entry in std::fs::read_dir(&snapshots)? {
            let entry = entry?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(SNAPSHOT_PREFIX)
            {
                std::fs::remove_dir_all(entry.path())?;
                removed.push(entry.path());
            }
        }
    }
    Ok(removed)
}

/// Every directory named `snapshots` under `dir` (not looking inside them).
fn find_snapshot_dirs(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if entry.file_name() == "snapshots" {
            out.push(entry.path());
        } else {
            find_snapshot_dirs(&entry.path(), out)?;
        }
    }
    Ok(())
}

fn walk_files(dir: &Path, f: &mut dyn FnMut(&Path, &std::fs::Metadata)) -> io::Result<()> {
    walk(dir, f, false)
}

/// Calls `f` on every regular file under `dir`; `skip_snapshots` leaves out `snapshots`
/// directories.
fn walk(
    dir: &Path,
    f: &mut dyn FnMut(&Path, &std::fs::Metadata),
    skip_snapshots: bool,
) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if skip_snapshots && entry.file_name() == "snapshots" {
                continue;
            }
            walk(&entry.path(), f, skip_snapshots)?;
        } else if kind.is_file() {
            f(&entry.path(), &entry.metadata()?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_found_by_its_tag_with_the_paths_it_restores_to() {
        let vol = tempfile::tempdir().unwrap();
        let v = vol.path();
        let table = v.join("data/ks/t-1234");
        let snap = table.join("snapshots/ringkeeper-backup-b1");
        std::fs::create_dir_all(snap.join(".idx")).unwrap();
        std::fs::create_dir_all(table.join("snapshots/other")).unwrap();
        std::fs::write(table.join("nb-1-big-Data.db"), "live").unwrap();
        std::fs::write(snap.join("nb-1-big-Data.db"), "live").unwrap();
        std::fs::write(snap.join(".idx/nb-1-big-SAI.db"), "i").unwrap();
        std::fs::write(snap.join("manifest.json"), "{}").unwrap();
        std::fs::write(snap.join("schema.cql"), "CREATE TABLE").unwrap();
        std::fs::write(table.join("snapshots/other/nb-0-big-Data.db"), "old!!").unwrap();
        std::fs::create_dir_all(v.join("commitlog")).unwrap();
        std::fs::write(v.join("commitlog/CommitLog-7-1.log"), "cl").unwrap();

        let found = files(v, "ringkeeper-backup-b1").unwrap();
        let paths: Vec<(&str, u64)> = found
            .iter()
            .map(|f| (f.file.path.as_str(), f.file.size))
            .collect();
        assert_eq!(
            paths,
            [
                ("data/ks/t-1234/.idx/nb-1-big-SAI.db", 1),
                ("data/ks/t-1234/nb-1-big-Data.db", 4)
            ]
        );
        assert!(files(v, "absent").unwrap().is_empty());
        // Live data and the commit log, not the snapshots.
        assert_eq!(live_bytes(v).unwrap(), 4 + 2);

        let removed = clear_leftovers(v).unwrap();
        assert_eq!(removed, [snap]);
        assert!(
            table.join("snapshots/other").is_dir(),
            "a person's snapshot stays"
        );
    }
}
