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

pub mod analyze;
pub mod checks;
pub mod convert;
pub mod dtype;
pub mod error;
pub mod export;
pub mod fake;
pub mod finding;
pub mod formats;
pub mod header;
pub mod index;
pub mod inspect;
pub mod kernels;
pub mod model;
#[cfg(feature = "outputs")]
pub mod outputs;
pub mod pipeline;
pub mod policy;
pub mod quant;
pub mod report;
pub mod sanity;
pub mod scheme;
pub mod sha;
pub mod source;
pub mod stats;
pub mod stored;
pub mod verify;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use dtype::Dtype;
pub use error::Error;
pub use finding::{Finding, Severity};
pub use header::{read_header, Header, TensorInfo, MAX_HEADER_BYTES, MAX_TENSORS};
pub use index::ShardIndex;
pub use inspect::Inspection;
pub use model::{Model, NamedSource};
pub use pipeline::{InspectOptions, ModelInput, Pipeline};
pub use policy::{Decision, KeepReason, Policy, PolicyKind};
pub use report::{Action, LayerRow, Report, Summary};
pub use scheme::Scheme;
pub use source::ByteSource;
#[cfg(not(target_arch = "wasm32"))]
pub use source::FileSource;
pub use verify::Verification;
