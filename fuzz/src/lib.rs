//! Helpers shared by the fuzz targets.

use std::sync::Arc;

use quantlens::NamedSource;

/// Splits a fuzz input into `n` parts. Each of the first `n - 1` parts is
/// preceded by its length as a little-endian u16 (clamped to what is
/// left); the last part is the rest. Missing bytes give empty parts.
pub fn split(mut data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    for _ in 1..n {
        let len = match data {
            [a, b, rest @ ..] => {
                data = rest;
                usize::from(u16::from_le_bytes([*a, *b])).min(data.len())
            }
            _ => {
                data = &[];
                0
            }
        };
        let (head, tail) = data.split_at(len);
        parts.push(head);
        data = tail;
    }
    parts.push(data);
    parts
}

/// A named in-memory file, as the page and the tests give one.
pub fn file(name: &str, bytes: &[u8]) -> NamedSource {
    NamedSource::new(name, Arc::new(bytes.to_vec()))
}

/// `Some(bytes)` unless empty: an empty part stands for "no such file".
pub fn present(bytes: &[u8]) -> Option<&[u8]> {
    (!bytes.is_empty()).then_some(bytes)
}
