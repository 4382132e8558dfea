//! Tensor element types: their sizes and, for floats, decoding to f32.

use serde::{Deserialize, Serialize};

/// A safetensors element type. `Unknown` holds a name outside the format's
/// list; such tensors are kept as they are and reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(non_camel_case_types)]
pub enum Dtype {
    BOOL,
    F4,
    F6_E2M3,
    F6_E3M2,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    F8_E8M0,
    F8_E4M3FNUZ,
    F8_E5M2FNUZ,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    C64,
    F64,
    I64,
    U64,
    /// A name the safetensors format does not define.
    Unknown(String),
}

impl Dtype {
    /// Parses a header's dtype string; unknown names become [`Dtype::Unknown`].
    pub fn parse(s: &str) -> Dtype {
        use Dtype::*;
        match s {
            "BOOL" => BOOL,
            "F4" => F4,
            "F6_E2M3" => F6_E2M3,
            "F6_E3M2" => F6_E3M2,
            "U8" => U8,
            "I8" => I8,
            "F8_E5M2" => F8_E5M2,
            "F8_E4M3" => F8_E4M3,
            "F8_E8M0" => F8_E8M0,
            "F8_E4M3FNUZ" => F8_E4M3FNUZ,
            "F8_E5M2FNUZ" => F8_E5M2FNUZ,
            "I16" => I16,
            "U16" => U16,
            "F16" => F16,
            "BF16" => BF16,
            "I32" => I32,
            "U32" => U32,
            "F32" => F32,
            "C64" => C64,
            "F64" => F64,
            "I64" => I64,
            "U64" => U64,
            other => Unknown(other.to_string()),
        }
    }

    /// The name as written in a safetensors header.
    pub fn name(&self) -> &str {
        use Dtype::*;
        match self {
            BOOL => "BOOL",
            F4 => "F4",
            F6_E2M3 => "F6_E2M3",
            F6_E3M2 => "F6_E3M2",
            U8 => "U8",
            I8 => "I8",
            F8_E5M2 => "F8_E5M2",
            F8_E4M3 => "F8_E4M3",
            F8_E8M0 => "F8_E8M0",
            F8_E4M3FNUZ => "F8_E4M3FNUZ",
            F8_E5M2FNUZ => "F8_E5M2FNUZ",
            I16 => "I16",
            U16 => "U16",
            F16 => "F16",
            BF16 => "BF16",
            I32 => "I32",
            U32 => "U32",
            F32 => "F32",
            C64 => "C64",
            F64 => "F64",
            I64 => "I64",
            U64 => "U64",
            Unknown(s) => s,
        }
    }

    /// Bits per element, or `None` for an unknown dtype.
    pub fn bits(&self) -> Option<u64> {
        use Dtype::*;
        Some(match self {
            F4 => 4,
            F6_E2M3 | F6_E3M2 => 6,
            BOOL | U8 | I8 | F8_E5M2 | F8_E4M3 | F8_E8M0 | F8_E4M3FNUZ | F8_E5M2FNUZ => 8,
            I16 | U16 | F16 | BF16 => 16,
            I32 | U32 | F32 => 32,
            C64 | F64 | I64 | U64 => 64,
            Unknown(_) => return None,
        })
    }

    /// Whether quantlens decodes this dtype to f32 (and so can quantize it).
    pub fn is_decodable_float(&self) -> bool {
        use Dtype::*;
        matches!(self, F64 | F32 | F16 | BF16 | F8_E4M3 | F8_E5M2)
    }

    /// Whether the dtype holds real floating-point numbers, decodable or not.
    pub fn is_float(&self) -> bool {
        use Dtype::*;
        self.is_decodable_float()
            || matches!(
                self,
                F4 | F6_E2M3 | F6_E3M2 | F8_E8M0 | F8_E4M3FNUZ | F8_E5M2FNUZ
            )
    }

    /// Bytes per element for the decodable floats.
    pub fn decode_width(&self) -> Option<usize> {
        use Dtype::*;
        match self {
            F64 => Some(8),
            F32 => Some(4),
            F16 | BF16 => Some(2),
            F8_E4M3 | F8_E5M2 => Some(1),
            _ => None,
        }
    }

