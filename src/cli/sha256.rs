//! `quantlens sha256 PATH...`: digests in sha256sum's format.

use std::path::PathBuf;
use std::process::ExitCode;

use quantlens::report::export;

/// Runs `sha256`: a folder means the files directly in it, in name order.
pub fn command(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    for (p, d) in files.iter().zip(super::sums::digests(&files)?) {
        println!("{d}  {}", export::printable(&p.display().to_string()));
    }
    Ok(ExitCode::SUCCESS)
}
