//! The page's other workers: an [`Analyser`] analyses rows that the first
//! worker's [`super::inspector::Inspector`] describes (the tensors each
//! row reads, from its overview), so no header is parsed twice and a
//! worker holds only the tensors it is analysing.

use js_sys::Uint8Array;
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
    /// `tensorSpan`, `provide` and `analyzeRow`.
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

    /// As [`super::inspector::Inspector::tensor_span`], for the loaded row.
    #[wasm_bindgen(js_name = tensorSpan)]
    pub fn tensor_span(&self, index: usize) -> Result<JsValue, JsError> {
        self.session()?.span(index)
    }

    /// As [`super::inspector::Inspector::provide`], for the loaded row.
    pub fn provide(&self, index: usize, file: usize, start: f64, bytes: Uint8Array) {
        if let Some(s) = &self.s {
            s.provide(index, file, start, bytes);
        }
    }

    /// Bytes read synchronously since the last call.
    #[wasm_bindgen(js_name = takeSyncReadBytes)]
    pub fn take_sync_read_bytes(&self) -> f64 {
        self.windowed
            .iter()
            .map(|w| w.sync_read.take())
            .sum::<u64>() as f64
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
