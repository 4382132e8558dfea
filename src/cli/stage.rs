//! All or nothing for `convert`: the input is checked first (complete,
//! every dtype writable), the output is written into a hidden staging
//! folder beside OUT, verified there, and renamed to OUT only when the
//! whole conversion verified. On any failure the staging folder is
//! removed, so nothing is left under OUT's name.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use quantlens::convert::{plan_mixed, Mixed, Target};
use quantlens::{Decision, Model, Severity};

use super::write::{check_output, st_dtype, Converted, Job};

/// Refuses, before anything is written, an input that is incomplete (an
/// error-level finding: a truncated or missing shard, a weight file that
/// was not read), holds a tensor whose dtype cannot be written, or has no
/// tensor the target quantizes (its output would not be quantized).
pub fn check_input(model: &Model, target: Target, mixed: &Mixed) -> Result<()> {
    if let Some(f) = model
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
    {
        bail!("{}; refusing to convert an incomplete model", f.message);
    }
    if !plan_mixed(model, target, mixed)?
        .decisions
        .contains(&Decision::Quantize)
    {
        let files: Vec<&str> = model
            .shards
            .iter()
            .map(|s| s.header.file.as_str())
            .collect();
        bail!(
            "{}: no tensor is quantized by {} (every tensor is kept; `quantlens inspect` says why); nothing was converted",
            files.join(", "),
            target.label()
        );
    }
    for i in 0..model.tensors.len() {
        let (sh, t) = model.tensor(i)?;
        if st_dtype(&t.dtype).is_err() {
            bail!(
                "{}: tensor {:?} has dtype {:?}, which cannot be written to a safetensors file; nothing was converted",
                sh.header.file,
                t.name,
                t.dtype.name()
            );
        }
    }
    Ok(())
}

/// The staging folder for `out`: a hidden sibling named after it.
fn staging(out: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(out).with_context(|| format!("{}: bad path", out.display()))?;
    let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
        bail!("{}: the output must name a folder", out.display());
    };
    let name = format!(".{}.partial-{}", name.to_string_lossy(), std::process::id());
    Ok(parent.join(name))
}

/// Converts `job.model` into `out`, all or nothing: `out`
/// appears only when the report has no error. A report with errors is
/// returned with nothing left under `out`'s name.
pub fn convert(job: Job, out: &Path) -> Result<Converted> {
    check_input(job.model, job.target, job.mixed)?;
    check_output(&super::folder::model_dir(job.input), out)?;
    let stage = staging(out)?;
    if let Some(parent) = stage.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    std::fs::create_dir(&stage).with_context(|| format!("{}: cannot create", stage.display()))?;
    let result = super::write::convert(job, &stage).and_then(|done| {
        if done.report.has_errors() {
            return Ok(done);
        }
        publish(&stage, out)?;
        Ok(Converted {
            files: done
                .files
                .iter()
                .map(|f| match f.strip_prefix(&stage) {
                    Ok(rel) => out.join(rel),
                    Err(_) => f.clone(),
                })
                .collect(),
            ..done
        })
    });
    // Published, the staging folder is gone; otherwise it is removed.
    if stage.exists() {
        let _ = std::fs::remove_dir_all(&stage);
    }
    result
}

/// Renames the finished staging folder to `out` (an empty folder there is
/// replaced).
fn publish(stage: &Path, out: &Path) -> Result<()> {
    if out.is_dir() {
        // check_output let it through only if empty.
        std::fs::remove_dir(out).with_context(|| format!("{}: cannot replace", out.display()))?;
    }
    std::fs::rename(stage, out).with_context(|| format!("{}: cannot create", out.display()))
}
