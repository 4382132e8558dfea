//! The page's inspector: one opaque [`Inspector`] handle over the core's
//! [`Pipeline`], rows out as JSON text (`to_js`), in through
//! serde-wasm-bindgen, one error conversion.
//! This boundary only adapts sources and options; no analysis happens in
//! JS.
//!
//! Each worker owns an instance. The worker reads the bytes a row needs
//! ahead of it, asynchronously (streams, capped), into the wasm memory
//! ([`Inspector::reserve`]), or push-feeds a row over its read budget
//! ([`Inspector::feed_begin`]); the analysis then reads memory. Blob bytes
//! not read ahead are read with `FileReaderSync` in bounded slices; a
//! link's `read` callback serves only the header it was opened with.

use std::collections::BTreeMap;

use wasm_bindgen::prelude::*;

use super::session::Session;
use super::source::{extent, read_inputs, spans, Span};
use super::{js_err, to_js};
use crate::pipeline::{InspectOptions, Pipeline, RowResult};
use crate::quant::analyze::layer_histograms;
use crate::report::export;
use crate::{LayerRow, Report};

/// An opened model with a scheme and policy applied.
#[wasm_bindgen]
pub struct Inspector {
    s: Session,
}

/// Options from JS (`{scheme, bits, groupSize, policy, include, exclude,
/// sha256}`), the defaults when undefined or null.
pub(crate) fn options_from(options: JsValue) -> Result<InspectOptions, JsError> {
    if options.is_undefined() || options.is_null() {
        Ok(InspectOptions::default())
    } else {
        serde_wasm_bindgen::from_value(options).map_err(js_err)
    }
}

