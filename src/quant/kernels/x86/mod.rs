//! Kernels written in intrinsics for x86-64: the band counter for
//! machines without AVX-512 (which needs a compress: `band.rs`), and the
//! fused int8 lane loop in AVX2 and in AVX-512.
//!
//! * AVX2: compiled from the plain loop, LLVM found sixteen registers too
//!   few for the fused int8 loop's eight lanes (two chains of f64 sums
//!   alone fill four): it spilled accumulators to the stack every block
//!   and did the f32 work four lanes at a time, 2.6× the time of this
//!   loop.
//! * AVX-512: compiled from the plain loop, the f32 work is eight lanes
//!   wide, half a register (`int8_error512.rs`).
//!
//! The operations are the plain loop's, lane for lane, so every figure
//! is the same bits: the kernels' proptests check the dispatched loop
//! against [`super::reference`], and `avx2_matches_the_plain_loop` and
//! `avx512_matches_the_plain_loop` check each against the plain loop
//! directly, on any machine that has its instructions.

mod band;
mod int8_error;
mod int8_error512;

use super::int8_error::{Counted, Sums};
use super::LANES;

pub(super) use band::{band_count, band_count_runs};

/// A lane loop of `int8_error_sums`, to be called only on a CPU with its
/// instructions.
pub(super) type Int8ErrorLoop =
    unsafe fn(&[[f32; LANES]], f32, &mut [[u16; LANES]], &mut Sums) -> Counted;

/// The intrinsics loop of `int8_error_sums` for this CPU, the widest it
/// has, or `None` where the plain loop is the one to run. The CPU has the
/// instructions of the loop returned.
pub(super) fn int8_error_loop() -> Option<Int8ErrorLoop> {
    if int8_error512::runs() {
        Some(int8_error512::lanes)
    } else if int8_error::runs() {
        Some(int8_error::lanes)
    } else {
        None
    }
}
