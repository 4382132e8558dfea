//! The lockstep, layer-streamed run: the original and the quantized model
//! advance one layer at a time over every input, each layer's weights read
//! from the byte sources when it starts and dropped when it ends. Peak
//! memory is about two layers' weights plus the inputs' activations.
//!
//! May use: every other `outputs` module, [`crate::Model`].

use candle_core::{Device, Tensor};

use super::config::ArchConfig;
use super::error::{OutputsError, Result};
use super::family::{self, Family};
use super::figures::{self, LayerAcc};
use super::inputs::{self, Input};
use super::pack;
use super::pooling::Pooling;
use super::report::OutputsReport;
use super::run::Run;
use super::side::SideFiles;
use super::tokenizer::{Encoded, TextTokenizer};
use super::weights::{FileRange, WeightStream};
use crate::{Model, Policy, Scheme};

/// Receives progress and, for tests and plots, the states as they pass.
pub trait Observer {
    /// `done` of `total` steps finished (embeddings, each layer, head).
    /// Returning `false` cancels the run.
    fn progress(&mut self, _done: usize, _total: usize) -> bool {
        true
    }
    /// Hidden states `[tokens × width]` of `input` after `layer`.
    fn hidden(&mut self, _layer: usize, _input: usize, _orig: &Tensor, _quant: &Tensor) {}
    /// The final output vectors of `input`: pooled embeddings or logits.
    fn output(&mut self, _input: usize, _orig: &[f32], _quant: &[f32]) {}
    /// A decoder's next-token logits for vocabulary rows from `first_row`:
    /// `[positions × rows]` over every position of every input, in order.
    fn logits(&mut self, _first_row: usize, _orig: &Tensor, _quant: &Tensor) {}
}

/// An observer that only watches.
pub struct Quiet;
impl Observer for Quiet {}

/// A prepared output check: both sides, the family, tokenizer and pooling.
pub struct OutputCheck {
    original: WeightStream,
    quantized: WeightStream,
    cfg: ArchConfig,
    family: Box<dyn Family>,
    tokenizer: TextTokenizer,
    pooling: Option<Pooling>,
    label: String,
}

fn arch(model: &Model, which: &str) -> Result<ArchConfig> {
    let v = model
        .config
        .as_ref()
        .ok_or_else(|| OutputsError::MissingFile {
            file: "config.json".into(),
            why: format!("the {which} model's architecture, sizes and activation come from it"),
        })?;
    ArchConfig::from_json(v)
}

/// The device tensors live on: Metal or CUDA when built with that feature
/// and one is present, else the CPU.
pub fn device() -> Device {
    #[cfg(feature = "metal")]
    if let Ok(d) = Device::new_metal(0) {
        return d;
    }
    #[cfg(feature = "cuda")]
    if let Ok(d) = Device::new_cuda(0) {
        return d;
    }
    Device::Cpu
}

impl OutputCheck {
    fn build(
        original: WeightStream,
        quantized: WeightStream,
        cfg: ArchConfig,
        side: &SideFiles,
        label: String,
    ) -> Result<Self> {
        let family = family::for_config(&cfg, &original)?;
        let tokenizer = TextTokenizer::load(side, cfg.max_tokens())?;
        family.check_vocabulary(&original, tokenizer.vocab_size())?;
        let pooling = Pooling::from_side(side)?;
        Ok(OutputCheck {
            original,
            quantized,
            cfg,
            family,
            tokenizer,
            pooling,
            label,
        })
    }

    /// The original against itself quantized on the fly by `scheme` under `policy`.
    pub fn with_scheme(
        model: Model,
        side: &SideFiles,
        scheme: Scheme,
        policy: Policy,
    ) -> Result<Self> {
        let cfg = arch(&model, "original")?;
        let dev = device();
        let label = format!(
            "{} ({} policy, on the fly)",
            scheme.label(),
            policy.kind().name()
        );
        let q = WeightStream::quantized(model.clone(), scheme, policy, &dev);
        Self::build(WeightStream::original(model, &dev), q, cfg, side, label)
    }