#[wasm_bindgen]
impl Inspector {
    /// Opens a model. `files`: `[{name, blob}]` or `[{name, size, read}]`
    /// for the `.safetensors` files; `index`: `{name, text}` or null;
    /// `config`: the text of `config.json` or null; `options`:
    /// `{scheme, bits, groupSize, policy, include, exclude, sha256}`
    /// (`sha256`: `[[file, hex]]`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        files: js_sys::Array,
        index: JsValue,
        config: Option<String>,
        options: JsValue,
    ) -> Result<Inspector, JsError> {
        console_error_panic_hook::set_once();
        let options = options_from(options)?;
        let inputs = read_inputs(&files, &index, config)?;
        let pipeline = Pipeline::open(inputs.input, &options).map_err(js_err)?;
        Ok(Inspector {
            s: Session::new(pipeline, inputs.windowed),
        })
    }

    /// The model before any tensor is streamed: files, metadata, config
    /// essentials, findings so far, and one planned row per tensor with
    /// the bytes its analysis reads (`workBytes`); `structural` is the
    /// first finding saying part of the model could not be read (the CLI
    /// exits 2 on it), or null. `shards` and `rowTensors` (per row) are
    /// what an [`super::analyser::Analyser`] needs to analyse rows
    /// without parsing the headers again; `rowStarts` (per row) the bytes
    /// it reads in its main tensor's file, `{file, start, length}` from
    /// the first to the last, or null.
    pub fn overview(&self) -> Result<JsValue, JsError> {
        let p = &self.s.pipeline;
        let rows = (0..p.len())
            .map(|i| p.planned_row(i))
            .collect::<Result<Vec<LayerRow>, _>>()
            .map_err(js_err)?;
        let work: Vec<u64> = (0..p.len()).map(|i| p.work_bytes(i)).collect();
        let tensors = (0..p.len())
            .map(|i| p.row_tensors(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(js_err)?;
        // Where each row's bytes start, so that the page can hand a worker
        // rows that lie one after the other, read in one stream.
        let starts: Vec<Option<Span>> = (0..p.len())
            .map(|i| extent(&spans(&self.s.windowed, &p.inspection.model, &p.row_parts(i)).0))
            .collect();
        let report = p.inspection.report(rows);
        to_js(&serde_json::json!({
            "report": report,
            "workBytes": work,
            "structural": report.structural_finding(),
            "shards": p.part_shards(),
            "rowTensors": tensors,
            "rowStarts": starts,
        }))
    }

    /// Number of rows.
    #[wasm_bindgen(js_name = tensorCount)]
    pub fn tensor_count(&self) -> usize {
        self.s.pipeline.len()
    }

    /// What analysing row `index` reads: `{ranges: [{file, start,
    /// length}], bytes, feed}` (file: index into the entries given to the
    /// constructor; the main tensor first). The worker reads the ranges
    /// ahead ([`Inspector::reserve`]), or push-feeds the row when `feed`
    /// ([`Inspector::feed_begin`]).
    #[wasm_bindgen(js_name = readPlan)]
    pub fn read_plan(&self, index: usize) -> Result<JsValue, JsError> {
        self.s.read_plan(index)
    }

    /// Drops the ranges read ahead for the previous row (its buffers are
    /// reused).
    pub fn release(&self) {
        self.s.release()
    }

    /// Room for `length` bytes of entry `file` at `start`: `[slot,
    /// address]`, where the worker writes them into the wasm memory before
    /// [`Inspector::commit`]; the analysis then reads them from memory.
    pub fn reserve(&self, file: usize, start: f64, length: usize) -> Result<Vec<f64>, JsError> {
        self.s.reserve(file, start, length)
    }

    /// Marks a reserved slot of entry `file` as filled.
    pub fn commit(&self, file: usize, slot: usize) -> Result<(), JsError> {
        self.s.commit(file, slot)
    }

    /// Bytes read synchronously (`FileReaderSync`) since the last call;
    /// bytes read ahead or fed are not counted.
    #[wasm_bindgen(js_name = takeSyncReadBytes)]
    pub fn take_sync_read_bytes(&self) -> f64 {
        self.s.take_sync_read_bytes()
    }

    /// Bytes of the wasm memory held by read-ahead and feed buffers.
    #[wasm_bindgen(js_name = heldBytes)]
    pub fn held_bytes(&self) -> f64 {
        self.s.held_bytes()
    }

    /// Starts the push-fed analysis of row `index` (see
    /// [`Inspector::read_plan`]'s `feed`). When the tensor takes two
    /// passes, the first keeps up to `budget` bytes (less what is read
    /// ahead) of its start, and the second starts at
    /// [`Inspector::feed_resume_at`].
    #[wasm_bindgen(js_name = feedBegin)]
    pub fn feed_begin(&mut self, index: usize, budget: f64) -> Result<(), JsError> {
        self.s.feed_begin(index, budget)
    }

    /// The byte of the fed tensor the current pass starts at (after
    /// [`Inspector::feed_end_pass`] said another is needed).
    #[wasm_bindgen(js_name = feedResumeAt)]
    pub fn feed_resume_at(&self) -> Result<f64, JsError> {
        self.s.feed_resume_at()
    }

    /// The wasm-memory address of a reused buffer of `length` bytes for
    /// [`Inspector::feed_push`].
    #[wasm_bindgen(js_name = feedBuffer)]
    pub fn feed_buffer(&mut self, length: usize) -> f64 {
        self.s.feed_buffer(length)
    }

    /// Feeds the next `length` bytes of the row's main tensor, written
    /// into the feed buffer.
    #[wasm_bindgen(js_name = feedPush)]
    pub fn feed_push(&mut self, length: usize) -> Result<(), JsError> {
        self.s.feed_push(length)
    }

    /// Ends a pass over the tensor; true when another is needed.
    #[wasm_bindgen(js_name = feedEndPass)]
    pub fn feed_end_pass(&mut self) -> Result<bool, JsError> {
        self.s.feed_end_pass()
    }

    /// The fed row: `{row, findings}`, as [`Inspector::analyze_row`].
    #[wasm_bindgen(js_name = feedFinish)]
    pub fn feed_finish(&mut self) -> Result<JsValue, JsError> {
        self.s.feed_finish()
    }

    /// Streams row `index` and returns its row alone (no scans: see
    /// [`Inspector::analyze_row`]).
    #[wasm_bindgen(js_name = analyzeTensor)]
    pub fn analyze_tensor(&mut self, index: usize) -> Result<JsValue, JsError> {
        self.s.pipeline.planned_row(index).map_err(js_err)?;
        self.s.hint(index);
        let row = self
            .s
            .pipeline
            .inspection
            .row(index, &mut self.s.scratch)
            .map_err(js_err)?;
        to_js(&row)
    }

    /// Streams row `index` and returns `{row, findings}`: the row and what
    /// its tensors' scans found (fake quantization).
    #[wasm_bindgen(js_name = analyzeRow)]
    pub fn analyze_row(&mut self, index: usize) -> Result<JsValue, JsError> {
        self.s.analyze_row(index)
    }

    /// Builds the report from `[{row, findings}]` in row order and the
    /// actual digests of the files the options' `sha256` names
    /// (`{file: hex}` for those present), or null when they were not
    /// hashed (then the report has no digest findings).
    pub fn report(&self, rows: JsValue, digests: JsValue) -> Result<JsValue, JsError> {
        let rows: Vec<RowResult> = serde_wasm_bindgen::from_value(rows).map_err(js_err)?;
        let digests: Option<BTreeMap<String, String>> =
            if digests.is_null() || digests.is_undefined() {
                None
            } else {
                Some(serde_wasm_bindgen::from_value(digests).map_err(js_err)?)
            };
        to_js(&self.s.pipeline.report(rows, digests.as_ref()))
    }

    /// Weight and error histograms of row `index`, with `bins` bins.
    pub fn histograms(&mut self, index: usize, bins: usize) -> Result<JsValue, JsError> {
        self.s.hint(index);
        let p = &self.s.pipeline;
        if index >= p.len() {
            return Err(js_err(crate::Error::NoSuchTensor { index }));
        }
        let main = p.inspection.row_tensor(index);
        let (shard, t) = p.inspection.model.tensor(main).map_err(js_err)?;
        let h = layer_histograms(
            shard.source.as_ref(),
            &shard.header.file,
            t,
            p.inspection.scheme,
            bins.min(4096),
            &mut self.s.scratch,
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
