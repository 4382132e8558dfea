//! SHA-256 of model files on disk: computing them in parallel and checking
//! them against `--sha256 FILE=HEX` and a `SHA256SUMS` file.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use quantlens::checks::digests::Expected;
use quantlens::sha::{hex, sha256};
use quantlens::{FileSource, Finding};
use rayon::prelude::*;

pub use quantlens::checks::digests::SUMS_FILE;

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

/// The text of the `SHA256SUMS` file in `dir`, if there is one.
pub fn sums_text(dir: &Path) -> Result<Option<String>> {
    let sums = dir.join(SUMS_FILE);
    if !sums.is_file() {
        return Ok(None);
    }
    std::fs::read_to_string(&sums)
        .map(Some)
        .with_context(|| format!("{}: cannot read", sums.display()))
}

/// The digests of those of `names` that are files in `dir`, in parallel
/// (file name to hex); absent files are left out.
pub fn actual(dir: &Path, names: &[String]) -> Result<BTreeMap<String, String>> {
    let present: Vec<&String> = names.iter().filter(|n| dir.join(n).is_file()).collect();
    let paths: Vec<PathBuf> = present.iter().map(|n| dir.join(n)).collect();
    Ok(present.into_iter().cloned().zip(digests(&paths)?).collect())
}

/// Checks the files of `dir` against its `SHA256SUMS` (if any) and
/// `args` (`(name, hex)` pairs, which take precedence).
pub fn check_dir(dir: &Path, args: &[(String, String)]) -> Result<Vec<Finding>> {
    let want = Expected::new(sums_text(dir)?.as_deref(), args);
    let names: Vec<String> = want.digests.keys().cloned().collect();
    Ok(want.findings(&actual(dir, &names)?))
}
