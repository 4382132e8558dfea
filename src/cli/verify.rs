//! Running a verification (and the fake-quantization scan of `inspect`)
//! across threads, with a progress bar.

use quantlens::verify::{VerifiedRow, VerifyScratch};
use quantlens::{fake, Error, Finding, Model, Report, Verification};
use rayon::prelude::*;

/// Verifies every pair on the rayon pool, largest first.
pub fn run(v: &Verification, quiet: bool) -> Result<Report, Error> {
    let total: u64 = (0..v.len()).map(|i| v.work_bytes(i)).sum();
    let bar = super::progress::bar("", total, quiet);
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(v.work_bytes(i)));
    let mut rows: Vec<(usize, VerifiedRow)> = order
        .par_iter()
        .map_init(VerifyScratch::default, |s, &i| {
            let r = v.row(i, s);
            bar.inc(v.work_bytes(i));
            r.map(|r| (i, r))
        })
        .collect::<Result<_, _>>()?;
    bar.finish_and_clear();
    rows.sort_by_key(|(i, _)| *i);
    Ok(v.report(rows.into_iter().map(|(_, r)| r).collect()))
}

/// Every `fake_quantization` finding of a model, in parallel.
pub fn fake_findings(model: &Model) -> Result<Vec<Finding>, Error> {
    let found: Vec<Option<Finding>> = (0..model.tensors.len())
        .into_par_iter()
        .map(|i| fake::model_tensor_finding(model, i))
        .collect::<Result<_, _>>()?;
    Ok(found.into_iter().flatten().collect())
}

/// Adds findings to a finished report, keeping the most severe first.
pub fn add_findings(report: &mut Report, extra: Vec<Finding>) {
    report.summary.findings.extend(extra);
    report
        .summary
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
}
