//! `quantlens verify ORIGINAL CONVERTED`: every pair read back and
//! measured on the parallel driver, the digests of both folders checked,
//! and optionally the output check embedded.

use std::process::ExitCode;

use quantlens::pipeline::add_findings;
use quantlens::verify::VerifyScratch;
use quantlens::{Error, Report, Verification};

use super::args::VerifyArgs;

/// Runs `verify`.
pub fn command(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let original = super::folder::open(&a.original)?;
    let converted = super::folder::open(&a.converted)?;
    let outs = if a.checks.outputs {
        Some(super::outputs::check(
            &a.original,
            original.clone(),
            Some(converted.clone()),
            quantlens::Scheme::Int8Tensor,
            quantlens::Policy::default_rule(),
            a.checks.gate.text.as_deref(),
            a.out.quiet,
        )?)
    } else {
        None
    };
    let v = quantlens::Verification::new(original, converted);
    let mut report = run(&v, a.out.quiet)?;
    let mut extra =
        super::sums::check_dir(&super::folder::model_dir(&a.converted), &a.checks.sha256)?;
    extra.extend(super::sums::check_dir(
        &super::folder::model_dir(&a.original),
        &[],
    )?);
    add_findings(&mut report, extra);
    super::exit::report(report, &a.out, outs.as_ref().map(|o| (o, &a.checks.gate)))
}

/// Verifies every pair on the rayon pool ([`super::run::rows`]).
pub fn run(v: &Verification, quiet: bool) -> Result<Report, Error> {
    let rows = super::run::rows(
        v.len(),
        |i| v.work_bytes(i),
        VerifyScratch::default,
        |i, s: &mut VerifyScratch| v.row(i, s),
        quiet,
    )?;
    Ok(v.report(rows))
}
