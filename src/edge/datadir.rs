//! Reads what Cassandra left in its state directories.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::decide::data::{DataListing, JOINED_MARKER, JoinRecord, Joined};
use crate::decide::decommissioned::{DECOMMISSIONED_MARKER, Decommissioned, KEPT_DIR, is_kept};
use crate::decide::replacing::{REPLACING_MARKER, Replacing};
use crate::render::DataDirs;

/// The data volume's free space (bytes available to Cassandra, not root's reserve) and
/// size, for this pod's identity-record entry (`decide::scale_down::room`).
pub fn space(data_dir: &Path) -> io::Result<(u64, u64)> {
    let stat = nix::sys::statvfs::statvfs(data_dir).map_err(io::Error::from)?;
    let block = stat.fragment_size();
    Ok((
        stat.blocks_available().saturating_mul(block),
        stat.blocks().saturating_mul(block),
    ))
}

/// Lists the state directories, and whether `data_dir` holds the joined marker. Missing
/// directories count as empty; any other error (permissions, I/O) is returned, because
/// guessing "empty" could make a node with data bootstrap as new.
pub fn list(dirs: &DataDirs, data_dir: &Path) -> io::Result<DataListing> {
    let mut listing = DataListing {
        joined: read_record(data_dir)?,
        ..DataListing::default()
    };
    // With `local_system_data_file_directory` set, `system.local` lives there.
    for dir in dirs.data.iter().chain(&dirs.local_system) {
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
        // What a clear kept is no node's state (a data directory may be the volume's root).
        if entry?.file_name() == KEPT_DIR {
            continue;
        }
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

/// Reads the marker a decommission left (`decide::decommissioned::DECOMMISSIONED_MARKER`):
/// `None` when there is none; its contents, or why they cannot be read (the marker's
/// presence is what counts). An error reading the directory is returned: guessing "no
/// marker" could start a node that left the ring.
pub fn read_decommissioned(data_dir: &Path) -> io::Result<Option<Result<Decommissioned, String>>> {
    read_marker(data_dir, DECOMMISSIONED_MARKER)
}

/// Checks that every state directory, by its real path (symbolic links followed, for the
/// part that exists), lies inside the data volume's real path. A clear follows these
/// paths, so one that leads off the volume must never be walked. The error names the key
/// and both paths.
pub fn within_volume(dirs: &DataDirs, data_dir: &Path) -> Result<(), String> {
    let volume = std::fs::canonicalize(data_dir)
        .map_err(|e| format!("--data-dir {}: {e}", data_dir.display()))?;
    for (key, dir) in dirs.all() {
        let real = real_path(dir).map_err(|e| format!("{key} {}: {e}", dir.display()))?;
        if !real.starts_with(&volume) {
            return Err(format!(
                "{key} is {}, whose real path {} lies outside the data volume {} (real path \
                 {}): ringkeeper never clears a directory off the pod's volume",
                dir.display(),
                real.display(),
                data_dir.display(),
                volume.display()
            ));
        }
    }
    Ok(())
}

/// The real path of `path`: its longest existing prefix resolved, the rest appended.
fn real_path(path: &Path) -> io::Result<PathBuf> {
    let mut missing = Vec::new();
    let mut existing = path;
    loop {
        match std::fs::canonicalize(existing) {
            Ok(real) => {
                return Ok(missing
                    .iter()
                    .rev()
                    .fold(real, |p: PathBuf, part| p.join(part)));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(e);
                };
                missing.push(name.to_owned());
                existing = parent;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Clears a volume that holds a decommissioned node (`decide::decommissioned`, once the
/// ring confirmed that the node left). First every table's `snapshots/` and `backups/` are
/// moved (renamed, never copied) to `<data dir>/ringkeeper-kept/<kept>/<their path below
/// the data dir>`; a move that would cross filesystems stops the clear before anything is
/// deleted. Then the contents of every Cassandra directory, the join record, and the marker
/// last, so a start cut short in the middle finds the marker and clears again. Returns the
/// directories kept, where they now are.
pub fn clear_decommissioned(
    dirs: &DataDirs,
    data_dir: &Path,
    kept: &str,
) -> io::Result<Vec<PathBuf>> {
    let moved = clear_state(dirs, data_dir, kept)?;
    let marker = data_dir.join(DECOMMISSIONED_MARKER);
    std::fs::remove_file(&marker).map_err(|e| {
        io::Error::new(e.kind(), format!("cannot remove {}: {e}", marker.display()))
    })?;
    std::fs::File::open(data_dir)?.sync_all()?;
    Ok(moved)
}

/// Clears what an unfinished replace wrote (`decide::replacing::ReplaceCheck::
/// ClearPartial`), as for a decommissioned node: snapshots and backups kept, the join
/// record removed, the replace marker left in place (the next replace rewrites it).
pub fn clear_unfinished_replace(
    dirs: &DataDirs,
    data_dir: &Path,
    kept: &str,
) -> io::Result<Vec<PathBuf>> {
    let moved = clear_state(dirs, data_dir, kept)?;
    std::fs::File::open(data_dir)?.sync_all()?;
    Ok(moved)
}

/// Keeps (moves) every table's `snapshots/` and `backups/`, then clears every Cassandra
/// directory and the join record; markers, `lost+found` and what was kept stay.
fn clear_state(dirs: &DataDirs, data_dir: &Path, kept: &str) -> io::Result<Vec<PathBuf>> {
    let kept_root = data_dir.join(KEPT_DIR).join(kept);
    let mut keep = Vec::new();
    for dir in dirs.data.iter().chain(&dirs.local_system) {
        find_kept(dir, Path::new(""), &mut keep)?;
    }
    let mut moved = Vec::new();
    if !keep.is_empty() {
        std::fs::create_dir_all(&kept_root).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", kept_root.display()),
            )
        })?;
        let device = std::fs::metadata(&kept_root)?.dev();
        // All checked before the first move: a clear never stops half-kept.
        for from in &keep {
            if std::fs::symlink_metadata(from)?.dev() != device {
                return Err(io::Error::other(format!(
                    "{} is on another filesystem than {}: ringkeeper keeps snapshots by \
                     moving them, never by copying; nothing was deleted",
                    from.display(),
                    kept_root.display()
                )));
            }
        }
        for from in keep {
            let below = from.strip_prefix(data_dir).unwrap_or(&from);
            let mut to = kept_root.join(below);
            let mut n = 1;
            while to.exists() {
                to = kept_root.join(format!("{}.{n}", below.display()));
                n += 1;
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&from, &to).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot move {} to {}: {e}", from.display(), to.display()),
                )
            })?;
            moved.push(to);
        }
        std::fs::File::open(&kept_root)?.sync_all()?;
    }
    for (_, dir) in dirs.all() {
        for entry in read_dir_or_empty(dir)? {
            let entry = entry?;
            // The marker goes last, the record below; a volume root's `lost+found` is
            // the filesystem's; what was kept stays.
            let name = entry.file_name();
            if name == DECOMMISSIONED_MARKER
                || name == REPLACING_MARKER
                || name == JOINED_MARKER
                || name == KEPT_DIR
                || name == "lost+found"
            {
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
    Ok(moved)
}

/// Reads the marker of an unfinished replace (`decide::replacing`): `None` when there is
/// none; its contents, or why they cannot be read. An error reading the directory is
/// returned.
pub fn read_replacing(data_dir: &Path) -> io::Result<Option<Result<Replacing, String>>> {
    read_marker(data_dir, REPLACING_MARKER)
}

/// A JSON marker in `data_dir`: `None` when there is none; its contents, or why they
/// cannot be read (its presence is what counts). An error reading the directory is
/// returned: guessing "no marker" could start a node as something it is not.
fn read_marker<T: serde::de::DeserializeOwned>(
    data_dir: &Path,
    name: &str,
) -> io::Result<Option<Result<T, String>>> {
    let path = data_dir.join(name);
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

/// Writes a JSON marker into `data_dir`: a temporary file, synced, renamed, the directory
/// synced, so a crash leaves the marker whole or not at all.
fn write_marker<T: serde::Serialize>(data_dir: &Path, name: &str, marker: &T) -> io::Result<()> {
    use std::io::Write;
    let path = data_dir.join(name);
    let tmp = data_dir.join(format!(".{name}.tmp"));
    let text = serde_json::to_vec(marker).map_err(io::Error::other)?;
    let write = || -> io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(data_dir)?.sync_all()
    };
    write().map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))
}

/// Writes the marker of a replace about to start: temporary file, synced, renamed.
pub fn write_replacing(data_dir: &Path, marker: &Replacing) -> io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    write_marker(data_dir, REPLACING_MARKER, marker)
}

