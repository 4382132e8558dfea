//! The files `convert` copies beside the weights (tokenizer, generation
//! config, ...): only names from a known list, each read through
//! [`ModelFolder::file`] (no link out of the folder) and checked to be what
//! its name says, so a folder cannot smuggle another file into an output
//! its owner will publish.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Result;
use quantlens::MAX_HEADER_BYTES;
use serde_json::Value;

use super::safe_path::ModelFolder;

/// Side files copied to the output when present.
pub const SIDE_FILES: &[&str] = &[
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "special_tokens_map.json",
    "generation_config.json",
    "chat_template.jinja",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
];

/// Files not read, by name, each with the reason.
pub type Skipped = Vec<(String, String)>;

/// The largest side file read, as large as a safetensors header may be.
pub const MAX_SIDE_FILE_BYTES: u64 = MAX_HEADER_BYTES;

/// Reads side file `name` of `folder`: `Ok(None)` when absent,
/// `Err(why)` when it may not be read or is not what its name says.
pub fn read(folder: &ModelFolder, name: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(path) = folder.file(name)? else {
        return Ok(None);
    };
    let file = std::fs::File::open(&path).map_err(|e| format!("unreadable ({e})"))?;
    let mut bytes = Vec::new();
    file.take(MAX_SIDE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("unreadable ({e})"))?;
    if bytes.len() as u64 > MAX_SIDE_FILE_BYTES {
        return Err(format!("larger than {MAX_SIDE_FILE_BYTES} bytes"));
    }
    check(name, &bytes)?;
    Ok(Some(bytes))
}

/// Whether `bytes` are what a file called `name` holds: a JSON object
/// for `.json` (an array for `modules.json`, sentence-transformers' list
/// of modules), UTF-8 text for `.txt` and `.jinja`, a SentencePiece
/// protobuf (its first field, the pieces) for `tokenizer.model`.
fn check(name: &str, bytes: &[u8]) -> Result<(), String> {
    if name == "modules.json" {
        return match serde_json::from_slice::<Value>(bytes) {
            Ok(v) if v.is_array() => Ok(()),
            Ok(_) => Err("JSON but not a JSON array (a list of modules)".into()),
            Err(e) => Err(format!("not JSON ({e})")),
        };
    }
    if name.ends_with(".json") {
        return match serde_json::from_slice::<Value>(bytes) {
            Ok(v) if v.is_object() => Ok(()),
            Ok(_) => Err("JSON but not a JSON object".into()),
            Err(e) => Err(format!("not JSON ({e})")),
        };
    }
    if name.ends_with(".txt") || name.ends_with(".jinja") {
        return std::str::from_utf8(bytes)
            .map(|_| ())
            .map_err(|e| format!("not UTF-8 text ({e})"));
    }
    if name.ends_with(".model") {
        return match bytes.first() {
            Some(0x0a) => Ok(()),
            _ => Err("not a SentencePiece model".into()),
        };
    }
    Err("not a known side file".into())
}

/// Copies the side files of `folder` into `out` with `write`: returns the
/// files written and the names skipped, each with the reason.
pub fn copy_all(
    folder: &ModelFolder,
    out: &Path,
    write: impl Fn(&Path, &[u8]) -> Result<()>,
) -> Result<(Vec<PathBuf>, Skipped)> {
    let mut written = Vec::new();
    let mut skipped = Vec::new();
    for name in SIDE_FILES {
        match read(folder, name) {
            Ok(None) => {}
            Ok(Some(bytes)) => {
                let dst = out.join(name);
                write(&dst, &bytes)?;
                written.push(dst);
            }
            Err(why) => skipped.push((name.to_string(), why)),
        }
    }
    Ok((written, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_files_must_be_what_their_names_say() {
        assert!(check("tokenizer.json", br#"{"a":1}"#).is_ok());
        assert!(check("tokenizer.json", b"[1]").is_err());
        assert!(check("modules.json", br#"[{"idx":0,"type":"x"}]"#).is_ok());
        assert!(check("modules.json", br#"{"a":1}"#).is_err());
        assert!(check("tokenizer_config.json", b"HOME=/root\0PATH=/bin").is_err());
        assert!(check("vocab.txt", b"[PAD]\nhello\n").is_ok());
        assert!(check("merges.txt", b"\xff\xfe").is_err());
        assert!(check("tokenizer.model", b"\x0a\x05piece").is_ok());
        assert!(check("tokenizer.model", b"TOKEN=secret").is_err());
        assert!(check("id_rsa", b"x").is_err());
    }
}
