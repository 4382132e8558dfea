//! Packing `bits`-bit codes into little-endian `u32` words, lowest bits
//! first, as one continuous bit stream (MLX's layout for every width).

/// Reads code `k` of a packed row.
#[inline]
pub fn code_at(words: &[u32], bits: u8, k: usize) -> u32 {
    let bit = k * bits as usize;
    let (wi, off) = (bit / 32, bit % 32);
    let lo = words.get(wi).copied().unwrap_or(0) as u64;
    let hi = words.get(wi + 1).copied().unwrap_or(0) as u64;
    ((((hi << 32) | lo) >> off) & ((1u64 << bits) - 1)) as u32
}

/// Unpacks `n` codes of `bits` bits.
pub fn unpack_codes(words: &[u32], bits: u8, n: usize) -> Vec<u32> {
    (0..n).map(|k| code_at(words, bits, k)).collect()
}

/// Packs codes of `bits` bits into words.
pub fn pack_codes(codes: &[u32], bits: u8) -> Vec<u32> {
    let total_bits = codes.len() * bits as usize;
    let mut words = vec![0u32; total_bits.div_ceil(32)];
    for (k, &q) in codes.iter().enumerate() {
        let bit = k * bits as usize;
        let (wi, off) = (bit / 32, bit % 32);
        let v = (q as u64) << off;
        words[wi] |= v as u32;
        if off + bits as usize > 32 {
            words[wi + 1] |= (v >> 32) as u32;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_unpack_round_trip() {
        for bits in [2u8, 3, 4, 5, 6, 8] {
            let codes: Vec<u32> = (0..64).map(|k| (k * 7 + 3) % (1 << bits)).collect();
            let w = pack_codes(&codes, bits);
            assert_eq!(w.len(), 64 * bits as usize / 32);
            assert_eq!(unpack_codes(&w, bits, 64), codes, "{bits}");
        }
        // 4-bit: element k at bits 4k.
        assert_eq!(pack_codes(&[1, 2, 3, 4, 5, 6, 7, 8], 4), vec![0x8765_4321]);
    }
}
