//! The exit policy, in one place: 0 clean; 1 an error-level finding,
//! `--fail-above` exceeded or an output gate failed; 2 the model's
//! structure cannot be read, a conversion did not verify, or the command
//! failed.

use std::process::ExitCode;

use quantlens::report::export;

use super::args::OutputArgs;

/// An error-level finding, `--fail-above` exceeded, or a failed gate.
pub const FAILED: u8 = 1;
/// The model's structure cannot be read, or the command failed.
pub const UNREADABLE: u8 = 2;

/// Prints a command's error and gives its exit code.
pub fn error(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {}", export::printable(&format!("{e:#}")));
    ExitCode::from(UNREADABLE)
}

/// Prints a report in the chosen format and decides the exit code: the
/// report's structure, its error-level findings, `--fail-above` and the
/// output check's gates.
pub fn report(
    report: quantlens::Report,
    a: &OutputArgs,
    outputs: Option<(
        &quantlens::outputs::OutputsReport,
        &super::outputs::OutputsGate,
    )>,
) -> anyhow::Result<ExitCode> {
    let format = a.format();
    let mut out = export::by_name(format)
        .expect("known format")
        .render(&report);
    let mut failed = report.has_errors();
    if let Some((o, g)) = outputs {
        out = super::outputs::attach(out, format, o);
        failed |= super::outputs::gates(o, g.fail_below_cosine, g.fail_above_kld);
    }
    print!("{out}");
    if let (Some(limit), Some(worst)) = (a.fail_above, report.summary.max_rel_error) {
        if worst > limit {
            let name = report
                .summary
                .worst_layers
                .first()
                .map(|w| w.name.as_str())
                .unwrap_or("");
            eprintln!(
                "quantlens: {} has relative error {:.4} %, above --fail-above {:.4} %",
                export::printable(name),
                worst * 100.0,
                limit * 100.0
            );
            failed = true;
        }
    }
    if let Some(f) = report.structural_finding() {
        eprintln!("error: {}", export::printable(&f.message));
        return Ok(ExitCode::from(UNREADABLE));
    }
    if report.has_errors() {
        eprintln!("quantlens: the report has error-level findings");
    }
    Ok(if failed {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
