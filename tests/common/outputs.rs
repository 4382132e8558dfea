//! Opening a model folder for the output check, as the CLI does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use candle_core::Tensor;
use quantlens::outputs::inputs;
use quantlens::outputs::side::FIXED;
use quantlens::outputs::{Observer, OutputCheck, SideFiles};
use quantlens::{FileSource, Model, NamedSource, Policy, Scheme};

/// The model in a folder: every `.safetensors` file and `config.json`.
pub fn open_folder(dir: &Path) -> Model {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    let sources = files
        .iter()
        .map(|p| {
            let f = FileSource::new(std::fs::File::open(p).unwrap()).unwrap();
            NamedSource::new(p.file_name().unwrap().to_string_lossy(), Arc::new(f))
        })
        .collect();
    let config = std::fs::read(dir.join("config.json")).ok();
    Model::open(sources, None, config.as_deref()).unwrap()
}

/// The folder's side files (tokenizer, sentence-transformers configs).
pub fn side_files(dir: &Path) -> SideFiles {
    let mut s = SideFiles::new();
    for f in FIXED {
        if let Ok(b) = std::fs::read(dir.join(f)) {
            s.insert(f, b);
        }
    }
    for m in s.module_paths() {
        let rel = format!("{m}/config.json");
        if let Ok(b) = std::fs::read(dir.join(&rel)) {
            s.insert(rel, b);
        }
    }
    s
}

/// A small random BERT written to `dir` with MiniLM's tokenizer: `vocab`
/// rows, width `hidden`, feed-forward `inter`, `layers` layers. `drop`
/// leaves one tensor out; `config` edits the config before it is written.
pub fn tiny_bert(
    dir: &Path,
    vocab: usize,
    hidden: usize,
    inter: usize,
    layers: usize,
    drop: Option<&str>,
    config: impl FnOnce(&mut serde_json::Value),
) {
    std::fs::create_dir_all(dir).unwrap();
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut rnd = |n: usize, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * scale
            })
            .collect()
    };
    let mut t: Vec<(String, Vec<usize>, Vec<f32>)> = vec![
        (
            "embeddings.word_embeddings.weight".into(),
            vec![vocab, hidden],
            rnd(vocab * hidden, 0.5),
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![512, hidden],
            rnd(512 * hidden, 0.1),
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![2, hidden],
            rnd(2 * hidden, 0.1),
        ),
        (
            "embeddings.LayerNorm.weight".into(),
            vec![hidden],
            vec![1.0; hidden],
        ),
        (
            "embeddings.LayerNorm.bias".into(),
            vec![hidden],
            vec![0.0; hidden],
        ),
    ];
    for l in 0..layers {
        let p = format!("encoder.layer.{l}.");
        for (n, o, i) in [
            ("attention.self.query", hidden, hidden),
            ("attention.self.key", hidden, hidden),
            ("attention.self.value", hidden, hidden),
            ("attention.output.dense", hidden, hidden),
            ("intermediate.dense", inter, hidden),
            ("output.dense", hidden, inter),
        ] {
            t.push((format!("{p}{n}.weight"), vec![o, i], rnd(o * i, 0.3)));
            t.push((format!("{p}{n}.bias"), vec![o], rnd(o, 0.1)));
        }
        for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.push((format!("{p}{n}.weight"), vec![hidden], vec![1.0; hidden]));
            t.push((format!("{p}{n}.bias"), vec![hidden], vec![0.0; hidden]));
        }
    }
    t.retain(|(n, _, _)| Some(n.as_str()) != drop);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = t
        .into_iter()
        .map(|(n, s, v)| (n, s, super::f32_bytes(&v)))
        .collect();
    let rows: Vec<(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)> = bytes
        .iter()
        .map(|(n, s, b)| (n.as_str(), safetensors::Dtype::F32, s.clone(), b.clone()))
        .collect();
    super::write_safetensors(&dir.join("model.safetensors"), &rows, None);
    let mut cfg = serde_json::json!({
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": hidden,
        "num_hidden_layers": layers, "num_attention_heads": 2, "intermediate_size": inter,
        "max_position_embeddings": 512, "type_vocab_size": 2, "vocab_size": vocab,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12
    });
    config(&mut cfg);
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    std::fs::copy(
        super::minilm().join("tokenizer.json"),
        dir.join("tokenizer.json"),
    )
    .unwrap();
}

/// `../shared/models`, beside the repository.
pub fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models")
}

/// A model's torch reference: its tensors, figures and inputs.
pub struct Reference {
    /// F32 tensors by name: shape and values.
    pub f32s: HashMap<String, (Vec<usize>, Vec<f32>)>,
    /// I64 tensors (token ids) by name.
    pub i64s: HashMap<String, Vec<i64>>,
    /// reference.json.
    pub json: Value,
    /// inputs.txt, parsed as the CLI parses --text.
    pub inputs: Vec<quantlens::outputs::Input>,
}

