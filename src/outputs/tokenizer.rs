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
    /// Each token as text, for display: the part of the input it covers
    /// ([`pieces`]), or the token itself for a special token (`<s>`).
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
        let texts = [input.first.as_str(), input.second.as_deref().unwrap_or("")];
        let pieces = pieces(
            e.get_tokens(),
            e.get_offsets(),
            e.get_sequence_ids().as_slice(),
            &texts,
        );
        Ok(Encoded {
            ids: e.get_ids().to_vec(),
            type_ids: e.get_type_ids().to_vec(),
            truncated,
            pieces,
        })
    }
}

/// Each token's text: the input text from where the previous token of the
/// same text ended to where this one ends, so that a text's pieces never
/// overlap and read, joined, as the text up to its last token (the spaces
/// a WordPiece tokenizer drops go to the next token). Tokens that share a
/// span (the `▁` a SentencePiece normalizer prepends and the first letter
/// it is mapped onto; the byte tokens of one character) leave it to the
/// last of them, which is the one that completes it. A token with no span
/// or no text (a special token) is shown as itself. `seqs[i]` is token
/// i's text (0 or 1, an index into `texts`); offsets are byte offsets.
pub fn pieces(
    tokens: &[String],
    offsets: &[(usize, usize)],
    seqs: &[Option<usize>],
    texts: &[&str],
) -> Vec<String> {
    let mut done = vec![0usize; texts.len()];
    (0..tokens.len())
        .map(|i| {
            let (a, b) = offsets.get(i).copied().unwrap_or_default();
            let seq = seqs.get(i).copied().flatten();
            let Some((s, text)) = seq.and_then(|s| Some((s, *texts.get(s)?))) else {
                return tokens[i].clone();
            };
            if b <= a {
                return tokens[i].clone();
            }
            let shared = seqs.get(i + 1).copied().flatten() == Some(s)
                && offsets.get(i + 1) == Some(&(a, b));
            if shared || b <= done[s] {
                return String::new();
            }
            let piece = text.get(done[s]..b).unwrap_or(&tokens[i]).to_string();
            done[s] = b;
            piece
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::pieces;

    fn own(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shared_spans_go_to_the_last_token_and_gaps_to_the_next() {
        // "She café": <s>, a prepended ▁ mapped onto "S", "S", "he▁" over
        // "he ", then "caf" and the two byte tokens of "é" (bytes 7..9)
        let text = "She café";
        let tokens = own(&["<s>", "▁", "S", "he▁", "caf", "<0xC3>", "<0xA9>"]);
        let offsets = [(0, 0), (0, 1), (0, 1), (1, 4), (4, 7), (7, 9), (7, 9)];
        let seqs = [None, Some(0), Some(0), Some(0), Some(0), Some(0), Some(0)];
        let got = pieces(&tokens, &offsets, &seqs, &[text, ""]);
        assert_eq!(got, own(&["<s>", "", "S", "he ", "caf", "", "é"]));
        // WordPiece drops the spaces: they go to the next token
        let tokens = own(&["[CLS]", "she", "ca", "##fe", "[SEP]", "no", "[SEP]"]);
        let offsets = [(0, 0), (0, 3), (4, 6), (6, 9), (0, 0), (1, 3), (0, 0)];
        let seqs = [None, Some(0), Some(0), Some(0), None, Some(1), None];
        let got = pieces(&tokens, &offsets, &seqs, &["She Café", " no"]);
        assert_eq!(
            got,
            own(&["[CLS]", "She", " Ca", "fé", "[SEP]", " no", "[SEP]"])
        );
    }

    #[test]
    fn bad_offsets_do_not_panic() {
        let tokens = own(&["a", "b", "c"]);
        let offsets = [(0, 99), (1, 2)];
        let seqs = [Some(0), Some(7), Some(0)];
        let got = pieces(&tokens, &offsets, &seqs, &["é"]);
        assert_eq!(got, own(&["a", "b", "c"]));
    }
}
