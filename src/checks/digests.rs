//! Expected SHA-256 digests of a model's files, from a `SHA256SUMS` file
//! and from options, and the findings that comparing them gives. The
//! drivers hash the files (the CLI from disk, the page by range reads);
//! the wording of every finding lives here.

use std::collections::BTreeMap;

use crate::checks::sha::{check, parse_sums};
use crate::{Finding, Severity};

/// The name of the digest file looked for beside a model.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// Which files should have which digest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    /// File name to lowercase hex digest, in name order.
    pub digests: BTreeMap<String, String>,
    /// Problems with the sums file itself (lines that are not digests).
    pub findings: Vec<Finding>,
}

impl Expected {
    /// The digests of a `SHA256SUMS` text (if any), overridden by `pairs`
    /// (`(file name, hex)`). Malformed lines of the sums text become a
    /// `bad_sums_file` warning.
    pub fn new(sums: Option<&str>, pairs: &[(String, String)]) -> Self {
        let mut e = Expected::default();
        if let Some(text) = sums {
            let (ok, bad) = parse_sums(text);
            e.digests.extend(ok);
            if !bad.is_empty() {
                // A hostile sums file can have millions of bad lines: name ten.
                let shown: Vec<usize> = bad.iter().copied().take(10).collect();
                let more = match bad.len() - shown.len() {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                e.findings.push(Finding::file(
                    "bad_sums_file",
                    Severity::Warning,
                    SUMS_FILE,
                    format!(
                        "{SUMS_FILE}: lines {shown:?}{more} are not `HEX  NAME` and were ignored"
                    ),
                ));
            }
        }
        e.digests.extend(pairs.iter().cloned());
        e
    }

    /// The findings for the files' actual digests (`actual`: file name to
    /// hex; a name missing from it is a file that is not present): a
    /// `sha256_mismatch` error for a differing or absent file, a
    /// `sha256_verified` info finding for a matching one.
    pub fn findings(&self, actual: &BTreeMap<String, String>) -> Vec<Finding> {
        let mut out = self.findings.clone();
        for (name, expected) in &self.digests {
            out.push(match actual.get(name) {
                None => Finding::file(
                    "sha256_mismatch",
                    Severity::Error,
                    name,
                    format!("{name} should have SHA-256 {expected}, but it is not present"),
                ),
                Some(got) => check(name, got, expected).unwrap_or_else(|| {
                    Finding::file(
                        "sha256_verified",
                        Severity::Info,
                        name,
                        format!("{name} has the expected SHA-256 {got}"),
                    )
                }),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_overridden_by_pairs_and_every_outcome_named() {
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        let e = Expected::new(
            Some(&format!("{a}  x.safetensors\n{a}  y.json\nnonsense\n")),
            &[("y.json".into(), b.clone()), ("z".into(), a.clone())],
        );
        assert_eq!(e.digests["y.json"], b);
        let actual: BTreeMap<String, String> = [
            ("x.safetensors".into(), a.clone()),
            ("y.json".into(), a.clone()),
        ]
        .into();
        let codes: Vec<(String, Option<String>)> = e
            .findings(&actual)
            .into_iter()
            .map(|f| (f.code, f.file))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("bad_sums_file".into(), Some(SUMS_FILE.into())),
                ("sha256_verified".into(), Some("x.safetensors".into())),
                ("sha256_mismatch".into(), Some("y.json".into())),
                ("sha256_mismatch".into(), Some("z".into())),
            ]
        );
    }
}
