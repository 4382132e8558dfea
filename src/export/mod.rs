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
