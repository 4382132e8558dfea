//! mlx-lm-style mixed precision for `convert --format mlx`: `--keep GLOB`
//! leaves matching layers in float, `--bits-for GLOB=B` quantizes matching
//! layers with `B` bits. The result is recorded in `config.json` as mlx-lm
//! records its own per-layer choices, so MLX and mlx-lm load it.

use std::collections::BTreeMap;

use globset::{Glob, GlobMatcher};

use super::Target;
use crate::{Error, Scheme};

/// Per-module entries of MLX's `quantization` block: a module's own
/// `(group_size, bits)`, or `None` (written `false`) for a layer left in float.
pub type ModuleEntries = BTreeMap<String, Option<(u32, u8)>>;

/// Per-layer choices over a target. Globs match a layer's module path
/// (`model.layers.0.mlp.up_proj`) or its weight's tensor name
/// (`model.layers.0.mlp.up_proj.weight`); `*` crosses dots.
#[derive(Debug, Clone, Default)]
pub struct Mixed {
    keep: Vec<(String, GlobMatcher)>,
    bits_for: Vec<(String, GlobMatcher, u8)>,
}

fn glob(p: &str, flag: &str) -> Result<GlobMatcher, Error> {
    Glob::new(p)
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::InvalidOption {
            detail: format!("{flag} {p:?}: bad glob: {e}"),
        })
}

/// A tensor's MLX module path and its weight's name.
fn matches(m: &GlobMatcher, name: &str) -> bool {
    m.is_match(name) || name.strip_suffix(".weight").is_some_and(|p| m.is_match(p))
}

