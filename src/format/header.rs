//! Parsing and validating one safetensors header with u64 offsets.
//!
//! The rules are the `safetensors` crate's (length prefix, 100 MB cap, UTF-8
//! JSON, sorted contiguous offsets, `end - start == numel × dtype size`, data
//! covering the file exactly), with every size kept in u64 so shards of 4 GiB
//! and more work on wasm32 too. Only the header is read, never the data.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Serialize;

mod entry;
pub use entry::MAX_DIMS;
use entry::{EntrySeed, MetadataSeed};

use crate::{ByteSource, Dtype, Error};

/// The largest header accepted, as in the `safetensors` crate.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The most tensors one header may declare. Neither the `safetensors`
/// crate nor huggingface.js caps the count, but a 100 MB header can
/// declare about two million zero-size tensors, and every tensor costs
/// memory in each report (about 1.5 KB natively). Real checkpoints hold a
/// few thousand tensors per file, the largest mixture-of-experts models
/// about twenty thousand in a single file. A header over the limit is
/// refused while it is parsed, before the excess entries are built.
pub const MAX_TENSORS: usize = 100_000;

/// One tensor as declared in a header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorInfo {
    /// The tensor's name (untrusted text from the file).
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
    /// Number of elements: the product of `shape` (1 for a scalar).
    pub numel: u64,
    /// Absolute byte offset of the first data byte in the file.
    pub start: u64,
    /// Absolute byte offset one past the last data byte.
    pub end: u64,
}

impl TensorInfo {
    /// Stored size in bytes.
    pub fn bytes(&self) -> u64 {
        self.end - self.start
    }
}

/// A parsed, validated safetensors header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Header {
    /// The file's name, used in every message about it.
    pub file: String,
    /// Total file length in bytes.
    pub file_len: u64,
    /// Length of the JSON header (without the 8-byte prefix).
    pub header_len: u64,
    /// The `__metadata__` map, if any.
    pub metadata: BTreeMap<String, String>,
    /// Tensors in file (offset) order.
    pub tensors: Vec<TensorInfo>,
}

impl Header {
    /// Absolute offset of the data section.
    pub fn data_start(&self) -> u64 {
        8 + self.header_len
    }
}

/// Reads and validates the header of `file` from `src`. Reads only the
/// 8-byte prefix and the header itself.
pub fn read_header(file: &str, src: &dyn ByteSource) -> Result<Header, Error> {
    let len = src.len();
    let read_err = |offset, detail| Error::Read {
        file: file.to_string(),
        offset,
        detail,
    };
    if len < 8 {
        return Err(Error::TooShort {
            file: file.to_string(),
            len,
        });
    }
    let mut prefix = [0u8; 8];
    src.read_at(0, &mut prefix).map_err(|e| read_err(0, e))?;
    let declared = u64::from_le_bytes(prefix);
    check_prefix(file, declared, len)?;
    let mut buf = vec![0u8; declared as usize];
    src.read_at(8, &mut buf).map_err(|e| read_err(8, e))?;
    parse_header(file, &buf, len)
}

/// Checks the header length prefix against the cap and the file length.
pub fn check_prefix(file: &str, declared: u64, file_len: u64) -> Result<(), Error> {
    if declared > MAX_HEADER_BYTES {
        return Err(Error::HeaderTooLarge {
            file: file.to_string(),
            declared,
        });
    }
    if declared > file_len - 8 {
        return Err(Error::HeaderPastEnd {
            file: file.to_string(),
            declared,
            len: file_len,
        });
    }
    Ok(())
}

