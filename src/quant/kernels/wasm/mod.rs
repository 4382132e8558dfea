//! The lane loops of [`super::values`], [`super::error_sums`],
//! [`super::int8_error_sums`] and [`super::band_count`] written in
//! `simd128` intrinsics for the wasm build. Compiled from the plain lane
//! loops, LLVM kept the f32 ranges, the counters and half of the f64
//! sums in scalar locals (a wasm register is 128 bits, a quarter of the
//! AVX-512 one those loops are shaped for): `values` cost 2.2 ns per
//! element in V8, about 14× native. These do the same IEEE operations on
//! the same lanes in the same order (`f32x4.pmin`/`pmax` are the plain
//! loops' compare-and-select, NaN and ±0 included; the f64 products of
//! f32 values are exact), so every figure stays bit-identical: checked
//! against element-by-element definitions in `tests/wasm_kernels.rs`,
//! and against the native CLI by the page's end-to-end tests.

mod band;
mod error;
mod int8_error;
mod value;

pub(super) use band::band_count;
pub(super) use error::lanes as error_lanes;
pub(super) use int8_error::lanes as int8_error_lanes;
pub(super) use value::lanes as value_lanes;

use core::arch::wasm32::*;

/// Two f32x4 registers holding one block of [`super::LANES`] values.
#[inline(always)]
fn load_block(b: &[f32; super::LANES]) -> [v128; 2] {
    // SAFETY: `b` holds 8 f32 (32 readable bytes); v128.load takes any
    // alignment.
    unsafe {
        let p = b.as_ptr() as *const v128;
        [v128_load(p), v128_load(p.add(1))]
    }
}

/// The f64 lanes of an f32x4: elements 0–1, then 2–3.
#[inline(always)]
fn widen(x: v128) -> [v128; 2] {
    [
        f64x2_promote_low_f32x4(x),
        f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(x, x)),
    ]
}

/// Eight f64 lanes in four registers.
#[inline(always)]
fn load_f64(a: &[f64; super::LANES]) -> [v128; 4] {
    [0, 1, 2, 3].map(|k| f64x2(a[2 * k], a[2 * k + 1]))
}

/// The inverse of [`load_f64`].
#[inline(always)]
fn store_f64(v: [v128; 4], a: &mut [f64; super::LANES]) {
    for (k, r) in v.into_iter().enumerate() {
        a[2 * k] = f64x2_extract_lane::<0>(r);
        a[2 * k + 1] = f64x2_extract_lane::<1>(r);
    }
}

/// Eight f32 (or u32) lanes from two registers.
#[inline(always)]
fn store_f32(v: [v128; 2]) -> [f32; super::LANES] {
    let mut a = [0f32; super::LANES];
    for (k, r) in v.into_iter().enumerate() {
        a[4 * k] = f32x4_extract_lane::<0>(r);
        a[4 * k + 1] = f32x4_extract_lane::<1>(r);
        a[4 * k + 2] = f32x4_extract_lane::<2>(r);
        a[4 * k + 3] = f32x4_extract_lane::<3>(r);
    }
    a
}

/// [`store_f32`] for u32 counters.
#[inline(always)]
fn store_u32(v: [v128; 2]) -> [u32; super::LANES] {
    store_f32(v).map(f32::to_bits)
}
