//! SHA-256 of model files on disk: computing them in parallel and reading
//! a model folder's `SHA256SUMS` safely. What the digests should be, and
//! the findings, come from [`quantlens::checks::digests`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use quantlens::checks::digests::Expected;
use quantlens::checks::sha::{hex, sha256};
use quantlens::{FileSource, Finding, Severity};
use rayon::prelude::*;

use super::safe_path::ModelFolder;

pub use quantlens::checks::digests::SUMS_FILE;

/// The largest `SHA256SUMS` read: 1 MiB holds about 12 000 lines, far
/// more files than any model folder has.
pub const MAX_SUMS_BYTES: u64 = 1 << 20;

/// SHA-256 (hex) of each path, in parallel, in the order given.
pub fn digests(paths: &[PathBuf]) -> Result<Vec<String>> {
    paths
        .par_iter()
        .map(|p| {
            let f = File::open(p).with_context(|| format!("{}: cannot open", p.display()))?;
            let src = FileSource::new(f)?;
            let name = p.display().to_string();
            Ok(hex(&sha256(&name, &src, |_| {})?))
        })
        .collect()
}

/// The text of the `SHA256SUMS` file in `dir`, if there is one. A sums
/// file that is linked out of the folder, unreadable or larger than
/// [`MAX_SUMS_BYTES`] is not read: it becomes a `bad_sums_file` warning.
pub fn sums_text(dir: &Path) -> (Option<String>, Vec<Finding>) {
    match read_sums(dir) {
        Ok(text) => (text, Vec::new()),
        Err(why) => (
            None,
            vec![Finding::file(
                "bad_sums_file",
                Severity::Warning,
                SUMS_FILE,
                format!("{SUMS_FILE} was not read: it is {why}"),
            )],
        ),
    }
}

/// The `SHA256SUMS` of `dir`, read through [`ModelFolder::file`] and
/// refused above [`MAX_SUMS_BYTES`] without reading more than that.
fn read_sums(dir: &Path) -> Result<Option<String>, String> {
    let folder = ModelFolder::new(dir).map_err(|e| format!("unreadable ({e:#})"))?;
    let Some(path) = folder.file(SUMS_FILE)? else {
        return Ok(None);
    };
    let file = File::open(&path).map_err(|e| format!("unreadable ({e})"))?;
    let mut bytes = Vec::new();
    file.take(MAX_SUMS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("unreadable ({e})"))?;
    if bytes.len() as u64 > MAX_SUMS_BYTES {
        return Err(format!("larger than {MAX_SUMS_BYTES} bytes"));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The digests of those of `names` that are files of `dir` under the
/// folder's link rule (file name to hex), in parallel; absent or refused
/// files are left out, so they are reported as not present.
pub fn actual(dir: &Path, names: &[String]) -> Result<BTreeMap<String, String>> {
    let folder = ModelFolder::new(dir)?;
    let mut present = Vec::new();
    let mut paths = Vec::new();
    for name in names {
        if let Ok(Some(p)) = folder.file(name) {
            present.push(name.clone());
            paths.push(p);
        }
    }
    Ok(present.into_iter().zip(digests(&paths)?).collect())
}

/// Checks the files of `dir` against its `SHA256SUMS` (if any) and
/// `args` (`(name, hex)` pairs, which take precedence).
pub fn check_dir(dir: &Path, args: &[(String, String)]) -> Result<Vec<Finding>> {
    let (text, mut findings) = sums_text(dir);
    let want = Expected::new(text.as_deref(), args);
    let names: Vec<String> = want.digests.keys().cloned().collect();
    findings.extend(want.findings(&actual(dir, &names)?));
    Ok(findings)
}
