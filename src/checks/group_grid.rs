//! Grids per group: a 2-D float tensor quantized with a scale (and bias)
//! per row, or per group of consecutive values along its rows (MLX
//! affine, GPTQ, AWQ, per-channel int8), then saved dequantized, has every
//! group on its own uniform grid, though the tensor as a whole has far more
//! than 256 distinct values. Elements arrive in order, so a group is the
//! next `size` values of the stream.

use super::fake::{fit, MAX_LEVELS};
use crate::TensorInfo;

/// Group sizes tried besides a whole row: MLX's (nvfp4's 16, 32, 64, 128)
/// and GPTQ's and AWQ's usual ones.
const SIZES: [u64; 4] = [16, 32, 64, 128];

/// A row longer than this is judged on its first values first: real
/// weights fail long before the row ends, and the scan then stops reading.
const EARLY: usize = 1024;

/// Longest row judged as one group: the group's values are held until it
/// ends (512 KiB of them at most), and the row length comes from the
/// file's header.
const MAX_ROW: u64 = 1 << 17;

/// Every group of `size` consecutive values on its own grid, so far.
#[derive(Debug)]
pub(super) struct GroupGrid {
    pub(super) size: u64,
    values: Vec<f32>,
    /// The most steps one group's grid spans.
    pub(super) span_steps: u64,
    /// The most distinct values in one group.
    pub(super) levels: usize,
    /// Groups whose grid was found (three or more distinct values).
    pub(super) fitted: u64,
    /// Groups seen.
    pub(super) groups: u64,
    failed: bool,
}

impl GroupGrid {
    /// The candidates for `t`: groups of 16, 32, 64 or 128 that divide its
    /// rows, and the whole row (up to [`MAX_ROW`] values), for a tensor of
    /// two or more dimensions with at least two groups.
    pub(super) fn candidates(t: &TensorInfo) -> Vec<GroupGrid> {
        let Some(&row) = t.shape.last().filter(|_| t.shape.len() >= 2) else {
            return Vec::new();
        };
        let mut sizes: Vec<u64> = SIZES.into_iter().filter(|g| row % g == 0).collect();
        if (SIZES[0]..=MAX_ROW).contains(&row) && !sizes.contains(&row) {
            sizes.push(row);
        }
        sizes
            .into_iter()
            .filter(|&g| t.numel / g >= 2)
            .map(|size| GroupGrid {
                size,
                values: Vec::new(),
                span_steps: 0,
                levels: 0,
                fitted: 0,
                groups: 0,
                failed: false,
            })
            .collect()
    }

    /// Whether the candidate still holds.
    pub(super) fn alive(&self) -> bool {
        !self.failed
    }

    /// Takes the next value (finite); a group is judged when it is
    /// complete, and a long one also on its first [`EARLY`] values.
    pub(super) fn push(&mut self, x: f32, unit: f64) {
        if self.failed {
            return;
        }
        self.values.push(x);
        let n = self.values.len();
        if n as u64 == self.size {
            self.judge(unit, true);
            self.values.clear();
        } else if n == EARLY {
            self.judge(unit, false);
        }
    }

    /// Whether the values of the group so far lie on one grid of at most
    /// [`MAX_LEVELS`] levels; `whole` counts the group.
    fn judge(&mut self, unit: f64, whole: bool) {
        let mut v: Vec<f64> = self.values.iter().map(|&x| x as f64 + 0.0).collect();
        v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        v.dedup();
        if v.len() > MAX_LEVELS {
            self.failed = true;
            return;
        }
        // One or two values fit any grid: they say nothing either way.
        if v.len() >= 3 {
            match fit(&v, unit) {
                Some((steps, _)) if whole => {
                    self.span_steps = self.span_steps.max(steps);
                    self.fitted += 1;
                }
                Some(_) => {}
                None => {
                    self.failed = true;
                    return;
                }
            }
        }
        if whole {
            self.levels = self.levels.max(v.len());
            self.groups += 1;
        }
    }

    /// Whether every group of a tensor of `numel` values was seen and lies
    /// on a grid, at least half of them with a grid found.
    pub(super) fn holds(&self, numel: u64) -> bool {
        !self.failed && self.groups * self.size == numel && self.fitted * 2 >= self.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::f32_info;

    fn sizes(shape: &[u64]) -> Vec<u64> {
        GroupGrid::candidates(&f32_info(shape))
            .iter()
            .map(|g| g.size)
            .collect()
    }

    #[test]
    fn candidates_divide_rows_and_bound_what_is_held() {
        assert_eq!(sizes(&[8, 4096]), [16, 32, 64, 128, 4096]);
        assert_eq!(sizes(&[8, 64]), [16, 32, 64]);
        assert_eq!(sizes(&[8, 100]), [100]);
        assert_eq!(sizes(&[8, 12]), Vec::<u64>::new());
        // One row: its groups only (the whole row is the whole tensor).
        assert_eq!(sizes(&[1, 256]), [16, 32, 64, 128]);
        assert_eq!(sizes(&[4096]), Vec::<u64>::new());
        // A row longer than MAX_ROW is not held whole.
        assert_eq!(sizes(&[2, (1 << 17) + 16]), [16]);
        assert_eq!(sizes(&[2, 1 << 17]), [16, 32, 64, 128, 1 << 17]);
    }
}
