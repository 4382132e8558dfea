//! A model: its safetensors files (one, or shards with an index) and
//! config, cross-checked. Built from named byte sources, never paths.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::format::header::{read_header, Header, TensorInfo};
use crate::{ByteSource, Error, Finding, Severity, ShardIndex};

/// A named file handed to [`Model::open`].
#[derive(Clone)]
pub struct NamedSource {
    /// The file name (no folders), used in every message.
    pub name: String,
    /// Its bytes.
    pub source: Arc<dyn ByteSource>,
}

impl NamedSource {
    /// Wraps a source under a name.
    pub fn new(name: impl Into<String>, source: Arc<dyn ByteSource>) -> Self {
        NamedSource {
            name: name.into(),
            source,
        }
    }
}

/// One safetensors file of a model.
#[derive(Clone)]
pub struct Shard {
    /// Its parsed header.
    pub header: Header,
    /// Its bytes.
    pub source: Arc<dyn ByteSource>,
}

/// The essentials of `config.json`, for display.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ConfigSummary {
    pub architecture: Option<String>,
    pub model_type: Option<String>,
    pub hidden_size: Option<u64>,
    pub num_hidden_layers: Option<u64>,
    pub num_attention_heads: Option<u64>,
    pub intermediate_size: Option<u64>,
    pub vocab_size: Option<u64>,
    pub torch_dtype: Option<String>,
}

impl ConfigSummary {
    fn from_json(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        ConfigSummary {
            architecture: v
                .get("architectures")
                .and_then(|a| a.get(0))
                .and_then(Value::as_str)
                .map(str::to_string),
            model_type: s("model_type"),
            hidden_size: n("hidden_size").or_else(|| n("d_model")),
            num_hidden_layers: n("num_hidden_layers").or_else(|| n("n_layer")),
            num_attention_heads: n("num_attention_heads").or_else(|| n("n_head")),
            intermediate_size: n("intermediate_size"),
            vocab_size: n("vocab_size"),
            torch_dtype: s("torch_dtype").or_else(|| s("dtype")),
        }
    }
}

/// A tensor's place in a model: shard number and position in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorRef {
    /// Index into [`Model::shards`].
    pub shard: usize,
    /// Index into that shard's `header.tensors`.
    pub tensor: usize,
}

/// A readable model.
#[derive(Clone)]
pub struct Model {
    /// Safetensors files in model order.
    pub shards: Vec<Shard>,
    /// The shard index, if one was given.
    pub index: Option<ShardIndex>,
    /// Parsed `config.json`, if given and valid.
    pub config: Option<Value>,
    /// Problems found while opening.
    pub findings: Vec<Finding>,
    /// Every tensor in model order: shards in order, then file order.
    pub tensors: Vec<TensorRef>,
}

impl Model {
    /// Opens a model from its safetensors files, an optional index
    /// (`name`, bytes) and an optional `config.json` (bytes).
    ///
    /// With an index, the index defines the model: every shard it names
    /// must be supplied, and supplied files it does not name are reported
    /// and left out. Without one, every file is part of the model.
    pub fn open(
        files: Vec<NamedSource>,
        index: Option<(&str, &[u8])>,
        config: Option<&[u8]>,
    ) -> Result<Model, Error> {
        Self::open_with(files, index, config, &mut |f| {
            read_header(&f.name, f.source.as_ref())
        })
    }