    /// Decodes little-endian elements of this dtype into `out`
    /// (`out.len() * width == bytes.len()`). Panics on a non-decodable dtype
    /// or a length mismatch: callers size both from [`Dtype::decode_width`].
    pub fn decode(&self, bytes: &[u8], out: &mut [f32]) {
        let width = self.decode_width().expect("decode of a non-float dtype");
        assert_eq!(bytes.len(), out.len() * width, "decode length mismatch");
        match self {
            Dtype::F32 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
            Dtype::F64 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    *o = f64::from_le_bytes(c.try_into().unwrap()) as f32;
                }
            }
            Dtype::F16 => crate::format::decode::f16_to_f32(bytes, out),
            Dtype::BF16 => crate::format::decode::bf16_to_f32(bytes, out),
            Dtype::F8_E4M3 => {
                let t = f8_table(false);
                for (o, &b) in out.iter_mut().zip(bytes) {
                    *o = t[b as usize];
                }
            }
            Dtype::F8_E5M2 => {
                let t = f8_table(true);
                for (o, &b) in out.iter_mut().zip(bytes) {
                    *o = t[b as usize];
                }
            }
            _ => unreachable!(),
        }
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Decodes one OCP 8-bit float. E4M3 is the "fn" variant (no infinities,
/// S.1111.111 is NaN, max 448); E5M2 follows IEEE 754 (infinities and NaNs).
fn decode_f8(byte: u8, e5m2: bool) -> f32 {
    let sign = if byte & 0x80 != 0 { -1.0f32 } else { 1.0 };
    let (exp_bits, man_bits, bias) = if e5m2 { (5, 2, 15) } else { (4, 3, 7) };
    let exp = ((byte & 0x7f) >> man_bits) as i32;
    let man = (byte & ((1 << man_bits) - 1)) as i32;
    let exp_max = (1 << exp_bits) - 1;
    if e5m2 && exp == exp_max {
        return if man == 0 {
            sign * f32::INFINITY
        } else {
            f32::NAN
        };
    }
    if !e5m2 && exp == exp_max && man == (1 << man_bits) - 1 {
        return f32::NAN;
    }
    let frac = man as f32 / (1 << man_bits) as f32;
    if exp == 0 {
        sign * frac * 2f32.powi(1 - bias)
    } else {
        sign * (1.0 + frac) * 2f32.powi(exp - bias)
    }
}

fn f8_table(e5m2: bool) -> &'static [f32; 256] {
    use std::sync::OnceLock;
    static E4M3: OnceLock<[f32; 256]> = OnceLock::new();
    static E5M2: OnceLock<[f32; 256]> = OnceLock::new();
    let cell = if e5m2 { &E5M2 } else { &E4M3 };
    cell.get_or_init(|| std::array::from_fn(|i| decode_f8(i as u8, e5m2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f8_e4m3_known_values() {
        let t = f8_table(false);
        assert_eq!(t[0x00], 0.0);
        assert_eq!(t[0x38], 1.0);
        assert_eq!(t[0x7e], 448.0);
        assert_eq!(t[0xfe], -448.0);
        assert_eq!(t[0x01], 2f32.powi(-9));
        assert!(t[0x7f].is_nan());
    }

    #[test]
    fn f8_e5m2_known_values() {
        let t = f8_table(true);
        assert_eq!(t[0x3c], 1.0);
        assert_eq!(t[0x7b], 57344.0);
        assert_eq!(t[0x7c], f32::INFINITY);
        assert_eq!(t[0xfc], f32::NEG_INFINITY);
        assert!(t[0x7d].is_nan());
        assert_eq!(t[0x01], 2f32.powi(-16));
    }

    #[test]
    fn bf16_and_f16_decode() {
        let mut out = [0f32; 2];
        Dtype::BF16.decode(&[0x80, 0x3f, 0x00, 0xc0], &mut out);
        assert_eq!(out, [1.0, -2.0]);
        Dtype::F16.decode(&[0x00, 0x3c, 0x00, 0xc0], &mut out);
        assert_eq!(out, [1.0, -2.0]);
    }

    #[test]
    fn names_round_trip() {
        for n in ["F8_E4M3FNUZ", "BF16", "F6_E3M2", "C64", "BOOL"] {
            assert_eq!(Dtype::parse(n).name(), n);
        }
        assert_eq!(
            Dtype::parse("F3_WHATEVER"),
            Dtype::Unknown("F3_WHATEVER".into())
        );
        assert_eq!(Dtype::parse("F3_WHATEVER").bits(), None);
    }
}
