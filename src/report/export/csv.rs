use super::Exporter;
use crate::Report;

/// One CSV line per tensor, with the JSON row fields as columns.
pub struct Csv;

const COLUMNS: &[&str] = &[
    "name",
    "file",
    "dtype",
    "shape",
    "params",
    "action",
    "reason",
    "scheme",
    "bytes_before",
    "bytes_after",
    "mse",
    "rmse",
    "rel_error",
    "max_abs_error",
    "sqnr_db",
    "cosine",
    "zero_frac",
    "clip_frac",
    "outlier_ratio",
    "err_p50",
    "err_p99",
    "nan_count",
    "inf_count",
    "min",
    "max",
    "mean",
    "std",
];

/// Quotes a text field, defusing spreadsheet formulas (`=`, `+`, `-`, `@`
/// or a tab/CR at the start) with a leading apostrophe.
fn text(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map_or(String::new(), |v| v.to_string())
}

impl Exporter for Csv {
    fn render(&self, report: &Report) -> String {
        let mut out = COLUMNS.join(",");
        out.push('\n');
        for r in &report.layers {
            let shape = r
                .shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("x");
            let cells = [
                text(&r.name),
                text(&r.file),
                text(&r.dtype),
                shape,
                r.params.to_string(),
                serde_json::to_value(r.action)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
                r.reason.as_deref().map_or(String::new(), text),
                r.scheme.clone().unwrap_or_default(),
                r.bytes_before.to_string(),
                r.bytes_after.to_string(),
                opt(r.mse),
                opt(r.rmse),
                opt(r.rel_error),
                opt(r.max_abs_error),
                opt(r.sqnr_db),
                opt(r.cosine),
                opt(r.zero_frac),
                opt(r.clip_frac),
                opt(r.outlier_ratio),
                opt(r.err_p50),
                opt(r.err_p99),
                opt(r.nan_count),
                opt(r.inf_count),
                opt(r.min),
                opt(r.max),
                opt(r.mean),
                opt(r.std),
            ];
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_are_quoted_and_defused() {
        assert_eq!(text("a\"b"), "\"a\"\"b\"");
        assert_eq!(text("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }
}
