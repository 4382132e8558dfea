//! The WebAssembly boundary of the page's "Compare two folders" mode: one
//! opaque [`Verifier`] handle over [`Verification`], and streamed SHA-256
//! ([`sha256_blob`], [`sha256_entry`]). Files arrive in the same entry format as
//! [`super::inspector::Inspector`]; no logic happens in JS.

use std::sync::Arc;

use js_sys::{Function, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use web_sys::Blob;

use super::source::{blob_source, from_entry, hint_tensors, read_inputs, spans, WindowedSource};
use super::{js_err, to_js};
use crate::checks::sha;
use crate::format::open::open_tolerant;
use crate::verify::VerifyScratch;
use crate::{Finding, LayerRow, Model, Verification};

/// Opens one side of the comparison, tolerating damaged shards (they
/// become findings, as in `inspect`).
fn open_side(
    files: &js_sys::Array,
    index: &JsValue,
    config: Option<String>,
) -> Result<(Model, Vec<Arc<WindowedSource>>), JsError> {
    let inputs = read_inputs(files, index, config)?;
    let i = inputs.input;
    open_tolerant(
        i.files,
        i.index.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
        i.config.as_deref(),
    )
    .map(|m| (m, inputs.windowed))
    .map_err(js_err)
}

/// One verified row as it travels through JS.
#[derive(Deserialize)]
struct RowIn {
    row: LayerRow,
    findings: Vec<Finding>,
}

/// Two opened models matched tensor by tensor.
#[wasm_bindgen]
pub struct Verifier {
    verification: Verification,
    scratch: VerifyScratch,
    windowed: [Vec<Arc<WindowedSource>>; 2],
}

#[wasm_bindgen]
impl Verifier {
    /// Opens both models. Each side: `files` `[{name, blob}]` (or
    /// `[{name, size, read}]`), `index` `{name, text}` or null, `config`
    /// the text of `config.json` or null.
    #[wasm_bindgen(constructor)]
    pub fn new(
        original_files: js_sys::Array,
        original_index: JsValue,
        original_config: Option<String>,
        converted_files: js_sys::Array,
        converted_index: JsValue,
        converted_config: Option<String>,
    ) -> Result<Verifier, JsError> {
        console_error_panic_hook::set_once();
        let (original, ow) = open_side(&original_files, &original_index, original_config)
            .map_err(|e| prefix("original", e))?;
        let (converted, cw) = open_side(&converted_files, &converted_index, converted_config)
            .map_err(|e| prefix("converted", e))?;
        Ok(Verifier {
            verification: Verification::new(original, converted),
            scratch: VerifyScratch::default(),
            windowed: [ow, cw],
        })
    }

    /// Before any tensor is read: the report with no rows (structural
    /// findings, bytes before and after) and the bytes each row reads
    /// (`workBytes`).
    pub fn overview(&self) -> Result<JsValue, JsError> {
        let v = &self.verification;
        let work: Vec<u64> = (0..v.len()).map(|i| v.work_bytes(i)).collect();
        to_js(&serde_json::json!({
            "report": v.report(Vec::new()),
            "workBytes": work,
        }))
    }

    /// Number of matched tensors (rows).
    #[wasm_bindgen(js_name = tensorCount)]
    pub fn tensor_count(&self) -> usize {
        self.verification.len()
    }

    /// What verifying pair `i` reads: `{original: [{file, start,
    /// length}], converted: [...], bytes}` (file: index into that side's
    /// entries). The worker reads them ahead with [`Verifier::reserve`].
    #[wasm_bindgen(js_name = readPlan)]
    pub fn read_plan(&self, i: usize) -> Result<JsValue, JsError> {
        let v = &self.verification;
        let p = v
            .pairs
            .get(i)
            .ok_or_else(|| JsError::new(&format!("row {i} is out of range")))?;
        let [ow, cw] = &self.windowed;
        let (original, a) = spans(ow, &v.original, &v.orig.tensors[p.original].parts());
        let (converted, b) = spans(cw, &v.converted, &v.conv.tensors[p.converted].parts());
        to_js(&serde_json::json!({ "original": original, "converted": converted, "bytes": a + b }))
    }

    /// Drops the ranges read ahead for the previous pair (buffers reused).
    pub fn release(&self) {
        for w in self.windowed.iter().flatten() {
            w.release();
        }
    }

    /// Room for `length` bytes of entry `file` of side `side` (0 original,
    /// 1 converted) at `start`: `[slot, address]` in the wasm memory, filled
    /// by the worker before [`Verifier::commit`].
    pub fn reserve(
        &self,
        side: usize,
        file: usize,
        start: f64,
        length: usize,
    ) -> Result<Vec<f64>, JsError> {
        let (slot, ptr) = self.entry(side, file)?.reserve(start as u64, length);
        Ok(vec![slot as f64, ptr as usize as f64])
    }

    /// Marks a reserved slot as filled: the pair's reads are then served
    /// from memory.
    pub fn commit(&self, side: usize, file: usize, slot: usize) -> Result<(), JsError> {
        self.entry(side, file)?.commit(slot);
        Ok(())
    }

    fn entry(&self, side: usize, file: usize) -> Result<&Arc<WindowedSource>, JsError> {
        self.windowed
            .get(side)
            .and_then(|w| w.get(file))
            .ok_or_else(|| JsError::new(&format!("no file entry {file} on side {side}")))
    }

    /// Streams pair `i` and returns `{row, findings}`.
    pub fn row(&mut self, i: usize) -> Result<JsValue, JsError> {
        if i >= self.verification.len() {
            return Err(JsError::new(&format!("row {i} is out of range")));
        }
        let v = &self.verification;
        let p = &v.pairs[i];
        let [ow, cw] = &self.windowed;
        hint_tensors(ow, &v.original, &v.orig.tensors[p.original].parts());
        hint_tensors(cw, &v.converted, &v.conv.tensors[p.converted].parts());
        let (row, findings) = self
            .verification
            .row(i, &mut self.scratch)
            .map_err(js_err)?;
        to_js(&serde_json::json!({ "row": row, "findings": findings }))
    }

    /// Builds the report from `[{row, findings}]` in row order.
    pub fn report(&self, rows: JsValue) -> Result<JsValue, JsError> {
        let rows: Vec<RowIn> = serde_wasm_bindgen::from_value(rows).map_err(js_err)?;
        let rows = rows.into_iter().map(|r| (r.row, r.findings)).collect();
        to_js(&self.verification.report(rows))
    }
}

fn prefix(side: &str, e: JsError) -> JsError {
    let v: JsValue = e.into();
    let msg = Reflect::get(&v, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{v:?}"));
    JsError::new(&format!("{side} model: {msg}"))
}

fn hash_hex(
    name: &str,
    src: &WindowedSource,
    progress: Option<Function>,
) -> Result<String, JsError> {
    let mut done = 0u64;
    let digest = sha::sha256(name, src, |n| {
        done += n;
        if let Some(f) = &progress {
            let _ = f.call1(&JsValue::NULL, &JsValue::from_f64(done as f64));
        }
    })
    .map_err(js_err)?;
    Ok(sha::hex(&digest))
}

/// The SHA-256 of a Blob as 64 lowercase hex digits, read in bounded
/// slices (never the whole file at once). `progress`, if given, is called
/// with the bytes hashed so far.
#[wasm_bindgen(js_name = sha256Blob)]
pub fn sha256_blob(blob: Blob, progress: Option<Function>) -> Result<String, JsError> {
    console_error_panic_hook::set_once();
    hash_hex("blob", &blob_source(blob)?, progress)
}

/// The SHA-256 of a file entry as the Inspector takes it (`{name, blob}`
/// or `{name, size, read}`), as 64 lowercase hex digits, read in bounded
/// pieces. `progress`, if given, is called with the bytes hashed so far.
#[wasm_bindgen(js_name = sha256Entry)]
pub fn sha256_entry(entry: JsValue, progress: Option<Function>) -> Result<String, JsError> {
    console_error_panic_hook::set_once();
    let (name, src) = from_entry(&entry)?;
    hash_hex(&name, &src, progress)
}

/// SHA-256 fed piece by piece, for bytes the worker streams itself (a
/// link's body, a Blob's stream).
#[wasm_bindgen]
pub struct Sha256Feed {
    h: sha2::Sha256,
    fed: f64,
}

#[wasm_bindgen]
impl Sha256Feed {
    /// An empty digest.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Sha256Feed {
        use sha2::Digest;
        Sha256Feed {
            h: sha2::Sha256::new(),
            fed: 0.0,
        }
    }

    /// Adds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        self.h.update(bytes);
        self.fed += bytes.len() as f64;
    }

    /// Bytes added so far.
    pub fn fed(&self) -> f64 {
        self.fed
    }

    /// The digest of everything added, as 64 lowercase hex digits.
    pub fn hex(&self) -> String {
        use sha2::Digest;
        sha::hex(&self.h.clone().finalize())
    }
}

impl Default for Sha256Feed {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses pasted `sha256sum` lines into `{digests: [[file, hex]], badLines}`
/// (file names reduced to their last component, hex lowercase).
#[wasm_bindgen(js_name = parseSha256Sums)]
pub fn parse_sha256_sums(text: &str) -> Result<JsValue, JsError> {
    let (digests, bad) = sha::parse_sums(text);
    to_js(&serde_json::json!({ "digests": digests, "badLines": bad }))
}
