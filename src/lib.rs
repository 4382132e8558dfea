//! quantlens: read safetensors models through bounded byte ranges, quantize
//! every eligible weight matrix, and measure exactly what quantization does
//! to each one.
//!
//! The core reads only through [`ByteSource`], so the native CLI (files),
//! the browser (Blobs in workers) and tests (byte vectors) run the same code.
//!
//! ```
//! use std::sync::Arc;
//! use quantlens::{Inspection, Model, NamedSource, Policy, Scheme};
//!
//! // A one-tensor file: an 8-byte header length, the JSON header, the data.
//! let header = br#"{"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}"#;
//! let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
//! bytes.extend_from_slice(header);
//! for x in [0.5f32, -1.0] { bytes.extend_from_slice(&x.to_le_bytes()); }
//!
//! let model = Model::open(vec![NamedSource::new("m.safetensors", Arc::new(bytes))], None, None).unwrap();
//! let report = Inspection::new(model, Scheme::Int8Tensor, &Policy::default_rule()).run().unwrap();
//! assert_eq!(report.summary.quantized_layers, 1);
//! assert!(report.layers[0].rel_error.unwrap() < 0.01);
//! ```

pub mod checks;
pub mod convert;
pub mod format;
#[cfg(feature = "outputs")]
pub mod outputs;
pub mod pipeline;
pub mod quant;
pub mod report;
pub mod stored;
pub mod verify;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use format::dtype::Dtype;
pub use format::error::Error;
pub use format::finding::{Finding, Severity};
pub use format::header::{read_header, Header, TensorInfo, MAX_HEADER_BYTES, MAX_TENSORS};
pub use format::index::ShardIndex;
pub use format::model::{Model, NamedSource};
pub use format::source::ByteSource;
#[cfg(not(target_arch = "wasm32"))]
pub use format::source::FileSource;
pub use pipeline::inspect::Inspection;
pub use pipeline::{InspectOptions, ModelInput, Pipeline};
pub use quant::policy::{Decision, KeepReason, Policy, PolicyKind};
pub use quant::scheme::Scheme;
pub use report::{Action, LayerRow, Report, Summary};
pub use verify::Verification;
