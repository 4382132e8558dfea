//! The WebAssembly boundary: one opaque [`Inspector`] handle, rows through
//! serde-wasm-bindgen, one error conversion. No analysis happens in JS.
//!
//! Each worker owns an instance. Files are read with `FileReaderSync`
//! (synchronous, allowed in workers) in bounded `Blob.slice` ranges, or
//! through a JS `read(offset, length) -> Uint8Array` callback for sources
//! such as HTTP range requests.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use js_sys::{Function, Reflect, Uint8Array};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use web_sys::{Blob, FileReaderSync};

use crate::analyze::{layer_histograms, Scratch};
use crate::{
    export, ByteSource, Inspection, LayerRow, Model, NamedSource, Policy, PolicyKind, Report,
    Scheme,
};

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

pub(crate) fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

/// A browser Blob read synchronously, slice by slice.
///
/// Each `FileReaderSync` call costs a round trip to the browser's blob
/// store, so reads inside the tensor being analysed (`hint`) fetch a window
/// of up to [`WINDOW`] bytes at once, clamped to that tensor; the analysis's
/// later passes over the same tensor are then served from memory. Reads
/// outside the hint (headers) go straight to the blob.
pub(crate) struct BlobSource {
    blob: Blob,
    reader: FileReaderSync,
    len: u64,
    hint: Cell<(u64, u64)>,
    window: RefCell<(u64, Vec<u8>)>,
}

/// Largest read-ahead window per worker and file.
const WINDOW: u64 = 32 << 20;

/// A JS object `{ size, read(offset, length) -> Uint8Array }`.
struct CallbackSource {
    read: Function,
    len: u64,
}

// SAFETY: a wasm32 instance without shared memory runs on one thread; these
// JS handles never cross threads.
unsafe impl Send for BlobSource {}
unsafe impl Sync for BlobSource {}
unsafe impl Send for CallbackSource {}
unsafe impl Sync for CallbackSource {}

impl BlobSource {
    pub(crate) fn new(blob: Blob) -> Result<Self, JsError> {
        let reader = FileReaderSync::new().map_err(|e| JsError::new(&format!("{e:?}")))?;
        let len = blob.size() as u64;
        Ok(BlobSource {
            blob,
            reader,
            len,
            hint: Cell::new((0, 0)),
            window: RefCell::new((0, Vec::new())),
        })
    }

    /// Reads `[offset, offset + buf.len())` with one `FileReaderSync` call.
    fn read_direct(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let end = offset + buf.len() as u64;
        let slice = self
            .blob
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|e| format!("{e:?}"))?;
        let ab = self
            .reader
            .read_as_array_buffer(&slice)
            .map_err(|e| format!("{e:?}"))?;
        let arr = Uint8Array::new(&ab);
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
}

impl ByteSource for BlobSource {
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
        let mut win = self.window.borrow_mut();
        let (wstart, ref mut data) = *win;
        if offset >= wstart && end <= wstart + data.len() as u64 {
            let at = (offset - wstart) as usize;
            buf.copy_from_slice(&data[at..at + buf.len()]);
            return Ok(());
        }
        let (hs, he) = self.hint.get();
        if offset < hs || end > he || buf.len() as u64 >= WINDOW {
            return self.read_direct(offset, buf);
        }
        let wend = he.min(offset + WINDOW).max(end);
        data.resize((wend - offset) as usize, 0);
        if let Err(e) = self.read_direct(offset, data) {
            data.clear();
            return Err(e);
        }
        win.0 = offset;
        buf.copy_from_slice(&win.1[..buf.len()]);
        Ok(())
    }
}

impl ByteSource for CallbackSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let v = self
            .read
            .call2(
                &JsValue::NULL,
                &JsValue::from_f64(offset as f64),
                &JsValue::from_f64(buf.len() as f64),
            )
            .map_err(|e| e.as_string().unwrap_or_else(|| format!("{e:?}")))?;
        let arr: Uint8Array = v
            .dyn_into()
            .map_err(|_| "read() did not return a Uint8Array".to_string())?;
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
}

