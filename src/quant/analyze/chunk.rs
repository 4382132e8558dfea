//! One chunk of a quantize pass: how the pass cuts a tensor into chunks,
//! and what it does with each, dequantize it or add its error statistics.

use super::CHUNK_ELEMS;
use crate::quant::kernels;
use crate::quant::scheme::{self, Scheme};
use crate::quant::stats::ErrorStats;

/// The elements per chunk of `scheme`'s quantize pass over rows of `cols`
/// elements: chunks hold whole rows (per-channel) or whole groups (affine).
/// `None` for per-channel rows longer than a chunk, quantized row by row.
pub(crate) fn chunk_elems(scheme: Scheme, cols: u64) -> Option<usize> {
    match scheme {
        Scheme::Int8Tensor => Some(CHUNK_ELEMS),
        Scheme::Int8Channel if cols <= CHUNK_ELEMS as u64 => {
            Some(((CHUNK_ELEMS as u64 / cols).max(1) * cols) as usize)
        }
        Scheme::Int8Channel => None,
        Scheme::Affine { group_size, .. } => Some(CHUNK_ELEMS - CHUNK_ELEMS % group_size as usize),
    }
}

/// How one chunk of a quantize pass is quantized.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ChunkQuant {
    /// Int8 with one scale for the whole chunk: `int8-tensor`'s, or that
    /// of a per-channel row longer than a chunk, of which this is a piece.
    Int8(f32),
    /// Per-channel int8 over whole rows of `cols` elements, each with its
    /// own scale.
    Int8Rows { cols: usize },
    /// Affine groups ([`Scheme::Affine`]).
    Affine { bits: u8, group_size: u32 },
}

impl ChunkQuant {
    /// How [`chunk_elems`]' chunks of `scheme` over rows of `cols`
    /// elements are quantized; `tensor_scale` is `int8-tensor`'s scale.
    pub(crate) fn new(scheme: Scheme, cols: usize, tensor_scale: f32) -> Self {
        match scheme {
            Scheme::Int8Tensor => ChunkQuant::Int8(tensor_scale),
            Scheme::Int8Channel => ChunkQuant::Int8Rows { cols },
            Scheme::Affine { bits, group_size } => ChunkQuant::Affine { bits, group_size },
        }
    }

    /// Writes the dequantized values of chunk `w` to `d` (as long as
    /// `w`); returns the number of clipped codes.
    pub(crate) fn dequantize(self, w: &[f32], d: &mut [f32]) -> u64 {
        match self {
            ChunkQuant::Int8(scale) => kernels::int8_dequantized(w, d, scale),
            ChunkQuant::Int8Rows { cols } => w
                .chunks_exact(cols)
                .zip(d.chunks_exact_mut(cols))
                .map(|(wr, dr)| kernels::int8_dequantized(wr, dr, row_scale(wr)))
                .sum(),
            ChunkQuant::Affine { bits, group_size } => {
                kernels::affine_dequantized(w, d, group_size as usize, bits)
            }
        }
    }

    /// Adds the error statistics of chunk `w` to `acc`; `d` and `e` are
    /// scratch as long as `w`. Int8 codes go straight into the sums
    /// ([`ErrorStats::push_int8`]), the others through `d`. Returns the
    /// number of clipped codes.
    pub(crate) fn push_errors(
        self,
        w: &[f32],
        d: &mut [f32],
        e: &mut [f32],
        acc: &mut ErrorStats,
    ) -> u64 {
        match self {
            ChunkQuant::Int8(scale) => acc.push_int8(w, w.len(), |_| scale, e),
            ChunkQuant::Int8Rows { cols } => acc.push_int8(w, cols, row_scale, e),
            ChunkQuant::Affine { .. } => {
                let clipped = self.dequantize(w, d);
                acc.push(w, d, e);
                clipped
            }
        }
    }
}

/// The int8 scale of one row of its own.
fn row_scale(row: &[f32]) -> f32 {
    scheme::int8_scale(kernels::max_abs(row))
}
