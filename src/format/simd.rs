//! The targets every SIMD kernel is compiled for, written once: the
//! decoders here and `quant::kernels` wrap their functions in [`simd!`].

/// Wraps a function in `#[multiversion]` with the project's targets, so
/// the list is written once.
macro_rules! simd {
    ($($item:tt)*) => {
        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma",
            "x86_64+avx2+fma+f16c",
            "aarch64+neon",
        ))]
        $($item)*
    };
}
pub(crate) use simd;