    /// The original against a converted folder. Both must be like with
    /// like: the same architecture and the same logical tensor shapes.
    pub fn with_converted(original: Model, side: &SideFiles, converted: Model) -> Result<Self> {
        let cfg = arch(&original, "original")?;
        if converted.config.is_some() {
            let d = cfg.differences(&arch(&converted, "converted")?);
            if !d.is_empty() {
                return Err(OutputsError::UnlikeComparison {
                    detail: format!(
                        "config.json differs between the original and the converted model: {}",
                        d.join(", ")
                    ),
                });
            }
        }
        let dev = device();
        let o = WeightStream::original(original, &dev);
        let c = WeightStream::converted(converted, &o, &dev);
        let mut names: Vec<(&str, &[u64])> = o.shapes().collect();
        names.sort();
        for (name, shape) in names {
            // A tensor the original holds in float but the converted model
            // cannot decode (say, MLX codes without their scales).
            if o.unreadable(name).is_none() {
                if let Some(e) = c.unreadable(name) {
                    return Err(e);
                }
            }
            if let Some(cs) = c.shape(name) {
                if cs != shape {
                    return Err(OutputsError::UnlikeComparison {
                        detail: format!("tensor {name:?} is {shape:?} in the original and {cs:?} in the converted model"),
                    });
                }
            }
        }
        let formats = c.stored_formats();
        let label = format!(
            "converted ({})",
            if formats.is_empty() {
                "float".into()
            } else {
                formats.join(", ")
            }
        );
        Self::build(o, c, cfg, side, label)
    }

    /// The architecture being run.
    pub fn config(&self) -> &ArchConfig {
        &self.cfg
    }

    /// The longest input in tokens.
    pub fn max_length(&self) -> usize {
        self.tokenizer.max_length
    }

    /// The built-in inputs that fit the model: pairs for a classifier, varied
    /// texts for a decoder.
    pub fn builtin_inputs(&self) -> Vec<Input> {
        if self.cfg.decoder.is_some() {
            return super::prompts::builtin();
        }
        inputs::builtin(self.cfg.labels.is_some())
    }

    /// Tokenizes inputs with the original model's tokenizer.
    pub fn encode(&self, inputs: &[Input]) -> Result<Vec<Encoded>> {
        inputs.iter().map(|i| self.tokenizer.encode(i)).collect()
    }

    /// Runs both models over `inputs` in lockstep and computes the figures.
    pub fn run(&mut self, inputs: &[Input], obs: &mut dyn Observer) -> Result<OutputsReport> {
        let mut run = self.start(inputs)?;
        if !obs.progress(0, run.total) {
            return Err(OutputsError::Cancelled);
        }
        while !run.finished() {
            self.step(&mut run, obs)?;
            if !obs.progress(run.done, run.total) {
                return Err(OutputsError::Cancelled);
            }
        }
        run.into_report()
    }

    /// Tokenizes `inputs` and prepares a step-wise run: [`Self::step`] runs
    /// the embeddings, then one layer at a time, then the head, so a caller
    /// (the page's worker) can report progress and stop between steps.
    pub fn start(&self, inputs: &[Input]) -> Result<Run> {
        if inputs.is_empty() {
            return Err(OutputsError::BadInput {
                detail: "no inputs".into(),
            });
        }
        Ok(Run {
            enc: self.encode(inputs)?,
            texts: inputs.iter().map(Input::line).collect(),
            total: self.family.layers() + 2,
            done: 0,
            ho: Vec::new(),
            hq: Vec::new(),
            layers: Vec::new(),
            report: None,
        })
    }

    /// The byte ranges the next step of `run` reads, per side (original,
    /// then quantized or converted; a scheme on the fly reads the
    /// original's files). Found by running the step's loading code with
    /// reads recorded instead of made.
    pub fn plan(&mut self, run: &Run) -> Result<[Vec<FileRange>; 2]> {
        self.original.plan_begin();
        self.quantized.plan_begin();
        let planned = self.load_step(run);
        let ranges = [self.original.plan_take(), self.quantized.plan_take()];
        planned?;
        Ok(ranges)
    }

    /// Runs the loading part of `run`'s next step on both sides.
    fn load_step(&mut self, run: &Run) -> Result<()> {
        let (o, q) = (&mut self.original, &mut self.quantized);
        let l = run.done;
        if l == 0 {
            self.family.embed(o, &run.enc)?;
            self.family.embed(q, &run.enc)?;
        } else if l < run.total - 1 {
            self.family.layer(o, l - 1)?;
            self.family.layer(q, l - 1)?;
        } else if let Some(head) = self.family.lm_head(o) {
            for w in [o, q] {
                w.tensor(&head.norm, "the final norm")?;
                w.row_block(
                    &head.weight,
                    0,
                    head.vocab as u64,
                    "the output layer (lm_head)",
                )?;
            }
        } else {
            self.family.head(o)?;
            self.family.head(q)?;
        }
        Ok(())
    }

