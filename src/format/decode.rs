//! Decoding little-endian f16 and bf16 to f32.

use super::simd::simd;

/// Decodes little-endian IEEE half floats: `out.len() * 2 == bytes.len()`.
/// Exact for every pattern (subnormals included); NaNs stay NaN with
/// their payload and the quiet bit set, as `half` and F16C give them.
pub fn f16_to_f32(bytes: &[u8], out: &mut [f32]) {
    assert_eq!(bytes.len(), out.len() * 2, "f16_to_f32: length mismatch");
    f16_lanes(bytes, out)
}

simd! {
    fn f16_lanes(bytes: &[u8], out: &mut [f32]) {
        let (pairs, _) = bytes.as_chunks::<2>();
        for (o, p) in out.iter_mut().zip(pairs) {
            let h = u16::from_le_bytes(*p) as u32;
            let sign = (h & 0x8000) << 16;
            let em = h & 0x7fff;
            // Normal numbers: rebias the exponent (15 → 127).
            let normal = (em << 13) + ((127 - 15) << 23);
            // Subnormals: em · 2^-24, exact in f32.
            let sub = (em as f32 * (1.0 / 16_777_216.0)).to_bits();
            let special = 0x7f80_0000 | (em & 0x3ff) << 13 | (((em & 0x3ff) != 0) as u32) << 22;
            let mag = if em >= 0x7c00 {
                special
            } else if em < 0x0400 {
                sub
            } else {
                normal
            };
            *o = f32::from_bits(sign | mag);
        }
    }
}

/// Decodes little-endian bfloat16: `out.len() * 2 == bytes.len()`.
pub fn bf16_to_f32(bytes: &[u8], out: &mut [f32]) {
    assert_eq!(bytes.len(), out.len() * 2, "bf16_to_f32: length mismatch");
    bf16_lanes(bytes, out)
}

simd! {
    fn bf16_lanes(bytes: &[u8], out: &mut [f32]) {
        let (pairs, _) = bytes.as_chunks::<2>();
        for (o, p) in out.iter_mut().zip(pairs) {
            *o = f32::from_bits((u16::from_le_bytes(*p) as u32) << 16);
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_f16_pattern_decodes_as_half_does() {
        let bytes: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
        let mut out = vec![0f32; 1 << 16];
        f16_to_f32(&bytes, &mut out);
        for (h, got) in (0..=u16::MAX).zip(out) {
            let want = half::f16::from_bits(h).to_f32();
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{h:#06x}: {got} vs {want}"
            );
        }
    }

    proptest! {
        #[test]
        fn bf16_is_the_top_half_of_an_f32(hs in prop::collection::vec(any::<u16>(), 0..100)) {
            let bytes: Vec<u8> = hs.iter().flat_map(|h| h.to_le_bytes()).collect();
            let mut out = vec![0f32; hs.len()];
            bf16_to_f32(&bytes, &mut out);
            for (&h, got) in hs.iter().zip(out) {
                prop_assert_eq!(got.to_bits(), (h as u32) << 16);
            }
        }
    }
}
