//! Rotary position embedding as transformers computes it: the inverse
//! frequencies (plain, linear or Llama 3 scaling), the cos/sin tables of
//! positions 0..T, and their application to queries and keys
//! (`x·cos + rotate_half(x)·sin`, halves not interleaved).
//!
//! May use: `candle-core`, [`super::decoder_config`].

use candle_core::{Device, Tensor, D};

use super::decoder_config::{Rope, RopeScaling};
use super::error::Result;

/// The `head_dim / 2` inverse frequencies, scaled as configured, in f32
/// like transformers' `inv_freq` buffer.
pub fn inv_freq(rope: &Rope, head_dim: usize) -> Vec<f32> {
    let base: Vec<f64> = (0..head_dim / 2)
        .map(|i| 1.0 / rope.theta.powf((2 * i) as f64 / head_dim as f64))
        .collect();
    let scaled = match rope.scaling {
        RopeScaling::None => base,
        RopeScaling::Linear { factor } => base.iter().map(|f| f / factor).collect(),
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position,
        } => {
            let low_wavelen = original_max_position / low_freq_factor;
            let high_wavelen = original_max_position / high_freq_factor;
            base.iter()
                .map(|&f| {
                    let wavelen = 2.0 * std::f64::consts::PI / f;
                    if wavelen < high_wavelen {
                        f
                    } else if wavelen > low_wavelen {
                        f / factor
                    } else {
                        let smooth = (original_max_position / wavelen - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * f / factor + smooth * f
                    }
                })
                .collect()
        }
    };
    scaled.into_iter().map(|f| f as f32).collect()
}

/// The cos and sin tables `[T × head_dim]` of positions `0..t`, each
/// frequency repeated over both halves.
pub struct RopeTables {
    cos: Tensor,
    sin: Tensor,
}

impl RopeTables {
    /// Tables for `t` positions.
    pub fn new(inv_freq: &[f32], t: usize, device: &Device) -> Result<Self> {
        let half = inv_freq.len();
        let (mut cos, mut sin) = (
            Vec::with_capacity(t * 2 * half),
            Vec::with_capacity(t * 2 * half),
        );
        for p in 0..t {
            // The angle is an f32 product, as in transformers' f32 matmul.
            let angles: Vec<f64> = inv_freq.iter().map(|&f| (p as f32 * f) as f64).collect();
            for _ in 0..2 {
                cos.extend(angles.iter().map(|a| a.cos() as f32));
                sin.extend(angles.iter().map(|a| a.sin() as f32));
            }
        }
        Ok(RopeTables {
            cos: Tensor::from_vec(cos, (t, 2 * half), device)?,
            sin: Tensor::from_vec(sin, (t, 2 * half), device)?,
        })
    }

    /// Rotates `[heads × T × head_dim]` queries or keys.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let d = x.dim(D::Minus1)?;
        let x1 = x.narrow(D::Minus1, 0, d / 2)?;
        let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
        let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
        Ok((x.broadcast_mul(&self.cos)? + rotated.broadcast_mul(&self.sin)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_scaling_by_band() {
        // Llama 3.1's settings: high frequencies kept, low ones divided by 8,
        // the band between interpolated.
        let rope = Rope {
            theta: 500000.0,
            scaling: RopeScaling::Llama3 {
                factor: 8.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position: 8192.0,
            },
        };
        let plain = inv_freq(
            &Rope {
                theta: 500000.0,
                scaling: RopeScaling::None,
            },
            128,
        );
        let s = inv_freq(&rope, 128);
        assert_eq!(s[0], plain[0]);
        assert_eq!(s[63], plain[63] / 8.0);
        let wl = |f: f32| 2.0 * std::f64::consts::PI / f as f64;
        let mid = (0..64)
            .find(|&i| wl(plain[i]) >= 2048.0 && wl(plain[i]) <= 8192.0)
            .unwrap();
        assert!(s[mid] < plain[mid] && s[mid] > plain[mid] / 8.0);
        assert_eq!(plain[1], (1.0 / 500000f64.powf(2.0 / 128.0)) as f32);
    }

    #[test]
    fn rotation_by_hand() {
        // One head, two positions, head_dim 2: position 1 rotates by 1 radian.
        let t = RopeTables::new(&[1.0], 2, &Device::Cpu).unwrap();
        let x = Tensor::new(&[[[1f32, 0.0], [1.0, 0.0]]], &Device::Cpu).unwrap();
        let y: Vec<f32> = t
            .apply(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let (c, s) = (1f32.cos(), 1f32.sin());
        for (g, w) in y.iter().zip([1.0, 0.0, c, s]) {
            assert!((g - w).abs() < 1e-6, "{y:?}");
        }
    }
}
