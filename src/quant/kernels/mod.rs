//! SIMD kernels for the per-element work of an analysis: value
//! statistics, the largest magnitude, int8 and affine quantize →
//! dequantize, the error sums (for int8, fused with the quantize pass)
//! and the |error| histogram, of every bucket or of two bands (f16/bf16
//! decoding is `format::decode`'s). May use:
//! `format/` and the scalar primitives of [`crate::quant::scheme`], which
//! each kernel reproduces bit for bit.
//!
//! Every kernel is plain Rust written in [`LANES`] independent lanes
//! (fixed-size arrays the compiler turns into vector registers) and is
//! compiled several times by the [`multiversion`] crate: AVX-512 and
//! AVX2 + FMA on x86-64, NEON on aarch64, the best one chosen once at run
//! time; the wasm build is compiled with `simd128` (`.cargo/config.toml`,
//! `scripts/build-web`). Why multiversion rather than explicit intrinsics
//! (`pulp`, `wide`, `std::arch`): the same source compiled for any target
//! gives the same IEEE results, because Rust never fuses or reassociates
//! float operations, so the exact figures (int8 and affine codes, counts)
//! *and* the lane-ordered sums are bit-identical to the scalar build on
//! every architecture, from one body per kernel. Three exceptions:
//! * the band counter (`band.rs`) compresses the indices it keeps
//!   (vpcompressd), which no plain loop compiles to, so it is written in
//!   `std::arch` AVX-512 intrinsics, and with a table of byte shuffles in
//!   AVX2 ones (`x86/`) and `simd128` ones for the wasm build; callers
//!   count every bucket where none applies;
//! * on x86-64, the fused int8 lane loop is written in AVX-512 and AVX2
//!   intrinsics (`x86/`): compiled from the plain loop, its f32 work
//!   filled half an AVX-512 register, and its eight lanes' accumulators
//!   did not fit AVX2's sixteen registers;
//! * in the wasm build, `values`, `error_sums`, `int8_error_sums` and
//!   the band counter run lane loops written in `simd128` intrinsics
//!   (`wasm/`): compiled from the plain ones, LLVM left half their work
//!   in scalar code there. They
//!   do the same IEEE operations lane for lane, so the figures are the
//!   same bits; `tests/wasm_kernels.rs` checks them against
//!   [`reference`], the definitions the native proptests use.
//!
//! The one fused operation, `add_square`, adds a square that f64 holds
//! exactly, so fusing it changes nothing.
//!
//! Each kernel's tests check it against a scalar oracle written element
//! by element, on random lengths and on NaN, ±Inf, subnormals, -0.0 and
//! extreme values.

mod affine;
mod band;
mod error;
mod hist;
mod int8;
mod int8_error;
pub mod reference;
mod value;
#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use affine::affine_dequantized;
pub use band::{band_count, bands_are_fast, Bands};
pub use error::{error_sums, ErrorLanes};
pub use hist::{bucket, hist_count, HistTable, HIST_BUCKETS, HIST_TABLES};
pub use int8::{int8_dequantized, max_abs};
pub use int8_error::{int8_error_sums, Int8Counts};
pub use value::{values, ValueCounts};

/// Independent accumulators per sum: a single f64 sum is a serial
/// dependency chain, eight fill an AVX-512 register (two AVX2 ones).
pub const LANES: usize = 8;

pub(crate) use crate::format::simd::simd;

/// `acc + x·x` for an `x` widened from an f32: its square has at most 48
/// significant bits, which an f64 holds exactly, so a fused multiply-add
/// rounds once where a multiply and an add round twice, at the same
/// place: the bits are the same either way. `FMA` says whether the
/// target has the instruction (without it LLVM would call a library fma,
/// which is slow: the baseline x86-64 build adds). `values` never fuses
/// (see there); the wasm build's loops are written in `simd128`.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn add_square<const FMA: bool>(acc: f64, x: f64) -> f64 {
    if FMA {
        x.mul_add(x, acc)
    } else {
        acc + x * x
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testing {
    use proptest::prelude::*;

    /// Any f32, weighted towards the awkward ones.
    pub fn awkward_f32() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => -10.0f32..10.0,
            2 => any::<f32>(),
            1 => prop::sample::select(vec![
                0.0f32,
                -0.0,
                f32::NAN,
                -f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::MAX,
                f32::MIN,
                f32::MIN_POSITIVE,
                f32::from_bits(1),
                -f32::from_bits(0x7f_ffff),
                0.5,
                -1.5,
            ]),
        ]
    }

    /// Vectors of any length up to 200 (most not a multiple of a lane width).
    pub fn awkward_vec() -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(awkward_f32(), 0..200)
    }

    /// Finite values only.
    pub fn finite_vec() -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(
            awkward_f32().prop_filter("finite", |x| x.is_finite()),
            0..200,
        )
    }
}