impl Mixed {
    /// Parses `--keep GLOB` and `--bits-for GLOB=B` values.
    pub fn new(keep: &[String], bits_for: &[String]) -> Result<Self, Error> {
        let keep = keep
            .iter()
            .map(|p| Ok((p.clone(), glob(p, "--keep")?)))
            .collect::<Result<_, Error>>()?;
        let bits_for = bits_for
            .iter()
            .map(|s| {
                let bad = || Error::InvalidOption {
                    detail: format!("--bits-for {s:?}: expected GLOB=BITS, e.g. '*.v_proj=6'"),
                };
                let (p, b) = s.rsplit_once('=').ok_or_else(bad)?;
                let b: u8 = b.trim().parse().map_err(|_| bad())?;
                Ok((p.to_string(), glob(p, "--bits-for")?, b))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Mixed { keep, bits_for })
    }

    /// Whether no per-layer choice was given.
    pub fn is_empty(&self) -> bool {
        self.keep.is_empty() && self.bits_for.is_empty()
    }

    /// Checks the choices against a target and the model's tensor names:
    /// MLX only, `--bits-for` with affine bits only, every glob matching
    /// some tensor (a glob that matches nothing is most likely a typo).
    fn check(&self, target: Target, names: &[&str]) -> Result<(), Error> {
        let bad = |detail: String| Err(Error::InvalidOption { detail });
        if self.is_empty() {
            return Ok(());
        }
        let Some((group, _)) = target.mlx_params() else {
            return bad("--keep and --bits-for are for --format mlx".into());
        };
        if !self.bits_for.is_empty() && !matches!(target, Target::Mlx { .. }) {
            return bad(format!(
                "--bits-for needs --mode affine; mode {} has fixed bits",
                target.mode().map_or("", |m| m.name())
            ));
        }
        for (p, _, b) in &self.bits_for {
            Scheme::parse("affine", *b, group).map_err(|e| Error::InvalidOption {
                detail: format!("--bits-for {p}={b}: {e}"),
            })?;
        }
        let globs = self
            .keep
            .iter()
            .map(|(p, m)| ("--keep", p, m))
            .chain(self.bits_for.iter().map(|(p, m, _)| ("--bits-for", p, m)));
        for (flag, p, m) in globs {
            if !names.iter().any(|n| matches(m, n)) {
                return bad(format!("{flag} {p:?} matches no tensor of the model"));
            }
        }
        Ok(())
    }

    fn keeps(&self, name: &str) -> bool {
        self.keep.iter().any(|(_, m)| matches(m, name))
    }

    /// The bits of the first `--bits-for` whose glob matches.
    fn bits(&self, name: &str) -> Option<u8> {
        self.bits_for
            .iter()
            .find(|(_, m, _)| matches(m, name))
            .map(|(_, _, b)| *b)
    }

    /// Applies the choices to the rule's decisions (`Quantize` entries may
    /// become kept, or get other bits) and returns the per-tensor targets
    /// and the per-module entries of the config's `quantization` block:
    /// `Some((group_size, bits))` for a layer with its own bits, `None`
    /// (written `false`) for a layer the rule would quantize but `--keep`
    /// leaves in float.
    pub(super) fn apply(
        &self,
        target: Target,
        names: &[&str],
        decisions: &mut [crate::Decision],
    ) -> Result<(Vec<Target>, ModuleEntries), Error> {
        use crate::{Decision, KeepReason};
        self.check(target, names)?;
        let mut targets = vec![target; names.len()];
        let mut modules = BTreeMap::new();
        for ((name, d), t) in names.iter().zip(decisions).zip(&mut targets) {
            if *d != Decision::Quantize {
                continue;
            }
            let module = name.strip_suffix(".weight").unwrap_or(name).to_string();
            if self.keeps(name) {
                *d = Decision::Keep(KeepReason::Excluded);
                modules.insert(module, None);
            } else if let (Some(bits), Target::Mlx { group_size, .. }) = (self.bits(name), target) {
                *t = Target::Mlx { bits, group_size };
                modules.insert(module, Some((group_size, bits)));
            }
        }
        Ok((targets, modules))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decision, KeepReason};

    const AFFINE4: Target = Target::Mlx {
        bits: 4,
        group_size: 64,
    };

    #[test]
    fn keep_and_bits_for_become_config_entries() {
        let names = [
            "lm_head.weight",
            "l.0.v_proj.weight",
            "l.0.q_proj.weight",
            "norm.weight",
        ];
        let mut d = vec![
            Decision::Quantize,
            Decision::Quantize,
            Decision::Quantize,
            Decision::Keep(KeepReason::OneD),
        ];
        let m = Mixed::new(
            &["lm_head".into()],
            &["*.v_proj=6".into(), "*_proj=8".into()],
        )
        .unwrap();
        let (t, modules) = m.apply(AFFINE4, &names, &mut d).unwrap();
        assert_eq!(d[0], Decision::Keep(KeepReason::Excluded));
        assert_eq!(d[1], Decision::Quantize);
        assert_eq!(
            t[1],
            Target::Mlx {
                bits: 6,
                group_size: 64
            }
        );
        assert_eq!(
            t[2],
            Target::Mlx {
                bits: 8,
                group_size: 64
            }
        );
        assert_eq!(t[3], AFFINE4);
        assert_eq!(modules.get("lm_head"), Some(&None));
        assert_eq!(modules.get("l.0.v_proj"), Some(&Some((64, 6))));
        assert_eq!(modules.len(), 3);
    }

    #[test]
    fn bad_choices_are_named() {
        let names = ["a.weight"];
        let mut d = vec![Decision::Quantize];
        let err = |keep: &[&str], bits: &[&str], t: Target| {
            let k: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
            let b: Vec<String> = bits.iter().map(|s| s.to_string()).collect();
            match Mixed::new(&k, &b) {
                Err(e) => e.to_string(),
                Ok(m) => m.apply(t, &names, &mut d.clone()).unwrap_err().to_string(),
            }
        };
        assert!(err(&["zzz"], &[], AFFINE4).contains("\"zzz\" matches no tensor"));
        assert!(err(&[], &["a=7"], AFFINE4).contains("a=7"));
        assert!(err(&[], &["a"], AFFINE4).contains("GLOB=BITS"));
        assert!(err(&["["], &[], AFFINE4).contains("bad glob"));
        let fp = Target::MlxFp {
            mode: crate::stored::MlxMode::Mxfp4,
        };
        assert!(err(&[], &["a=8"], fp).contains("--mode affine"));
        assert!(err(&["a"], &[], Target::Int8 { per_channel: false }).contains("--format mlx"));
        // --keep works with a float mode.
        let m = Mixed::new(&["a".into()], &[]).unwrap();
        assert!(m.apply(fp, &names, &mut d).unwrap().1.contains_key("a"));
    }
}
