//! Reading safetensors: byte sources, element types, headers, the shard
//! index, the model they make together, and the tolerant open that turns
//! damaged or missing shards into findings.
//!
//! May use: nothing else in the crate. This is the bottom layer: its
//! [`Error`](error::Error) and [`Finding`](finding::Finding) are the
//! vocabulary every other layer reports in. May not use: `stored/`,
//! `quant/`, `checks/`, `report/`, or anything above them.

pub mod dtype;
pub mod error;
pub mod finding;
pub mod header;
pub mod index;
pub mod model;
pub mod open;
pub mod source;