    /// [`Model::open`] with the headers given by `header` (for a caller
    /// that has parsed them already: each header is parsed once).
    pub fn open_with(
        files: Vec<NamedSource>,
        index: Option<(&str, &[u8])>,
        config: Option<&[u8]>,
        header: &mut dyn FnMut(&NamedSource) -> Result<Header, Error>,
    ) -> Result<Model, Error> {
        let mut findings = Vec::new();
        let index = index
            .map(|(name, bytes)| ShardIndex::parse(name, bytes))
            .transpose()?;
        let mut by_name: BTreeMap<String, NamedSource> = BTreeMap::new();
        for f in files {
            by_name.insert(f.name.clone(), f);
        }
        let chosen: Vec<NamedSource> = match &index {
            Some(idx) => {
                let wanted = idx.shards();
                for name in by_name.keys() {
                    if wanted.binary_search(name).is_err() {
                        findings.push(Finding::file(
                            "shard_not_in_index",
                            Severity::Warning,
                            name,
                            format!("{name} is not named by {}; it was not analysed", idx.file),
                        ));
                    }
                }
                let mut v = Vec::new();
                for w in wanted {
                    match by_name.get(&w) {
                        Some(src) => v.push(src.clone()),
                        None => {
                            return Err(Error::MissingShard {
                                file: idx.file.clone(),
                                shard: w,
                            })
                        }
                    }
                }
                v
            }
            None => by_name.into_values().collect(),
        };
        if chosen.is_empty() {
            return Err(Error::NoSafetensors);
        }

        let mut shards = Vec::with_capacity(chosen.len());
        for f in chosen {
            let header = header(&f)?;
            shards.push(Shard {
                header,
                source: f.source,
            });
        }

        let mut home: HashMap<&str, usize> = HashMap::new();
        let mut tensors = Vec::new();
        for (si, sh) in shards.iter().enumerate() {
            for (ti, t) in sh.header.tensors.iter().enumerate() {
                if let Some(&prev) = home.get(t.name.as_str()) {
                    return Err(Error::TensorInTwoShards {
                        tensor: t.name.clone(),
                        first: shards[prev].header.file.clone(),
                        second: sh.header.file.clone(),
                    });
                }
                home.insert(&t.name, si);
                tensors.push(TensorRef {
                    shard: si,
                    tensor: ti,
                });
            }
        }
        if tensors.is_empty() {
            let names: Vec<&str> = shards.iter().map(|s| s.header.file.as_str()).collect();
            return Err(Error::NoTensors {
                file: names.join(", "),
            });
        }
        if let Some(idx) = &index {
            for (tensor, shard) in &idx.weight_map {
                match home.get(tensor.as_str()) {
                    None => findings.push(Finding::tensor(
                        "index_entry_missing",
                        Severity::Error,
                        shard,
                        tensor,
                        format!(
                            "{} maps tensor {tensor:?} to {shard}, but no shard holds it",
                            idx.file
                        ),
                    )),
                    Some(&si) if shards[si].header.file != *shard => {
                        findings.push(Finding::tensor(
                            "index_mismatch",
                            Severity::Error,
                            &shards[si].header.file,
                            tensor,
                            format!(
                                "{} maps tensor {tensor:?} to {shard}, but it is stored in {}",
                                idx.file, shards[si].header.file
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
            for sh in &shards {
                for t in &sh.header.tensors {
                    if !idx.weight_map.contains_key(&t.name) {
                        findings.push(Finding::tensor(
                            "not_in_index",
                            Severity::Error,
                            &sh.header.file,
                            &t.name,
                            format!(
                                "tensor {:?} is stored in {} but missing from {}",
                                t.name, sh.header.file, idx.file
                            ),
                        ));
                    }
                }
            }
        }

        let config = match config {
            None => None,
            Some(bytes) => match serde_json::from_slice::<Value>(bytes) {
                Ok(v) if v.is_object() => Some(v),
                Ok(_) | Err(_) => {
                    findings.push(Finding::file(
                        "bad_config",
                        Severity::Warning,
                        "config.json",
                        "config.json is not a JSON object; it was ignored".into(),
                    ));
                    None
                }
            },
        };
        Ok(Model {
            shards,
            index,
            config,
            findings,
            tensors,
        })
    }

    /// The tensor at a model-order position.
    pub fn tensor(&self, i: usize) -> Result<(&Shard, &TensorInfo), Error> {
        let r = self
            .tensors
            .get(i)
            .ok_or(Error::NoSuchTensor { index: i })?;
        let sh = &self.shards[r.shard];
        Ok((sh, &sh.header.tensors[r.tensor]))
    }

    /// The essentials of `config.json`.
    pub fn config_summary(&self) -> Option<ConfigSummary> {
        self.config.as_ref().map(ConfigSummary::from_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_without_tensors_is_an_error_naming_its_file() {
        let h = br#"{"__metadata__":{"format":"pt"}}"#;
        let mut b = (h.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(h);
        let files = vec![NamedSource::new("empty.safetensors", Arc::new(b))];
        let e = Model::open(files, None, None).err().expect("an error");
        assert_eq!(
            e,
            Error::NoTensors {
                file: "empty.safetensors".into()
            }
        );
        assert!(e
            .to_string()
            .starts_with("empty.safetensors: holds no tensors"));
    }

    fn shard(name: &str, tensors: &[(&str, &[u64], &[f32])]) -> NamedSource {
        NamedSource::new(name, Arc::new(crate::format::testing::f32_file(tensors)))
    }

    #[test]
    fn shards_an_index_and_a_config_make_one_model() {
        let files = vec![
            shard("a.safetensors", &[("x", &[2], &[1.0, 2.0])]),
            shard("b.safetensors", &[("y", &[1], &[3.0])]),
        ];
        let index = br#"{"weight_map":{"x":"a.safetensors","y":"b.safetensors"}}"#;
        let config = br#"{"architectures":["BertModel"],"hidden_size":384,"model_type":"bert"}"#;
        let m = Model::open(
            files,
            Some(("model.safetensors.index.json", index)),
            Some(config),
        )
        .unwrap();
        assert!(m.findings.is_empty(), "{:?}", m.findings);
        let mut seen: Vec<(String, String)> = (0..m.tensors.len())
            .map(|i| {
                let (sh, t) = m.tensor(i).unwrap();
                (t.name.clone(), sh.header.file.clone())
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("x".into(), "a.safetensors".into()),
                ("y".into(), "b.safetensors".into())
            ]
        );
        let c = m.config_summary().expect("config.json was given");
        assert_eq!(c.architecture.as_deref(), Some("BertModel"));
        assert_eq!(
            (c.hidden_size, c.model_type.as_deref()),
            (Some(384), Some("bert"))
        );
        assert!(m.tensor(2).is_err());
    }

    #[test]
    fn an_index_entry_no_shard_holds_is_an_error_finding() {
        let files = vec![shard("a.safetensors", &[("x", &[2], &[1.0, 2.0])])];
        let index = br#"{"weight_map":{"x":"a.safetensors","ghost":"a.safetensors"}}"#;
        let m = Model::open(files, Some(("model.safetensors.index.json", index)), None).unwrap();
        let f: Vec<(&str, Severity)> = m
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.severity))
            .collect();
        assert_eq!(f, [("index_entry_missing", Severity::Error)]);
    }
}
