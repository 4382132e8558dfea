//! Quantization: the schemes (exact quantize and dequantize primitives),
//! the policy that decides which tensors are quantized, streaming
//! statistics, the per-tensor analysis, and the encoders of real
//! quantized formats (the numbers `convert` writes, each a pure function
//! of f32 weights, bit-exact with its reference implementation).
//!
//! May use: `format/`, and `stored/`'s packing and MLX constants (an
//! encoder writes what a decoder there reads). May not use: `checks/`,
//! `report/`, the pipelines, `web/` or `cli/`.

pub mod affine;
pub mod analyze;
pub mod fp;
pub mod histogram;
pub mod kernels;
pub mod policy;
pub mod scheme;
pub mod stats;
