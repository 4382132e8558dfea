//! SHA-256 of model files on disk: computing them in parallel and checking
//! them against `--sha256 FILE=HEX` and a `SHA256SUMS` file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use quantlens::sha::{check, hex, parse_sums, sha256};
use quantlens::{FileSource, Finding, Severity};
use rayon::prelude::*;

use super::safe_path::ModelFolder;

/// The name of the digest file looked for in a model folder.
pub const SUMS_FILE: &str = "SHA256SUMS";

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

/// Expected digests for files of `dir`: its `SHA256SUMS` (if any),
/// overridden by `args` (`(name, hex)` pairs). Malformed lines of the
/// sums file become warnings.
pub fn expectations(
    dir: &Path,
    args: &[(String, String)],
) -> Result<(BTreeMap<String, String>, Vec<Finding>)> {
    let mut want = BTreeMap::new();
    let mut findings = Vec::new();
    match read_sums(dir) {
        Ok(None) => {}
        Ok(Some(text)) => {
            let (ok, bad) = parse_sums(&text);
            want.extend(ok);
            if !bad.is_empty() {
                let shown: Vec<usize> = bad.iter().copied().take(10).collect();
                let more = match bad.len() - shown.len() {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                findings.push(bad_sums(format!(
                    "{SUMS_FILE}: lines {shown:?}{more} are not `HEX  NAME` and were ignored"
                )));
            }
        }
        Err(why) => findings.push(bad_sums(format!("{SUMS_FILE} was not read: it is {why}"))),
    }
    want.extend(args.iter().cloned());
    Ok((want, findings))
}

/// The warning about a `SHA256SUMS` file.
fn bad_sums(message: String) -> Finding {
    Finding::file("bad_sums_file", Severity::Warning, SUMS_FILE, message)
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

/// Checks the files of `dir` against the expected digests: a
/// `sha256_mismatch` error for a differing or absent file, a
/// `sha256_verified` info finding for a matching one.
pub fn check_dir(dir: &Path, args: &[(String, String)]) -> Result<Vec<Finding>> {
    let (want, mut findings) = expectations(dir, args)?;
    let folder = ModelFolder::new(dir)?;
    let mut present = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    for (name, hexd) in &want {
        let why = match folder.file(name) {
            Ok(Some(p)) => {
                present.push((name, hexd));
                paths.push(p);
                continue;
            }
            Ok(None) => "it is not present".to_string(),
            Err(why) => format!("it was not read: it is {why}"),
        };
        findings.push(Finding::file(
            "sha256_mismatch",
            Severity::Error,
            name,
            format!("{name} should have SHA-256 {hexd}, but {why}"),
        ));
    }
    let got = digests(&paths)?;
    for ((name, expected), actual) in present.iter().zip(got) {
        findings.push(check(name, &actual, expected).unwrap_or_else(|| {
            Finding::file(
                "sha256_verified",
                Severity::Info,
                name,
                format!("{name} has the expected SHA-256 {actual}"),
            )
        }));
    }
    Ok(findings)
}
