//! `quantlens outputs MODEL [CONVERTED]`, and the `--outputs` check that
//! `inspect` and `verify` embed: reading the side files from disk,
//! printing, and the exit-code gates.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use quantlens::outputs::side::{FIXED, MAX_SIDE_BYTES};
use quantlens::outputs::{inputs, Input, Observer, OutputCheck, OutputsReport, SideFiles};
use quantlens::{Model, Policy, Scheme};

use clap::Args;

use super::folder::model_dir;

/// The output check's inputs and gates, shared by `outputs`, `inspect --outputs` and `verify --outputs`.
#[derive(Args)]
pub struct OutputsGate {
    /// Inputs, one per line (a TAB between the two texts of a pair); built-in inputs otherwise.
    #[arg(long, value_name = "FILE")]
    pub text: Option<PathBuf>,
    /// Exit 1 if the smallest embedding cosine (for a classifier, the last layer's mean cosine) is below X.
    #[arg(long, value_name = "X")]
    pub fail_below_cosine: Option<f64>,
    /// Exit 1 if a classifier's largest KL divergence, or a decoder's mean next-token KL divergence, is above X.
    #[arg(long, value_name = "X")]
    pub fail_above_kld: Option<f64>,
}

/// `quantlens outputs` arguments.
#[derive(Args)]
pub struct OutputsArgs {
    /// The original model folder.
    model: PathBuf,
    /// A converted model folder to compare with (otherwise --scheme is applied on the fly).
    converted: Option<PathBuf>,
    #[command(flatten)]
    scheme: quantlens::InspectOptions,
    #[command(flatten)]
    gate: OutputsGate,
    /// Print the JSON report.
    #[arg(long, conflicts_with_all = ["csv", "markdown"])]
    json: bool,
    /// Print CSV (one line per layer, then per input).
    #[arg(long, conflicts_with = "markdown")]
    csv: bool,
    /// Print a Markdown report.
    #[arg(long)]
    markdown: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// `quantlens outputs`.
pub fn command(a: OutputsArgs) -> Result<ExitCode> {
    let (scheme, policy) = a.scheme.resolve()?;
    let model = super::folder::open(&a.model)?;
    let converted = a
        .converted
        .as_deref()
        .map(super::folder::open)
        .transpose()?;
    let r = check(
        &a.model,
        model,
        converted,
        scheme,
        policy,
        a.gate.text.as_deref(),
        a.quiet,
    )?;
    let format = if a.json {
        "json"
    } else if a.csv {
        "csv"
    } else if a.markdown {
        "markdown"
    } else {
        "table"
    };
    Ok(print_and_gate(
        &r,
        format,
        a.gate.fail_below_cosine,
        a.gate.fail_above_kld,
    ))
}

/// Reads the tokenizer and sentence-transformers files of a model folder.
pub fn side_files(model_path: &Path) -> Result<SideFiles> {
    let dir = model_dir(model_path);
    let mut side = SideFiles::new();
    let read = |rel: &str, side: &mut SideFiles| -> Result<()> {
        let p = dir.join(rel);
        if p.is_file() {
            let len = std::fs::metadata(&p)?.len();
            if len > MAX_SIDE_BYTES {
                bail!("{}: {len} bytes is too large for a side file", p.display());
            }
            side.insert(
                rel,
                std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))?,
            );
        }
        Ok(())
    };
    for f in FIXED {
        read(f, &mut side)?;
    }
    for m in side.module_paths() {
        read(&format!("{m}/config.json"), &mut side)?;
    }
    Ok(side)
}

/// Reads `--text FILE` (at most 16 MB).
pub fn read_inputs(path: &Path) -> Result<Vec<Input>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot open", path.display()))?
        .len();
    if len > 16 << 20 {
        bail!(
            "{}: {len} bytes is too large for an input file (16 MB at most)",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: not readable UTF-8 text", path.display()))?;
    Ok(inputs::parse(&text, &path.display().to_string())?)
}

/// Draws per-layer progress on stderr when it is a terminal.
struct Progress(indicatif::ProgressBar);

impl Observer for Progress {
    fn progress(&mut self, done: usize, total: usize) -> bool {
        self.0.set_length(total as u64);
        self.0.set_position(done as u64);
        true
    }
}

/// Runs the check: against `converted` when given, else `scheme` on the fly.
pub fn check(
    model_path: &Path,
    original: Model,
    converted: Option<Model>,
    scheme: Scheme,
    policy: Policy,
    text: Option<&Path>,
    quiet: bool,
) -> Result<OutputsReport> {
    let side = side_files(model_path)?;
    let mut c = match converted {
        Some(conv) => OutputCheck::with_converted(original, &side, conv)?,
        None => OutputCheck::with_scheme(original, &side, scheme, policy)?,
    };
    let inputs = match text {
        Some(p) => read_inputs(p)?,
        None => c.builtin_inputs(),
    };
    let bar = super::progress::bar("outputs", 1, quiet);
    let r = c.run(&inputs, &mut Progress(bar.clone()))?;
    bar.finish_and_clear();
    Ok(r)
}

/// The figure a `--fail-below-cosine` gate reads: the smallest embedding
/// cosine, or the last layer's mean token cosine when there is no embedding.
pub fn gate_cosine(r: &OutputsReport) -> f64 {
    match &r.embedding {
        Some(e) => e.cosine_min,
        None => r.layers.last().map_or(1.0, |l| l.cosine),
    }
}

/// Applies the gates; true when one failed (its reason on stderr).
pub fn gates(r: &OutputsReport, below_cosine: Option<f64>, above_kld: Option<f64>) -> bool {
    let mut failed = false;
    if let Some(x) = below_cosine {
        let c = gate_cosine(r);
        if c < x {
            eprintln!("quantlens: output cosine {c:.6} is below --fail-below-cosine {x}");
            failed = true;
        }
    }
    if let (Some(x), Some(n)) = (above_kld, &r.next_token) {
        if n.kld_mean > x {
            eprintln!(
                "quantlens: mean next-token KL divergence {:.3e} is above --fail-above-kld {x}",
                n.kld_mean
            );
            failed = true;
        }
    }
    if let (Some(x), Some(c)) = (above_kld, &r.classification) {
        if c.kld_max > x {
            eprintln!(
                "quantlens: KL divergence {:.3e} is above --fail-above-kld {x}",
                c.kld_max
            );
            failed = true;
        }
    }
    failed
}

/// Renders the report alone in a format (`table`, `json`, `csv`, `markdown`).
pub fn render(r: &OutputsReport, format: &str) -> String {
    match format {
        "json" => r.to_json(),
        "csv" => r.to_csv(),
        "markdown" => r.to_markdown(),
        _ => r.to_text(),
    }
}

/// Adds the outputs to an `inspect`/`verify` rendering: a top-level
/// `outputs` key in JSON, a section appended otherwise.
pub fn attach(rendered: String, format: &str, r: &OutputsReport) -> String {
    if format == "json" {
        if let Ok(serde_json::Value::Object(mut m)) = serde_json::from_str(&rendered) {
            m.insert(
                "outputs".into(),
                serde_json::to_value(r).expect("serialisable"),
            );
            return serde_json::to_string_pretty(&m).expect("serialisable") + "\n";
        }
    }
    format!("{rendered}\n{}", render(r, format))
}

/// `quantlens outputs`: prints and gates.
pub fn print_and_gate(
    r: &OutputsReport,
    format: &str,
    below_cosine: Option<f64>,
    above_kld: Option<f64>,
) -> ExitCode {
    print!("{}", render(r, format));
    if gates(r, below_cosine, above_kld) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