/// Reads `../shared/models/MODEL/reference/`.
pub fn reference(model: &str) -> Reference {
    let dir = models().join(model).join("reference");
    let bytes = std::fs::read(dir.join("reference.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (mut f32s, mut i64s) = (HashMap::new(), HashMap::new());
    for (name, v) in st.tensors() {
        match v.dtype() {
            safetensors::Dtype::F32 => {
                let x = v
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                f32s.insert(name, (v.shape().to_vec(), x));
            }
            safetensors::Dtype::I64 => {
                let x = v
                    .data()
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                i64s.insert(name, x);
            }
            d => panic!("unexpected dtype {d:?}"),
        }
    }
    let json = serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    let text = std::fs::read_to_string(dir.join("inputs.txt")).unwrap();
    Reference {
        f32s,
        i64s,
        json,
        inputs: inputs::parse(&text, "inputs.txt").unwrap(),
    }
}

/// Collects what the engine passes its observer: hidden states, final
/// outputs and a decoder's logits blocks.
#[derive(Default)]
pub struct Collect {
    /// Per (layer, input): the original and quantized states, flattened.
    pub hidden: HashMap<(usize, usize), (Vec<f32>, Vec<f32>)>,
    /// Per input: the pooled embeddings or logits of both sides.
    pub outputs: HashMap<usize, (Vec<f32>, Vec<f32>)>,
    /// Per position, a decoder's logits of both sides, assembled from the blocks.
    pub logits: Vec<(Vec<f32>, Vec<f32>)>,
    /// Logits blocks seen.
    pub blocks: usize,
}

impl Observer for Collect {
    fn hidden(&mut self, layer: usize, input: usize, o: &Tensor, q: &Tensor) {
        let f = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        self.hidden.insert((layer, input), (f(o), f(q)));
    }
    fn output(&mut self, input: usize, o: &[f32], q: &[f32]) {
        self.outputs.insert(input, (o.to_vec(), q.to_vec()));
    }
    fn logits(&mut self, first_row: usize, o: &Tensor, q: &Tensor) {
        let (o, q) = (o.to_vec2::<f32>().unwrap(), q.to_vec2::<f32>().unwrap());
        self.logits.resize(o.len(), Default::default());
        for (p, (ro, rq)) in o.into_iter().zip(q).enumerate() {
            assert_eq!(self.logits[p].0.len(), first_row, "blocks arrive in order");
            self.logits[p].0.extend(ro);
            self.logits[p].1.extend(rq);
        }
        self.blocks += 1;
    }
}

/// ‖a − b‖_F / ‖b‖_F in f64.
pub fn rel_frobenius(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let d: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let n: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
    (d / n).sqrt()
}

/// `check`'s token ids of every input equal the reference's.
pub fn check_token_ids(r: &Reference, check: &OutputCheck) {
    let enc = check.encode(&r.inputs).unwrap();
    assert_eq!(enc.len(), r.inputs.len());
    for (i, e) in enc.iter().enumerate() {
        let want: Vec<u32> = r.i64s[&format!("input_ids.{i}")]
            .iter()
            .map(|&x| x as u32)
            .collect();
        assert_eq!(e.ids, want, "token ids of input {i}");
    }
}

/// Every layer's hidden states of every input, original and int8, equal
/// the reference's within 1e-4 relative (Frobenius).
pub fn check_states(r: &Reference, c: &Collect, layers: usize) {
    for i in 0..r.inputs.len() {
        let (shape, h) = &r.f32s[&format!("hidden_states.{i}")];
        let (_, hq) = &r.f32s[&format!("quantized.hidden_states.{i}")];
        assert_eq!(shape[0], layers + 1);
        let per = h.len() / shape[0];
        for l in 0..=layers {
            let (o, q) = &c.hidden[&(l, i)];
            let e = rel_frobenius(o, &h[l * per..(l + 1) * per]);
            assert!(
                e <= 1e-4,
                "input {i} layer {l}: original hidden states differ by {e:e}"
            );
            let e = rel_frobenius(q, &hq[l * per..(l + 1) * per]);
            assert!(
                e <= 1e-4,
                "input {i} layer {l}: int8 hidden states differ by {e:e}"
            );
        }
    }
}

/// A model of `../shared/models`, its torch reference, and the check its
/// reference was made for: int8 per tensor on the fly, default policy.
pub fn int8_check(model: &str) -> (Reference, OutputCheck) {
    let dir = models().join(model);
    let check = OutputCheck::with_scheme(
        open_folder(&dir),
        &side_files(&dir),
        Scheme::Int8Tensor,
        Policy::default_rule(),
    )
    .unwrap();
    (reference(model), check)
}
