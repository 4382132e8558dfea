//! The one parallel driver of the CLI: rows of a plan (an inspection's or
//! a verification's) spread over the rayon pool, largest first, collected
//! in row order, with an optional progress bar.

use quantlens::Error;
use rayon::prelude::*;

/// Runs `row(i, scratch)` for every `i < n` on the rayon pool, each
/// thread with its own `scratch()`, and returns the results in row
/// order. `work(i)` is the bytes row `i` reads: rows start largest first,
/// so one big row does not start last and run alone, and the progress
/// bar (on stderr when it is a terminal and `quiet` is off) counts them.
pub fn rows<T, S>(
    n: usize,
    work: impl Fn(usize) -> u64 + Sync,
    scratch: impl Fn() -> S + Sync + Send,
    row: impl Fn(usize, &mut S) -> Result<T, Error> + Sync,
    quiet: bool,
) -> Result<Vec<T>, Error>
where
    T: Send,
{
    let total: u64 = (0..n).map(&work).sum();
    let bar = super::progress::bar("", total, quiet);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(work(i)));
    let mut out: Vec<(usize, T)> = order
        .par_iter()
        .map_init(scratch, |s, &i| {
            let r = row(i, s);
            bar.inc(work(i));
            r.map(|r| (i, r))
        })
        .collect::<Result<_, _>>()?;
    bar.finish_and_clear();
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// Reads every tensor byte of `model` in the chunk size the analysis uses,
/// on the same thread pool, doing nothing with the bytes: the floor any
/// analysis of the same bytes is measured against. Returns a checksum so
/// the reads cannot be optimised away.
pub fn read_floor(model: &quantlens::Model) -> Result<u64, Error> {
    let chunk = quantlens::quant::analyze::CHUNK_ELEMS as u64 * 4;
    (0..model.tensors.len())
        .into_par_iter()
        .map_init(Vec::new, |buf: &mut Vec<u8>, i| {
            let (shard, t) = model.tensor(i)?;
            let mut at = t.start;
            let mut sum = 0u64;
            while at < t.end {
                let n = (t.end - at).min(chunk) as usize;
                buf.resize(n, 0);
                shard
                    .source
                    .read_at(at, buf)
                    .map_err(|detail| Error::Read {
                        file: shard.header.file.clone(),
                        offset: at,
                        detail,
                    })?;
                sum = sum.wrapping_add(buf[n - 1] as u64);
                at += n as u64;
            }
            Ok(sum)
        })
        .try_reduce(|| 0, |a, b| Ok(a.wrapping_add(b)))
}
