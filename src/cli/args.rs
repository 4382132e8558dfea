//! The command line's arguments: the clap structs of every command, and
//! the value parsers they share.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use quantlens::InspectOptions;

#[derive(Parser)]
#[command(
    name = "quantlens",
    version,
    about = "Inspect safetensors models and measure exactly what quantization does to every layer"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Analyse a model folder or file: every tensor, quantized or kept, with exact error metrics.
    Inspect(InspectArgs),
    /// Check a converted model against its original: every tensor read back and measured, with structural findings.
    Verify(VerifyArgs),
    /// Convert a model to real int8 (int8 weights + f32 scales) or MLX's quantized format, then verify the output.
    Convert(ConvertArgs),
    /// Run the original and the quantized model on the same inputs, layer by layer, and compare their outputs.
    Outputs(super::outputs::OutputsArgs),
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
pub struct OutputArgs {
    /// Print the JSON report (the documented contract).
    #[arg(long, conflicts_with_all = ["csv", "markdown"])]
    pub json: bool,
    /// Print one CSV line per tensor.
    #[arg(long, conflicts_with = "markdown")]
    pub csv: bool,
    /// Print a Markdown report.
    #[arg(long)]
    pub markdown: bool,
    /// Exit 1 if any layer's relative error exceeds this (a fraction like 0.05, or 5%).
    #[arg(long, value_name = "REL", value_parser = parse_rel)]
    pub fail_above: Option<f64>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl OutputArgs {
    pub fn format(&self) -> &'static str {
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
pub struct InspectArgs {
    /// A model folder, a .safetensors file, or a model.safetensors.index.json.
    pub path: PathBuf,
    #[command(flatten)]
    pub options: InspectOptions,
    #[command(flatten)]
    pub read_budget: ReadBudget,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub checks: ChecksArgs,
}

/// Memory for keeping tensors whole between the analysis's passes.
#[derive(Args)]
pub struct ReadBudget {
    /// MiB of memory, shared by the threads, for keeping a tensor's decoded values between passes so that it is read once (int8-tensor needs the tensor's max before its error pass); larger tensors are read twice [default: 1024, and at least 64 per thread].
    #[arg(long = "read-budget", value_name = "MIB")]
    pub mib: Option<u64>,
}

impl ReadBudget {
    /// Each analysing thread's share, in bytes.
    pub fn per_thread(&self) -> u64 {
        const MIB: u64 = 1 << 20;
        let threads = rayon::current_num_threads().max(1) as u64;
        match self.mib {
            Some(mib) => mib.saturating_mul(MIB) / threads,
            None => (1024 * MIB / threads).max(64 * MIB),
        }
    }
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The original model: a folder, a .safetensors file or an index.
    pub original: PathBuf,
    /// The converted model to check against it.
    pub converted: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub checks: ChecksArgs,
}

/// The digests and the output check that `inspect` and `verify` both add.
#[derive(Args)]
pub struct ChecksArgs {
    /// Expected SHA-256 of a file of the model (for verify, of the converted model), as FILE=HEX (repeatable; a SHA256SUMS file in a model folder is read too).
    #[arg(long = "sha256", value_name = "FILE=HEX", value_parser = quantlens::pipeline::parse_sha)]
    pub sha256: Vec<(String, String)>,
    /// Also run the output check (inspect: the scheme applied on the fly; verify: original against converted) and embed its `outputs` object.
    #[arg(long)]
    pub outputs: bool,
    #[command(flatten)]
    pub gate: super::outputs::OutputsGate,
}

#[derive(Args)]
pub struct ConvertArgs {
    /// The model to convert: a folder, a .safetensors file or an index.
    pub input: PathBuf,
    /// The output folder (must not exist, or be empty; never inside the input).
    pub output: PathBuf,
    /// Output format: int8 (int8 weights + f32 `.__scale__`) or mlx (packed u32 codes + scales, and biases in affine mode).
    #[arg(long)]
    pub format: String,
    /// int8: int8-tensor (default) or int8-channel; mlx: affine.
    #[arg(long)]
    pub scheme: Option<String>,
    /// MLX mode: affine (default), mxfp4 (4-bit, groups of 32), mxfp8 (8-bit, groups of 32) or nvfp4 (4-bit, groups of 16).
    #[arg(long)]
    pub mode: Option<String>,
    /// Bits per weight for --mode affine (2, 3, 4, 5, 6 or 8; default 4).
    #[arg(long)]
    pub bits: Option<u8>,
    /// Group size for --mode affine (32, 64 or 128; default 64); other modes have their own.
    #[arg(long)]
    pub group_size: Option<u32>,
    /// Leave layers matching this glob (module path or tensor name) in float (repeatable; mlx only).
    #[arg(long, value_name = "GLOB")]
    pub keep: Vec<String>,
    /// Quantize layers matching GLOB with B bits, e.g. '*.v_proj=6' (repeatable, first match wins; mlx affine only).
    #[arg(long, value_name = "GLOB=B")]
    pub bits_for: Vec<String>,
    /// Largest output shard in bytes (an index is written when there are several).
    #[arg(long, default_value_t = super::write::SHARD_BYTES, hide = true)]
    pub shard_size: u64,
    /// Print the verification report as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Parses a relative error: a fraction like 0.05, or a percentage like 5%.
pub fn parse_rel(s: &str) -> Result<f64, String> {
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
