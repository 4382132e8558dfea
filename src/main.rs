//! `quantlens`: the native command line.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use quantlens::export;
use quantlens::{Inspection, Policy, PolicyKind, Scheme};

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
    /// Read every tensor byte of a model and nothing else (the benchmark floor).
    #[command(hide = true)]
    ReadFloor { path: PathBuf },
}

#[derive(Args)]
struct SchemeArgs {
    /// Quantization scheme: int8-tensor, int8-channel or affine.
    #[arg(long, default_value = "int8-tensor")]
    scheme: String,
    /// Bits per weight for the affine scheme (2, 3, 4, 5, 6 or 8).
    #[arg(long, default_value_t = 8)]
    bits: u8,
    /// Group size along the last axis for the affine scheme and the mlx policy (32, 64 or 128).
    #[arg(long, default_value_t = 64)]
    group_size: u32,
    /// Layer policy: default (the seeds' rule) or mlx (mlx-lm's rule).
    #[arg(long, default_value = "default")]
    policy: String,
    /// Quantize float matrices whose name matches this glob, over the name rules (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// Keep tensors whose name matches this glob (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
}

impl SchemeArgs {
    fn resolve(&self) -> Result<(Scheme, Policy), quantlens::Error> {
        let scheme = Scheme::parse(&self.scheme, self.bits, self.group_size)?;
        let kind = PolicyKind::parse(&self.policy)?;
        let policy = Policy::new(kind, self.group_size as u64, &self.include, &self.exclude)?;
        Ok((scheme, policy))
    }
}

#[derive(Args)]
struct InspectArgs {
    /// A model folder, a .safetensors file, or a model.safetensors.index.json.
    path: PathBuf,
    #[command(flatten)]
    scheme: SchemeArgs,
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
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Inspect(a) => inspect(a),
        Command::ReadFloor { path } => {
            let model = cli::folder::open(&path)?;
            let total = cli::run::read_floor(&model)?;
            println!("{total}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn inspect(a: InspectArgs) -> anyhow::Result<ExitCode> {
    let (scheme, policy) = a.scheme.resolve()?;
    let model = cli::folder::open(&a.path)?;
    let inspection = Inspection::new(model, scheme, &policy);
    let report = cli::run::run(&inspection, a.quiet)?;
    let format = if a.json {
        "json"
    } else if a.csv {
        "csv"
    } else if a.markdown {
        "markdown"
    } else {
        "table"
    };
    let out = export::by_name(format)
        .expect("known format")
        .render(&report);
    print!("{out}");
    let mut failed = report.has_errors();
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
    if report.has_errors() {
        eprintln!("quantlens: the report has error-level findings");
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