/// Removes the marker of a replace that finished (missing is fine).
pub fn remove_replacing(data_dir: &Path) -> io::Result<()> {
    let path = data_dir.join(REPLACING_MARKER);
    match std::fs::remove_file(&path) {
        Ok(()) => std::fs::File::open(data_dir)?.sync_all(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot remove {}: {e}", path.display()),
        )),
    }
}

/// Collects the kept directories (`decommissioned::is_kept`) below `dir`; `below` is the
/// path walked so far. Symbolic links are not followed.
fn find_kept(dir: &Path, below: &Path, keep: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in read_dir_or_empty(&dir.join(below))? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        if below.as_os_str().is_empty() && (name == KEPT_DIR || name == "lost+found") {
            continue;
        }
        let relative = below.join(&name);
        if is_kept(&relative) {
            keep.push(entry.path());
        } else if relative.components().count() < 4 {
            find_kept(dir, &relative, keep)?;
        }
    }
    Ok(())
}

/// Marks `data_dir` as holding a decommissioned node, and removes the join record (which
/// vouched for a ring member): written to a temporary file, synced, renamed, then the
/// record removed and the directory synced, so a crash leaves the marker or nothing.
pub fn mark_decommissioned(data_dir: &Path, marker: &Decommissioned) -> io::Result<()> {
    write_marker(data_dir, DECOMMISSIONED_MARKER, marker)?;
    match remove_joined_marker(data_dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::File::open(data_dir)?.sync_all(),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn dirs(root: &Path, local_system: bool) -> DataDirs {
        DataDirs {
            data: vec![root.join("data"), root.join("data2")],
            commitlog: root.join("commitlog"),
            hints: root.join("hints"),
            saved_caches: root.join("saved_caches"),
            cdc_raw: root.join("cdc_raw"),
            local_system: local_system.then(|| root.join("system_local")),
        }
    }

    #[test]
    fn a_clear_keeps_snapshots_and_backups_and_empties_every_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let d = dirs(root, true);
        let kept_files = [
            "data/app/dropped-1a/snapshots/dropped-1700-dropped/nb-1-big-Data.db",
            "data/app/dropped-1a/snapshots/dropped-1700-dropped/schema.cql",
            "data2/app/kv-2b/backups/nb-3-big-Data.db",
            "data/app/kv-2b/.kv_idx/backups/nb-4-big-Data.db",
            "system_local/system/local-3c/snapshots/s1/nb-5-big-Data.db",
        ];
        for (i, f) in kept_files.iter().enumerate() {
            write(&root.join(f), &format!("kept {i}"));
        }
        for f in [
            "data/app/kv-2b/nb-1-big-Data.db",
            "data/system/local-1/nb-1-big-Data.db",
            "commitlog/CommitLog-7-1.log",
            "hints/h-1.hints",
            "saved_caches/KeyCache-b.db",
            "cdc_raw/CommitLog-7-1.log",
            "system_local/system/local-3c/nb-6-big-Data.db",
        ] {
            write(&root.join(f), "state");
        }
        write(&root.join("lost+found/x"), "fs");
        write(&root.join("mine.txt"), "not cassandra's");
        write(&root.join(DECOMMISSIONED_MARKER), "{}");
        write(&root.join(JOINED_MARKER), "x");
        within_volume(&d, root).unwrap();

        let moved = clear_decommissioned(&d, root, "h-1700").unwrap();
        assert_eq!(moved.len(), 4, "{moved:?}");
        let kept = root.join(KEPT_DIR).join("h-1700");
        for (i, f) in kept_files.iter().enumerate() {
            assert_eq!(
                std::fs::read_to_string(kept.join(f)).unwrap(),
                format!("kept {i}"),
                "{f}"
            );
        }
        for (_, dir) in d.all() {
            let left: Vec<_> = read_dir_or_empty(dir).unwrap().collect();
            assert!(left.is_empty(), "{}: {left:?}", dir.display());
        }
        assert!(!root.join(DECOMMISSIONED_MARKER).exists());
        assert!(!root.join(JOINED_MARKER).exists());
        assert!(root.join("lost+found/x").exists() && root.join("mine.txt").exists());
        // What was kept is no node's state.
        let listing = list(&d, root).unwrap();
        assert_eq!(
            (listing.system_local_sstables, listing.other_entries),
            (0, 0)
        );

        // A second node's clear (the same ordinal, later) keeps beside the first.
        write(&root.join(kept_files[0]), "again");
        write(&root.join(DECOMMISSIONED_MARKER), "{}");
        clear_decommissioned(&d, root, "h-1700").unwrap();
        assert_eq!(
            std::fs::read_to_string(kept.join(format!(
                "{}.1/dropped-1700-dropped/nb-1-big-Data.db",
                "data/app/dropped-1a/snapshots"
            )))
            .unwrap(),
            "again"
        );
    }

    #[test]
    fn a_directory_whose_real_path_leaves_the_volume_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("volume");
        let outside = tmp.path().join("elsewhere");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("hints")).unwrap();
        let err = within_volume(&dirs(&root, false), &root).unwrap_err();
        assert!(
            err.contains("hints_directory") && err.contains("elsewhere"),
            "{err}"
        );
        // Through a link whose target does not exist yet: the part that exists decides.
        std::fs::remove_file(root.join("hints")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("data")).unwrap();
        let mut d = dirs(&root, false);
        d.data = vec![root.join("data/not-yet")];
        let err = within_volume(&d, &root).unwrap_err();
        assert!(err.contains("data_file_directories"), "{err}");
        std::fs::remove_file(root.join("data")).unwrap();
        within_volume(&dirs(&root, true), &root).unwrap();
    }
}
