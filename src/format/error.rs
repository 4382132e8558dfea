//! The one error type for input that cannot be read as a model.
//!
//! These are structural failures: the bytes do not form a safetensors file,
//! an index names shards that are not there, or a source cannot be read.
//! Problems that still leave a readable model (NaN weights, an unknown dtype,
//! a shard missing from the index) are [`crate::Finding`]s instead.

use std::fmt;

/// Why a model could not be read. Every variant names the file it concerns;
/// variants about one tensor name it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The file is shorter than the 8-byte header length prefix.
    TooShort { file: String, len: u64 },
    /// The header length prefix exceeds [`crate::MAX_HEADER_BYTES`].
    HeaderTooLarge { file: String, declared: u64 },
    /// The header length prefix points past the end of the file.
    HeaderPastEnd {
        file: String,
        declared: u64,
        len: u64,
    },
    /// The header bytes are not valid UTF-8.
    HeaderNotUtf8 { file: String, offset: u64 },
    /// The header is UTF-8 but not the JSON object safetensors expects.
    HeaderNotJson { file: String, detail: String },
    /// A tensor entry lacks a field or has one of the wrong type.
    InvalidTensorEntry {
        file: String,
        tensor: String,
        detail: String,
    },
    /// A tensor's `data_offsets` has its end before its start.
    InvalidOffsets {
        file: String,
        tensor: String,
        start: u64,
        end: u64,
    },
    /// The tensors' byte ranges leave a gap or overlap: `expected` is where
    /// the next range had to begin.
    NonContiguous {
        file: String,
        tensor: String,
        expected: u64,
        start: u64,
    },
    /// The product of a tensor's shape, or its byte size, overflows u64.
    ShapeOverflow { file: String, tensor: String },
    /// A tensor's byte range does not hold `shape × dtype size` bytes.
    SizeMismatch {
        file: String,
        tensor: String,
        dtype: String,
        expected: u64,
        actual: u64,
    },
    /// The data section is shorter than the header declares.
    Truncated {
        file: String,
        expected: u64,
        actual: u64,
    },
    /// The data section is longer than the tensors it holds.
    TrailingBytes {
        file: String,
        expected: u64,
        actual: u64,
    },
    /// The header declares more tensors than [`crate::MAX_TENSORS`].
    TooManyTensors { file: String, limit: usize },
    /// The same tensor name appears twice in one header.
    DuplicateTensor { file: String, tensor: String },
    /// The same tensor is stored in two shards.
    TensorInTwoShards {
        tensor: String,
        first: String,
        second: String,
    },
    /// `model.safetensors.index.json` is not the JSON the format expects.
    InvalidIndex { file: String, detail: String },
    /// A shard name in the index could escape its folder.
    UnsafeShardName { file: String, shard: String },
    /// The index names a shard file that was not supplied.
    MissingShard { file: String, shard: String },
    /// No `.safetensors` file was supplied.
    NoSafetensors,
    /// The model's files are well formed but declare no tensor at all
    /// (`file` lists them).
    NoTensors { file: String },
    /// A tensor index asked of a model is out of range.
    NoSuchTensor { index: usize },
    /// Reading bytes from a source failed.
    Read {
        file: String,
        offset: u64,
        detail: String,
    },
    /// An option given by the caller is invalid.
    InvalidOption { detail: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            TooShort { file, len } => {
                write!(f, "{file}: file is {len} bytes, shorter than the 8-byte header length")
            }
            HeaderTooLarge { file, declared } => write!(
                f,
                "{file}: header length {declared} exceeds the {} byte limit",
                crate::MAX_HEADER_BYTES
            ),
            HeaderPastEnd { file, declared, len } => write!(
                f,
                "{file}: header length {declared} runs past the end of the {len}-byte file"
            ),
            HeaderNotUtf8 { file, offset } => {
                write!(f, "{file}: header is not valid UTF-8 (at header byte {offset})")
            }
            HeaderNotJson { file, detail } => write!(f, "{file}: header is not valid JSON: {detail}"),
            InvalidTensorEntry { file, tensor, detail } => {
                write!(f, "{file}: tensor {tensor:?}: {detail}")
            }
            InvalidOffsets { file, tensor, start, end } => write!(
                f,
                "{file}: tensor {tensor:?}: data_offsets end {end} is before start {start}"
            ),
            NonContiguous { file, tensor, expected, start } => write!(
                f,
                "{file}: tensor {tensor:?}: data starts at offset {start}, expected {expected} (tensors must be sorted, contiguous and non-overlapping)"
            ),
            ShapeOverflow { file, tensor } => {
                write!(f, "{file}: tensor {tensor:?}: shape product overflows")
            }
            SizeMismatch { file, tensor, dtype, expected, actual } => write!(
                f,
                "{file}: tensor {tensor:?}: {actual} bytes stored but shape × {dtype} needs {expected}"
            ),
            Truncated { file, expected, actual } => write!(
                f,
                "{file}: truncated: data section is {actual} bytes, header declares {expected}"
            ),
            TrailingBytes { file, expected, actual } => write!(
                f,
                "{file}: data section is {actual} bytes, header declares only {expected}"
            ),
            TooManyTensors { file, limit } => write!(
                f,
                "{file}: header declares more than {limit} tensors, the most accepted in one file"
            ),
            DuplicateTensor { file, tensor } => {
                write!(f, "{file}: tensor {tensor:?} appears twice in the header")
            }
            TensorInTwoShards { tensor, first, second } => {
                write!(f, "tensor {tensor:?} is stored in both {first} and {second}")
            }
            InvalidIndex { file, detail } => write!(f, "{file}: invalid shard index: {detail}"),
            UnsafeShardName { file, shard } => write!(
                f,
                "{file}: shard name {shard:?} is not a plain file name (contains '..', '/' or '\\')"
            ),
            MissingShard { file, shard } => {
                write!(f, "{file}: names shard {shard:?}, which is not present")
            }
            NoSafetensors => write!(f, "no .safetensors file found"),
            NoTensors { file } => write!(
                f,
                "{file}: holds no tensors; there is nothing to inspect, verify or convert"
            ),
            NoSuchTensor { index } => write!(f, "no tensor with index {index}"),
            Read { file, offset, detail } => {
                write!(f, "{file}: read failed at offset {offset}: {detail}")
            }
            InvalidOption { detail } => write!(f, "invalid option: {detail}"),
        }
    }
}

impl std::error::Error for Error {}
