//! Streams every tensor of an inspection across threads, in a
//! deterministic order, with an optional progress bar.

use quantlens::analyze::Scratch;
use quantlens::{Error, Inspection, LayerRow, Report};
use rayon::prelude::*;

/// Runs `inspection` on the rayon pool; a progress bar on stderr when it
/// is a terminal and `quiet` is off.
pub fn run(inspection: &Inspection, quiet: bool) -> Result<Report, Error> {
    let total: u64 = (0..inspection.len())
        .map(|i| inspection.work_bytes(i))
        .sum();
    let bar = super::progress::bar("", total, quiet);
    // Largest first, so one big tensor does not start last and run alone.
    let mut order: Vec<usize> = (0..inspection.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(inspection.work_bytes(i)));
    let mut rows: Vec<(usize, LayerRow)> = order
        .par_iter()
        .map_init(Scratch::default, |s, &i| {
            let row = inspection.row(i, s);
            bar.inc(inspection.work_bytes(i));
            row.map(|r| (i, r))
        })
        .collect::<Result<_, _>>()?;
    bar.finish_and_clear();
    rows.sort_by_key(|(i, _)| *i);
    Ok(inspection.report(rows.into_iter().map(|(_, r)| r).collect()))
}

/// Reads every tensor byte of `model` in the chunk size the analysis uses,
/// on the same thread pool, doing nothing with the bytes: the floor any
/// analysis of the same bytes is measured against. Returns a checksum so
/// the reads cannot be optimised away.
pub fn read_floor(model: &quantlens::Model) -> Result<u64, Error> {
    let chunk = quantlens::analyze::CHUNK_ELEMS as u64 * 4;
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
