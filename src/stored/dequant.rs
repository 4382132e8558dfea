//! Reading a recognised layer back as f32, a block of whole rows at a
//! time, noting scales that quantization never produces.

use super::config::MlxMode;
use super::layout::{Global, Layout, Logical};
use super::{fp8, int8, mlx, pack};
use crate::{ByteSource, Dtype, Error, Model, TensorInfo};

/// Reads `n` elements of width `width` starting at element `from`.
pub fn read_elems(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    from: u64,
    n: usize,
    width: usize,
    buf: &mut Vec<u8>,
) -> Result<(), Error> {
    buf.resize(n * width, 0);
    let offset = t.start + from * width as u64;
    src.read_at(offset, buf).map_err(|detail| Error::Read {
        file: file.to_string(),
        offset,
        detail: format!("tensor {:?}: {detail}", t.name),
    })
}

/// Reads `n` raw elements from element `from` of stored tensor `i`.
fn read_raw(model: &Model, i: usize, from: u64, n: usize, buf: &mut Vec<u8>) -> Result<(), Error> {
    let (sh, t) = model.tensor(i)?;
    let width = (t.dtype.bits().unwrap_or(8) / 8).max(1) as usize;
    read_elems(sh.source.as_ref(), &sh.header.file, t, from, n, width, buf)
}

/// Reads `n` elements from element `from` of float tensor `i` as f32,
/// returning its dtype.
fn read_f32(
    model: &Model,
    i: usize,
    from: u64,
    n: usize,
    bytes: &mut Vec<u8>,
    out: &mut Vec<f32>,
) -> Result<Dtype, Error> {
    let (sh, t) = model.tensor(i)?;
    let w = t
        .dtype
        .decode_width()
        .ok_or(Error::NoSuchTensor { index: i })?;
    read_elems(sh.source.as_ref(), &sh.header.file, t, from, n, w, bytes)?;
    out.resize(n, 0.0);
    t.dtype.decode(bytes, out);
    Ok(t.dtype.clone())
}

/// What dequantizing a tensor noticed about its encoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeNotes {
    /// Int8 codes equal to -128 (outside a symmetric scheme's range).
    pub int8_min_codes: u64,
    /// Scales quantization never produces: NaN or infinite always; zero
    /// or negative for int8 and FP8; zero for MLX affine (whose scales are
    /// signed by design); negative for `nvfp4`.
    pub bad_scales: u64,
    /// The first bad scale seen.
    pub first_bad_scale: Option<f32>,
}

impl DecodeNotes {
    fn scale(&mut self, s: f32, bad: bool) {
        if bad {
            self.bad_scales += 1;
            self.first_bad_scale.get_or_insert(s);
        }
    }
}

/// Reads a logical tensor back as f32, a block of whole rows at a time.
pub struct Dequantizer<'a> {
    model: &'a Model,
    logical: &'a Logical,
    /// Int8 and FP8 scales, read whole.
    scales: Vec<f32>,
    bytes: Vec<u8>,
    sbuf: Vec<f32>,
    bbuf: Vec<f32>,
    /// A second-level scale, and whether group scales are divided by it.
    global: Option<(f32, bool)>,
    /// Findings-relevant observations so far.
    pub notes: DecodeNotes,
}

impl<'a> Dequantizer<'a> {
    /// Prepares to read `logical`, which must be decodable
    /// ([`Layout::is_decodable`]).
    pub fn new(model: &'a Model, logical: &'a Logical) -> Result<Self, Error> {
        let mut d = Dequantizer {
            model,
            logical,
            scales: Vec::new(),
            bytes: Vec::new(),
            sbuf: Vec::new(),
            bbuf: Vec::new(),
            global: None,
            notes: DecodeNotes::default(),
        };
        let whole = match logical.layout {
            Layout::Int8 { scale, .. } | Layout::Fp8 { scale, .. } => Some(scale),
            _ => None,
        };
        if let Layout::Mlx {
            global: Some(g), ..
        } = logical.layout
        {
            let mut one = Vec::new();
            read_f32(model, g.tensor(), 0, 1, &mut d.bytes, &mut one)?;
            let v = one[0];
            d.notes.scale(v, !(v > 0.0 && v.is_finite()));
            d.global = Some(match g {
                Global::Times(_) => (v, false),
                Global::DividedBy(_) => (v, true),
            });
        }
        if let Some(si) = whole {
            let n = model.tensor(si)?.1.numel as usize;
            read_f32(model, si, 0, n, &mut d.bytes, &mut d.scales)?;
            for &s in &d.scales {
                d.notes.scale(s, !(s > 0.0 && s.is_finite()));
            }
        }
        Ok(d)
    }

