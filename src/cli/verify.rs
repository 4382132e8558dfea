//! Running a verification on the CLI's parallel driver.

use quantlens::verify::VerifyScratch;
use quantlens::{Error, Report, Verification};

/// Verifies every pair on the rayon pool ([`super::run::rows`]).
pub fn run(v: &Verification, quiet: bool) -> Result<Report, Error> {
    let rows = super::run::rows(
        v.len(),
        |i| v.work_bytes(i),
        |i, s: &mut VerifyScratch| v.row(i, s),
        quiet,
    )?;
    Ok(v.report(rows))
}
