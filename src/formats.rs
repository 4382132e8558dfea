//! The stored-format layer under its former name; see [`crate::stored`].

pub use crate::stored::mlx::affine as mlx_dequantize;
pub use crate::stored::*;
