//! RoBERTa has no torch reference here, so it is checked against BERT: a
//! RoBERTa whose position table is BERT's shifted by `pad_token_id + 1`
//! rows, with `roberta.` names, must give BERT's hidden states exactly.
#![cfg(feature = "outputs")]

use crate::common;

use quantlens::outputs::{inputs, OutputCheck};
use quantlens::{Policy, Scheme};

use common::outputs::{open_folder, side_files, tiny_bert, Collect};

#[test]
fn roberta_is_bert_with_offset_positions() {
    let (b, r) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    tiny_bert(b.path(), 30522, 8, 16, 2, None, |_| {});
    let bytes = std::fs::read(b.path().join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, v) in st.tensors() {
        let mut data = v.data().to_vec();
        let mut shape = v.shape().to_vec();
        if name == "embeddings.position_embeddings.weight" {
            // Rows 0 and 1 are never used by RoBERTa (pad_token_id 1).
            let row = shape[1] * 4;
            let mut shifted = vec![0u8; 2 * row];
            shifted.extend_from_slice(&data);
            data = shifted;
            shape[0] += 2;
        }
        if name == "embeddings.token_type_embeddings.weight" {
            data.truncate(shape[1] * 4);
            shape[0] = 1;
        }
        out.push((format!("roberta.{name}"), shape, data));
    }
    let rows: Vec<_> = out
        .iter()
        .map(|(n, s, d)| (n.as_str(), safetensors::Dtype::F32, s.clone(), d.clone()))
        .collect();
    common::write_safetensors(&r.path().join("model.safetensors"), &rows, None);
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.path().join("config.json")).unwrap()).unwrap();
    cfg["model_type"] = "roberta".into();
    cfg["pad_token_id"] = 1.into();
    cfg["type_vocab_size"] = 1.into();
    cfg["max_position_embeddings"] = 514.into();
    std::fs::write(r.path().join("config.json"), cfg.to_string()).unwrap();
    std::fs::copy(
        b.path().join("tokenizer.json"),
        r.path().join("tokenizer.json"),
    )
    .unwrap();

    let ins = inputs::builtin(false)[..4].to_vec();
    let run = |dir: &std::path::Path| {
        let mut c = OutputCheck::with_scheme(
            open_folder(dir),
            &side_files(dir),
            Scheme::Int8Tensor,
            Policy::default_rule(),
        )
        .unwrap();
        let mut s = Collect::default();
        let rep = c.run(&ins, &mut s).unwrap();
        (rep, s, c.max_length())
    };
    let (rb, sb, _) = run(b.path());
    let (rr, sr, max_r) = run(r.path());
    assert_eq!(max_r, 512, "514 positions less the two reserved");
    assert_eq!(rr.model_type, "roberta");
    assert_eq!(sb.hidden.len(), sr.hidden.len());
    for (k, (v, _)) in &sb.hidden {
        let w = &sr.hidden[k].0;
        let d = v
            .iter()
            .zip(w)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            d <= 1e-5,
            "layer {} input {}: RoBERTa differs from BERT by {d}",
            k.0,
            k.1
        );
    }
    for (x, y) in rb.layers.iter().zip(&rr.layers) {
        assert!(
            (x.rel_error - y.rel_error).abs() <= 1e-6,
            "layer {}",
            x.layer
        );
    }
}