    /// Rows per block so a block stays near `target` elements.
    pub fn rows_per_block(&self, target: usize) -> u64 {
        (target as u64 / self.logical.cols()).max(1)
    }

    /// Decodes rows `[r0, r1)` into `out` (resized to their elements);
    /// the range is clamped to the tensor's rows.
    pub fn rows(&mut self, r0: u64, r1: u64, out: &mut Vec<f32>) -> Result<(), Error> {
        let r1 = r1.min(self.logical.rows());
        let r0 = r0.min(r1);
        let cols = self.logical.cols();
        let n = ((r1 - r0) * cols) as usize;
        out.resize(n, 0.0);
        let main = self.logical.main;
        match self.logical.layout {
            Layout::Float | Layout::Fp8 { .. } => {
                read_f32(
                    self.model,
                    main,
                    r0 * cols,
                    n,
                    &mut self.bytes,
                    &mut self.sbuf,
                )?;
                out.copy_from_slice(&self.sbuf);
                if let Layout::Fp8 { block, .. } = self.logical.layout {
                    fp8::apply_scales(out, cols as usize, r0, &self.scales, block);
                }
            }
            Layout::Int8 { rows_per_scale, .. } => {
                read_raw(self.model, main, r0 * cols, n, &mut self.bytes)?;
                self.notes.int8_min_codes += int8::decode(
                    &self.bytes,
                    cols as usize,
                    r0,
                    &self.scales,
                    rows_per_scale,
                    out,
                );
            }
            Layout::Mlx {
                mode,
                scales,
                biases,
                bits,
                group_size,
                ..
            } => self.mlx_rows(r0, r1, out, (mode, scales, biases, bits, group_size))?,
            Layout::Packed { .. } | Layout::Broken { .. } | Layout::Raw => {
                return Err(Error::NoSuchTensor { index: main })
            }
        }
        Ok(())
    }

    fn mlx_rows(
        &mut self,
        r0: u64,
        r1: u64,
        out: &mut [f32],
        (mode, scales, biases, bits, group_size): (MlxMode, usize, Option<usize>, u8, u64),
    ) -> Result<(), Error> {
        let cols = self.logical.cols();
        let packed = cols * bits as u64 / 32;
        let groups = cols / group_size;
        let ng = ((r1 - r0) * groups) as usize;
        let sdt = if mode == MlxMode::Affine {
            let dt = read_f32(
                self.model,
                scales,
                r0 * groups,
                ng,
                &mut self.bytes,
                &mut self.sbuf,
            )?;
            let b = biases.ok_or(Error::NoSuchTensor { index: scales })?;
            read_f32(
                self.model,
                b,
                r0 * groups,
                ng,
                &mut self.bytes,
                &mut self.bbuf,
            )?;
            dt
        } else {
            read_raw(self.model, scales, r0 * groups, ng, &mut self.bytes)?;
            self.sbuf.clear();
            self.sbuf
                .extend(self.bytes.iter().map(|&s| mlx::fp_scale(mode, s)));
            self.bbuf.clear();
            self.bbuf.resize(ng, 0.0);
            Dtype::F32
        };
        for &s in &self.sbuf {
            self.notes.scale(s, mlx::bad_scale(mode, s));
        }
        match self.global {
            Some((g, false)) => self.sbuf.iter_mut().for_each(|s| *s *= g),
            Some((g, true)) => self.sbuf.iter_mut().for_each(|s| *s /= g),
            None => {}
        }
        // Bytes, not words: other tools store the same stream as `U8`.
        let (sh, t) = self.model.tensor(self.logical.main)?;
        read_elems(
            sh.source.as_ref(),
            &sh.header.file,
            t,
            r0 * packed * 4,
            ((r1 - r0) * packed * 4) as usize,
            1,
            &mut self.bytes,
        )?;
        let words: Vec<u32> = self
            .bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        for (r, o) in out.chunks_mut(cols as usize).enumerate() {
            let row = &words[r * packed as usize..(r + 1) * packed as usize];
            for (k, o) in o.iter_mut().enumerate() {
                let q = pack::code_at(row, bits, k);
                let g = r * groups as usize + k / group_size as usize;
                *o = mlx::value(mode, q, self.sbuf[g], self.bbuf[g], &sdt);
            }
        }
        Ok(())
    }
}
