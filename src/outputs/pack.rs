//! Packing a layer's inputs: consecutive inputs, without padding, in
//! groups whose activations fit a budget, so that a layer runs as a few
//! large matrix products rather than one small one per input (see
//! [`Layer::forward_packed`]).
//!
//! May use: `candle-core`, [`super::family`].

use std::ops::Range;

use candle_core::Tensor;

use super::error::Result;
use super::family::{unpack, Layer};

/// Floats the widest activation of one pass over a pack may hold (16 MiB),
/// whatever the number or length of the inputs.
pub const PACK_FLOATS: usize = 4 << 20;

/// Consecutive ranges of inputs, each of at most `max_rows` tokens in all,
/// or a single input when that alone is longer.
pub fn groups(lens: &[usize], max_rows: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, &t) in lens.iter().enumerate() {
        if i > start && rows + t > max_rows {
            out.push(start..i);
            (start, rows) = (i, 0);
        }
        rows += t;
    }
    if start < lens.len() {
        out.push(start..lens.len());
    }
    out
}

/// A layer's three passes over one group of inputs, per input.
pub struct Passes {
    /// The original layer on the original states.
    pub original: Vec<Tensor>,
    /// The quantized layer on the original states: the layer's own damage.
    pub alone: Vec<Tensor>,
    /// The quantized layer on the quantized states: the damage so far.
    pub quantized: Vec<Tensor>,
}

/// Runs `original` on `ho` and `quantized` on `ho` and `hq` (one pass of
/// twice the rows), each group packed.
pub fn passes(
    original: &dyn Layer,
    quantized: &dyn Layer,
    ho: &[Tensor],
    hq: &[Tensor],
) -> Result<Passes> {
    let lens = ho
        .iter()
        .map(|h| h.dim(0))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let po = Tensor::cat(ho, 0)?;
    let n = po.dim(0)?;
    let both = Tensor::cat(&[&po, &Tensor::cat(hq, 0)?], 0)?;
    let q = quantized.forward_packed(&both, &[lens.as_slice(), &lens].concat())?;
    Ok(Passes {
        original: unpack(&original.forward_packed(&po, &lens)?, &lens)?,
        alone: unpack(&q.narrow(0, 0, n)?, &lens)?,
        // Its own storage, so that keeping these states does not keep the
        // alone half alive too.
        quantized: unpack(&q.narrow(0, n, n)?.copy()?, &lens)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_fill_to_the_budget_and_keep_long_inputs_whole() {
        assert_eq!(groups(&[3, 3, 3, 3], 6), vec![0..2, 2..4]);
        assert_eq!(groups(&[3, 10, 2], 6), vec![0..1, 1..2, 2..3]);
        assert_eq!(groups(&[1, 1, 1], 100), vec![0..3]);
        assert_eq!(groups(&[], 5), Vec::<Range<usize>>::new());
    }
}
