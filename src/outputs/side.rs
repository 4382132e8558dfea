//! A model folder's small side files (tokenizer, sentence-transformers
//! configuration), handed over as bytes by whoever reads the folder: the
//! CLI from disk, the page from `File`s or by URL.
//!
//! May use: `serde_json` only.

use std::collections::BTreeMap;

use serde_json::Value;

/// Largest side file accepted (a tokenizer.json of a 250k vocabulary is
/// about 17 MB).
pub const MAX_SIDE_BYTES: u64 = 64 << 20;

/// The fixed side files a check reads when present.
pub const FIXED: [&str; 4] = [
    "tokenizer.json",
    "sentence_bert_config.json",
    "modules.json",
    "config_sentence_transformers.json",
];

/// Side files by path relative to the model folder (`1_Pooling/config.json`).
#[derive(Debug, Clone, Default)]
pub struct SideFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl SideFiles {
    /// No files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file.
    pub fn insert(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(path.into(), bytes);
    }

    /// A file's bytes.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Whether a file is present.
    pub fn has(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The module folders `modules.json` names (`1_Pooling`, `2_Normalize`),
    /// whose `config.json` the reader should add too.
    pub fn module_paths(&self) -> Vec<String> {
        self.get("modules.json")
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m.get("path").and_then(Value::as_str))
            .filter(|p| !p.is_empty() && !p.contains("..") && !p.starts_with('/'))
            .map(str::to_string)
            .collect()
    }
}
