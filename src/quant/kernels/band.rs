//! Counting bucket indices inside two bands only: a quantile needs the
//! counts of the buckets around it and how many values lie below them,
//! not every bucket's count. Values outside the bands are only compared
//! (in lanes), values inside are counted one by one ([`hist_count`]), so
//! a histogram whose bands hold a few percent of the values costs a few
//! percent of the scatter.

use super::hist::{HistTable, HIST_BUCKETS, HIST_TABLES};

/// Two inclusive ranges of bucket indices, `lo.0 ..= hi.0` and
/// `lo.1 ..= hi.1`: sorted and disjoint, or the same range twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    /// First bucket of each band.
    pub lo: [u16; 2],
    /// Last bucket of each band.
    pub hi: [u16; 2],
}

impl Bands {
    /// The bands `a` and `b` (each `(first, last)`, in any order), merged
    /// into one if they overlap or touch; `None` if either is empty or
    /// reaches past the last bucket.
    pub fn new(a: (u16, u16), b: (u16, u16)) -> Option<Bands> {
        let last = (HIST_BUCKETS - 1) as u16;
        if a.0 > a.1 || b.0 > b.1 || a.1 > last || b.1 > last {
            return None;
        }
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        Some(if b.0 <= a.1.saturating_add(1) {
            let one = (a.0, a.1.max(b.1));
            Bands {
                lo: [one.0; 2],
                hi: [one.1; 2],
            }
        } else {
            Bands {
                lo: [a.0, b.0],
                hi: [a.1, b.1],
            }
        })
    }

    /// Whether the two bands are one.
    pub fn single(&self) -> bool {
        self.lo[0] == self.lo[1]
    }

    /// Whether bucket `b` is in a band.
    #[inline(always)]
    fn holds(&self, b: u16) -> bool {
        (self.lo[0]..=self.hi[0]).contains(&b) || (self.lo[1]..=self.hi[1]).contains(&b)
    }
}

/// For each 8-bit mask, the byte shuffle that packs the u16 lanes it sets
/// to the front of a 16-byte register (the rest are zeroed, and
/// overwritten by the next store): the compress of the builds that have
/// no compress instruction (wasm's `i8x16.swizzle`, x86's `pshufb`; both
/// zero a lane whose index has its top bit set).
#[cfg(any(target_arch = "wasm32", target_arch = "x86_64"))]
pub(super) const COMPRESS: [[u8; 16]; 256] = {
    let mut t = [[0x80u8; 16]; 256];
    let mut m = 0;
    while m < 256 {
        let (mut lane, mut at) = (0, 0);
        while lane < 8 {
            if m & (1 << lane) != 0 {
                t[m][2 * at] = 2 * lane as u8;
                t[m][2 * at + 1] = 2 * lane as u8 + 1;
                at += 1;
            }
            lane += 1;
        }
        m += 1;
    }
    t
};

/// Whether [`band_count`] runs in lanes on this machine (AVX-512 or AVX2
/// on x86-64, and wasm). Elsewhere it runs element by element, slower than counting every bucket, so
/// callers count every bucket instead (the figures are the same).
pub fn bands_are_fast() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx512() || super::x86::band_count_runs()
    }
    #[cfg(target_arch = "wasm32")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "wasm32")))]
    {
        false
    }
}

/// Whether the CPU has the AVX-512 the widest band counter needs.
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

/// Counts the indices `idx` that fall in a band into `tables` (as
/// [`hist_count`] does) and returns how many fall below each band's
/// first bucket. Indices are masked to [`HIST_BUCKETS`] as there.
pub fn band_count(tables: &mut [HistTable; HIST_TABLES], idx: &[u16], bands: &Bands) -> [u64; 2] {
    #[cfg(target_arch = "x86_64")]
    if avx512() {
        // SAFETY: the CPU has AVX-512 F and BW (checked just above).
        return unsafe { avx512::band_count(tables, idx, bands) };
    } else if super::x86::band_count_runs() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { super::x86::band_count(tables, idx, bands) };
    }
    #[cfg(target_arch = "wasm32")]
    return super::wasm::band_count(tables, idx, bands);
    #[allow(unreachable_code)]
    band_count_scalar(tables, idx, bands)
}

