//! SHA-256 of model files on disk: computing them in parallel and checking
//! them against `--sha256 FILE=HEX` and a `SHA256SUMS` file.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use quantlens::sha::{check, hex, parse_sums, sha256};
use quantlens::{FileSource, Finding, Severity};
use rayon::prelude::*;

/// The name of the digest file looked for in a model folder.
pub const SUMS_FILE: &str = "SHA256SUMS";

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
    let sums = dir.join(SUMS_FILE);
    if sums.is_file() {
        let text = std::fs::read_to_string(&sums)
            .with_context(|| format!("{}: cannot read", sums.display()))?;
        let (ok, bad) = parse_sums(&text);
        want.extend(ok);
        if !bad.is_empty() {
            findings.push(Finding::file(
                "bad_sums_file",
                Severity::Warning,
                SUMS_FILE,
                format!("{SUMS_FILE}: lines {bad:?} are not `HEX  NAME` and were ignored"),
            ));
        }
    }
    want.extend(args.iter().cloned());
    Ok((want, findings))
}

/// Checks the files of `dir` against the expected digests: a
/// `sha256_mismatch` error for a differing or absent file, a
/// `sha256_verified` info finding for a matching one.
pub fn check_dir(dir: &Path, args: &[(String, String)]) -> Result<Vec<Finding>> {
    let (want, mut findings) = expectations(dir, args)?;
    let (present, absent): (Vec<_>, Vec<_>) =
        want.iter().partition(|(name, _)| dir.join(name).is_file());
    for (name, hexd) in absent {
        findings.push(Finding::file(
            "sha256_mismatch",
            Severity::Error,
            name,
            format!("{name} should have SHA-256 {hexd}, but it is not present"),
        ));
    }
    let paths: Vec<PathBuf> = present.iter().map(|(n, _)| dir.join(n)).collect();
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
