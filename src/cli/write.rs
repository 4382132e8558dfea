//! Writing a converted model for `convert`: a real int8 or MLX model through the
//! `safetensors` crate's serializer, shard by shard (each shard's tensors
//! are built in parallel in memory), every file under a temporary name
//! renamed when complete, then re-reads the output and verifies it against
//! the input before reporting success.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use quantlens::convert::{
    convert_tensor, mlx_config, out_bytes, plan_mixed, Mixed, OutTensor, Target,
};
use quantlens::{Model, Report};
use rayon::prelude::*;

use super::safe_path::ModelFolder;
use super::side_files;

/// Largest output shard, as in the Hub's convention.
pub const SHARD_BYTES: u64 = 5_000_000_000;

/// What a finished conversion wrote and how it verified.
pub struct Converted {
    /// Files written, in order.
    pub files: Vec<PathBuf>,
    /// The verification of the output against the input.
    pub report: Report,
    /// Side files of the input not copied, by name, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// An absolute, symlink-free form of `p`, which need not exist yet: its
/// nearest existing ancestor is canonicalised and the rest appended.
fn resolve(p: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(p).with_context(|| format!("{}: bad path", p.display()))?;
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(n) => rest.push(n.to_os_string()),
            None => break,
        }
        if !existing.pop() {
            break;
        }
    }
    let mut out = existing
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve", existing.display()))?;
    for n in rest.into_iter().rev() {
        if Path::new(&n)
            .components()
            .any(|c| c == Component::ParentDir)
        {
            bail!("{}: '..' in a path that does not exist yet", p.display());
        }
        out.push(n);
    }
    Ok(out)
}

/// Refuses an output equal to, inside, or containing the input folder, and
/// an output that exists and is not an empty folder.
pub fn check_output(input_dir: &Path, out: &Path) -> Result<()> {
    let i = resolve(input_dir)?;
    let o = resolve(out)?;
    if o == i {
        bail!(
            "{}: the output is the input folder; refusing to write over the input",
            out.display()
        );
    }
    if o.starts_with(&i) {
        bail!(
            "{}: the output is inside the input folder {}; refusing to write into the input",
            out.display(),
            i.display()
        );
    }
    if i.starts_with(&o) {
        bail!(
            "{}: the output folder contains the input; refusing to write over the input",
            out.display()
        );
    }
    if o.exists() {
        if !o.is_dir() {
            bail!(
                "{}: exists and is not a folder; refusing to overwrite it",
                out.display()
            );
        }
        if std::fs::read_dir(&o)?.next().is_some() {
            bail!(
                "{}: exists and is not empty; refusing to overwrite it",
                out.display()
            );
        }
    }
    Ok(())
}

/// The temporary name a file is written under before its rename.
fn partial(path: &Path) -> PathBuf {
    let name = path.file_name().expect("file name").to_string_lossy();
    path.with_file_name(format!(".{name}.partial"))
}

/// Writes bytes to `path` through a temporary name.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial(path);
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot rename", path.display()))?;
    Ok(())
}

struct View<'a>(&'a OutTensor, safetensors::Dtype, Vec<usize>);

impl safetensors::View for View<'_> {
    fn dtype(&self) -> safetensors::Dtype {
        self.1
    }
    fn shape(&self) -> &[usize] {
        &self.2
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.0.data)
    }
    fn data_len(&self) -> usize {
        self.0.data.len()
    }
}

pub fn st_dtype(d: &quantlens::Dtype) -> Result<safetensors::Dtype> {
    serde_json::from_value(serde_json::Value::String(d.name().to_string()))
        .map_err(|_| anyhow::anyhow!("dtype {d} cannot be written by the safetensors crate"))
}

/// Splits tensor indices, in order, into shards of at most `limit`
/// output bytes (a tensor larger than the limit gets a shard of its own).
fn shards(sizes: &[(usize, u64)], limit: u64) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut acc = 0u64;
    for &(i, b) in sizes {
        if out.is_empty() || (acc + b > limit && acc > 0) {
            out.push(Vec::new());
            acc = 0;
        }
        out.last_mut().unwrap().push(i);
        acc += b;
    }
    out
}

/// One conversion: the model, where it was read from, and how to write it.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    /// The path the model was read from (its folder holds the side files).
    pub input: &'a Path,
    pub model: &'a Model,
    pub target: Target,
    pub mixed: &'a Mixed,
    /// The most output bytes in one shard (a larger tensor gets its own).
    pub shard_bytes: u64,
    pub quiet: bool,
}

