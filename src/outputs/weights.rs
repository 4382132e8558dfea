//! Where a side's weights come from, one tensor at a time: the original
//! model as stored, the original quantized on the fly by a scheme, or a
//! converted folder (int8 with f32 scales, MLX affine) read back as f32.
//!
//! May use: [`crate::stored`] (recognising and decoding stored layouts),
//! [`crate::quant::analyze`] (the streamed quantize → dequantize pass of a
//! scheme), [`crate::Model`], `candle-core`. Reads only through the
//! model's byte sources, never a whole file: a tensor is read when a layer
//! asks for it and dropped with the layer.

pub use super::ranges::{merge_ranges, FileRange};
use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::error::{OutputsError, Result};
use crate::quant::analyze::{self, Scratch};
use crate::stored::{self, Dequantizer, Layout, Logical};
use crate::{Decision, Model, Policy, Scheme, Severity};

/// One side of the comparison: a model and how its weights are read.
pub struct WeightStream {
    model: Model,
    by_name: HashMap<String, Logical>,
    on_the_fly: Option<(Scheme, Policy)>,
    /// Which side this is, for messages: `original`, `quantized`, `converted`.
    pub side: &'static str,
    device: Device,
    scratch: Scratch,
    /// Bytes of tensor data read so far (companions included).
    pub bytes_read: u64,
    /// Value statistics of tensors read block by block ([`Self::row_block`]).
    stats: HashMap<String, crate::quant::stats::ValueStats>,
    /// While planning ([`Self::plan_begin`]): the byte ranges reads would
    /// touch, and no bytes are read.
    planned: Option<Vec<FileRange>>,
    /// Why a quantized weight cannot be decoded (a missing or misshapen
    /// companion), by name, with its file: recognition's error findings.
    broken: HashMap<String, String>,
}

impl WeightStream {
    fn build(
        model: Model,
        hint: &dyn Fn(&str) -> Option<Vec<u64>>,
        on_the_fly: Option<(Scheme, Policy)>,
        side: &'static str,
        device: &Device,
    ) -> Self {
        let rec = stored::recognise(&model, hint);
        let broken = rec
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .filter_map(|f| {
                let file = f.file.as_deref().unwrap_or("the model");
                Some((f.tensor.clone()?, format!("{file}: {}", f.message)))
            })
            .collect();
        let by_name = rec
            .tensors
            .into_iter()
            .map(|l| (l.name.clone(), l))
            .collect();
        WeightStream {
            model,
            by_name,
            on_the_fly,
            side,
            device: device.clone(),
            scratch: Scratch::default(),
            bytes_read: 0,
            stats: HashMap::new(),
            planned: None,
            broken,
        }
    }

    /// Starts planning: until [`Self::plan_take`], reads record the byte
    /// ranges they would touch and return zeros, so running a step's
    /// loading code tells which bytes the step needs (the page fetches
    /// them asynchronously before running the step for real).
    pub fn plan_begin(&mut self) {
        self.planned = Some(Vec::new());
    }

    /// Ends planning and returns the recorded ranges, merged.
    pub fn plan_take(&mut self) -> Vec<FileRange> {
        merge_ranges(self.planned.take().unwrap_or_default())
    }

    /// What a read returns while planning: zeros of `shape`, as a view of
    /// one scalar (a whole `lm_head`'s worth of zeros is never allocated).
    fn planned_zeros(&self, shape: impl Into<candle_core::Shape>) -> Result<Tensor> {
        let zero = Tensor::zeros((), candle_core::DType::F32, &self.device)?;
        Ok(zero.broadcast_as(shape)?)
    }

    /// Records the byte ranges of every stored part of `l` (rows
    /// `rows` of its main tensor only, when given and it is a plain float
    /// tensor read as stored). True when planning.
    fn plan(&mut self, l: &Logical, rows: Option<&[u32]>) -> Result<bool> {
        if self.planned.is_none() {
            return Ok(false);
        }
        let as_stored = l.layout == Layout::Float && matches!(self.quantizes(l), Ok(None));
        let exact_rows = rows.filter(|_| as_stored);
        let mut add = Vec::new();
        for part in l.parts() {
            let (sh, t) = self.model.tensor(part)?;
            let file = sh.header.file.clone();
            match exact_rows.filter(|_| part == l.main && l.shape.len() == 2) {
                Some(rows) => {
                    let row = (t.end - t.start) / l.shape[0].max(1);
                    for &r in rows {
                        let start = t.start + r as u64 * row;
                        add.push(FileRange {
                            file: file.clone(),
                            start,
                            end: (start + row).min(t.end),
                        });
                    }
                }
                None => add.push(FileRange {
                    file,
                    start: t.start,
                    end: t.end,
                }),
            }
        }
        self.planned.get_or_insert_with(Vec::new).extend(add);
        Ok(true)
    }

