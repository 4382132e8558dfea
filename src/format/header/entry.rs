//! The values of a header read straight from the JSON text, without
//! building JSON values first: a shape of fifty million dimensions or a
//! metadata map of a million keys is refused as it is read, never held.
//!
//! A value of the wrong type or form fails with a serde "data" error whose
//! message says what is wrong; the caller names the tensor.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{Dtype, MAX_TENSORS};

/// The most dimensions a tensor may have (NumPy's limit is 64 too).
pub const MAX_DIMS: usize = 64;

/// A tensor entry without its name.
pub(super) struct Fields {
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub offsets: (u64, u64),
}

/// `{"dtype": STRING, "shape": [u64...], "data_offsets": [u64, u64]}`;
/// other keys are skipped unread.
pub(super) struct EntrySeed;

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = Fields;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = Fields;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with dtype, shape and data_offsets")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Fields, A::Error> {
        let (mut dtype, mut shape, mut offsets) = (None, None, None);
        while let Some(key) = m.next_key::<String>()? {
            match key.as_str() {
                "dtype" => dtype = Some(m.next_value::<String>()?),
                "shape" => shape = Some(m.next_value_seed(Uints("shape", MAX_DIMS))?),
                "data_offsets" => offsets = Some(m.next_value_seed(Uints("data_offsets", 2))?),
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |k: &str| de::Error::custom(format!("missing {k}"));
        let dtype = dtype.ok_or_else(|| missing("dtype"))?;
        let shape = shape.ok_or_else(|| missing("shape"))?;
        let offsets = offsets.ok_or_else(|| missing("data_offsets"))?;
        let [s, e] = offsets[..] else {
            return Err(de::Error::custom(
                "data_offsets must hold exactly two numbers",
            ));
        };
        Ok(Fields {
            dtype: Dtype::parse(&dtype),
            shape,
            offsets: (s, e),
        })
    }
}

/// An array of at most `.1` unsigned integers, for the key `.0`.
struct Uints(&'static str, usize);

impl<'de> DeserializeSeed<'de> for Uints {
    type Value = Vec<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Uints {
    type Value = Vec<u64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} as an array of unsigned integers", self.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Vec<u64>, A::Error> {
        let Uints(key, max) = self;
        let mut out = Vec::new();
        while let Some(v) = s.next_element_seed(Uint(key))? {
            if out.len() == max {
                return Err(de::Error::custom(format!(
                    "{key} holds more than {max} numbers"
                )));
            }
            out.push(v);
        }
        Ok(out)
    }
}

/// One unsigned integer of the array `.0`.
struct Uint(&'static str);

impl<'de> DeserializeSeed<'de> for Uint {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for Uint {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an unsigned integer in {}", self.0)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }
}

/// `__metadata__`: null, or an object of at most [`MAX_TENSORS`] strings.
pub(super) struct MetadataSeed;

impl<'de> DeserializeSeed<'de> for MetadataSeed {
    type Value = BTreeMap<String, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of strings")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(k) = m.next_key::<String>()? {
            if out.len() == MAX_TENSORS {
                return Err(de::Error::custom(format!(
                    "more than {MAX_TENSORS} entries"
                )));
            }
            let v: String = m.next_value()?;
            out.insert(k, v);
        }
        Ok(out)
    }
}
