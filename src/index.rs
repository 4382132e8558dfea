//! `model.safetensors.index.json`: which shard holds which tensor.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Error;

/// A parsed shard index.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardIndex {
    /// The index file's name.
    pub file: String,
    /// `metadata.total_size`, if given.
    pub total_size: Option<u64>,
    /// Tensor name → shard file name.
    pub weight_map: BTreeMap<String, String>,
}

impl ShardIndex {
    /// Parses index JSON, rejecting shard names that are not plain file names.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self, Error> {
        let bad = |detail: String| Error::InvalidIndex {
            file: file.to_string(),
            detail,
        };
        let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let map = v
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no \"weight_map\" object".into()))?;
        let mut weight_map = BTreeMap::new();
        for (tensor, shard) in map {
            let shard = shard
                .as_str()
                .ok_or_else(|| bad(format!("shard of tensor {tensor:?} is not a string")))?;
            if !is_plain_file_name(shard) {
                return Err(Error::UnsafeShardName {
                    file: file.to_string(),
                    shard: shard.to_string(),
                });
            }
            weight_map.insert(tensor.clone(), shard.to_string());
        }
        let total_size = v
            .get("metadata")
            .and_then(|m| m.get("total_size"))
            .and_then(Value::as_u64);
        Ok(ShardIndex {
            file: file.to_string(),
            total_size,
            weight_map,
        })
    }

    /// The distinct shard names, sorted.
    pub fn shards(&self) -> Vec<String> {
        let mut v: Vec<String> = self.weight_map.values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }
}

/// A name with no path separators, no `..` and nothing hidden or empty.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && !name.contains('\\')
        && !name.contains("..")
        && !name.contains('\0')
        && !name.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_weight_map() {
        let i = ShardIndex::parse(
            "i.json",
            br#"{"metadata":{"total_size":12},"weight_map":{"a":"s-2.safetensors","b":"s-1.safetensors","c":"s-1.safetensors"}}"#,
        )
        .unwrap();
        assert_eq!(i.total_size, Some(12));
        assert_eq!(i.shards(), ["s-1.safetensors", "s-2.safetensors"]);
    }

    #[test]
    fn rejects_path_like_shard_names() {
        for bad in ["../x.safetensors", "a/b.safetensors", "..", "c:\\\\x", ""] {
            let json = format!(r#"{{"weight_map":{{"a":"{bad}"}}}}"#);
            assert!(
                matches!(
                    ShardIndex::parse("i.json", json.as_bytes()),
                    Err(Error::UnsafeShardName { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_malformed_index() {
        assert!(matches!(
            ShardIndex::parse("i.json", b"{"),
            Err(Error::InvalidIndex { .. })
        ));
        assert!(matches!(
            ShardIndex::parse("i.json", b"{}"),
            Err(Error::InvalidIndex { .. })
        ));
        assert!(matches!(
            ShardIndex::parse("i.json", br#"{"weight_map":{"a":3}}"#),
            Err(Error::InvalidIndex { .. })
        ));
    }
}
