//! What the page's [`super::inspector::Inspector`] and
//! [`super::analyser::Analyser`] share: a pipeline over JS sources, the
//! hand-over of the bytes the worker reads ahead (held ranges, or a
//! push-fed row), and the analysis of one row.

use std::sync::Arc;

use wasm_bindgen::prelude::*;

use super::source::{hint_tensors, spans, WindowedSource};
use super::{js_err, to_js};
use crate::pipeline::feed::RowFeed;
use crate::pipeline::Pipeline;
use crate::quant::analyze::Scratch;

/// A pipeline, its scratch buffers and the sources it reads.
pub(crate) struct Session {
    pub pipeline: Pipeline,
    pub scratch: Scratch,
    /// The JS entries' sources, in the order the entries were given.
    pub windowed: Vec<Arc<WindowedSource>>,
    /// The row being push-fed, and the buffer the worker writes its bytes
    /// into (reused from row to row).
    feed: Option<RowFeed>,
    feed_buf: Vec<u8>,
}

impl Session {
    pub fn new(pipeline: Pipeline, windowed: Vec<Arc<WindowedSource>>) -> Self {
        Session {
            pipeline,
            scratch: Scratch::default(),
            windowed,
            feed: None,
            feed_buf: Vec::new(),
        }
    }

    /// Points the read-ahead windows at the tensors row `index` reads.
    pub fn hint(&self, index: usize) {
        let parts = self.pipeline.row_parts(index);
        hint_tensors(&self.windowed, &self.pipeline.inspection.model, &parts);
    }

    /// What analysing row `index` reads: `{ranges: [{file, start,
    /// length}], bytes, feed, twoPasses}`, the main tensor first (file:
    /// index into the entries). `feed`: whether the row can be push-fed
    /// instead ([`Session::feed_begin`]); `twoPasses`: whether it is then
    /// fed twice (`int8-tensor`). No ranges when it reads nothing.
    pub fn read_plan(&self, index: usize) -> Result<JsValue, JsError> {
        let reads = index < self.pipeline.len() && self.pipeline.work_bytes(index) > 0;
        let parts = if reads {
            self.pipeline.row_parts(index)
        } else {
            Vec::new()
        };
        let (ranges, bytes) = spans(&self.windowed, &self.pipeline.inspection.model, &parts);
        let feed = if reads {
            RowFeed::new(&self.pipeline, index).map_err(js_err)?
        } else {
            None
        };
        let two_passes = feed
            .as_ref()
            .is_some_and(|f| f.feed.quantizes_in_a_second_pass());
        to_js(&serde_json::json!({
            "ranges": ranges,
            "bytes": bytes,
            "feed": feed.is_some(),
            "twoPasses": two_passes,
        }))
    }

    /// Drops the ranges held for the previous row (keeping the buffers).
    pub fn release(&self) {
        for w in &self.windowed {
            w.release();
        }
    }

    /// Makes room for `length` bytes of entry `file` at `start`: `[slot,
    /// address]`, the address in the wasm memory where the worker writes
    /// them before [`Session::commit`].
    pub fn reserve(&self, file: usize, start: f64, length: usize) -> Result<Vec<f64>, JsError> {
        let w = self.source(file)?;
        let (slot, ptr) = w.reserve(start as u64, length);
        Ok(vec![slot as f64, ptr as usize as f64])
    }

    /// Marks a reserved slot of entry `file` as filled.
    pub fn commit(&self, file: usize, slot: usize) -> Result<(), JsError> {
        self.source(file)?.commit(slot);
        Ok(())
    }

    fn source(&self, file: usize) -> Result<&Arc<WindowedSource>, JsError> {
        self.windowed
            .get(file)
            .ok_or_else(|| JsError::new(&format!("no file entry {file}")))
    }

    /// Bytes read synchronously since the last call.
    pub fn take_sync_read_bytes(&self) -> f64 {
        self.windowed
            .iter()
            .map(|w| w.take_sync_read())
            .sum::<u64>() as f64
    }

