//! The output check's one error type. Every variant names the file or
//! tensor at fault and says what is wrong, so a user can act on it.
//!
//! May use: `crate::Error` (structural errors of the safetensors files).

use std::fmt;

/// Why an output check could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputsError {
    /// A file the check needs is absent (`config.json`, `tokenizer.json`).
    MissingFile { file: String, why: String },
    /// A side file is present but unreadable or malformed.
    BadFile { file: String, detail: String },
    /// `config.json` names a model type or architecture the engine lacks.
    Unsupported { file: String, detail: String },
    /// A tensor a layer needs is not in the model.
    MissingTensor { tensor: String, needed_by: String },
    /// A tensor has the wrong shape or cannot be decoded.
    BadTensor { tensor: String, detail: String },
    /// The two models are not like with like: what differs.
    UnlikeComparison { detail: String },
    /// The tokenizer failed on an input.
    Tokenizer { file: String, detail: String },
    /// Bad user input (an empty `--text` file, an empty line).
    BadInput { detail: String },
    /// Reading the model's bytes failed.
    Read(crate::Error),
    /// The tensor library failed (a bug or an exhausted resource).
    Compute { detail: String },
    /// The caller asked to stop.
    Cancelled,
}

impl OutputsError {
    /// A stable machine-readable code, e.g. `unlike_comparison`.
    pub fn code(&self) -> &'static str {
        match self {
            OutputsError::MissingFile { .. } => "missing_file",
            OutputsError::BadFile { .. } => "bad_file",
            OutputsError::Unsupported { .. } => "unsupported_model",
            OutputsError::MissingTensor { .. } => "missing_tensor",
            OutputsError::BadTensor { .. } => "bad_tensor",
            OutputsError::UnlikeComparison { .. } => "unlike_comparison",
            OutputsError::Tokenizer { .. } => "tokenizer",
            OutputsError::BadInput { .. } => "bad_input",
            OutputsError::Read(_) => "read",
            OutputsError::Compute { .. } => "compute",
            OutputsError::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for OutputsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputsError::MissingFile { file, why } => {
                write!(f, "{file} is missing: {why}")
            }
            OutputsError::BadFile { file, detail } => write!(f, "{file}: {detail}"),
            OutputsError::Unsupported { file, detail } => write!(f, "{file}: {detail}"),
            OutputsError::MissingTensor { tensor, needed_by } => {
                write!(f, "tensor {tensor:?} is missing (needed by {needed_by})")
            }
            OutputsError::BadTensor { tensor, detail } => write!(f, "tensor {tensor:?}: {detail}"),
            OutputsError::UnlikeComparison { detail } => {
                write!(f, "unlike_comparison: {detail}")
            }
            OutputsError::Tokenizer { file, detail } => write!(f, "{file}: {detail}"),
            OutputsError::BadInput { detail } => write!(f, "{detail}"),
            OutputsError::Read(e) => write!(f, "{e}"),
            OutputsError::Compute { detail } => write!(f, "computation failed: {detail}"),
            OutputsError::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for OutputsError {}

impl From<crate::Error> for OutputsError {
    fn from(e: crate::Error) -> Self {
        OutputsError::Read(e)
    }
}

impl From<candle_core::Error> for OutputsError {
    fn from(e: candle_core::Error) -> Self {
        OutputsError::Compute {
            detail: e.to_string(),
        }
    }
}

/// Results of the output check.
pub type Result<T> = std::result::Result<T, OutputsError>;