    /// Runs the next step of `run`: the embeddings, one layer, or the head.
    pub fn step(&mut self, run: &mut Run, obs: &mut dyn Observer) -> Result<()> {
        if run.finished() {
            return Ok(());
        }
        let width = self.cfg.hidden;
        if run.done == 0 {
            run.ho = self.family.embed(&mut self.original, &run.enc)?;
            run.hq = self.family.embed(&mut self.quantized, &run.enc)?;
            let mut acc = LayerAcc::default();
            for (i, (o, q)) in run.ho.iter().zip(&run.hq).enumerate() {
                acc.push(&flat(o)?, &flat(q)?, None, width);
                obs.hidden(0, i, o, q);
            }
            run.layers.push(acc.finish(0));
        } else if run.done < run.total - 1 {
            let l = run.done - 1;
            let lo = self.family.layer(&mut self.original, l)?;
            let lq = self.family.layer(&mut self.quantized, l)?;
            let mut acc = LayerAcc::default();
            let lens: Vec<usize> = run.enc.iter().map(|e| e.ids.len()).collect();
            let widest = self.cfg.intermediate.max(3 * width).max(1);
            for g in pack::groups(&lens, pack::PACK_FLOATS / (2 * widest)) {
                let p = pack::passes(&*lo, &*lq, &run.ho[g.clone()], &run.hq[g.clone()])?;
                let states = p.original.into_iter().zip(p.alone).zip(p.quantized);
                for (i, ((no, alone), nq)) in g.zip(states) {
                    acc.push(&flat(&no)?, &flat(&nq)?, Some(&flat(&alone)?), width);
                    obs.hidden(l + 1, i, &no, &nq);
                    run.ho[i] = no;
                    run.hq[i] = nq;
                }
            }
            run.layers.push(acc.finish(l + 1));
        } else {
            run.report = Some(self.head(run, obs)?);
        }
        run.done += 1;
        Ok(())
    }

    /// The last step: the head's figures and the report.
    fn head(&mut self, run: &Run, obs: &mut dyn Observer) -> Result<OutputsReport> {
        let (enc, texts, ho, hq) = (&run.enc, &run.texts, &run.ho, &run.hq);
        let width = self.cfg.hidden;
        let mut report = OutputsReport {
            model_type: self.cfg.model_type.clone(),
            architecture: self.cfg.architecture.clone(),
            quantized: self.label.clone(),
            inputs: enc.len(),
            truncated: enc.iter().filter(|e| e.truncated).count(),
            max_length: self.tokenizer.max_length,
            tokens: enc.iter().map(|e| e.ids.len()).sum(),
            layers: run.layers.clone(),
            embedding: None,
            embedding_cls: None,
            classification: None,
            next_token: None,
            per_input: None,
        };
        if let Some(head) = self.family.lm_head(&self.original) {
            let (o, q) = (&mut self.original, &mut self.quantized);
            let (nt, per) = super::next_token::score(&head, o, q, ho, hq, enc, texts, obs)?;
            report.next_token = Some(nt);
            report.per_input = Some(per);
            return Ok(report);
        }
        let heads = (
            self.family.head(&mut self.original)?,
            self.family.head(&mut self.quantized)?,
        );
        if let (Some(po), Some(pq)) = heads {
            let (mut lo, mut lq) = (Vec::new(), Vec::new());
            for i in 0..enc.len() {
                lo.push(flat(&po.logits(&ho[i])?)?);
                lq.push(flat(&pq.logits(&hq[i])?)?);
                obs.output(i, &lo[i], &lq[i]);
            }
            let labels = self.cfg.labels.clone().unwrap_or_default();
            report.classification = Some(figures::classification(&labels, texts, &lo, &lq));
        } else {
            let with_tokens: Vec<(String, usize)> = texts
                .iter()
                .cloned()
                .zip(enc.iter().map(|e| e.ids.len()))
                .collect();
            let pooled = |p: &Pooling,
                          obs: Option<&mut dyn Observer>|
             -> Result<figures::EmbeddingFigures> {
                let (mut vo, mut vq) = (Vec::new(), Vec::new());
                for i in 0..enc.len() {
                    vo.push(p.pool(&flat(&ho[i])?, width));
                    vq.push(p.pool(&flat(&hq[i])?, width));
                }
                if let Some(obs) = obs {
                    for i in 0..enc.len() {
                        obs.output(i, &vo[i], &vq[i]);
                    }
                }
                Ok(figures::embedding(
                    &p.name(),
                    p.normalize,
                    &with_tokens,
                    &vo,
                    &vq,
                ))
            };
            match &self.pooling {
                Some(p) => report.embedding = Some(pooled(p, Some(obs))?),
                None => {
                    report.embedding = Some(pooled(&Pooling::mean(), Some(obs))?);
                    report.embedding_cls = Some(pooled(&Pooling::cls(), None)?);
                }
            }
        }
        Ok(report)
    }
}

/// A tensor's values, flattened, as f32 on the CPU.
fn flat(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}
