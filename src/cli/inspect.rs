//! `quantlens inspect PATH`: the inspect pipeline over the folder's files
//! on the parallel driver, the digests checked, and optionally the output
//! check embedded.

use std::process::ExitCode;

use quantlens::pipeline::add_findings;
use quantlens::quant::analyze::Scratch;
use quantlens::Pipeline;

use super::args::InspectArgs;

/// Runs `inspect`.
pub fn command(mut a: InspectArgs) -> anyhow::Result<ExitCode> {
    a.options.sha256 = std::mem::take(&mut a.checks.sha256);
    let (mut input, skipped) = super::folder::input(&a.path)?;
    let dir = super::folder::model_dir(&a.path);
    let (sums, sums_findings) = super::sums::sums_text(&dir);
    input.sums = sums;
    let p = Pipeline::open(input, &a.options)?;
    let rows = super::run::rows(
        p.len(),
        |i| p.work_bytes(i),
        || Scratch::keeping(a.read_budget.per_thread()),
        |i, s: &mut Scratch| p.row(i, s),
        a.out.quiet,
    )?;
    let digests = super::sums::actual(&dir, &p.digest_files())?;
    let mut report = p.report(rows, Some(&digests));
    add_findings(
        &mut report,
        skipped.into_iter().chain(sums_findings).collect(),
    );
    let outs = if a.checks.outputs {
        let (scheme, policy) = a.options.resolve()?;
        Some(super::outputs::check(
            &a.path,
            p.inspection.model.clone(),
            None,
            scheme,
            policy,
            a.checks.gate.text.as_deref(),
            a.out.quiet,
        )?)
    } else {
        None
    };
    super::exit::report(report, &a.out, outs.as_ref().map(|o| (o, &a.checks.gate)))
}
