//! Findings: problems in a model that still leave it readable.

use serde::{Deserialize, Serialize};

/// How much a finding matters. `Error` findings make `inspect` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Suspicious, but the model may still be fine.
    Warning,
    /// The model is damaged or not what it claims to be.
    Error,
}

/// One problem found in a model, named by a stable `code` (documented in
/// README) with a plain sentence in `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable snake_case identifier, e.g. `nan_inf` or `unsupported_dtype`.
    pub code: String,
    /// How much it matters.
    pub severity: Severity,
    /// The file concerned, if one.
    pub file: Option<String>,
    /// The tensor concerned, if one.
    pub tensor: Option<String>,
    /// A sentence for people.
    pub message: String,
}

impl Finding {
    /// A finding about one tensor of one file.
    pub fn tensor(
        code: &str,
        severity: Severity,
        file: &str,
        tensor: &str,
        message: String,
    ) -> Self {
        Finding {
            code: code.into(),
            severity,
            file: Some(file.into()),
            tensor: Some(tensor.into()),
            message,
        }
    }

    /// A finding about a whole file.
    pub fn file(code: &str, severity: Severity, file: &str, message: String) -> Self {
        Finding {
            code: code.into(),
            severity,
            file: Some(file.into()),
            tensor: None,
            message,
        }
    }
}
