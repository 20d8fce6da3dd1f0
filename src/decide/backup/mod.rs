//! Pure. Backups in an object store: where each object lives (`layout`), what a node's
//! part of a backup records (`manifest`), which files a backup must upload (`upload`),
//! which backups exist and how complete they are (`catalog`), and what a verification
//! found (`verify`).
//!
//! The rules every part follows:
//! - File contents are stored once, under their SHA-256 (`blobs/`): SSTables never change
//!   once written, so a file already in the store is never uploaded again, whichever
//!   backup or node it came from. Incremental by construction.
//! - A node's part of a backup exists only once its manifest is written, and the manifest
//!   is written last, after every file it names is in the store. A part without its
//!   manifest is incomplete: never listed as complete, never restored.
//! - While a part is being taken, a pending marker names the blobs it will reference, so a
//!   prune running at the same time keeps them.

pub mod catalog;
pub mod layout;
pub mod manifest;
pub mod prune;
pub mod request;
pub mod restore;
pub mod room;
pub mod table;
pub mod upload;
pub mod verify;
