//! Report exporters behind one trait: terminal table, JSON, CSV, Markdown.
//!
//! Tensor names and metadata are untrusted text: every exporter escapes
//! what its format could misread (control characters for terminals,
//! formula prefixes for spreadsheets, markup for Markdown).

mod csv;
mod json;
mod markdown;
mod table;

pub use self::csv::Csv;
pub use self::json::Json;
pub use self::markdown::Markdown;
pub use self::table::Table;

use crate::Report;

/// Renders a report in one format.
pub trait Exporter {
    /// The whole document, ending in a newline.
    fn render(&self, report: &Report) -> String;
}

/// The exporter for a format name: `table`, `json`, `csv` or `markdown`.
pub fn by_name(name: &str) -> Option<Box<dyn Exporter>> {
    match name {
        "table" => Some(Box::new(Table)),
        "json" => Some(Box::new(Json)),
        "csv" => Some(Box::new(Csv)),
        "markdown" | "md" => Some(Box::new(Markdown)),
        _ => None,
    }
}

/// The stored-format line of a summary, e.g. `37 layers stored as MLX
/// affine 4-bit g64 (5.0 bits/weight), 67 float: 54.5 MB; 90.9 MB as f32,
/// 45.4 MB as f16`, or `None` when no layer is stored quantized.
pub fn stored_summary(r: &Report) -> Option<String> {
    let s = &r.summary;
    if s.stored_layers == 0 {
        return None;
    }
    // (description, layers, stored bytes, parameters), in first-seen order.
    let mut kinds: Vec<(String, u64, u64, u64)> = Vec::new();
    for l in &r.layers {
        let Some(info) = &l.stored else { continue };
        let d = info.describe();
        match kinds.iter_mut().find(|k| k.0 == d) {
            Some(k) => {
                k.1 += 1;
                k.2 += l.bytes_before;
                k.3 += l.params;
            }
            None => kinds.push((d, 1, l.bytes_before, l.params)),
        }
    }
    let parts: Vec<String> = kinds
        .iter()
        .enumerate()
        .map(|(i, (d, n, b, p))| {
            let bpw = 8.0 * *b as f64 / (*p).max(1) as f64;
            let what = if i == 0 {
                format!("{n} layer{} stored as", if *n == 1 { "" } else { "s" })
            } else {
                format!("{n} as")
            };
            format!("{what} {} ({bpw:.1} bits/weight)", printable(d))
        })
        .collect();
    Some(format!(
        "{}, {} float: {}; {} as f32, {} as f16",
        parts.join(", "),
        s.tensors - s.stored_layers,
        bytes(s.bytes_before),
        bytes(s.params * 4),
        bytes(s.params * 2)
    ))
}

/// The action column of a row: `quantize`, `keep: REASON`, `stored: KIND`.
pub(crate) fn action(l: &crate::LayerRow, sep: &str) -> String {
    match l.action {
        crate::Action::Quantize => "quantize".to_string(),
        crate::Action::Keep => format!("keep{sep}{}", l.reason.as_deref().unwrap_or("")),
        crate::Action::Stored => format!(
            "stored{sep}{}",
            l.stored.as_ref().map_or(String::new(), |s| s.short())
        ),
    }
}

/// Replaces control characters (terminal escapes, newlines) with visible
/// `\u{..}` escapes.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A number in a fixed number of significant digits, or `-` when absent.
pub(crate) fn num(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(0.0) => "0".into(),
        Some(v) if v.abs() >= 1e-3 && v.abs() < 1e5 => format!("{v:.4}"),
        Some(v) => format!("{v:.3e}"),
    }
}

/// A fraction as a percentage with four decimals, or `-`.
pub(crate) fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.4} %", v * 100.0))
}

/// `a×b×c` for a shape, `scalar` for none.
pub(crate) fn shape(s: &[u64]) -> String {
    if s.is_empty() {
        "scalar".into()
    } else {
        s.iter().map(u64::to_string).collect::<Vec<_>>().join("×")
    }
}

/// Bytes in decimal units.
pub(crate) fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_terminal_controls() {
        assert_eq!(printable("a\x1b[31mb\n"), "a\\u{1b}[31mb\\u{a}");
        assert_eq!(printable("ok.weight"), "ok.weight");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
    }
}
