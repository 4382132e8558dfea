//! Checks that add findings beyond the per-layer analysis: the
//! fake-quantization detector, streamed SHA-256 of byte sources, and the
//! expected digests of the files.
//!
//! May use: `format/` and `quant/`'s schemes. May not use: `stored/`,
//! `report/`, the pipelines, `web/` or `cli/`.

pub mod digests;
pub mod fake;
mod group_grid;
pub mod sha;