pub(crate) fn source_of(
    entry: &JsValue,
    blobs: &mut Vec<Arc<BlobSource>>,
) -> Result<(String, Arc<dyn ByteSource>), JsError> {
    let get = |k: &str| Reflect::get(entry, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let name = get("name")
        .as_string()
        .ok_or_else(|| JsError::new("file entry without a name"))?;
    let blob = get("blob");
    if let Some(blob) = blob.dyn_ref::<Blob>() {
        let src = Arc::new(BlobSource::new(blob.clone())?);
        blobs.push(src.clone());
        return Ok((name, src));
    }
    let read: Function = get("read")
        .dyn_into()
        .map_err(|_| JsError::new("file entry needs a blob or a read function"))?;
    let len = get("size")
        .as_f64()
        .ok_or_else(|| JsError::new("file entry without a size"))? as u64;
    Ok((name, Arc::new(CallbackSource { read, len })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Options {
    scheme: Option<String>,
    bits: Option<u8>,
    group_size: Option<u32>,
    policy: Option<String>,
    include: Vec<String>,
    exclude: Vec<String>,
}

/// The sources and index text of one model, from JS entries
/// (`[{name, blob}]` or `[{name, size, read}]`) and `{name, text}` or null.
pub(crate) struct Inputs {
    pub sources: Vec<NamedSource>,
    pub blobs: Vec<Arc<BlobSource>>,
    pub index: Option<(String, String)>,
}

pub(crate) fn read_inputs(files: &js_sys::Array, index: &JsValue) -> Result<Inputs, JsError> {
    let mut sources = Vec::new();
    let mut blobs = Vec::new();
    for entry in files.iter() {
        let (name, src) = source_of(&entry, &mut blobs)?;
        sources.push(NamedSource::new(name, src));
    }
    let index = if index.is_null() || index.is_undefined() {
        None
    } else {
        let get = |k: &str| {
            Reflect::get(index, &JsValue::from_str(k))
                .ok()
                .and_then(|v| v.as_string())
        };
        Some((
            get("name").unwrap_or_else(|| "model.safetensors.index.json".into()),
            get("text").unwrap_or_default(),
        ))
    };
    Ok(Inputs {
        sources,
        blobs,
        index,
    })
}

/// An opened model with a scheme and policy applied.
#[wasm_bindgen]
pub struct Inspector {
    inspection: Inspection,
    scratch: Scratch,
    blobs: Vec<Arc<BlobSource>>,
}

#[wasm_bindgen]
impl Inspector {
    /// Opens a model. `files`: `[{name, blob}]` or `[{name, size, read}]`
    /// for the `.safetensors` files; `index`: `{name, text}` or null;
    /// `config`: the text of `config.json` or null; `options`:
    /// `{scheme, bits, groupSize, policy, include, exclude}`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        files: js_sys::Array,
        index: JsValue,
        config: Option<String>,
        options: JsValue,
    ) -> Result<Inspector, JsError> {
        console_error_panic_hook::set_once();
        let opts: Options = if options.is_undefined() || options.is_null() {
            Options::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(js_err)?
        };
        let group = opts.group_size.unwrap_or(64);
        let scheme = Scheme::parse(
            opts.scheme.as_deref().unwrap_or("int8-tensor"),
            opts.bits.unwrap_or(8),
            group,
        )
        .map_err(js_err)?;
        let kind =
            PolicyKind::parse(opts.policy.as_deref().unwrap_or("default")).map_err(js_err)?;
        let policy =
            Policy::new(kind, group as u64, &opts.include, &opts.exclude).map_err(js_err)?;

        let inputs = read_inputs(&files, &index)?;
        let model = Model::open(
            inputs.sources,
            inputs
                .index
                .as_ref()
                .map(|(n, t)| (n.as_str(), t.as_bytes())),
            config.as_deref().map(str::as_bytes),
        )
        .map_err(js_err)?;
        Ok(Inspector {
            inspection: Inspection::new(model, scheme, &policy),
            scratch: Scratch::default(),
            blobs: inputs.blobs,
        })
    }

    /// The model before any tensor is streamed: files, metadata, config
    /// essentials, findings so far, and one planned row per tensor with
    /// the bytes its analysis reads (`workBytes`).
    pub fn overview(&self) -> Result<JsValue, JsError> {
        let rows = (0..self.inspection.len())
            .map(|i| self.inspection.planned_row(i))
            .collect::<Result<Vec<LayerRow>, _>>()
            .map_err(js_err)?;
        let work: Vec<u64> = (0..self.inspection.len())
            .map(|i| self.inspection.work_bytes(i))
            .collect();
        let report = self.inspection.report(rows);
        to_js(&serde_json::json!({ "report": report, "workBytes": work }))
    }

    /// Number of tensors.
    #[wasm_bindgen(js_name = tensorCount)]
    pub fn tensor_count(&self) -> usize {
        self.inspection.len()
    }

    /// Tells the blob sources which byte range the next reads belong to.
    fn hint(&self, index: usize) {
        let range = self
            .inspection
            .model
            .tensor(index)
            .map(|(_, t)| (t.start, t.end))
            .unwrap_or((0, 0));
        for b in &self.blobs {
            b.hint.set(range);
        }
    }

    /// Streams tensor `index` (model order) and returns its row.
    #[wasm_bindgen(js_name = analyzeTensor)]
    pub fn analyze_tensor(&mut self, index: usize) -> Result<JsValue, JsError> {
        self.hint(index);
        let row = self
            .inspection
            .row(index, &mut self.scratch)
            .map_err(js_err)?;
        to_js(&row)
    }

    /// Builds the full report from rows in model order.
    pub fn report(&self, rows: JsValue) -> Result<JsValue, JsError> {
        let rows: Vec<LayerRow> = serde_wasm_bindgen::from_value(rows).map_err(js_err)?;
        to_js(&self.inspection.report(rows))
    }

    /// Weight and error histograms of tensor `index`, with `bins` bins.
    pub fn histograms(&mut self, index: usize, bins: usize) -> Result<JsValue, JsError> {
        self.hint(index);
        let (shard, t) = self.inspection.model.tensor(index).map_err(js_err)?;
        let h = layer_histograms(
            shard.source.as_ref(),
            &shard.header.file,
            t,
            self.inspection.scheme,
            bins.min(4096),
            &mut self.scratch,
        )
        .map_err(js_err)?;
        to_js(&h)
    }
}

/// Renders a report object as `json`, `csv`, `markdown` or `table` text.
#[wasm_bindgen(js_name = exportReport)]
pub fn export_report(report: JsValue, format: &str) -> Result<String, JsError> {
    let report: Report = serde_wasm_bindgen::from_value(report).map_err(js_err)?;
    let exporter = export::by_name(format)
        .ok_or_else(|| JsError::new(&format!("unknown export format {format:?}")))?;
    Ok(exporter.render(&report))
}
