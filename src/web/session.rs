//! What the page's [`super::inspector::Inspector`] and
//! [`super::analyser::Analyser`] share: a pipeline over windowed JS
//! sources, the read-ahead hand-over, and the analysis of one row.

use std::sync::Arc;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

use super::source::{hint_tensors, WindowedSource, WINDOW};
use super::{js_err, to_js};
use crate::pipeline::Pipeline;
use crate::quant::analyze::Scratch;

/// A pipeline, its scratch buffers and the sources it reads.
pub(crate) struct Session {
    pub pipeline: Pipeline,
    pub scratch: Scratch,
    /// The JS entries' sources, in the order the entries were given.
    pub windowed: Vec<Arc<WindowedSource>>,
}

impl Session {
    pub fn new(pipeline: Pipeline, windowed: Vec<Arc<WindowedSource>>) -> Self {
        Session {
            pipeline,
            scratch: Scratch::default(),
            windowed,
        }
    }

    /// Points the read-ahead windows at the tensors row `index` reads.
    pub fn hint(&self, index: usize) {
        let parts = self.pipeline.row_parts(index);
        hint_tensors(&self.windowed, &self.pipeline.inspection.model, &parts);
    }

    /// `{file, start, length}` of the first bytes row `index` reads (file:
    /// index into the entries), or undefined when it reads nothing.
    pub fn span(&self, index: usize) -> Result<JsValue, JsError> {
        if index >= self.pipeline.len() || self.pipeline.work_bytes(index) == 0 {
            return Ok(JsValue::UNDEFINED);
        }
        let main = self.pipeline.inspection.row_tensor(index);
        let (shard, t) = self
            .pipeline
            .inspection
            .model
            .tensor(main)
            .map_err(js_err)?;
        let Some(file) = self.windowed.iter().position(|w| w.is(&shard.source)) else {
            return Ok(JsValue::UNDEFINED);
        };
        let length = (t.end - t.start).min(WINDOW);
        to_js(&serde_json::json!({ "file": file, "start": t.start, "length": length }))
    }

    /// Hands over bytes of row `index` read ahead from `file` at `start`.
    pub fn provide(&self, index: usize, file: usize, start: f64, bytes: Uint8Array) {
        self.hint(index);
        if let Some(w) = self.windowed.get(file) {
            w.fill(start as u64, &bytes);
        }
    }

    /// Bytes read synchronously since the last call.
    pub fn take_sync_read_bytes(&self) -> f64 {
        self.windowed
            .iter()
            .map(|w| w.sync_read.take())
            .sum::<u64>() as f64
    }

    /// Streams row `index`: `{row, findings}`.
    pub fn analyze_row(&mut self, index: usize) -> Result<JsValue, JsError> {
        self.hint(index);
        let r = self
            .pipeline
            .row(index, &mut self.scratch)
            .map_err(js_err)?;
        to_js(&r)
    }
}
