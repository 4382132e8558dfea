//! The options of an inspection, one type for both drivers: the CLI parses
//! it from arguments (clap), the page from a JS object (serde, camelCase
//! keys). Defaults are the constants below, written once.

use serde::Deserialize;

use crate::checks::sha::is_sha256_hex;
use crate::{Error, Policy, PolicyKind, Scheme};

/// Scheme when none is given.
pub const DEFAULT_SCHEME: &str = "int8-tensor";
/// Affine bits when none are given.
pub const DEFAULT_BITS: u8 = 8;
/// Affine (and mlx policy) group size when none is given.
pub const DEFAULT_GROUP_SIZE: u32 = 64;
/// Layer policy when none is given.
pub const DEFAULT_POLICY: &str = "default";

/// How a model is inspected: scheme, layer policy and expected digests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct InspectOptions {
    /// Quantization scheme: int8-tensor, int8-channel or affine.
    #[cfg_attr(feature = "cli", arg(long, default_value = DEFAULT_SCHEME))]
    pub scheme: String,
    /// Bits per weight for the affine scheme (2, 3, 4, 5, 6 or 8).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = DEFAULT_BITS))]
    pub bits: u8,
    /// Group size along the last axis for the affine scheme and the mlx policy (32, 64 or 128).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = DEFAULT_GROUP_SIZE))]
    pub group_size: u32,
    /// Layer policy: default (float matrices that are not embeddings, norms or biases) or mlx (mlx-lm's rule).
    #[cfg_attr(feature = "cli", arg(long, default_value = DEFAULT_POLICY))]
    pub policy: String,
    /// Quantize float matrices whose name matches this glob, over the name rules (repeatable).
    #[cfg_attr(feature = "cli", arg(long = "include", value_name = "GLOB"))]
    pub include: Vec<String>,
    /// Keep tensors whose name matches this glob (repeatable).
    #[cfg_attr(feature = "cli", arg(long = "exclude", value_name = "GLOB"))]
    pub exclude: Vec<String>,
    /// Expected SHA-256 of files of the model, `(file name, hex)`. The
    /// command line takes them as `--sha256` on the commands that check
    /// digests, not with the scheme options other commands share.
    #[cfg_attr(feature = "cli", arg(skip))]
    pub sha256: Vec<(String, String)>,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            scheme: DEFAULT_SCHEME.into(),
            bits: DEFAULT_BITS,
            group_size: DEFAULT_GROUP_SIZE,
            policy: DEFAULT_POLICY.into(),
            include: Vec::new(),
            exclude: Vec::new(),
            sha256: Vec::new(),
        }
    }
}

/// Parses one `FILE=HEX` argument (a clap value parser).
pub fn parse_sha(s: &str) -> Result<(String, String), String> {
    crate::checks::sha::parse_expectation(s).map_err(|e| e.to_string())
}

impl InspectOptions {
    /// The scheme and policy these options name.
    pub fn resolve(&self) -> Result<(Scheme, Policy), Error> {
        let scheme = Scheme::parse(&self.scheme, self.bits, self.group_size)?;
        let kind = PolicyKind::parse(&self.policy)?;
        let policy = Policy::new(kind, self.group_size as u64, &self.include, &self.exclude)?;
        Ok((scheme, policy))
    }

    /// The expected digests as `(file name, lowercase hex)`; each digest
    /// must be 64 hex digits.
    pub fn expected_digests(&self) -> Result<Vec<(String, String)>, Error> {
        self.sha256
            .iter()
            .map(|(name, hex)| {
                if is_sha256_hex(hex) {
                    Ok((name.clone(), hex.to_ascii_lowercase()))
                } else {
                    Err(Error::InvalidOption {
                        detail: format!("the SHA-256 given for {name:?} is not 64 hex digits"),
                    })
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_keys_and_defaults() {
        let o: InspectOptions =
            serde_json::from_str(r#"{"scheme":"affine","bits":4,"groupSize":32}"#).unwrap();
        assert_eq!(
            (o.bits, o.group_size, o.policy.as_str()),
            (4, 32, "default")
        );
        assert_eq!(
            o.resolve().unwrap().0,
            Scheme::Affine {
                bits: 4,
                group_size: 32
            }
        );
        assert!(serde_json::from_str::<InspectOptions>(r#"{"grupSize":32}"#).is_err());
        let bad: InspectOptions = serde_json::from_str(r#"{"sha256":[["m","abc"]]}"#).unwrap();
        assert!(bad.expected_digests().is_err());
    }
}
