//! The output check: run the original and the quantized model on the same
//! inputs, layer by layer, and compare the same outputs (feature `outputs`).
//!
//! Layer-streamed: weights come from the models' byte sources one layer at
//! a time ([`weights`]), never whole files; the original and quantized
//! sides advance in lockstep ([`engine`]). The quantized side is a scheme
//! applied on the fly (reusing [`crate::quant::analyze`]'s quantize pass) or a
//! converted folder decoded by [`crate::stored`].
//!
//! Files, one job each: [`config`] (config.json), [`side`] (tokenizer and
//! sentence-transformers files as bytes), [`tokenizer`], [`inputs`],
//! [`weights`], [`family`] (the trait and shared encoder blocks) with one
//! file per family ([`bert`], [`distilbert`], [`roberta`]), [`pooling`],
//! [`figures`], [`report`], [`engine`], [`error`]. Decoder LLMs: [`decoder`]
//! (Llama, Mistral, Qwen2) with [`decoder_config`], [`rope`],
//! [`prompts`] and [`next_token`] (KL divergence of the next-token
//! distributions). Step by step ([`OutputCheck::start`], [`OutputCheck::plan`],
//! [`OutputCheck::step`]) for the page's worker, which fetches each step's
//! byte ranges into [`fetched`] sources before running it.
//!
//! ```no_run
//! # use quantlens::outputs::{OutputCheck, SideFiles, Quiet};
//! # fn f(model: quantlens::Model, side: SideFiles) -> Result<(), quantlens::outputs::OutputsError> {
//! let mut check = OutputCheck::with_scheme(model, &side, quantlens::Scheme::Int8Tensor, quantlens::Policy::default_rule())?;
//! let inputs = check.builtin_inputs();
//! let report = check.run(&inputs, &mut Quiet)?;
//! println!("{}", report.to_text());
//! # Ok(()) }
//! ```

pub mod bert;
pub mod config;
pub mod decoder;
pub mod decoder_config;
pub mod distilbert;
pub mod engine;
pub mod error;
pub mod family;
pub mod fetched;
pub mod figures;
pub mod inputs;
pub mod next_token;
pub mod pack;
pub mod pooling;
pub mod prompts;
pub mod ranges;
pub mod report;
pub mod roberta;
pub mod rope;
pub mod run;
pub mod side;
pub mod tokenizer;
pub mod weights;

pub use config::{ArchConfig, FamilyKind};
pub use engine::{device, Observer, OutputCheck, Quiet};
pub use error::OutputsError;
pub use inputs::Input;
pub use report::OutputsReport;
pub use run::Run;
pub use side::SideFiles;
