//! Each token's text as the output check shows it (the page's token strips,
//! `token_strings` in the JSON), on the real tokenizers in
//! `../shared/models/*/tokenizer.json`: SentencePiece with byte fallback
//! (tiny-llama), byte-level BPE (tiny-qwen2), WordPiece (MiniLM, and pairs
//! with tiny-distilbert-nli). Reference: the input text itself — a text's
//! pieces, joined, read as that text, no letter shown twice.
#![cfg(feature = "outputs")]

use crate::common;

use quantlens::outputs::inputs::parse;
use quantlens::outputs::tokenizer::TextTokenizer;
use serde_json::Value;

use common::outputs::{models, side_files};

/// Non-ASCII text: accents, an emoji (byte-fallback or [UNK]), a dash
/// (pairs come from tiny-distilbert-nli's inputs).
const EXTRA: &str = "She sells sea shells. Café naïve 🙂 — déjà vu, A naïve café, 🙂!";

/// The special tokens named in `tokenizer.json` (its `added_tokens`).
fn specials(model: &str) -> Vec<String> {
    let bytes = std::fs::read(models().join(model).join("tokenizer.json")).unwrap();
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    json["added_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["special"] == true)
        .map(|t| t["content"].as_str().unwrap().to_string())
        .collect()
}

fn check(model: &str) {
    let dir = models().join(model);
    let tok = TextTokenizer::load(&side_files(&dir), 512).unwrap();
    let specials = specials(model);
    let text = std::fs::read_to_string(dir.join("reference/inputs.txt")).unwrap();
    let mut inputs = parse(&text, "inputs.txt").unwrap();
    inputs.extend(parse(EXTRA, "EXTRA").unwrap());
    for input in inputs {
        let e = tok.encode(&input).unwrap();
        assert!(!e.truncated);
        assert_eq!(e.pieces.len(), e.ids.len(), "{model}: one piece per token");
        // split at the separator between the two texts of a pair: the
        // special tokens after the first text's last piece
        let mut texts = vec![String::new()];
        let mut after_special = false;
        for p in &e.pieces {
            if specials.contains(p) {
                after_special = texts.last().is_some_and(|t| !t.is_empty());
                continue;
            }
            if after_special {
                texts.push(String::new());
                after_special = false;
            }
            texts.last_mut().unwrap().push_str(p);
        }
        let mut want = vec![input.first.clone()];
        want.extend(input.second.clone());
        assert_eq!(texts, want, "{model}: pieces {:?}", e.pieces);
    }
}

#[test]
fn llama_sentencepiece_pieces_read_as_the_text() {
    check("tiny-llama");
    // "She": the prepended ▁ shows nothing, then "S", then "he " — not "S S he"
    let tok = TextTokenizer::load(&side_files(&models().join("tiny-llama")), 512).unwrap();
    let e = tok.encode(&parse("She sells", "t").unwrap()[0]).unwrap();
    let shown: Vec<&str> = e
        .pieces
        .iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
    assert_eq!(shown[..3], ["<s>", "S", "he "], "{:?}", e.pieces);
}

#[test]
fn qwen2_byte_level_pieces_read_as_the_text() {
    check("tiny-qwen2");
}

#[test]
fn wordpiece_pieces_read_as_the_text() {
    check("all-MiniLM-L6-v2");
    check("tiny-distilbert-nli");
}
