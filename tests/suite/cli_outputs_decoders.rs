//! The decoder output check on bad input: each problem gives a clear error
//! naming the file or tensor, never a panic. Unsupported `model_type` and
//! rope scaling, a missing `lm_head` without tied embeddings, a tokenizer
//! larger than the embedding, a missing side file or layer tensor, a
//! converted model of another family or shape, and MLX conversions whose
//! `.scales` are missing or misshapen.
#![cfg(feature = "outputs")]

use crate::common;

use std::path::Path;

use quantlens::outputs::{inputs, OutputCheck, OutputsError, Quiet};
use quantlens::{Policy, Scheme};
use serde_json::Value;

use common::outputs::{models, open_folder, side_files};

/// A copy of tiny-llama in a temporary folder; `config` edits config.json,
/// `tensors` edits the tensors before model.safetensors is written.
fn edited(
    config: impl FnOnce(&mut Value),
    tensors: impl FnOnce(&mut Vec<(String, Vec<usize>, Vec<f32>)>),
) -> tempfile::TempDir {
    let src = models().join("tiny-llama");
    let d = tempfile::tempdir().unwrap();
    for f in ["tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(src.join(f), d.path().join(f)).unwrap();
    }
    let mut cfg: Value =
        serde_json::from_slice(&std::fs::read(src.join("config.json")).unwrap()).unwrap();
    config(&mut cfg);
    std::fs::write(
        d.path().join("config.json"),
        serde_json::to_vec(&cfg).unwrap(),
    )
    .unwrap();
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut t: Vec<(String, Vec<usize>, Vec<f32>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            let x = v
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (n, v.shape().to_vec(), x)
        })
        .collect();
    tensors(&mut t);
    let data: Vec<Vec<u8>> = t
        .iter()
        .map(|(_, _, x)| x.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = t
        .iter()
        .zip(&data)
        .map(|((n, s, _), b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &d.path().join("model.safetensors")).unwrap();
    d
}

fn check(dir: &Path) -> Result<OutputCheck, OutputsError> {
    OutputCheck::with_scheme(
        open_folder(dir),
        &side_files(dir),
        Scheme::Int8Tensor,
        Policy::default_rule(),
    )
}

#[test]
fn an_unchanged_copy_runs() {
    // The editing harness itself keeps a runnable model.
    let d = edited(|_| {}, |_| {});
    let inputs = inputs::builtin(false)[..2].to_vec();
    let r = check(d.path()).unwrap().run(&inputs, &mut Quiet).unwrap();
    assert!(r.next_token.unwrap().kld_mean > 0.0);
}

#[test]
fn unsupported_model_type_is_named() {
    let d = edited(|c| c["model_type"] = "falcon".into(), |_| {});
    let e = check(d.path()).err().unwrap();
    assert_eq!(e.code(), "unsupported_model");
    assert!(
        e.to_string().contains("config.json") && e.to_string().contains("falcon"),
        "{e}"
    );
}

#[test]
fn unknown_rope_scaling_is_named() {
    let d = edited(
        |c| {
            c["rope_parameters"] =
                serde_json::json!({"rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0})
        },
        |_| {},
    );
    let e = check(d.path()).err().unwrap();
    assert_eq!(e.code(), "unsupported_model");
    assert!(
        e.to_string().contains("config.json") && e.to_string().contains("yarn"),
        "{e}"
    );
}

#[test]
fn missing_lm_head_without_tied_embeddings_is_named() {
    let d = edited(|_| {}, |t| t.retain(|(n, _, _)| n != "lm_head.weight"));
    let e = check(d.path()).err().unwrap();
    assert_eq!(e.code(), "missing_tensor");
    let s = e.to_string();
    assert!(
        s.contains("lm_head.weight") && s.contains("tie_word_embeddings"),
        "{s}"
    );
    // Tied, the embedding serves as the output layer and the check runs.
    let d = edited(
        |c| c["tie_word_embeddings"] = true.into(),
        |t| t.retain(|(n, _, _)| n != "lm_head.weight"),
    );
    assert!(check(d.path()).is_ok());
}

#[test]
fn tokenizer_larger_than_the_embedding_is_named() {
    let cut = |t: &mut Vec<(String, Vec<usize>, Vec<f32>)>| {
        for (n, s, x) in t.iter_mut() {
            if n.contains("embed_tokens") || n == "lm_head.weight" {
                s[0] = 500;
                x.truncate(500 * s[1]);
            }
        }
    };
    let d = edited(|c| c["vocab_size"] = 500.into(), cut);
    let e = check(d.path()).err().unwrap();
    let s = e.to_string();
    assert!(
        s.contains("tokenizer.json") && s.contains("700") && s.contains("500"),
        "{s}"
    );
}

#[test]
fn missing_side_files_are_named() {
    let d = edited(|_| {}, |_| {});
    std::fs::remove_file(d.path().join("tokenizer.json")).unwrap();
    let e = check(d.path()).err().unwrap();
    assert_eq!(e.code(), "missing_file");
    assert!(e.to_string().contains("tokenizer.json"), "{e}");
    std::fs::remove_file(d.path().join("config.json")).unwrap();
    let e = check(d.path()).err().unwrap();
    assert_eq!(e.code(), "missing_file");
    assert!(e.to_string().contains("config.json"), "{e}");
}

#[test]
fn a_missing_layer_tensor_is_named() {
    let gone = "model.layers.1.mlp.up_proj.weight";
    let d = edited(|_| {}, |t| t.retain(|(n, _, _)| n != gone));
    let e = check(d.path())
        .unwrap()
        .run(&inputs::builtin(false)[..2], &mut Quiet)
        .unwrap_err();
    assert_eq!(e.code(), "missing_tensor");
    assert!(
        e.to_string().contains(gone) && e.to_string().contains("layer 2"),
        "{e}"
    );
}

fn against(original: &Path, converted: &Path) -> Result<OutputCheck, OutputsError> {
    OutputCheck::with_converted(
        open_folder(original),
        &side_files(original),
        open_folder(converted),
    )
}

#[test]
fn a_converted_model_of_another_family_or_shape_is_unlike() {
    let (llama, qwen) = (models().join("tiny-llama"), models().join("tiny-qwen2"));
    let e = against(&llama, &qwen).err().unwrap();
    assert_eq!(e.code(), "unlike_comparison");
    let s = e.to_string();
    assert!(
        s.contains("model_type llama vs qwen2") && s.contains("intermediate size 176 vs 160"),
        "{s}"
    );
    // Without a config, the tensor shapes tell.
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(
        qwen.join("model.safetensors"),
        d.path().join("model.safetensors"),
    )
    .unwrap();
    let e = against(&llama, d.path()).err().unwrap();
    assert_eq!(e.code(), "unlike_comparison");
    assert!(e.to_string().contains("model.embed_tokens.weight"), "{e}");
}

type Raw = Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>;

/// tiny-llama converted by `quantlens convert --format mlx` (4-bit) into
/// `dir/conv`, then `edit` applied to its stored tensors.
fn mlx_edited(dir: &Path, edit: impl FnOnce(&mut Raw)) -> std::path::PathBuf {
    let out = dir.join("conv");
    assert_cmd::Command::cargo_bin("quantlens")
        .unwrap()
        .arg("convert")
        .arg(models().join("tiny-llama"))
        .arg(&out)
        .args(["--format", "mlx", "-q"])
        .assert()
        .success();
    let file = out.join("model.safetensors");
    let bytes = std::fs::read(&file).unwrap();
    let meta = safetensors::SafeTensors::read_metadata(&bytes)
        .unwrap()
        .1
        .metadata()
        .clone()
        .unwrap_or_default();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut t: Raw = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut t);
    let rows: Vec<(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)> = t
        .iter()
        .map(|(n, d, s, b)| (n.as_str(), *d, s.clone(), b.clone()))
        .collect();
    let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    common::write_safetensors(&file, &rows, Some(meta));
    out
}

#[test]
fn mlx_scales_missing_or_misshapen_are_named() {
    let llama = models().join("tiny-llama");
    let scales = "model.layers.1.self_attn.q_proj.scales";
    let d = tempfile::tempdir().unwrap();
    let conv = mlx_edited(d.path(), |t| t.retain(|(n, ..)| n != scales));
    let e = against(&llama, &conv).err().unwrap();
    assert_eq!(e.code(), "bad_tensor");
    let s = e.to_string();
    assert!(
        s.contains("model.layers.1.self_attn.q_proj.weight")
            && s.contains(scales)
            && s.contains("model.safetensors")
            && s.contains("converted model"),
        "{s}"
    );

    let d = tempfile::tempdir().unwrap();
    let conv = mlx_edited(d.path(), |t| {
        let (_, _, shape, bytes) = t.iter_mut().find(|(n, ..)| n == scales).unwrap();
        shape[1] *= 2;
        *bytes = bytes.repeat(2);
    });
    let e = against(&llama, &conv).err().unwrap();
    assert_eq!(e.code(), "bad_tensor");
    let s = e.to_string();
    assert!(
        s.contains("model.layers.1.self_attn.q_proj.weight")
            && s.contains("scales [64, 2]")
            && s.contains("model.safetensors"),
        "{s}"
    );
    // The unedited conversion runs.
    let d = tempfile::tempdir().unwrap();
    let conv = mlx_edited(d.path(), |_| {});
    assert!(against(&llama, &conv).is_ok());
}
