//! Every native integration test, in one binary.
//!
//! Each file here is one module and keeps the job its name says (see
//! `tests/README.md`). They share one binary because a release test binary
//! is linked with thin LTO against candle and tokenizers: as 24 binaries,
//! they made the crate's part of a test build take 931 CPU-seconds, and as
//! one 267.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../common/mod.rs"]
mod common;

mod cli_convert;
mod cli_exit_codes;
mod cli_inspect;
mod cli_outputs;
mod cli_outputs_convert;
mod cli_outputs_decoders;
mod cli_sanity;
mod cli_verify;
mod fuzz_regressions;
mod oracle_bert_roberta;
mod oracle_fp8_stored;
mod oracle_hub_formats;
mod oracle_mlx_convert;
mod oracle_mlx_lm;
mod oracle_mlx_lm_outputs;
mod oracle_mlx_stored;
mod oracle_numpy;
mod oracle_safetensors;
mod oracle_torch;
mod oracle_torch_decoders;
mod outputs_plan_steps;
mod source_layers;
mod stored_formats;
mod tokenizer_pieces;
mod untrusted_input;
