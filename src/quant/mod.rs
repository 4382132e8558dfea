//! Encoders for real quantized formats: the numbers `convert` writes.
//! Each is a pure function of f32 weights, bit-exact with its reference
//! implementation (`mx.quantize` for MLX's modes); reading the formats
//! back is the job of the recognisers and decoders.

pub mod affine;
pub mod fp;