    /// Bytes of the wasm memory held by read-ahead and feed buffers.
    pub fn held_bytes(&self) -> f64 {
        let held: u64 = self.windowed.iter().map(|w| w.held_capacity()).sum();
        let hold = self.feed.as_ref().map_or(0, |f| f.feed.hold_capacity());
        (held + (self.feed_buf.capacity() + hold) as u64) as f64
    }

    /// Streams row `index` from the held ranges (or, for Blobs, what is
    /// not held: read synchronously): `{row, findings}`.
    pub fn analyze_row(&mut self, index: usize) -> Result<JsValue, JsError> {
        self.hint(index);
        let r = self
            .pipeline
            .row(index, &mut self.scratch)
            .map_err(js_err)?;
        to_js(&r)
    }

    /// Starts the push-fed analysis of row `index` (its `readPlan` said
    /// `feed`): the worker then writes the main tensor's bytes, in order,
    /// into [`Session::feed_buffer`] and hands each piece over with
    /// [`Session::feed_push`], ends each pass with
    /// [`Session::feed_end_pass`] and gets the row from
    /// [`Session::feed_finish`]. Up to `budget` bytes of the tensor's
    /// first pass are kept when a second pass follows;
    /// [`Session::feed_resume_at`] says where that pass starts. The
    /// read-ahead buffers are freed first, and the kept bytes when the
    /// first pass ends, so a worker holds one or the other, never both
    /// (its memory never shrinks). A row fed once keeps nothing, and the
    /// read-ahead buffers are kept for the rows after it.
    pub fn feed_begin(&mut self, index: usize, budget: f64) -> Result<(), JsError> {
        self.feed = None;
        let feed = RowFeed::new(&self.pipeline, index).map_err(js_err)?;
        let mut feed = feed.ok_or_else(|| JsError::new(&format!("row {index} cannot be fed")))?;
        if feed.feed.quantizes_in_a_second_pass() {
            for w in &self.windowed {
                w.free();
            }
        }
        feed.feed.hold(budget.max(0.0) as usize);
        self.feed = Some(feed);
        Ok(())
    }

    /// Where the current pass starts, in bytes from the tensor's start.
    pub fn feed_resume_at(&self) -> Result<f64, JsError> {
        let feed = self
            .feed
            .as_ref()
            .ok_or_else(|| JsError::new("no row being fed"))?;
        Ok(feed.feed.resume_at() as f64)
    }

    /// The wasm-memory address of a reused buffer of `length` bytes.
    pub fn feed_buffer(&mut self, length: usize) -> f64 {
        // Only grows: a shorter last piece does not make the next tensor's
        // first piece zero-fill the buffer again.
        if self.feed_buf.len() < length {
            self.feed_buf.resize(length, 0);
        }
        self.feed_buf.as_mut_ptr() as usize as f64
    }

    /// Feeds the first `length` bytes of the feed buffer.
    pub fn feed_push(&mut self, length: usize) -> Result<(), JsError> {
        let feed = self
            .feed
            .as_mut()
            .ok_or_else(|| JsError::new("no row being fed"))?;
        let bytes = self
            .feed_buf
            .get(..length)
            .ok_or_else(|| JsError::new("feed past the buffer"))?;
        feed.feed.push(bytes).map_err(js_err)
    }

    /// Ends a pass; true when the tensor must be fed once more.
    pub fn feed_end_pass(&mut self) -> Result<bool, JsError> {
        let feed = self
            .feed
            .as_mut()
            .ok_or_else(|| JsError::new("no row being fed"))?;
        feed.feed.end_pass().map_err(js_err)
    }

    /// The fed row: `{row, findings}`.
    pub fn feed_finish(&mut self) -> Result<JsValue, JsError> {
        let feed = self
            .feed
            .take()
            .ok_or_else(|| JsError::new("no row being fed"))?;
        to_js(&feed.finish().map_err(js_err)?)
    }
}
