//! Checks that add findings to an inspection beyond the per-layer analysis:
//! expected SHA-256 digests of the files.

pub mod digests;
