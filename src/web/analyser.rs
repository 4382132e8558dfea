//! The page's other workers: an [`Analyser`] analyses rows that the first
//! worker's [`super::inspector::Inspector`] describes (the tensors each
//! row reads, from its overview), so no header is parsed twice and a
//! worker holds only the tensors it is analysing.

use wasm_bindgen::prelude::*;

use super::inspector::options_from;
use super::js_err;
use super::session::Session;
use super::source::read_inputs;
use crate::pipeline::{InspectOptions, PartShard, PartTensor, Pipeline};
use crate::{ModelInput, NamedSource};

/// Sources and options without a parsed model; rows arrive with the
/// tensors they read.
#[wasm_bindgen]
pub struct Analyser {
    input: ModelInput,
    options: InspectOptions,
    shards: Vec<PartShard>,
    s: Option<Session>,
    windowed: Vec<std::sync::Arc<super::source::WindowedSource>>,
}

#[wasm_bindgen]
impl Analyser {
    /// `files`, `config` and `options` as for the Inspector; `shards`: the
    /// Inspector's overview `shards`. Reads nothing.
    #[wasm_bindgen(constructor)]
    pub fn new(
        files: js_sys::Array,
        config: Option<String>,
        options: JsValue,
        shards: JsValue,
    ) -> Result<Analyser, JsError> {
        console_error_panic_hook::set_once();
        let options = options_from(options)?;
        options.resolve().map_err(js_err)?;
        let shards: Vec<PartShard> = serde_wasm_bindgen::from_value(shards).map_err(js_err)?;
        let inputs = read_inputs(&files, &JsValue::NULL, config)?;
        Ok(Analyser {
            input: inputs.input,
            options,
            shards,
            s: None,
            windowed: inputs.windowed,
        })
    }

    /// Takes the row named `name` with the tensors it reads (the
    /// overview's `rowTensors` entry) and returns its index for
    /// `readPlan`, `reserve`, `feedBegin` and `analyzeRow`.
    pub fn load(&mut self, name: &str, tensors: JsValue) -> Result<usize, JsError> {
        let tensors: Vec<PartTensor> = serde_wasm_bindgen::from_value(tensors).map_err(js_err)?;
        let files: &[NamedSource] = &self.input.files;
        let p = Pipeline::from_part(
            files,
            &self.shards,
            tensors,
            self.input.config.as_deref(),
            &self.options,
        )
        .map_err(js_err)?;
        let i = p
            .row_named(name)
            .ok_or_else(|| JsError::new(&format!("no row {name:?} among the tensors given")))?;
        self.s = Some(Session::new(p, self.windowed.clone()));
        Ok(i)
    }

    fn session(&self) -> Result<&Session, JsError> {
        self.s.as_ref().ok_or_else(|| JsError::new("no row loaded"))
    }

    fn session_mut(&mut self) -> Result<&mut Session, JsError> {
        self.s.as_mut().ok_or_else(|| JsError::new("no row loaded"))
    }

    /// As [`super::inspector::Inspector::read_plan`], for the loaded row.
    #[wasm_bindgen(js_name = readPlan)]
    pub fn read_plan(&self, index: usize) -> Result<JsValue, JsError> {
        self.session()?.read_plan(index)
    }

    /// As [`super::inspector::Inspector::release`].
    pub fn release(&self) {
        if let Some(s) = &self.s {
            s.release();
        }
    }

    /// As [`super::inspector::Inspector::reserve`].
    pub fn reserve(&self, file: usize, start: f64, length: usize) -> Result<Vec<f64>, JsError> {
        self.session()?.reserve(file, start, length)
    }

    /// As [`super::inspector::Inspector::commit`].
    pub fn commit(&self, file: usize, slot: usize) -> Result<(), JsError> {
        self.session()?.commit(file, slot)
    }

    /// Bytes read synchronously since the last call.
    #[wasm_bindgen(js_name = takeSyncReadBytes)]
    pub fn take_sync_read_bytes(&self) -> f64 {
        self.windowed
            .iter()
            .map(|w| w.take_sync_read())
            .sum::<u64>() as f64
    }

    /// As [`super::inspector::Inspector::held_bytes`].
    #[wasm_bindgen(js_name = heldBytes)]
    pub fn held_bytes(&self) -> f64 {
        self.s.as_ref().map_or(0.0, Session::held_bytes)
    }

    /// As [`super::inspector::Inspector::feed_begin`].
    #[wasm_bindgen(js_name = feedBegin)]
    pub fn feed_begin(&mut self, index: usize, budget: f64) -> Result<(), JsError> {
        self.session_mut()?.feed_begin(index, budget)
    }

    /// As [`super::inspector::Inspector::feed_resume_at`].
    #[wasm_bindgen(js_name = feedResumeAt)]
    pub fn feed_resume_at(&self) -> Result<f64, JsError> {
        self.session()?.feed_resume_at()
    }

    /// As [`super::inspector::Inspector::feed_buffer`].
    #[wasm_bindgen(js_name = feedBuffer)]
    pub fn feed_buffer(&mut self, length: usize) -> Result<f64, JsError> {
        Ok(self.session_mut()?.feed_buffer(length))
    }

    /// As [`super::inspector::Inspector::feed_push`].
    #[wasm_bindgen(js_name = feedPush)]
    pub fn feed_push(&mut self, length: usize) -> Result<(), JsError> {
        self.session_mut()?.feed_push(length)
    }

    /// As [`super::inspector::Inspector::feed_end_pass`].
    #[wasm_bindgen(js_name = feedEndPass)]
    pub fn feed_end_pass(&mut self) -> Result<bool, JsError> {
        self.session_mut()?.feed_end_pass()
    }

    /// As [`super::inspector::Inspector::feed_finish`].
    #[wasm_bindgen(js_name = feedFinish)]
    pub fn feed_finish(&mut self) -> Result<JsValue, JsError> {
        self.session_mut()?.feed_finish()
    }

    /// Streams the loaded row: `{row, findings}`.
    #[wasm_bindgen(js_name = analyzeRow)]
    pub fn analyze_row(&mut self, index: usize) -> Result<JsValue, JsError> {
        self.s
            .as_mut()
            .ok_or_else(|| JsError::new("no row loaded"))?
            .analyze_row(index)
    }
}
