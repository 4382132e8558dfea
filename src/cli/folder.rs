//! Turning a path on disk into the named byte sources the core reads.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use quantlens::{FileSource, Finding, Model, ModelInput, NamedSource, Severity, MAX_HEADER_BYTES};

use super::safe_path::ModelFolder;

/// The folder a model path lives in (the path itself for a folder).
pub fn model_dir(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// What was found at a model path.
pub struct ModelFiles {
    pub safetensors: Vec<PathBuf>,
    pub index: Option<PathBuf>,
    pub config: Option<PathBuf>,
    /// Files left unread, by name, with the reason (links leading out of
    /// the folder, devices).
    pub skipped: Vec<(String, String)>,
}

// The page's www/shared/classify.js names the same kinds of file, but
// sorts a flat list of dropped paths at any depth (the shallowest folder
// with safetensors files is the model) under a browser's memory cap; this
// reads one folder on disk through the link rule, so the two stay apart.
/// Finds the safetensors files, index and config at `path`: a model
/// folder, a single `.safetensors` file, or a `*.safetensors.index.json`.
/// A file named on the command line is read as given; files found in its
/// folder are read only as [`ModelFolder::file`] allows.
pub fn discover(path: &Path) -> Result<ModelFiles> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let single = (!meta.is_dir()).then(|| path.to_path_buf());
    let folder = ModelFolder::new(&model_dir(path))?;
    let mut skipped = Vec::new();
    let mut pick = |name: &str| match folder.file(name) {
        Ok(p) => p,
        Err(why) => {
            skipped.push((name.to_string(), why));
            None
        }
    };
    let config = pick("config.json");
    let names = folder.names()?;
    let mut safetensors = Vec::new();
    let mut indexes = Vec::new();
    let single_name = single.as_ref().and_then(|f| f.file_name()?.to_str());
    let explicit_index = single_name.is_some_and(|n| n.ends_with(".index.json"));
    if let (Some(file), false) = (&single, explicit_index) {
        safetensors.push(file.clone());
    } else {
        for n in &names {
            if n.ends_with(".safetensors") {
                safetensors.extend(pick(n));
            } else if n.ends_with(".safetensors.index.json") && !explicit_index {
                indexes.extend(pick(n));
            }
        }
    }
    let index = if explicit_index {
        single
    } else {
        let preferred = folder.dir().join("model.safetensors.index.json");
        if indexes.contains(&preferred) {
            Some(preferred)
        } else {
            indexes.into_iter().next()
        }
    };
    if safetensors.is_empty() {
        let why = skipped
            .iter()
            .filter(|(n, _)| n.ends_with(".safetensors"))
            .map(|(n, why)| format!("; {n} was skipped: {why}"))
            .collect::<String>();
        bail!(
            "{}: no .safetensors file in this folder{why}",
            folder.dir().display()
        );
    }
    Ok(ModelFiles {
        safetensors,
        index,
        config,
        skipped,
    })
}

/// Reads a small JSON side file whole, refusing anything larger than a
/// safetensors header may be.
fn read_small(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    if len > MAX_HEADER_BYTES {
        bail!(
            "{}: {len} bytes is too large for a JSON side file",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// The files of the model at `path` as the core takes them: byte sources,
/// the index and config bytes (no `SHA256SUMS` text: see
/// [`super::sums::sums_text`]), and a `skipped_file` finding for each
/// file of the folder that the link rule refused.
pub fn input(path: &Path) -> Result<(ModelInput, Vec<Finding>)> {
    let files = discover(path)?;
    let mut sources = Vec::new();
    for p in &files.safetensors {
        let f = File::open(p).with_context(|| format!("{}: cannot open", p.display()))?;
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        sources.push(NamedSource::new(name, Arc::new(FileSource::new(f)?)));
    }
    let index = files
        .index
        .as_ref()
        .map(|p| {
            Ok::<_, anyhow::Error>((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                read_small(p)?,
            ))
        })
        .transpose()?;
    let config = files.config.as_deref().map(read_small).transpose()?;
    let skipped = files
        .skipped
        .iter()
        .map(|(name, why)| skipped_finding(name, why))
        .collect();
    let input = ModelInput {
        files: sources,
        index,
        config,
        sums: None,
    };
    Ok((input, skipped))
}

/// Opens the model at `path`, tolerating damaged or missing shards (they
/// become findings).
pub fn open(path: &Path) -> Result<Model> {
    let (input, skipped) = input(path)?;
    let mut model = input.open()?;
    model.findings.extend(skipped);
    Ok(model)
}

/// The finding for a file of the model folder that was not read: an
/// error for a weight file or index (the model is incomplete), a warning
/// for `config.json`.
pub fn skipped_finding(name: &str, why: &str) -> Finding {
    let weights = name.ends_with(".safetensors") || name.ends_with(".index.json");
    Finding::file(
        "skipped_file",
        if weights {
            Severity::Error
        } else {
            Severity::Warning
        },
        name,
        format!("{name} was not read: it is {why}"),
    )
}