/// Validates header JSON bytes (without the prefix) for a file of
/// `file_len` bytes.
pub fn parse_header(file: &str, bytes: &[u8], file_len: u64) -> Result<Header, Error> {
    let f = || file.to_string();
    let text = std::str::from_utf8(bytes).map_err(|e| Error::HeaderNotUtf8 {
        file: f(),
        offset: e.valid_up_to() as u64,
    })?;
    let (metadata, mut raw) = parse_entries(file, text)?;
    let header_len = bytes.len() as u64;
    let data_len = file_len
        .checked_sub(8)
        .and_then(|n| n.checked_sub(header_len))
        .ok_or_else(|| Error::HeaderPastEnd {
            file: f(),
            declared: header_len,
            len: file_len,
        })?;
    raw.sort_by_key(|t| (t.offsets.0, t.offsets.1));

    let mut tensors = Vec::with_capacity(raw.len());
    let mut expected = 0u64;
    for t in raw {
        let (s, e) = t.offsets;
        if e < s {
            return Err(Error::InvalidOffsets {
                file: f(),
                tensor: t.name,
                start: s,
                end: e,
            });
        }
        if s != expected {
            return Err(Error::NonContiguous {
                file: f(),
                tensor: t.name,
                expected,
                start: s,
            });
        }
        if e > data_len {
            return Err(Error::Truncated {
                file: f(),
                expected: e,
                actual: data_len,
            });
        }
        expected = e;
        let numel = t
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::ShapeOverflow {
                file: f(),
                tensor: t.name.clone(),
            })?;
        if let Some(bits) = t.dtype.bits() {
            let total_bits = numel
                .checked_mul(bits)
                .ok_or_else(|| Error::ShapeOverflow {
                    file: f(),
                    tensor: t.name.clone(),
                })?;
            if total_bits % 8 != 0 {
                return Err(Error::InvalidTensorEntry {
                    file: f(),
                    tensor: t.name,
                    detail: format!("{numel} elements of {} do not fill whole bytes", t.dtype),
                });
            }
            if e - s != total_bits / 8 {
                return Err(Error::SizeMismatch {
                    file: f(),
                    tensor: t.name,
                    dtype: t.dtype.name().to_string(),
                    expected: total_bits / 8,
                    actual: e - s,
                });
            }
        } else if !plausible_width(numel, e - s) {
            return Err(Error::InvalidTensorEntry {
                file: f(),
                tensor: t.name,
                detail: format!(
                    "{} bytes cannot hold {numel} elements of dtype {:?} at a whole number of 1 to {MAX_ELEMENT_BITS} bits each",
                    e - s,
                    t.dtype.name()
                ),
            });
        }
        let base = 8 + header_len;
        tensors.push(TensorInfo {
            name: t.name,
            dtype: t.dtype,
            shape: t.shape,
            numel,
            start: base + s,
            end: base + e,
        });
    }
    if expected > data_len {
        return Err(Error::Truncated {
            file: f(),
            expected,
            actual: data_len,
        });
    }
    if expected < data_len {
        return Err(Error::TrailingBytes {
            file: f(),
            expected,
            actual: data_len,
        });
    }
    Ok(Header {
        file: f(),
        file_len,
        header_len,
        metadata,
        tensors,
    })
}

/// The widest element a dtype unknown to quantlens is assumed to have.
const MAX_ELEMENT_BITS: u64 = 64;

/// Whether `bytes` can hold `numel` elements of some unknown dtype: a
/// whole number of bits per element, from 1 to [`MAX_ELEMENT_BITS`].
fn plausible_width(numel: u64, bytes: u64) -> bool {
    if numel == 0 {
        return bytes == 0;
    }
    match bytes.checked_mul(8) {
        Some(bits) => bits % numel == 0 && (1..=MAX_ELEMENT_BITS).contains(&(bits / numel)),
        None => false,
    }
}

struct RawEntry {
    name: String,
    dtype: Dtype,
    shape: Vec<u64>,
    offsets: (u64, u64),
}

/// Parses the header JSON into its metadata and tensor entries, one entry
/// at a time and straight from the text (no JSON value is built): a
/// repeated name is an error, and parsing stops at the first entry past
/// [`MAX_TENSORS`].
fn parse_entries(
    file: &str,
    text: &str,
) -> Result<(BTreeMap<String, String>, Vec<RawEntry>), Error> {
    let mut failure = None;
    let mut failed_on = None;
    let seed = EntriesSeed {
        file,
        failure: &mut failure,
        failed_on: &mut failed_on,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|_| v));
    match (parsed, failure, failed_on) {
        (_, Some(e), _) => Err(e),
        (Ok(v), None, _) => Ok(v),
        // A value of the wrong form inside the entry of `tensor`.
        (Err(e), None, Some(tensor)) if e.is_data() => {
            let mut detail = e.to_string();
            let at = format!(" at line {} column {}", e.line(), e.column());
            if detail.ends_with(&at) {
                detail.truncate(detail.len() - at.len());
            }
            Err(Error::InvalidTensorEntry {
                file: file.to_string(),
                tensor,
                detail,
            })
        }
        (Err(e), None, _) => Err(Error::HeaderNotJson {
            file: file.to_string(),
            detail: e.to_string(),
        }),
    }
}

