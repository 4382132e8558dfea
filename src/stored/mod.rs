//! Stored quantized formats: recognising, from the headers and
//! `config.json` alone, how a model stores each weight, and reading
//! quantized layers back as f32.
//!
//! | format | tensors | read back |
//! | --- | --- | --- |
//! | int8 | `I8` `<name>` + f32 `<name>.__scale__`, or compressed-tensors `I8` `<m>.weight` + `<m>.weight_scale` (per tensor or per first-dimension slice) | yes ([`int8`]); with a weight zero point or per-group scales, sized only |
//! | MLX | `U32` `<m>.weight` + `<m>.scales` (+ `<m>.biases`): `affine` 2–8 bits, `mxfp4`, `mxfp8`, `nvfp4` | yes ([`mlx`]) |
//! | byte-stored FP4 | gpt-oss `<p>_blocks` + `<p>_scales`; ModelOpt NVFP4 `U8` `<m>.weight` + `F8_E4M3` `weight_scale` + `weight_scale_2`; compressed-tensors `nvfp4`/`mxfp4-pack-quantized` `U8` `weight_packed` + `weight_scale` (+ `weight_global_scale`) | yes ([`fp4`], read as MLX's) |
//! | FP8 | `F8_E4M3`/`F8_E5M2` `<m>.weight` + `weight_scale_inv` (blocks) or `weight_scale` | yes ([`fp8`]) |
//! | GPTQ, AWQ, compressed-tensors | `qweight`/`qzeros`/`scales`/`g_idx`, `weight_packed`/`weight_scale`/`weight_zero_point` | no: recognised and sized ([`packed`]) |
//! | bitsandbytes | 4-bit `U8` `<m>.weight` + `absmax`, `quant_map`, `nested_*`, `quant_state.bitsandbytes__nf4`/`__fp4`; 8-bit `I8` `<m>.weight` + `<m>.SCB` | no: recognised and sized ([`bnb`]) |
//! | EXL2, EXL3 | `q_weight` + `q_invperm`, `q_scale`, `q_scale_max`, `q_groups`; `trellis` + `suh`/`svh`, `mcg`, `mul1` | no: recognised and sized ([`exllama`]) |
//!
//! A quantized layer with its companions is one [`Logical`] tensor named
//! after its weight; companions are never layers of their own.
//!
//! This layer uses only the model's headers and byte sources
//! ([`crate::Model`], [`crate::ByteSource`]), dtype decoding and
//! [`crate::Finding`]; it knows nothing of policies, schemes or reports.
//!
//! May use: `format/`. May not use: `quant/`, `checks/`, `report/`, the
//! pipelines, `web/` or `cli/`.

pub mod bnb;
pub mod config;
pub mod dequant;
pub mod exllama;
pub mod fp4;
pub mod fp8;
pub mod int8;
pub mod layout;
pub mod mlx;
pub mod pack;
pub mod packed;
pub mod recognise;

pub use config::{HfQuantConfig, MlxMode, MlxQuantConfig, ModuleQuant};
pub use dequant::{read_elems, DecodeNotes, Dequantizer};
pub use layout::{CodeSource, Global, Layout, Logical, PackedFormat, StoredInfo};
pub use pack::{pack_codes, unpack_codes};
pub use recognise::{recognise, Recognised};
