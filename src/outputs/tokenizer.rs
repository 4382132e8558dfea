//! Tokenizing inputs with the model's own `tokenizer.json` through the
//! `tokenizers` crate, with the maximum length sentence-transformers uses.
//!
//! May use: `tokenizers`, [`super::side`]. Knows nothing of weights.

use serde_json::Value;
use tokenizers::{Tokenizer, TruncationParams, TruncationStrategy};

use super::error::{OutputsError, Result};
use super::inputs::Input;
use super::side::SideFiles;

/// One tokenized input.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// Token ids, special tokens included.
    pub ids: Vec<u32>,
    /// Segment ids (0 for the first text, 1 for the second of a pair).
    pub type_ids: Vec<u32>,
    /// Whether the input was cut to the maximum length.
    pub truncated: bool,
    /// Each token as text: the span of the input it covers, or the token
    /// itself for a special token (`<s>`), for display.
    pub pieces: Vec<String>,
}

/// The model's tokenizer with its maximum input length.
pub struct TextTokenizer {
    inner: Tokenizer,
    /// Longest input in tokens, special tokens included.
    pub max_length: usize,
}

fn err(detail: String) -> OutputsError {
    OutputsError::Tokenizer {
        file: "tokenizer.json".into(),
        detail,
    }
}

impl TextTokenizer {
    /// Loads `tokenizer.json` from the side files. The maximum length is
    /// `sentence_bert_config.json`'s `max_seq_length` when present, else
    /// `model_limit` (the position table's), whatever `tokenizer.json` says.
    pub fn load(side: &SideFiles, model_limit: usize) -> Result<Self> {
        let bytes = side
            .get("tokenizer.json")
            .ok_or(OutputsError::MissingFile {
                file: "tokenizer.json".into(),
                why: "the output check tokenizes inputs with the model's own tokenizer".into(),
            })?;
        let mut inner = Tokenizer::from_bytes(bytes)
            .map_err(|e| err(format!("cannot be read as a tokenizer: {e}")))?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| err(e.to_string()))?;
        let st = side
            .get("sentence_bert_config.json")
            .map(|b| {
                serde_json::from_slice::<Value>(b).map_err(|e| OutputsError::BadFile {
                    file: "sentence_bert_config.json".into(),
                    detail: e.to_string(),
                })
            })
            .transpose()?
            .and_then(|v| v.get("max_seq_length").and_then(Value::as_u64));
        let max_length = st.map_or(model_limit, |n| (n as usize).min(model_limit));
        if max_length < 4 {
            return Err(err(format!("maximum length {max_length} is too short")));
        }
        Ok(TextTokenizer { inner, max_length })
    }

    /// Tokens in the vocabulary, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Encodes one input (a text, or a pair), special tokens added, cut
    /// to [`Self::max_length`] the way transformers' `truncation=True` does
    /// (longest first).
    pub fn encode(&self, input: &Input) -> Result<Encoded> {
        let enc = |t: &Tokenizer| match &input.second {
            None => t.encode(input.first.as_str(), true),
            Some(b) => t.encode((input.first.as_str(), b.as_str()), true),
        };
        let mut e = enc(&self.inner).map_err(|e| err(e.to_string()))?;
        let truncated = e.get_ids().len() > self.max_length;
        if truncated {
            let mut t = self.inner.clone();
            t.with_truncation(Some(TruncationParams {
                max_length: self.max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                ..Default::default()
            }))
            .map_err(|e| err(e.to_string()))?;
            e = enc(&t).map_err(|e| err(e.to_string()))?;
        }
        if e.get_ids().is_empty() {
            return Err(OutputsError::BadInput {
                detail: format!("input {:?} gives no tokens", input.first),
            });
        }
        let pieces = e
            .get_offsets()
            .iter()
            .zip(e.get_tokens())
            .zip(e.get_sequence_ids())
            .map(|(((a, b), token), seq)| {
                let text = match seq {
                    Some(1) => input.second.as_deref().unwrap_or(""),
                    _ => input.first.as_str(),
                };
                match text.get(*a..*b) {
                    Some(span) if b > a => span.to_string(),
                    _ => token.clone(),
                }
            })
            .collect();
        Ok(Encoded {
            ids: e.get_ids().to_vec(),
            type_ids: e.get_type_ids().to_vec(),
            truncated,
            pieces,
        })
    }
}
