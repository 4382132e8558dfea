//! Kernels written in AVX2 intrinsics for x86-64 machines without
//! AVX-512: the band counter (which needs a compress: `band.rs`), and the
//! fused int8 lane loop. Compiled from the plain loop for AVX2, LLVM found sixteen
//! registers too few for the fused int8 loop's eight lanes (two chains of
//! f64 sums alone fill four): it spilled accumulators to the stack every
//! block and did the f32 work four lanes at a time, 2.6× the time of this
//! loop. The operations are the plain loop's, lane for lane and in the
//! same order, so every figure is the same bits: the kernels' proptests
//! check the dispatched loop against [`super::reference`] on any machine
//! with AVX2, and `avx2_matches_the_plain_loop` checks the two directly.

mod band;
mod int8_error;

pub(super) use band::{band_count, band_count_runs};
pub(super) use int8_error::{int8_error_runs, lanes as int8_error_lanes};