/// Fails the visitor with a structured error kept aside, so the caller
/// reports it rather than serde's text.
fn abort<E: serde::de::Error>(slot: &mut Option<Error>, e: Error) -> E {
    *slot = Some(e);
    E::custom("invalid tensor entry")
}

struct EntriesSeed<'a> {
    file: &'a str,
    /// A structured failure (too many tensors, a repeated name).
    failure: &'a mut Option<Error>,
    /// The entry whose value failed to parse.
    failed_on: &'a mut Option<String>,
}

type Parsed = (BTreeMap<String, String>, Vec<RawEntry>);

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = Parsed;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Parsed, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = Parsed;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Parsed, A::Error> {
        let file = self.file;
        let mut metadata = None;
        let mut raw: Vec<RawEntry> = Vec::new();
        while let Some(name) = m.next_key::<String>()? {
            if name == "__metadata__" {
                if metadata.is_some() {
                    let e = Error::DuplicateTensor {
                        file: file.to_string(),
                        tensor: name,
                    };
                    return Err(abort(self.failure, e));
                }
                match m.next_value_seed(MetadataSeed) {
                    Ok(md) => metadata = Some(md),
                    Err(e) => {
                        *self.failed_on = Some(name);
                        return Err(e);
                    }
                }
            } else if raw.len() == MAX_TENSORS {
                let e = Error::TooManyTensors {
                    file: file.to_string(),
                    limit: MAX_TENSORS,
                };
                return Err(abort(self.failure, e));
            } else {
                match m.next_value_seed(EntrySeed) {
                    Ok(f) => raw.push(RawEntry {
                        name,
                        dtype: f.dtype,
                        shape: f.shape,
                        offsets: f.offsets,
                    }),
                    Err(e) => {
                        *self.failed_on = Some(name);
                        return Err(e);
                    }
                }
            }
        }
        // Repeated names, found by sorting positions rather than by keeping
        // a second copy of every name.
        let mut order: Vec<usize> = (0..raw.len()).collect();
        order.sort_unstable_by(|&a, &b| raw[a].name.cmp(&raw[b].name).then(a.cmp(&b)));
        if let Some(w) = order.windows(2).find(|w| raw[w[0]].name == raw[w[1]].name) {
            let e = Error::DuplicateTensor {
                file: file.to_string(),
                tensor: raw[w[1]].name.clone(),
            };
            return Err(abort(self.failure, e));
        }
        Ok((metadata.unwrap_or_default(), raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file from a header string and `data_len` zero bytes of data.
    fn file(header: &str, data_len: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend(std::iter::repeat_n(0u8, data_len));
        v
    }

    fn read(bytes: &[u8]) -> Result<Header, Error> {
        read_header("t.safetensors", &bytes.to_vec())
    }

    #[test]
    fn valid_header_with_metadata() {
        let h = r#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}"#;
        let hdr = read(&file(h, 16)).unwrap();
        assert_eq!(hdr.metadata["format"], "pt");
        assert_eq!(hdr.tensors[0].name, "a");
        assert_eq!(hdr.tensors[0].start, 8 + h.len() as u64);
        assert_eq!(hdr.tensors[1].numel, 2);
    }

    #[test]
    fn empty_file() {
        assert!(matches!(read(b""), Err(Error::TooShort { len: 0, .. })));
    }

    #[test]
    fn shorter_than_prefix() {
        assert!(matches!(
            read(b"\x02\x00\x00"),
            Err(Error::TooShort { len: 3, .. })
        ));
    }

    #[test]
    fn header_length_past_end() {
        let e = read(b"\x10\x00\x00\x00\x00\x00\x00\x00{}").unwrap_err();
        assert!(
            matches!(
                e,
                Error::HeaderPastEnd {
                    declared: 16,
                    len: 10,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn header_length_above_cap() {
        let e = read(b"\x00\x00\x00\x00\x01\x00\x00\x00{}").unwrap_err();
        assert!(matches!(e, Error::HeaderTooLarge { .. }), "{e}");
        assert!(e.to_string().starts_with("t.safetensors: "));
    }

    #[test]
    fn header_not_utf8() {
        let e = read(b"\x04\x00\x00\x00\x00\x00\x00\x00{\xff\xfe}").unwrap_err();
        assert!(matches!(e, Error::HeaderNotUtf8 { offset: 1, .. }), "{e}");
    }

    #[test]
    fn header_not_json() {
        let e = read(b"\x04\x00\x00\x00\x00\x00\x00\x00nope").unwrap_err();
        assert!(matches!(e, Error::HeaderNotJson { .. }), "{e}");
        let e = read(b"\x02\x00\x00\x00\x00\x00\x00\x00[]").unwrap_err();
        assert!(matches!(e, Error::HeaderNotJson { .. }), "{e}");
    }

    #[test]
    fn overlapping_offsets() {
        let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#;
        let e = read(&file(h, 6)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::NonContiguous {
                    expected: 4,
                    start: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("\"b\""));
    }

    #[test]
    fn gap_between_tensors() {
        let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[5,9]}}"#;
        assert!(matches!(
            read(&file(h, 9)),
            Err(Error::NonContiguous {
                expected: 4,
                start: 5,
                ..
            })
        ));
    }

    #[test]
    fn end_before_start() {
        let h = r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,0]}}"#;
        // Sorting by start puts b after a; its end precedes its start.
        let e = read(&file(h, 4)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidOffsets { .. } | Error::NonContiguous { .. }
            ),
            "{e}"
        );
    }

    #[test]
    fn out_of_bounds_offsets() {
        let h = r#"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#;
        assert!(matches!(
            read(&file(h, 4)),
            Err(Error::Truncated {
                expected: 8,
                actual: 4,
                ..
            })
        ));
    }

    #[test]
    fn trailing_bytes() {
        let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
        assert!(matches!(
            read(&file(h, 5)),
            Err(Error::TrailingBytes { .. })
        ));
    }

    #[test]
    fn size_does_not_match_shape() {
        let h = r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#;
        let e = read(&file(h, 12)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::SizeMismatch {
                    expected: 16,
                    actual: 12,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn shape_product_overflows() {
        let h = r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,4]}}"#;
        assert!(matches!(
            read(&file(h, 4)),
            Err(Error::ShapeOverflow { .. })
        ));
        let h = r#"{"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}"#;
        assert!(matches!(
            read(&file(h, 4)),
            Err(Error::ShapeOverflow { .. })
        ));
    }

    #[test]
    fn misaligned_sub_byte_tensor() {
        let h = r#"{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#;
        assert!(matches!(
            read(&file(h, 2)),
            Err(Error::InvalidTensorEntry { .. })
        ));
    }

    #[test]
    fn duplicate_tensor_name() {
        let h = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#;
        assert!(matches!(
            read(&file(h, 2)),
            Err(Error::DuplicateTensor { .. })
        ));
    }

    #[test]
    fn missing_and_mistyped_fields() {
        for h in [
            r#"{"a":{"shape":[1],"data_offsets":[0,1]}}"#,
            r#"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#,
            r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}"#,
            r#"{"a":7}"#,
            r#"{"__metadata__":{"k":1}}"#,
        ] {
            assert!(
                matches!(read(&file(h, 1)), Err(Error::InvalidTensorEntry { .. })),
                "{h}"
            );
        }
    }

    #[test]
    fn unknown_dtype_is_not_an_error() {
        let h = r#"{"a":{"dtype":"F3_NEW","shape":[3],"data_offsets":[0,6]}}"#;
        let hdr = read(&file(h, 6)).unwrap();
        assert_eq!(hdr.tensors[0].dtype, Dtype::Unknown("F3_NEW".into()));
        let h = r#"{"a":{"dtype":"F6_NEW","shape":[2,2],"data_offsets":[0,3]}}"#;
        assert!(read(&file(h, 3)).is_ok());
    }

    #[test]
    fn unknown_dtype_with_an_impossible_size_is_an_error() {
        for (shape, bytes) in [("[3]", 5), ("[0]", 4), ("[2]", 17), ("[64]", 0)] {
            let h = format!(
                r#"{{"x":{{"dtype":"F3_NEW","shape":{shape},"data_offsets":[0,{bytes}]}}}}"#
            );
            let e = read(&file(&h, bytes)).unwrap_err();
            assert!(matches!(e, Error::InvalidTensorEntry { .. }), "{e}");
            let msg = e.to_string();
            assert!(
                msg.starts_with("t.safetensors: tensor \"x\": ") && msg.contains("F3_NEW"),
                "{msg}"
            );
        }
    }

    #[test]
    fn empty_header_object() {
        let hdr = read(&file("{}", 0)).unwrap();
        assert!(hdr.tensors.is_empty());
    }

    /// A header of `n` zero-size tensors, as an attacker packs them.
    fn zero_size_tensors(n: usize) -> String {
        let mut h = String::from("{");
        for i in 0..n {
            if i > 0 {
                h.push(',');
            }
            h.push_str(&format!(
                r#""{i}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#
            ));
        }
        h.push('}');
        h
    }

    #[test]
    fn tensor_count_is_capped() {
        let hdr = read(&file(&zero_size_tensors(MAX_TENSORS), 0)).unwrap();
        assert_eq!(hdr.tensors.len(), MAX_TENSORS);
        let e = read(&file(&zero_size_tensors(MAX_TENSORS + 1), 0)).unwrap_err();
        assert!(matches!(e, Error::TooManyTensors { .. }), "{e}");
        assert!(e.to_string().starts_with("t.safetensors: "), "{e}");
        assert!(e.to_string().contains(&MAX_TENSORS.to_string()), "{e}");
    }

    #[test]
    fn repeated_metadata_and_errors_inside_entries_are_named() {
        let h = r#"{"__metadata__":{},"__metadata__":{}}"#;
        assert!(matches!(
            read(&file(h, 0)),
            Err(Error::DuplicateTensor { .. })
        ));
        let h = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}"#;
        let e = read(&file(h, 3)).unwrap_err();
        assert_eq!(
            e,
            Error::DuplicateTensor {
                file: "t.safetensors".into(),
                tensor: "a".into()
            }
        );
        let e = parse_header("t.safetensors", b"{}", 1).unwrap_err();
        assert!(matches!(e, Error::HeaderPastEnd { .. }), "{e}");
        let e = read(&file("{} x", 0)).unwrap_err();
        assert!(matches!(e, Error::HeaderNotJson { .. }), "{e}");
    }

    #[test]
    fn huge_shapes_and_metadata_are_refused_as_they_are_read() {
        let dims = vec!["1"; 1_000_000].join(",");
        let h = format!(r#"{{"x":{{"dtype":"U8","shape":[{dims}],"data_offsets":[0,1]}}}}"#);
        let e = read(&file(&h, 1)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("t.safetensors: tensor \"x\": shape holds more than {MAX_DIMS} numbers")
        );
        let mut h = String::from(r#"{"__metadata__":{"#);
        for i in 0..=MAX_TENSORS {
            h.push_str(&format!(r#""{i}":"","#));
        }
        h.push_str(r#""end":""}}"#);
        let e = read(&file(&h, 0)).unwrap_err();
        assert!(e.to_string().contains("more than 100000 entries"), "{e}");
        assert!(matches!(e, Error::InvalidTensorEntry { tensor, .. } if tensor == "__metadata__"));
        for (h, says) in [
            (
                r#"{"a":{"shape":[1],"data_offsets":[0,1]}}"#,
                "missing dtype",
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#,
                "invalid type: integer `-1`, expected an unsigned integer in shape",
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}"#,
                "data_offsets holds more than 2 numbers",
            ),
            (
                r#"{"a":{"dtype":7,"shape":[1],"data_offsets":[0,1]}}"#,
                "expected a string",
            ),
        ] {
            let e = read(&file(h, 1)).unwrap_err();
            assert!(
                e.to_string().starts_with("t.safetensors: tensor \"a\": "),
                "{e}"
            );
            assert!(e.to_string().ends_with(says), "{e}");
        }
        // Keys other than the three are skipped, whatever they hold.
        let h = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":{"y":[1,[2]]}}}"#;
        assert!(read(&file(h, 1)).is_ok());
    }
}
