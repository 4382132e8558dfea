//! The wasm build's `simd128` lane loops (`src/quant/kernels/wasm/`)
//! against the kernels' element-by-element definitions
//! (`quant::kernels::reference`), run under Node by `scripts/test-wasm`:
//! the native proptests never run them. Every length up to a few blocks
//! past a lane multiple, and values weighted towards NaN, ±Inf,
//! subnormals, ±0 and f32's extremes; bucket indices clustered around
//! the bands and spread over every bucket.
#![cfg(target_arch = "wasm32")]

use quantlens::quant::kernels::{
    band_count, error_sums, int8_error_sums, reference, values, Bands, ErrorLanes, HistTable,
    HIST_TABLES, LANES,
};
use wasm_bindgen_test::*;

/// A fixed-seed xorshift: the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Any f32, weighted towards the awkward ones.
    fn awkward(&mut self) -> f32 {
        const SPECIAL: [f32; 12] = [
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-45,
            -1.1754942e-38,
            0.5,
            -1.5,
        ];
        let r = self.next();
        match r % 8 {
            0 => SPECIAL[(r >> 8) as usize % SPECIAL.len()],
            1 | 2 => f32::from_bits((r >> 16) as u32),
            _ => ((r >> 11) as f64 / (1u64 << 53) as f64 * 20.0 - 10.0) as f32,
        }
    }

    /// A value in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u32 << 24) as f32) * 2.0 - 1.0
    }

    /// [`Rng::awkward`] if `awkward`, else [`Rng::unit`].
    fn unit_or_awkward(&mut self, awkward: bool) -> f32 {
        if awkward {
            self.awkward()
        } else {
            self.unit()
        }
    }
}

/// Bits of a lane array, every NaN one pattern.
fn bits(a: &[f64; LANES]) -> [u64; LANES] {
    a.map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() })
}

/// Lengths: every one up to five blocks, then a few long ones.
fn lengths() -> impl Iterator<Item = usize> {
    (0..5 * LANES + 1).chain([257, 1000, 4099])
}

#[wasm_bindgen_test]
fn values_equal_their_definition() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Past one piece of 512 blocks too, the finite loop's three passes.
    for n in lengths().chain([8 * 512 + 5, 20_000]) {
        for case in 0..40 {
            // Some all-finite slices (the fast path), some awkward.
            let xs: Vec<f32> = (0..n).map(|_| rng.unit_or_awkward(case % 2 == 1)).collect();
            let (mut sum, mut sum_sq) = ([0f64; LANES], [0f64; LANES]);
            let got = values(&xs, &mut sum, &mut sum_sq);
            let (want, wsum, wsq) = reference::values(&xs);
            assert_eq!(got, want, "counts of {xs:?}");
            assert_eq!(bits(&sum), bits(&wsum), "sums of {xs:?}");
            assert_eq!(bits(&sum_sq), bits(&wsq), "squares of {xs:?}");
        }
    }
}

#[wasm_bindgen_test]
fn error_sums_equal_their_definition() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for n in lengths() {
        for case in 0..40 {
            let (w, d): (Vec<f32>, Vec<f32>) = (0..n)
                .map(|_| match case % 3 {
                    // int8 codes of a unit range: exact f32 differences.
                    0 => {
                        let w = rng.unit();
                        (w, (w * 127.0).round_ties_even() / 127.0)
                    }
                    1 => (rng.unit(), 0.0),
                    _ => (rng.awkward(), rng.awkward()),
                })
                .unzip();
            let mut buckets = vec![0u16; n];
            let mut acc = ErrorLanes::default();
            let zeros = error_sums(&w, &d, &mut buckets, &mut acc);
            let (want, want_zeros) = reference::error_sums(&w, &d);
            assert_eq!(zeros, want_zeros, "zeros of {w:?} against {d:?}");
            assert_eq!(bits(&acc.e2), bits(&want.e2), "Σe² of {w:?} against {d:?}");
            assert_eq!(bits(&acc.d2), bits(&want.d2), "Σd² of {w:?} against {d:?}");
            assert_eq!(
                bits(&acc.max_abs),
                bits(&want.max_abs),
                "max|e| of {w:?} against {d:?}"
            );
            for k in 0..n {
                let e = w[k] - d[k];
                assert!(
                    reference::bucket_holds(buckets[k], e),
                    "bucket {} of error {e}",
                    buckets[k]
                );
            }
        }
    }
}