/// Converts `job.model` into `out`.
pub fn convert(job: Job, out: &Path) -> Result<Converted> {
    let Job {
        input,
        model,
        target,
        mixed,
        shard_bytes,
        quiet,
    } = job;
    let input_dir = super::folder::model_dir(input);
    check_output(&input_dir, out)?;
    let planned = plan_mixed(model, target, mixed)?;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;

    let (decisions, targets) = (&planned.decisions, &planned.targets);
    let sizes: Vec<(usize, u64)> = (0..model.tensors.len())
        .map(|i| {
            let t = model.tensor(i).expect("in range").1;
            (i, out_bytes(t, decisions[i], targets[i]))
        })
        .collect();
    let groups = shards(&sizes, shard_bytes.max(1));
    let n = groups.len();
    let total_in: u64 = (0..model.tensors.len())
        .map(|i| model.tensor(i).expect("in range").1.bytes())
        .sum();
    let bar = super::progress::bar("converting ", total_in, quiet);
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), "pt".to_string());
    metadata.insert("quantization".to_string(), target.label());
    let mut files = Vec::new();
    let mut weight_map = BTreeMap::new();
    let mut total_size = 0u64;
    for (k, group) in groups.iter().enumerate() {
        let name = if n == 1 {
            "model.safetensors".to_string()
        } else {
            format!("model-{:05}-of-{:05}.safetensors", k + 1, n)
        };
        let tensors: Vec<Vec<OutTensor>> = group
            .par_iter()
            .map(|&i| {
                let r = convert_tensor(model, i, decisions[i], targets[i]);
                bar.inc(model.tensor(i).expect("in range").1.bytes());
                r
            })
            .collect::<Result<_, _>>()?;
        let tensors: Vec<OutTensor> = tensors.into_iter().flatten().collect();
        let mut views = Vec::with_capacity(tensors.len());
        for t in &tensors {
            let shape = t.shape.iter().map(|&d| d as usize).collect();
            views.push((t.name.clone(), View(t, st_dtype(&t.dtype)?, shape)));
            weight_map.insert(t.name.clone(), name.clone());
            total_size += t.data.len() as u64;
        }
        let path = out.join(&name);
        let tmp = partial(&path);
        safetensors::serialize_to_file(views, Some(metadata.clone()), &tmp)
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("{}: cannot rename", path.display()))?;
        files.push(path);
    }
    bar.finish_and_clear();
    if n > 1 {
        let index = serde_json::json!({ "metadata": { "total_size": total_size }, "weight_map": weight_map });
        let path = out.join("model.safetensors.index.json");
        write_atomic(&path, serde_json::to_string_pretty(&index)?.as_bytes())?;
        files.push(path);
    }
    let folder = ModelFolder::new(&input_dir)?;
    let mut skipped = Vec::new();
    // config.json: copied, with MLX's quantization block for --format mlx.
    let cfg_path = out.join("config.json");
    match target {
        Target::Mlx { .. } | Target::MlxFp { .. } => {
            let c = mlx_config(model.config.as_ref(), target, &planned.modules);
            write_atomic(&cfg_path, serde_json::to_string_pretty(&c)?.as_bytes())?;
            files.push(cfg_path);
        }
        Target::Int8 { .. } => match side_files::read(&folder, "config.json") {
            Ok(Some(bytes)) => {
                write_atomic(&cfg_path, &bytes)?;
                files.push(cfg_path);
            }
            Ok(None) => {}
            Err(why) => skipped.push(("config.json".to_string(), why)),
        },
    }
    let (copied, mut also_skipped) = side_files::copy_all(&folder, out, write_atomic)?;
    files.extend(copied);
    skipped.append(&mut also_skipped);

    // Re-read what was written and verify it against the input.
    let written = super::folder::open(out)?;
    let v = quantlens::Verification::new(model.clone(), written);
    let report = super::verify::run(&v, quiet)?;
    Ok(Converted {
        files,
        report,
        skipped,
    })
}

/// Writes every decodable tensor of `model` as f32, read back the way
/// `verify` reads it (int8 and MLX dequantized), to one safetensors file:
/// the values external checks (scripts/mlx_check_convert.py) compare with.
pub fn dequantize_to(model: &Model, out: &Path) -> Result<usize> {
    use quantlens::stored::{recognise, Dequantizer};
    let rec = recognise(model, &|_| None);
    let mut tensors = Vec::new();
    for l in rec.tensors.iter().filter(|l| l.layout.is_decodable()) {
        let mut d = Dequantizer::new(model, l)?;
        let mut vals = Vec::new();
        d.rows(0, l.rows(), &mut vals)?;
        tensors.push(OutTensor {
            name: l.name.clone(),
            dtype: quantlens::Dtype::F32,
            shape: l.shape.clone(),
            data: vals.iter().flat_map(|x| x.to_le_bytes()).collect(),
        });
    }
    let views: Vec<(String, View)> = tensors
        .iter()
        .map(|t| {
            let shape = t.shape.iter().map(|&d| d as usize).collect();
            (t.name.clone(), View(t, safetensors::Dtype::F32, shape))
        })
        .collect();
    let tmp = partial(out);
    safetensors::serialize_to_file(views, None, &tmp)?;
    std::fs::rename(&tmp, out)?;
    Ok(tensors.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_split_respects_the_limit() {
        let s = shards(&[(0, 4), (1, 4), (2, 9), (3, 1)], 8);
        assert_eq!(s, vec![vec![0, 1], vec![2], vec![3]]);
        assert_eq!(shards(&[(0, 1), (1, 1)], 100), vec![vec![0, 1]]);
    }
}
