//! The native command line: the arguments (`args.rs`), one file per
//! command, the exit policy (`exit.rs`), the one parallel driver
//! (`run.rs`), and what only a native tool does: finding a model's files
//! in a folder, checking `SHA256SUMS`, writing converted models.
//!
//! May use: the library's public API. Nothing in the library uses this.

pub mod args;
pub mod convert;
pub mod exit;
pub mod folder;
pub mod inspect;
pub mod outputs;
pub mod progress;
pub mod run;
pub mod safe_path;
pub mod sha256;
pub mod side_files;
pub mod stage;
pub mod sums;
pub mod verify;
pub mod write;
