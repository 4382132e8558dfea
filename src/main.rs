//! `quantlens`: the native command line.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use quantlens::pipeline::add_findings;
use quantlens::quant::analyze::Scratch;
use quantlens::report::export;
use quantlens::{InspectOptions, Pipeline};

#[derive(Parser)]
#[command(
    name = "quantlens",
    version,
    about = "Inspect safetensors models and measure exactly what quantization does to every layer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse a model folder or file: every tensor, quantized or kept, with exact error metrics.
    Inspect(InspectArgs),
    /// Check a converted model against its original: every tensor read back and measured, with structural findings.
    Verify(VerifyArgs),
    /// Convert a model to real int8 (the seeds' format) or MLX's quantized format, then verify the output.
    Convert(ConvertArgs),
    /// Run the original and the quantized model on the same inputs, layer by layer, and compare their outputs.
    Outputs(cli::outputs::OutputsArgs),
    /// Write every tensor of a model dequantized to f32 (for external checks).
    #[command(hide = true)]
    Dequantize { model: PathBuf, out: PathBuf },
    /// Print the SHA-256 of files (sha256sum format); a folder means the files in it.
    Sha256 {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Read every tensor byte of a model and nothing else (the benchmark floor).
    #[command(hide = true)]
    ReadFloor { path: PathBuf },
}

/// How a report is printed and gated, shared by `inspect` and `verify`.
#[derive(Args)]
struct OutputArgs {
    /// Print the JSON report (the documented contract).
    #[arg(long, conflicts_with_all = ["csv", "markdown"])]
    json: bool,
    /// Print one CSV line per tensor.
    #[arg(long, conflicts_with = "markdown")]
    csv: bool,
    /// Print a Markdown report.
    #[arg(long)]
    markdown: bool,
    /// Exit 1 if any layer's relative error exceeds this (a fraction like 0.05, or 5%).
    #[arg(long, value_name = "REL", value_parser = parse_rel)]
    fail_above: Option<f64>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

impl OutputArgs {
    fn format(&self) -> &'static str {
        if self.json {
            "json"
        } else if self.csv {
            "csv"
        } else if self.markdown {
            "markdown"
        } else {
            "table"
        }
    }
}

#[derive(Args)]
struct InspectArgs {
    /// A model folder, a .safetensors file, or a model.safetensors.index.json.
    path: PathBuf,
    #[command(flatten)]
    options: InspectOptions,
    #[command(flatten)]
    out: OutputArgs,
    /// Expected SHA-256 of a file of the model, as FILE=HEX (repeatable; a SHA256SUMS file in the folder is read too).
    #[arg(long = "sha256", value_name = "FILE=HEX", value_parser = quantlens::pipeline::parse_sha)]
    sha256: Vec<(String, String)>,
    /// Also run the output check (the scheme on the fly) and embed its `outputs` object.
    #[arg(long)]
    outputs: bool,
    #[command(flatten)]
    gate: cli::outputs::OutputsGate,
}

#[derive(Args)]
struct VerifyArgs {
    /// The original model: a folder, a .safetensors file or an index.
    original: PathBuf,
    /// The converted model to check against it.
    converted: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
    /// Expected SHA-256 of a file of the converted model, as FILE=HEX (repeatable; SHA256SUMS files in either folder are read too).
    #[arg(long = "sha256", value_name = "FILE=HEX", value_parser = quantlens::pipeline::parse_sha)]
    sha256: Vec<(String, String)>,
    /// Also run the output check, original against converted, and embed its `outputs` object.
    #[arg(long)]
    outputs: bool,
    #[command(flatten)]
    gate: cli::outputs::OutputsGate,
}

#[derive(Args)]
struct ConvertArgs {
    /// The model to convert: a folder, a .safetensors file or an index.
    input: PathBuf,
    /// The output folder (must not exist, or be empty; never inside the input).
    output: PathBuf,
    /// Output format: int8 (int8 weights + f32 `.__scale__`) or mlx (packed u32 codes + scales, and biases in affine mode).
    #[arg(long)]
    format: String,
    /// int8: int8-tensor (default) or int8-channel; mlx: affine.
    #[arg(long)]
    scheme: Option<String>,
    /// MLX mode: affine (default), mxfp4 (4-bit, groups of 32), mxfp8 (8-bit, groups of 32) or nvfp4 (4-bit, groups of 16).
    #[arg(long)]
    mode: Option<String>,
    /// Bits per weight for --mode affine (2, 3, 4, 5, 6 or 8; default 4).
    #[arg(long)]
    bits: Option<u8>,
    /// Group size for --mode affine (32, 64 or 128; default 64); other modes have their own.
    #[arg(long)]
    group_size: Option<u32>,
    /// Leave layers matching this glob (module path or tensor name) in float (repeatable; mlx only).
    #[arg(long, value_name = "GLOB")]
    keep: Vec<String>,
    /// Quantize layers matching GLOB with B bits, e.g. '*.v_proj=6' (repeatable, first match wins; mlx affine only).
    #[arg(long, value_name = "GLOB=B")]
    bits_for: Vec<String>,
    /// Largest output shard in bytes (an index is written when there are several).
    #[arg(long, default_value_t = cli::convert::SHARD_BYTES, hide = true)]
    shard_size: u64,
    /// Print the verification report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_rel(s: &str) -> Result<f64, String> {
    let (num, scale) = match s.strip_suffix('%') {
        Some(p) => (p.trim(), 0.01),
        None => (s, 1.0),
    };
    let v: f64 = num.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(format!("{s:?} must be a non-negative number"));
    }
    Ok(v * scale)
}

