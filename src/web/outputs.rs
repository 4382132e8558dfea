//! The output check's WebAssembly boundary (feature `outputs`, built as
//! its own module, `www/pkg-outputs`, so the inspector's wasm does not
//! grow): one [`OutputsRun`] handle over the core's step-wise
//! [`OutputCheck`].
//!
//! The worker asks [`OutputsRun::plan`] which byte ranges the next step
//! reads, fetches them asynchronously (HTTP Range requests for links,
//! `Blob.slice` for dropped files), hands them over with
//! [`OutputsRun::provide`], then calls [`OutputsRun::step`]. Nothing is
//! read synchronously; cancelling is terminating the worker between steps.

use std::sync::Arc;

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::inspector::options_from;
use super::source::index_entry;
use super::{js_err, to_js};
use crate::outputs::fetched::FetchedSource;
use crate::outputs::side::SideFiles;
use crate::outputs::{inputs, OutputCheck, OutputsReport, Quiet, Run};
use crate::{Model, NamedSource};

/// One model's files as fetched sources, in the order of the JS entries.
struct Side {
    model: Model,
    sources: Vec<(String, Arc<FetchedSource>)>,
}

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

/// Opens a model from entries `[{name, size, head}]` (`head`: its first
/// bytes, at least the 8-byte length and the JSON header), `index`
/// (`{name, text}` or null) and the text of `config.json`.
fn open_side(
    which: &str,
    entries: &js_sys::Array,
    index: &JsValue,
    config: Option<String>,
) -> Result<Side, JsError> {
    let mut files = Vec::new();
    let mut sources = Vec::new();
    for e in entries.iter() {
        let name = get(&e, "name")
            .as_string()
            .ok_or_else(|| JsError::new(&format!("{which} model: a file entry without a name")))?;
        let size = get(&e, "size")
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| JsError::new(&format!("{which} model: {name}: no size")))?;
        let src = Arc::new(FetchedSource::new(name.clone(), size as u64));
        if let Some(head) = get(&e, "head").dyn_ref::<Uint8Array>() {
            src.keep(0, head.to_vec());
        }
        files.push(NamedSource::new(name.clone(), src.clone()));
        sources.push((name, src));
    }
    let index = index_entry(index);
    let model = Model::open(
        files,
        index.as_ref().map(|(n, t)| (n.as_str(), t.as_slice())),
        config.as_deref().map(str::as_bytes),
    )
    .map_err(|e| JsError::new(&format!("{which} model: {e}")))?;
    Ok(Side { model, sources })
}

/// `{path: Uint8Array}` into side files.
fn side_files(side: &JsValue) -> Result<SideFiles, JsError> {
    let mut s = SideFiles::new();
    if side.is_object() {
        for key in js_sys::Object::keys(side.unchecked_ref::<js_sys::Object>()).iter() {
            let path = key.as_string().unwrap_or_default();
            if let Some(b) = get(side, &path).dyn_ref::<Uint8Array>() {
                s.insert(path, b.to_vec());
            }
        }
    }
    Ok(s)
}

/// The module folders `modules.json` names (`1_Pooling`), whose
/// `config.json` the worker should read too, from the bytes of `modules.json`.
#[wasm_bindgen(js_name = outputsModulePaths)]
pub fn outputs_module_paths(modules_json: &[u8]) -> Vec<String> {
    let mut s = SideFiles::new();
    s.insert("modules.json", modules_json.to_vec());
    s.module_paths()
}

/// An output check in progress: both models, the inputs and the run.
#[wasm_bindgen]
pub struct OutputsRun {
    check: OutputCheck,
    run: Run,
    sides: Vec<Vec<(String, Arc<FetchedSource>)>>,
    /// Whether the quantized side is a converted model (its ranges are in
    /// the second side's files) rather than a scheme on the original's.
    converted: bool,
}

