//! `model.safetensors.index.json`: which shard holds which tensor.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

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

/// The most tensors an index may map: ten times the largest models'
/// counts, and a bound on the memory a 100 MB index can cost.
pub const MAX_INDEX_TENSORS: usize = 1_000_000;

impl ShardIndex {
    /// Parses index JSON, rejecting shard names that are not plain file
    /// names. Read straight from the text (no JSON value is built), so an
    /// index costs memory only for the entries of its `weight_map`, at most
    /// [`MAX_INDEX_TENSORS`].
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self, Error> {
        let bad = |detail: String| Error::InvalidIndex {
            file: file.to_string(),
            detail,
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let (weight_map, total_size) = IndexSeed
            .deserialize(&mut de)
            .and_then(|v| de.end().map(|_| v))
            .map_err(|e| bad(e.to_string()))?;
        let weight_map = weight_map.ok_or_else(|| bad("no \"weight_map\" object".into()))?;
        if let Some(shard) = weight_map.values().find(|s| !is_plain_file_name(s)) {
            return Err(Error::UnsafeShardName {
                file: file.to_string(),
                shard: shard.clone(),
            });
        }
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

type Parsed = (Option<BTreeMap<String, String>>, Option<u64>);

/// The index object: `weight_map` and `metadata.total_size`; other keys
/// are skipped unread.
struct IndexSeed;

impl<'de> DeserializeSeed<'de> for IndexSeed {
    type Value = Parsed;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Parsed, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for IndexSeed {
    type Value = Parsed;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Parsed, A::Error> {
        let (mut map, mut total) = (None, None);
        while let Some(key) = m.next_key::<String>()? {
            match key.as_str() {
                "weight_map" => map = Some(m.next_value_seed(WeightMap)?),
                "metadata" => total = m.next_value_seed(TotalSize)?,
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((map, total))
    }
}

/// `weight_map`: tensor name → shard name, at most [`MAX_INDEX_TENSORS`].
struct WeightMap;

impl<'de> DeserializeSeed<'de> for WeightMap {
    type Value = BTreeMap<String, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for WeightMap {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a \"weight_map\" object of shard names")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(tensor) = m.next_key::<String>()? {
            if out.len() == MAX_INDEX_TENSORS {
                return Err(de::Error::custom(format!(
                    "weight_map maps more than {MAX_INDEX_TENSORS} tensors"
                )));
            }
            let shard: String = m.next_value().map_err(|_: A::Error| {
                de::Error::custom(format!("shard of tensor {tensor:?} is not a string"))
            })?;
            out.insert(tensor, shard);
        }
        Ok(out)
    }
}

/// `metadata`: its `total_size` when that is an unsigned integer.
struct TotalSize;

impl<'de> DeserializeSeed<'de> for TotalSize {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TotalSize {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a metadata object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Option<u64>, A::Error> {
        let mut total = None;
        while let Some(key) = m.next_key::<String>()? {
            if key == "total_size" {
                total = m.next_value::<Number>()?.0;
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(total)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }
}

/// Any JSON value, kept only when it is an unsigned integer.
struct Number(Option<u64>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Number, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Number(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Number, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Number(None))
            }
        }
        d.deserialize_any(V)
    }
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

    #[test]
    fn index_size_is_bounded_while_it_is_read() {
        let mut json = String::from(r#"{"metadata":{"total_size":[1,2],"x":{}},"weight_map":{"#);
        for i in 0..=MAX_INDEX_TENSORS {
            json.push_str(&format!(r#""{i}":"s","#));
        }
        json.push_str(r#""end":"s"}}"#);
        let e = ShardIndex::parse("i.json", json.as_bytes()).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "i.json: invalid shard index: weight_map maps more than 1000000 tensors"
            ),
            "{e}"
        );
        let i = ShardIndex::parse(
            "i.json",
            br#"{"metadata":{"total_size":[1,2]},"other":[{"a":1}],"weight_map":{"a":"s"}}"#,
        )
        .unwrap();
        assert_eq!(i.total_size, None);
        assert!(ShardIndex::parse("i.json", br#"{"weight_map":{"a":"s"}} x"#).is_err());
    }
}
