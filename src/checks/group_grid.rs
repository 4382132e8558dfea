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

/// Longest row judged as one group (the row length comes from the file's
/// header).
const MAX_ROW: u64 = 1 << 17;

/// Slots of [`Distinct`]'s table: four per level it can hold.
const SLOTS: usize = 1024;

/// The distinct values of the group so far, as [`order_key`]s, at most
/// [`MAX_LEVELS`] + 1 of them: a linear-probing table (0 is empty; no finite
/// float has that key), and the keys in the order they came.
#[derive(Debug)]
struct Distinct {
    slots: Vec<u32>,
    keys: Vec<u32>,
    used: Vec<u16>,
}

impl Distinct {
    fn new() -> Self {
        Distinct {
            slots: vec![0; SLOTS],
            keys: Vec::new(),
            used: Vec::new(),
        }
    }

    /// Adds a key; false once there are more than [`MAX_LEVELS`].
    fn insert(&mut self, key: u32) -> bool {
        let mut at = (key.wrapping_mul(0x9E37_79B1) >> 22) as usize;
        loop {
            match self.slots[at] {
                0 => break,
                k if k == key => return true,
                _ => at = (at + 1) % SLOTS,
            }
        }
        self.slots[at] = key;
        self.used.push(at as u16);
        self.keys.push(key);
        self.keys.len() <= MAX_LEVELS
    }

    fn clear(&mut self) {
        for &at in &self.used {
            self.slots[at as usize] = 0;
        }
        self.used.clear();
        self.keys.clear();
    }
}

/// Every group of `size` consecutive values on its own grid, so far.
#[derive(Debug)]
pub(super) struct GroupGrid {
    pub(super) size: u64,
    /// Values of the current group so far.
    seen: u64,
    distinct: Distinct,
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
                seen: 0,
                distinct: Distinct::new(),
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
        if !self.distinct.insert(order_key(x + 0.0)) {
            self.failed = true;
            return;
        }
        self.seen += 1;
        if self.seen == self.size {
            self.judge(unit, true);
            self.distinct.clear();
            self.seen = 0;
        } else if self.seen == EARLY as u64 {
            self.judge(unit, false);
        }
    }

    /// Whether the values of the group so far lie on one grid of at most
    /// [`MAX_LEVELS`] levels; `whole` counts the group.
    fn judge(&mut self, unit: f64, whole: bool) {
        let mut keys = self.distinct.keys.clone();
        keys.sort_unstable();
        let v: Vec<f64> = keys.into_iter().map(|k| from_order_key(k) as f64).collect();
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

/// A key whose unsigned order is the order of the finite floats (-0 and 0
/// differ: callers add 0.0 first, which makes -0 into 0).
fn order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 1 << 31
    }
}

fn from_order_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k })
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
    fn order_keys_sort_as_the_floats() {
        let xs = [-3.5f32, -1e-30, 0.0, 1e-38, 2.0, f32::MAX, -f32::MAX];
        let mut sorted = xs;
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mut keys: Vec<u32> = xs.iter().map(|&x| order_key(x)).collect();
        keys.sort_unstable();
        let back: Vec<f32> = keys.into_iter().map(from_order_key).collect();
        assert_eq!(back, sorted);
        assert_eq!(order_key(-0.0 + 0.0), order_key(0.0));
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
