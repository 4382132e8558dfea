//! `quantlens convert IN OUT`: the arguments parsed into a target, the
//! conversion staged and verified ([`super::stage`]), and what was written
//! printed.

use std::process::ExitCode;

use quantlens::report::export;

use super::args::ConvertArgs;

/// Runs `convert`.
pub fn command(a: ConvertArgs) -> anyhow::Result<ExitCode> {
    let target = quantlens::convert::Target::parse(
        &a.format,
        a.scheme.as_deref(),
        a.mode.as_deref(),
        a.bits,
        a.group_size,
    )?;
    let mixed = quantlens::convert::Mixed::new(&a.keep, &a.bits_for)?;
    let model = super::folder::open(&a.input)?;
    let job = super::write::Job {
        input: &a.input,
        model: &model,
        target,
        mixed: &mixed,
        shard_bytes: a.shard_size,
        quiet: a.quiet,
    };
    let done = super::stage::convert(job, &a.output)?;
    let r = &done.report;
    let s = &r.summary;
    for (name, why) in &done.skipped {
        eprintln!("quantlens: skipped {}: {why}", export::printable(name));
    }
    if a.json {
        print!("{}", export::by_name("json").expect("known").render(r));
    } else if !r.has_errors() {
        for f in &done.files {
            println!("wrote {}", export::printable(&f.display().to_string()));
        }
        let worst = s.worst_layers.first();
        println!(
            "{}: {} tensors, {} quantized; {} -> {} bytes ({:.3}x smaller); verified against the input{}",
            target.label(),
            s.tensors,
            s.quantized_layers,
            s.bytes_before,
            s.bytes_after,
            s.compression_ratio,
            worst.map_or(String::new(), |w| format!(
                ", worst relative error {:.4} % ({})",
                w.rel_error * 100.0,
                export::printable(&w.name)
            ))
        );
    }
    if r.has_errors() {
        for f in s
            .findings
            .iter()
            .filter(|f| f.severity == quantlens::Severity::Error)
        {
            eprintln!("quantlens: [{}] {}", f.code, export::printable(&f.message));
        }
        eprintln!(
            "error: {}: the converted model did not verify against the input; nothing was written",
            export::printable(&a.output.display().to_string())
        );
        return Ok(ExitCode::from(super::exit::UNREADABLE));
    }
    Ok(ExitCode::SUCCESS)
}