#[wasm_bindgen_test]
fn int8_error_sums_equal_their_definition() {
    let mut rng = Rng(0x4f1b_bcdc_bfa5_3e0b);
    // Past one piece of 1024 blocks too, whose Σc² lanes are carried over.
    for n in lengths().chain([8 * 1024 + 3, 20_000]) {
        for case in 0..24 {
            let w: Vec<f32> = (0..n).map(|_| rng.unit_or_awkward(case % 2 == 1)).collect();
            // The scale of a unit range, one that clips, one that never
            // clips, the smallest, and zero.
            let scale = [1.0 / 127.0, 1e-3, 10.0, 1e-45, 0.0][case % 5];
            let mut buckets = vec![0u16; n];
            let mut acc = ErrorLanes::default();
            let got = int8_error_sums(&w, scale, &mut buckets, &mut acc);
            let (want, want_counts) = reference::int8_error_sums(&w, scale);
            let what = format!("{n} values, case {case}, scale {scale}");
            assert_eq!(got, want_counts, "counts of {what}");
            assert_eq!(bits(&acc.e2), bits(&want.e2), "Σe² of {what}");
            assert_eq!(bits(&acc.d2), bits(&want.d2), "Σd² of {what}");
            assert_eq!(bits(&acc.max_abs), bits(&want.max_abs), "max|e| of {what}");
            for (k, &x) in w.iter().enumerate() {
                let e = x - quantlens::quant::scheme::int8_code(x, scale).0 * scale;
                assert!(
                    reference::bucket_holds(buckets[k], e),
                    "bucket {} of error {e} ({what})",
                    buckets[k]
                );
            }
        }
    }
}

#[wasm_bindgen_test]
fn band_counts_equal_their_definition() {
    let mut rng = Rng(0xd1b5_4a32_d192_ed03);
    let mut tables: Box<[HistTable; HIST_TABLES]> = vec![[0u32; 1 << 15]; HIST_TABLES]
        .into_boxed_slice()
        .try_into()
        .unwrap();
    for n in (0..5 * LANES + 1).chain([257, 2047, 2048, 2049, 5000, 20_000]) {
        for _ in 0..12 {
            let a = (rng.next() % 0x8000) as u16;
            let b = (rng.next() % 0x8000) as u16;
            let (wa, wb) = ((rng.next() % 300) as u16, (rng.next() % 300) as u16);
            let bands = Bands::new(
                (a, a.saturating_add(wa).min(0x7fff)),
                (b, b.saturating_add(wb).min(0x7fff)),
            )
            .expect("valid bands");
            let idx: Vec<u16> = (0..n)
                .map(|_| {
                    let r = rng.next();
                    match r % 4 {
                        // Near a band's edges, any u16 (high bit ignored),
                        // anywhere.
                        0 => a.wrapping_add((r >> 8) as u16 % 400).wrapping_sub(50),
                        1 => b.wrapping_add((r >> 8) as u16 % 400).wrapping_sub(50),
                        2 => (r >> 16) as u16,
                        _ => (r >> 16) as u16 % 0x8000,
                    }
                })
                .collect();
            for t in tables.iter_mut() {
                t.fill(0);
            }
            let below = band_count(&mut tables, &idx, &bands);
            let (want, want_below) = reference::band_count(&idx, &bands);
            assert_eq!(below, want_below, "below {bands:?} of {idx:?}");
            assert!(
                reference::summed(&tables) == want,
                "counts in {bands:?} of {idx:?}"
            );
        }
    }
}
