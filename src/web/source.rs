//! JS byte sources for the core: Blobs read with `FileReaderSync` and
//! `{name, size, read}` entries read through a callback, each behind a
//! read-ahead window, and the conversion of the page's file entries into
//! the core's [`ModelInput`].

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, FileReaderSync};

use crate::{ByteSource, Model, ModelInput, NamedSource};

/// Where a [`WindowedSource`] gets its bytes: one synchronous call per range.
trait RawRead {
    fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<(), String>;
}

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

impl RawRead for BlobRead {
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

impl RawRead for CallbackRead {
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

/// A JS byte source read synchronously, range by range.
///
/// Each raw read costs a round trip (to the browser's blob store, or an
/// HTTP range request), so reads inside the tensor being analysed (`hint`)
/// fetch a window of up to [`WINDOW`] bytes at once, clamped to that
/// tensor; the analysis's later passes over the same tensor are then served
/// from memory. Reads outside the hint (headers) go straight to the source.
pub(crate) struct WindowedSource {
    raw: Box<dyn RawRead>,
    len: u64,
    /// Byte ranges of the tensors being analysed, at most [`MAX_HINTS`];
    /// `windows[i]` holds bytes of `hints[i]` (start offset, bytes).
    hints: RefCell<Vec<(u64, u64)>>,
    windows: RefCell<Vec<(u64, Vec<u8>)>>,
    /// Bytes read synchronously from `raw` since the last
    /// [`Inspector::take_sync_read_bytes`]: each such read hands over a
    /// fresh buffer that the worker's garbage collector is slow to return.
    pub(crate) sync_read: Cell<u64>,
}

/// Tensors read together (a quantized weight with its scales and biases).
const MAX_HINTS: usize = 4;

/// Largest read-ahead window per worker and file.
pub(crate) const WINDOW: u64 = 32 << 20;

// SAFETY: a wasm32 instance without shared memory runs on one thread; these
// JS handles never cross threads.
unsafe impl Send for WindowedSource {}
unsafe impl Sync for WindowedSource {}

impl WindowedSource {
    /// Fills the first window with `bytes`, read by the caller from
    /// `offset` (an asynchronous read done ahead of the analysis).
    pub(crate) fn fill(&self, offset: u64, bytes: &Uint8Array) {
        let mut windows = self.windows.borrow_mut();
        if windows.is_empty() {
            windows.push((0, Vec::new()));
        }
        let (wstart, data) = &mut windows[0];
        data.resize(bytes.length() as usize, 0);
        bytes.copy_to(data);
        *wstart = offset;
    }

    /// Whether `source` (a shard's) is this windowed source.
    pub(crate) fn is(self: &Arc<Self>, source: &Arc<dyn ByteSource>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(source), Arc::as_ptr(self))
    }

    fn new(raw: Box<dyn RawRead>, len: u64) -> Self {
        WindowedSource {
            raw,
            len,
            hints: RefCell::new(Vec::new()),
            windows: RefCell::new(Vec::new()),
            sync_read: Cell::new(0),
        }
    }

    pub(crate) fn blob(blob: Blob) -> Result<Self, JsError> {
        let reader = FileReaderSync::new().map_err(|e| JsError::new(&format!("{e:?}")))?;
        let len = blob.size() as u64;
        Ok(Self::new(Box::new(BlobRead { blob, reader }), len))
    }

    /// A JS file entry: `{name, blob}` or `{name, size, read}`.
    pub(crate) fn from_entry(entry: &JsValue) -> Result<(String, Self), JsError> {
        let get =
            |k: &str| Reflect::get(entry, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        let name = get("name")
            .as_string()
            .ok_or_else(|| JsError::new("file entry without a name"))?;
        if let Some(blob) = get("blob").dyn_ref::<Blob>() {
            return Ok((name, Self::blob(blob.clone())?));
        }
        let read: Function = get("read").dyn_into().map_err(|_| {
            JsError::new(&format!(
                "{name}: file entry needs a blob or a read function"
            ))
        })?;
        let size = get("size").as_f64().filter(|s| s.is_finite() && *s >= 0.0);
        let len =
            size.ok_or_else(|| JsError::new(&format!("{name}: file entry without a size")))?;
        Ok((name, Self::new(Box::new(CallbackRead { read }), len as u64)))
    }
}

impl ByteSource for WindowedSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let end = offset + buf.len() as u64;
        if end > self.len {
            return Err(format!(
                "range {offset}..{end} is past the end of the {}-byte file",
                self.len
            ));
        }
        let mut windows = self.windows.borrow_mut();
        for (wstart, data) in windows.iter() {
            if offset >= *wstart && end <= wstart + data.len() as u64 {
                let at = (offset - wstart) as usize;
                buf.copy_from_slice(&data[at..at + buf.len()]);
                return Ok(());
            }
        }
        let hints = self.hints.borrow();
        let slot = hints.iter().position(|&(hs, he)| offset >= hs && end <= he);
        let Some(slot) = slot.filter(|_| (buf.len() as u64) < WINDOW) else {
            self.sync_read.set(self.sync_read.get() + buf.len() as u64);
            return self.raw.read_range(offset, buf);
        };
        if windows.len() <= slot {
            windows.resize_with(slot + 1, || (0, Vec::new()));
        }
        let wend = hints[slot].1.min(offset + WINDOW).max(end);
        let (wstart, data) = &mut windows[slot];
        data.resize((wend - offset) as usize, 0);
        self.sync_read.set(self.sync_read.get() + data.len() as u64);
        if let Err(e) = self.raw.read_range(offset, data) {
            data.clear();
            return Err(e);
        }
        *wstart = offset;
        buf.copy_from_slice(&data[..buf.len()]);
        Ok(())
    }
}

/// Points each source's read-ahead windows at the byte ranges of
/// `tensors` (model-order indices into `model`) that it holds.
pub(crate) fn hint_tensors(windowed: &[Arc<WindowedSource>], model: &Model, tensors: &[usize]) {
    for w in windowed {
        let mut hints = w.hints.borrow_mut();
        hints.clear();
        for &i in tensors {
            let Ok((shard, t)) = model.tensor(i) else {
                continue;
            };
            if w.is(&shard.source) && hints.len() < MAX_HINTS {
                hints.push((t.start, t.end));
            }
        }
        let keep = hints.len();
        w.windows.borrow_mut().truncate(keep);
    }
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
        let (name, src) = WindowedSource::from_entry(&entry)?;
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