/// Exit codes: 0 clean, 1 an error-level finding or `--fail-above`
/// exceeded, 2 the model's structure cannot be read.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", export::printable(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Inspect(a) => inspect(a),
        Command::Verify(a) => verify(a),
        Command::Convert(a) => convert(a),
        Command::Outputs(a) => cli::outputs::command(a),
        Command::Dequantize { model, out } => {
            let n = cli::convert::dequantize_to(&cli::folder::open(&model)?, &out)?;
            eprintln!("wrote {n} tensors to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Sha256 { paths } => sha256_cmd(&paths),
        Command::ReadFloor { path } => {
            let model = cli::folder::open(&path)?;
            let total = cli::run::read_floor(&model)?;
            println!("{total}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn inspect(mut a: InspectArgs) -> anyhow::Result<ExitCode> {
    a.options.sha256 = std::mem::take(&mut a.sha256);
    let (mut input, skipped) = cli::folder::input(&a.path)?;
    let dir = cli::folder::model_dir(&a.path);
    let (sums, sums_findings) = cli::sums::sums_text(&dir);
    input.sums = sums;
    let p = Pipeline::open(input, &a.options)?;
    let rows = cli::run::rows(
        p.len(),
        |i| p.work_bytes(i),
        |i, s: &mut Scratch| p.row(i, s),
        a.out.quiet,
    )?;
    let digests = cli::sums::actual(&dir, &p.digest_files())?;
    let mut report = p.report(rows, Some(&digests));
    add_findings(
        &mut report,
        skipped.into_iter().chain(sums_findings).collect(),
    );
    let outs = if a.outputs {
        let (scheme, policy) = a.options.resolve()?;
        Some(cli::outputs::check(
            &a.path,
            p.inspection.model.clone(),
            None,
            scheme,
            policy,
            a.gate.text.as_deref(),
            a.out.quiet,
        )?)
    } else {
        None
    };
    finish(report, &a.out, outs.as_ref().map(|o| (o, &a.gate)))
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let original = cli::folder::open(&a.original)?;
    let converted = cli::folder::open(&a.converted)?;
    let outs = if a.outputs {
        Some(cli::outputs::check(
            &a.original,
            original.clone(),
            Some(converted.clone()),
            quantlens::Scheme::Int8Tensor,
            quantlens::Policy::default_rule(),
            a.gate.text.as_deref(),
            a.out.quiet,
        )?)
    } else {
        None
    };
    let v = quantlens::Verification::new(original, converted);
    let mut report = cli::verify::run(&v, a.out.quiet)?;
    let mut extra = cli::sums::check_dir(&cli::folder::model_dir(&a.converted), &a.sha256)?;
    extra.extend(cli::sums::check_dir(
        &cli::folder::model_dir(&a.original),
        &[],
    )?);
    add_findings(&mut report, extra);
    finish(report, &a.out, outs.as_ref().map(|o| (o, &a.gate)))
}

fn convert(a: ConvertArgs) -> anyhow::Result<ExitCode> {
    let target = quantlens::convert::Target::parse(
        &a.format,
        a.scheme.as_deref(),
        a.mode.as_deref(),
        a.bits,
        a.group_size,
    )?;
    let mixed = quantlens::convert::Mixed::new(&a.keep, &a.bits_for)?;
    let model = cli::folder::open(&a.input)?;
    let done = cli::stage::convert(
        &a.input,
        &model,
        &a.output,
        target,
        &mixed,
        a.shard_size,
        a.quiet,
    )?;
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
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn sha256_cmd(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    for (p, d) in files.iter().zip(cli::sums::digests(&files)?) {
        println!("{d}  {}", export::printable(&p.display().to_string()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a report and decides the exit code.
fn finish(
    report: quantlens::Report,
    a: &OutputArgs,
    outputs: Option<(
        &quantlens::outputs::OutputsReport,
        &cli::outputs::OutputsGate,
    )>,
) -> anyhow::Result<ExitCode> {
    let format = a.format();
    let mut out = export::by_name(format)
        .expect("known format")
        .render(&report);
    let mut failed = report.has_errors();
    if let Some((o, g)) = outputs {
        out = cli::outputs::attach(out, format, o);
        failed |= cli::outputs::gates(o, g.fail_below_cosine, g.fail_above_kld);
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
        return Ok(ExitCode::from(2));
    }
    if report.has_errors() {
        eprintln!("quantlens: the report has error-level findings");
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