#[wasm_bindgen]
impl OutputsRun {
    /// Prepares a run. `original`/`converted`: `{files, index, config}`
    /// (`files`: `[{name, size, head}]`); `converted` null to quantize the
    /// original on the fly with `options` (`{scheme, bits, groupSize,
    /// policy, include, exclude}`). `side`: `{path: Uint8Array}` of the
    /// original's side files (`tokenizer.json`, …). `text`: inputs, one per
    /// line, a TAB between a pair's texts; empty for the built-in inputs.
    #[wasm_bindgen(constructor)]
    pub fn new(
        original: JsValue,
        converted: JsValue,
        options: JsValue,
        side: JsValue,
        text: String,
    ) -> Result<OutputsRun, JsError> {
        console_error_panic_hook::set_once();
        let open = |which: &str, v: &JsValue| -> Result<Side, JsError> {
            let files: js_sys::Array = get(v, "files")
                .dyn_into()
                .map_err(|_| JsError::new(&format!("{which} model: no files")))?;
            open_side(
                which,
                &files,
                &get(v, "index"),
                get(v, "config").as_string(),
            )
        };
        let orig = open("original", &original)?;
        let side = side_files(&side)?;
        let conv = if converted.is_null() || converted.is_undefined() {
            None
        } else {
            Some(open("converted", &converted)?)
        };
        let mut sides = vec![orig.sources];
        let check = match conv {
            Some(c) => {
                sides.push(c.sources);
                OutputCheck::with_converted(orig.model, &side, c.model)
            }
            None => {
                let (scheme, policy) = options_from(options)?.resolve().map_err(js_err)?;
                OutputCheck::with_scheme(orig.model, &side, scheme, policy)
            }
        }
        .map_err(js_err)?;
        let inputs = if text.trim().is_empty() {
            check.builtin_inputs()
        } else {
            inputs::parse(&text, "the inputs box").map_err(js_err)?
        };
        let run = check.start(&inputs).map_err(js_err)?;
        Ok(OutputsRun {
            converted: sides.len() == 2,
            check,
            run,
            sides,
        })
    }

    /// Steps in all: the embeddings, each layer, the head.
    pub fn total(&self) -> usize {
        self.run.total()
    }

    /// Steps done.
    pub fn done(&self) -> usize {
        self.run.done()
    }

    /// The byte ranges the next step reads: `[{side, file, start, length}]`,
    /// `side` 0 for the original's entries and 1 for the converted's,
    /// `file` an index into them.
    pub fn plan(&mut self) -> Result<JsValue, JsError> {
        let [o, q] = self.check.plan(&self.run).map_err(js_err)?;
        let q_side = usize::from(self.converted);
        let mut out = Vec::new();
        for (side, ranges) in [(0, o), (q_side, q)] {
            for r in ranges {
                let file = self.sides[side]
                    .iter()
                    .position(|(n, _)| *n == r.file)
                    .ok_or_else(|| JsError::new(&format!("no entry for {}", r.file)))?;
                let v = serde_json::json!({
                    "side": side, "file": file, "start": r.start, "length": r.end - r.start
                });
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        to_js(&out)
    }

    /// Hands over `bytes` of entry `file` of `side` from `start`, for the next step.
    pub fn provide(
        &self,
        side: usize,
        file: usize,
        start: f64,
        bytes: Vec<u8>,
    ) -> Result<(), JsError> {
        let (_, src) = self
            .sides
            .get(side)
            .and_then(|s| s.get(file))
            .ok_or_else(|| JsError::new(&format!("no file {file} on side {side}")))?;
        src.provide(start as u64, bytes);
        Ok(())
    }

    /// Runs the next step with the bytes provided, then drops them.
    /// Returns `{done, total, layer}`: the figures of the layer just
    /// finished (null after the head).
    pub fn step(&mut self) -> Result<JsValue, JsError> {
        let before = self.run.layers().len();
        let r = self.check.step(&mut self.run, &mut Quiet);
        for s in self.sides.iter().flatten() {
            s.1.clear_step();
        }
        r.map_err(js_err)?;
        let layer = self.run.layers().get(before).cloned();
        to_js(&serde_json::json!({
            "done": self.run.done(),
            "total": self.run.total(),
            "layer": layer,
        }))
    }

    /// The `outputs` object the CLI prints in JSON, once every step has run.
    pub fn report(&self) -> Result<JsValue, JsError> {
        to_js(self.finished()?)
    }

    /// The report rendered as `json` (`{"outputs": …}`), `csv` or `markdown`,
    /// byte for byte as the CLI prints it.
    pub fn render(&self, format: &str) -> Result<String, JsError> {
        let r = self.finished()?;
        Ok(match format {
            "csv" => r.to_csv(),
            "markdown" => r.to_markdown(),
            _ => r.to_json(),
        })
    }
}

impl OutputsRun {
    fn finished(&self) -> Result<&OutputsReport, JsError> {
        self.run.report().ok_or_else(|| {
            JsError::new(&format!(
                "the check has run {} of {} steps",
                self.run.done(),
                self.run.total()
            ))
        })
    }
}