    /// The original model, read as stored.
    pub fn original(model: Model, device: &Device) -> Self {
        Self::build(model, &|_| None, None, "original", device)
    }

    /// The original model with `scheme` applied on the fly to every tensor
    /// `policy` quantizes.
    pub fn quantized(model: Model, scheme: Scheme, policy: Policy, device: &Device) -> Self {
        Self::build(
            model,
            &|_| None,
            Some((scheme, policy)),
            "quantized",
            device,
        )
    }

    /// A converted model, read back as f32. `original` gives the original
    /// shapes, which help recognise MLX bit widths without a config.
    pub fn converted(model: Model, original: &WeightStream, device: &Device) -> Self {
        let hint = |n: &str| original.shape(n).map(<[u64]>::to_vec);
        Self::build(model, &hint, None, "converted", device)
    }

    /// The logical shape of a tensor, if the model has it.
    pub fn shape(&self, name: &str) -> Option<&[u64]> {
        self.by_name.get(name).map(|l| l.shape.as_slice())
    }

    /// The distinct quantized storage formats of the model, e.g.
    /// `["int8"]` or `["mlx-affine-4bit-g64"]` (empty for a float model).
    pub fn stored_formats(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .by_name
            .values()
            .filter(|l| l.layout.is_quantized())
            .map(|l| l.layout.label())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether the model has a tensor.
    pub fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Every logical tensor name with its shape.
    pub fn shapes(&self) -> impl Iterator<Item = (&str, &[u64])> {
        self.by_name
            .iter()
            .map(|(n, l)| (n.as_str(), l.shape.as_slice()))
    }

    /// Why a tensor the model has cannot be read back as f32, if it cannot:
    /// an integer tensor, a quantized weight with a missing or misshapen
    /// companion (`.scales`, `.biases`, `.__scale__`), or a packed format
    /// without a decoder.
    pub fn unreadable(&self, name: &str) -> Option<OutputsError> {
        let l = self.by_name.get(name)?;
        let detail =
            match &l.layout {
                Layout::Raw => "not a decodable float or quantized tensor".to_string(),
                Layout::Broken { .. } => self.broken.get(name).cloned().unwrap_or_else(|| {
                    "its quantization companions are missing or malformed".into()
                }),
                other if !other.is_decodable() => {
                    format!(
                        "stored as {}, which the output check cannot decode",
                        other.label()
                    )
                }
                _ => return None,
            };
        Some(OutputsError::BadTensor {
            tensor: name.into(),
            detail: format!("in the {} model, {detail}", self.side),
        })
    }

    fn logical(&self, name: &str, needed_by: &str) -> Result<&Logical> {
        let l = self
            .by_name
            .get(name)
            .ok_or_else(|| OutputsError::MissingTensor {
                tensor: name.into(),
                needed_by: format!("{needed_by}, {} model", self.side),
            })?;
        match self.unreadable(name) {
            Some(e) => Err(e),
            None => Ok(l),
        }
    }

    /// Whether the scheme quantizes this tensor on the fly.
    fn quantizes(&self, l: &Logical) -> Result<Option<Scheme>> {
        let Some((scheme, policy)) = &self.on_the_fly else {
            return Ok(None);
        };
        if l.layout != Layout::Float {
            return Ok(None);
        }
        let t = self.model.tensor(l.main)?.1;
        Ok(match policy.decide(t, scheme.group_size().is_some()) {
            Decision::Quantize => Some(*scheme),
            Decision::Keep(_) => None,
        })
    }

    /// Runs the scheme's streamed quantize → dequantize pass over a whole
    /// tensor, handing each element's dequantized value to `keep` with its
    /// flat index.
    fn quantize_pass(
        &mut self,
        l: &Logical,
        scheme: Scheme,
        mut keep: impl FnMut(u64, &[f32]),
    ) -> Result<()> {
        let (sh, t) = self.model.tensor(l.main)?;
        let (src, file) = (sh.source.as_ref(), sh.header.file.as_str());
        let values = analyze::scan(src, file, t, &mut self.scratch)?;
        let mut at = 0u64;
        analyze::quantize_pass(
            src,
            file,
            t,
            scheme,
            &values,
            &mut self.scratch,
            |_, d, _| {
                keep(at, d);
                at += d.len() as u64;
            },
        )?;
        self.bytes_read += 2 * t.bytes();
        Ok(())
    }

    /// A whole tensor as f32, in its logical shape.
    pub fn tensor(&mut self, name: &str, needed_by: &str) -> Result<Tensor> {
        let l = self.logical(name, needed_by)?.clone();
        let shape: Vec<usize> = l.shape.iter().map(|&d| d as usize).collect();
        if self.plan(&l, None)? {
            return self.planned_zeros(shape);
        }
        let mut out = Vec::with_capacity(l.numel() as usize);
        if let Some(scheme) = self.quantizes(&l)? {
            self.quantize_pass(&l, scheme, |_, d| out.extend_from_slice(d))?;
        } else {
            let mut d = Dequantizer::new(&self.model, &l)?;
            d.rows(0, l.rows(), &mut out)?;
            self.bytes_read += l.stored_bytes;
        }
        Ok(Tensor::from_vec(out, shape, &self.device)?)
    }

    /// Rows of a 2-D tensor (an embedding table), in the order asked for;
    /// only those rows are read (a scheme that needs the whole tensor's
    /// statistics streams it once).
    pub fn rows(&mut self, name: &str, rows: &[u32], needed_by: &str) -> Result<Tensor> {
        let l = self.logical(name, needed_by)?.clone();
        if l.shape.len() != 2 {
            return Err(OutputsError::BadTensor {
                tensor: name.into(),
                detail: format!("expected a 2-D table, found shape {:?}", l.shape),
            });
        }
        let (n_rows, cols) = (l.shape[0], l.shape[1] as usize);
        if let Some(&r) = rows.iter().find(|&&r| r as u64 >= n_rows) {
            return Err(OutputsError::BadTensor {
                tensor: name.into(),
                detail: format!("row {r} asked for, but the table has {n_rows} rows (a token id beyond the vocabulary?)"),
            });
        }
        let mut out = vec![0f32; rows.len() * cols];
        if self.plan(&l, Some(rows))? {
            return Ok(Tensor::from_vec(out, (rows.len(), cols), &self.device)?);
        }
        if let Some(scheme) = self.quantizes(&l)? {
            let mut want: HashMap<u64, Vec<usize>> = HashMap::new();
            for (i, &r) in rows.iter().enumerate() {
                want.entry(r as u64).or_default().push(i);
            }
            self.quantize_pass(&l, scheme, |at, d| {
                for (k, &x) in d.iter().enumerate() {
                    let e = at + k as u64;
                    if let Some(slots) = want.get(&(e / cols as u64)) {
                        let c = (e % cols as u64) as usize;
                        for &s in slots {
                            out[s * cols + c] = x;
                        }
                    }
                }
            })?;
        } else {
            let mut d = Dequantizer::new(&self.model, &l)?;
            let mut buf = Vec::new();
            for (i, &r) in rows.iter().enumerate() {
                d.rows(r as u64, r as u64 + 1, &mut buf)?;
                out[i * cols..(i + 1) * cols].copy_from_slice(&buf);
            }
            self.bytes_read += l.stored_bytes / n_rows.max(1) * rows.len() as u64;
        }
        Ok(Tensor::from_vec(out, (rows.len(), cols), &self.device)?)
    }

    /// Rows `start..end` of a 2-D tensor, for an output layer read block by
    /// block. Under a scheme only those rows are quantized; `int8-tensor`'s
    /// scale comes from one scan of the tensor, kept for the next blocks.
    pub fn row_block(
        &mut self,
        name: &str,
        start: u64,
        end: u64,
        needed_by: &str,
    ) -> Result<Tensor> {
        let l = self.logical(name, needed_by)?.clone();
        if l.shape.len() != 2 || start >= end || end > l.shape[0] {
            return Err(OutputsError::BadTensor {
                tensor: name.into(),
                detail: format!(
                    "rows {start}..{end} asked for, but its shape is {:?}",
                    l.shape
                ),
            });
        }
        let cols = l.shape[1] as usize;
        let shape = ((end - start) as usize, cols);
        if self.plan(&l, None)? {
            return self.planned_zeros(shape);
        }
        let mut out = Vec::with_capacity(shape.0 * cols);
        if let Some(scheme) = self.quantizes(&l)? {
            let (sh, t) = self.model.tensor(l.main)?;
            let (src, file) = (sh.source.as_ref(), sh.header.file.as_str());
            if !self.stats.contains_key(name) {
                let v = analyze::scan(src, file, t, &mut self.scratch)?;
                self.bytes_read += t.bytes();
                self.stats.insert(name.to_string(), v);
            }
            let values = &self.stats[name];
            analyze::quantize_rows(
                src,
                file,
                t,
                scheme,
                values,
                start..end,
                &mut self.scratch,
                |_, d, _| out.extend_from_slice(d),
            )?;
            self.bytes_read += t.bytes() / l.shape[0] * (end - start);
        } else {
            Dequantizer::new(&self.model, &l)?.rows(start, end, &mut out)?;
            self.bytes_read += l.stored_bytes / l.shape[0] * (end - start);
        }
        Ok(Tensor::from_vec(out, shape, &self.device)?)
    }
}
