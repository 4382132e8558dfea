//! JS byte sources for the core: Blobs read with `FileReaderSync` and
//! `{name, size, read}` entries read through a callback, each behind the
//! core's [`ReadAhead`] (the ranges the worker read ahead, asynchronously),
//! and the conversion of the page's file entries into the core's
//! [`ModelInput`].

use std::sync::Arc;

use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, FileReaderSync};

use crate::format::readahead::{same_source, tensor_ranges, RangeRead, ReadAhead};
use crate::{Model, ModelInput, NamedSource};

/// A browser Blob, read with `FileReaderSync` (allowed in workers).
struct BlobRead {
    blob: Blob,
    reader: FileReaderSync,
}

/// A JS callback `read(offset, length) -> Uint8Array`, e.g. HTTP range
/// requests made by the worker.
struct CallbackRead {
    read: Function,
}

fn copy_exact(arr: &Uint8Array, buf: &mut [u8]) -> Result<(), String> {
    if arr.length() as usize != buf.len() {
        return Err(format!(
            "read {} bytes, expected {}",
            arr.length(),
            buf.len()
        ));
    }
    arr.copy_to(buf);
    Ok(())
}

impl RangeRead for BlobRead {
    fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let end = offset + buf.len() as u64;
        let slice = self
            .blob
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|e| format!("{e:?}"))?;
        let ab = self
            .reader
            .read_as_array_buffer(&slice)
            .map_err(|e| format!("{e:?}"))?;
        copy_exact(&Uint8Array::new(&ab), buf)
    }
}

impl RangeRead for CallbackRead {
    fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let v = self
            .read
            .call2(
                &JsValue::NULL,
                &JsValue::from_f64(offset as f64),
                &JsValue::from_f64(buf.len() as f64),
            )
            .map_err(|e| {
                e.as_string()
                    .or_else(|| {
                        Reflect::get(&e, &JsValue::from_str("message"))
                            .ok()
                            .and_then(|m| m.as_string())
                    })
                    .unwrap_or_else(|| format!("{e:?}"))
            })?;
        let arr: Uint8Array = v
            .dyn_into()
            .map_err(|_| "read() did not return a Uint8Array".to_string())?;
        copy_exact(&arr, buf)
    }
}

// SAFETY: a wasm32 instance without shared memory runs on one thread; these
// JS handles never cross threads.
unsafe impl Send for BlobRead {}
unsafe impl Sync for BlobRead {}
unsafe impl Send for CallbackRead {}
unsafe impl Sync for CallbackRead {}

/// A JS byte source: ranges read ahead by the worker are held, the rest is
/// read synchronously (Blobs; a link's `read` serves only its header).
pub(crate) type WindowedSource = ReadAhead<Box<dyn RangeRead>>;

/// A Blob's source.
pub(crate) fn blob_source(blob: Blob) -> Result<WindowedSource, JsError> {
    let reader = FileReaderSync::new().map_err(|e| JsError::new(&format!("{e:?}")))?;
    let len = blob.size() as u64;
    Ok(ReadAhead::new(Box::new(BlobRead { blob, reader }), len))
}

/// A JS file entry: `{name, blob}` or `{name, size, read}`.
pub(crate) fn from_entry(entry: &JsValue) -> Result<(String, WindowedSource), JsError> {
    let get = |k: &str| Reflect::get(entry, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let name = get("name")
        .as_string()
        .ok_or_else(|| JsError::new("file entry without a name"))?;
    if let Some(blob) = get("blob").dyn_ref::<Blob>() {
        return Ok((name, blob_source(blob.clone())?));
    }
    let read: Function = get("read").dyn_into().map_err(|_| {
        JsError::new(&format!(
            "{name}: file entry needs a blob or a read function"
        ))
    })?;
    let size = get("size").as_f64().filter(|s| s.is_finite() && *s >= 0.0);
    let len = size.ok_or_else(|| JsError::new(&format!("{name}: file entry without a size")))?;
    let raw: Box<dyn RangeRead> = Box::new(CallbackRead { read });
    Ok((name, ReadAhead::new(raw, len as u64)))
}

/// Points each source's read-ahead windows at the byte ranges of
/// `tensors` (model-order indices into `model`) that it holds.
pub(crate) fn hint_tensors(windowed: &[Arc<WindowedSource>], model: &Model, tensors: &[usize]) {
    for w in windowed {
        w.hint(&tensor_ranges(w, model, tensors));
    }
}

/// Where a tensor's bytes lie: `file` indexes the JS entries.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct Span {
    pub file: usize,
    pub start: u64,
    pub length: u64,
}

/// `[{file, start, length}]`: where the bytes of `tensors` lie (file: index
/// into `windowed`, the JS entries), in the order of `tensors`; and their
/// total.
pub(crate) fn spans(
    windowed: &[Arc<WindowedSource>],
    model: &Model,
    tensors: &[usize],
) -> (Vec<Span>, u64) {
    let mut out = Vec::new();
    let mut total = 0;
    for &i in tensors {
        let Ok((shard, t)) = model.tensor(i) else {
            continue;
        };
        let Some(file) = windowed.iter().position(|w| same_source(w, &shard.source)) else {
            continue;
        };
        if t.bytes() > 0 {
            total += t.bytes();
            out.push(Span {
                file,
                start: t.start,
                length: t.bytes(),
            });
        }
    }
    (out, total)
}

/// The bytes `spans` cover in the first one's file, from the first byte
/// to the last (`None` for no spans).
pub(crate) fn extent(spans: &[Span]) -> Option<Span> {
    let file = spans.first()?.file;
    let same = spans.iter().filter(|s| s.file == file);
    let start = same.clone().map(|s| s.start).min()?;
    let end = same.map(|s| s.start + s.length).max()?;
    Some(Span {
        file,
        start,
        length: end - start,
    })
}

/// One model's input for the core, and the windowed sources behind it
/// (in the order of the JS entries).
pub(crate) struct Inputs {
    pub input: ModelInput,
    pub windowed: Vec<Arc<WindowedSource>>,
}

/// The shard index `{name, text}` from JS as (name, bytes); None for null.
pub(crate) fn index_entry(index: &JsValue) -> Option<(String, Vec<u8>)> {
    if index.is_null() || index.is_undefined() {
        return None;
    }
    let get = |k: &str| {
        Reflect::get(index, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
    };
    Some((
        get("name").unwrap_or_else(|| "model.safetensors.index.json".into()),
        get("text").unwrap_or_default().into_bytes(),
    ))
}

/// Reads JS entries (`[{name, blob}]` or `[{name, size, read}]`), the
/// index (`{name, text}` or null) and the text of `config.json`.
pub(crate) fn read_inputs(
    files: &js_sys::Array,
    index: &JsValue,
    config: Option<String>,
) -> Result<Inputs, JsError> {
    let mut sources = Vec::new();
    let mut windowed = Vec::new();
    for entry in files.iter() {
        let (name, src) = from_entry(&entry)?;
        let src = Arc::new(src);
        windowed.push(src.clone());
        sources.push(NamedSource::new(name, src));
    }
    let index = index_entry(index);
    Ok(Inputs {
        input: ModelInput {
            files: sources,
            index,
            config: config.map(String::into_bytes),
            sums: None,
        },
        windowed,
    })
}
