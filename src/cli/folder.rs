//! Turning a path on disk into the named byte sources the core reads.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use quantlens::{FileSource, Model, ModelInput, NamedSource, MAX_HEADER_BYTES};

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
}

/// Finds the safetensors files, index and config at `path`: a model
/// folder, a single `.safetensors` file, or a `*.safetensors.index.json`.
pub fn discover(path: &Path) -> Result<ModelFiles> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let (dir, single) = if meta.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        (dir, Some(path.to_path_buf()))
    };
    let config = Some(dir.join("config.json")).filter(|p| p.is_file());
    if let Some(file) = single {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".index.json") {
            let safetensors = list(&dir)?;
            return Ok(ModelFiles {
                safetensors,
                index: Some(file),
                config,
            });
        }
        return Ok(ModelFiles {
            safetensors: vec![file],
            index: None,
            config,
        });
    }
    let safetensors = list(&dir)?;
    let mut indexes: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(".safetensors.index.json"))
        .collect();
    indexes.sort();
    let preferred = dir.join("model.safetensors.index.json");
    let index = if indexes.contains(&preferred) {
        Some(preferred)
    } else {
        indexes.into_iter().next()
    };
    if safetensors.is_empty() {
        bail!("{}: no .safetensors file in this folder", dir.display());
    }
    Ok(ModelFiles {
        safetensors,
        index,
        config,
    })
}

fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    v.sort();
    Ok(v)
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
/// [`super::sums::sums_text`]).
pub fn input(path: &Path) -> Result<ModelInput> {
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
    Ok(ModelInput {
        files: sources,
        index,
        config,
        sums: None,
    })
}

/// Opens the model at `path`, tolerating damaged or missing shards (they
/// become findings).
pub fn open(path: &Path) -> Result<Model> {
    let input = input(path)?;
    let model = quantlens::sanity::open_tolerant(
        input.files,
        input
            .index
            .as_ref()
            .map(|(n, b)| (n.as_str(), b.as_slice())),
        input.config.as_deref(),
    )?;
    Ok(model)
}
