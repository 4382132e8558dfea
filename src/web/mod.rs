//! The WebAssembly boundary: the page's inspector and shard analyser, the
//! compare page's verifier and streamed SHA-256, over JS byte sources;
//! with feature `outputs`, the output check's `outputs::OutputsRun`.
//! [`inspector::Inspector`], [`analyser::Analyser`] and
//! [`verifier::Verifier`] adapt sources ([`source`]) and options; the
//! analysis is the core's.
//!
//! May use: the library's core and pipelines. Nothing in the library
//! uses this folder: the core never reaches `web/` or `cli/`.

pub mod analyser;
pub mod inspector;
#[cfg(feature = "outputs")]
pub mod outputs;
mod session;
pub mod source;
pub mod verifier;

use wasm_bindgen::prelude::*;

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// `v` as a JS value, by way of JSON text: one `JSON.parse` builds the
/// object where a serializer into JS objects crossed the boundary once
/// per field (bert-large's overview, on a worker's first call: 45–70 ms
/// that way, 22 ms this way). The values are the CLI's JSON's: a
/// non-finite float is null in both.
pub(crate) fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(v).map_err(js_err)?;
    js_sys::JSON::parse(&text).map_err(|e| JsError::new(&format!("{e:?}")))
}