/// [`band_count`] element by element: the definition.
pub(super) fn band_count_scalar(
    tables: &mut [HistTable; HIST_TABLES],
    idx: &[u16],
    bands: &Bands,
) -> [u64; 2] {
    let mask = (HIST_BUCKETS - 1) as u16;
    let mut below = [0u64; 2];
    for &b in idx {
        let b = b & mask;
        below[0] += (b < bands.lo[0]) as u64;
        below[1] += (b < bands.lo[1]) as u64;
        if bands.holds(b) {
            tables[0][b as usize] += 1;
        }
    }
    below
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::super::hist::hist_count;
    use super::*;
    use std::arch::x86_64::*;

    /// Indices gathered before they are counted: the buffer stays in L1.
    const PIECE: usize = 2048;

    /// [`super::band_count`] in lanes, with the widest compress the CPU has.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F and BW.
    pub(super) unsafe fn band_count(
        tables: &mut [HistTable; HIST_TABLES],
        idx: &[u16],
        bands: &Bands,
    ) -> [u64; 2] {
        // SAFETY: the features each asks for are there (by the caller's
        // word, and checked for VBMI2).
        unsafe {
            if is_x86_feature_detected!("avx512vbmi2") {
                words(tables, idx, bands)
            } else {
                dwords(tables, idx, bands)
            }
        }
    }

    /// [`counted`] compressing 32 lanes at once (vpcompressw, VBMI2).
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
    pub(super) unsafe fn words(
        t: &mut [HistTable; HIST_TABLES],
        idx: &[u16],
        b: &Bands,
    ) -> [u64; 2] {
        // SAFETY: the features `counted::<true>` needs are enabled here.
        unsafe { counted::<true>(t, idx, b) }
    }

    /// [`counted`] compressing 16 lanes at a time (vpcompressd, AVX-512 F).
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn dwords(
        t: &mut [HistTable; HIST_TABLES],
        idx: &[u16],
        b: &Bands,
    ) -> [u64; 2] {
        // SAFETY: the features `counted::<false>` needs are enabled here.
        unsafe { counted::<false>(t, idx, b) }
    }

    /// The band counter 32 indices at a time: two compares per band give
    /// the in-band mask, the in-band indices are compressed into a buffer
    /// and counted from there. Inlined into [`words`] and [`dwords`],
    /// which enable its instructions.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F and BW, and VBMI2 if `WIDE`.
    #[inline(always)]
    unsafe fn counted<const WIDE: bool>(
        tables: &mut [HistTable; HIST_TABLES],
        idx: &[u16],
        bands: &Bands,
    ) -> [u64; 2] {
        // SAFETY (every block below): the caller vouches for the CPU
        // features; loads and stores are in bounds as commented.
        unsafe {
            let mask = _mm512_set1_epi16((HIST_BUCKETS - 1) as i16);
            let lo0 = _mm512_set1_epi16(bands.lo[0] as i16);
            let lo1 = _mm512_set1_epi16(bands.lo[1] as i16);
            let w0 = _mm512_set1_epi16((bands.hi[0] - bands.lo[0]) as i16);
            let w1 = _mm512_set1_epi16((bands.hi[1] - bands.lo[1]) as i16);
            let mut below = [0u64; 2];
            // 32 spare slots: every block stores 32 lanes whatever it keeps,
            // at n ≤ 32 × the blocks before it in the piece.
            let mut buf = [0u16; PIECE + 32];
            let (blocks, tail) = idx.as_chunks::<32>();
            for piece in blocks.chunks(PIECE / 32) {
                let mut n = 0usize;
                for block in piece {
                    // `block` is 64 readable bytes.
                    let v = _mm512_and_si512(_mm512_loadu_si512(block.as_ptr().cast()), mask);
                    below[0] += _mm512_cmplt_epu16_mask(v, lo0).count_ones() as u64;
                    below[1] += _mm512_cmplt_epu16_mask(v, lo1).count_ones() as u64;
                    // Unsigned `b - lo <= hi - lo`: one compare per band.
                    let keep = _mm512_cmple_epu16_mask(_mm512_sub_epi16(v, lo0), w0)
                        | _mm512_cmple_epu16_mask(_mm512_sub_epi16(v, lo1), w1);
                    let at = buf.as_mut_ptr().add(n);
                    if WIDE {
                        _mm512_storeu_si512(at.cast(), _mm512_maskz_compress_epi16(keep, v));
                    } else {
                        for (i, half) in
                            [_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v)]
                                .into_iter()
                                .enumerate()
                        {
                            let k = (keep >> (16 * i)) as u16;
                            let kept = _mm512_maskz_compress_epi32(k, _mm512_cvtepu16_epi32(half));
                            let at = at.add(((keep as u16).count_ones() as usize) * i);
                            _mm256_storeu_si256(at.cast(), _mm512_cvtepi32_epi16(kept));
                        }
                    }
                    n += keep.count_ones() as usize;
                }
                hist_count(tables, &buf[..n]);
            }
            let t = band_count_scalar(tables, tail, bands);
            [below[0] + t[0], below[1] + t[1]]
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::reference;
    use super::*;
    use proptest::prelude::*;

    fn zeroed() -> Box<[HistTable; HIST_TABLES]> {
        vec![[0u32; HIST_BUCKETS]; HIST_TABLES]
            .into_boxed_slice()
            .try_into()
            .unwrap()
    }

    fn bands() -> impl Strategy<Value = Bands> {
        let range =
            (0u16..0x8000, 0u16..300).prop_map(|(a, w)| (a, a.saturating_add(w).min(0x7fff)));
        (range.clone(), range).prop_filter_map("valid", |(a, b)| Bands::new(a, b))
    }

    proptest! {
        #[test]
        fn counts_equal_the_element_by_element_definition(
            idx in prop::collection::vec(
                prop_oneof![0u16..0x8000, any::<u16>(), 0u16..40, 900u16..1100], 0..5000),
            bands in bands(),
        ) {
            let mut got = zeroed();
            let below = band_count(&mut got, &idx, &bands);
            #[cfg(target_arch = "x86_64")]
            if avx512() {
                // The 16-lane compress, whichever the CPU would take.
                let mut narrow = zeroed();
                // SAFETY: the CPU has AVX-512 F and BW (just checked).
                let b = unsafe { avx512::dwords(&mut narrow, &idx, &bands) };
                prop_assert_eq!(b, below);
                prop_assert!(narrow[..] == got[..]);
            }
            #[cfg(target_arch = "x86_64")]
            if super::super::x86::band_count_runs() {
                // The AVX2 counter, also where AVX-512 is taken instead.
                // It hands hist_count other batches than the AVX-512
                // counter, so a count can land in another of the four
                // tables: the buckets' totals are what must agree.
                let mut avx2 = zeroed();
                // SAFETY: the CPU has AVX2 (just checked).
                let b = unsafe { super::super::x86::band_count(&mut avx2, &idx, &bands) };
                prop_assert_eq!(b, below);
                prop_assert!(reference::summed(&avx2) == reference::summed(&got));
            }
            let (want, want_below) = reference::band_count(&idx, &bands);
            prop_assert!(reference::summed(&got) == want);
            prop_assert_eq!(below, want_below);
        }
    }

    #[test]
    fn bands_merge_when_they_touch_and_refuse_bad_ranges() {
        let b = Bands::new((10, 20), (21, 30)).unwrap();
        assert!(b.single());
        assert_eq!((b.lo, b.hi), ([10, 10], [30, 30]));
        let b = Bands::new((50, 60), (10, 20)).unwrap();
        assert_eq!((b.lo, b.hi), ([10, 50], [20, 60]));
        assert!(!b.single());
        assert_eq!(Bands::new((5, 4), (10, 20)), None);
        assert_eq!(Bands::new((0, 0x8000), (10, 20)), None);
    }
}
