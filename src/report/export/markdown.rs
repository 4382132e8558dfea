use super::{bytes, num, pct, printable, shape, Exporter};
use crate::Report;

/// A Markdown summary and per-layer table, safe to paste into an issue.
pub struct Markdown;

/// Escapes text for a Markdown table cell: no markup, links or HTML.
fn cell(s: &str) -> String {
    let mut out = String::new();
    for c in printable(s).chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c)
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
    out
}

impl Exporter for Markdown {
    fn render(&self, r: &Report) -> String {
        let s = &r.summary;
        let mut o = String::new();
        o.push_str(&format!(
            "## quantlens report ({}, policy {})\n\n",
            r.scheme, r.policy
        ));
        o.push_str("| | |\n|---|---|\n");
        o.push_str(&format!("| tensors | {} |\n", s.tensors));
        o.push_str(&format!("| quantized layers | {} |\n", s.quantized_layers));
        o.push_str(&format!("| kept layers | {} |\n", s.kept_layers));
        if let Some(line) = super::stored_summary(r) {
            o.push_str(&format!("| stored quantized | {} |\n", cell(&line)));
        }
        o.push_str(&format!("| parameters | {} |\n", s.params));
        o.push_str(&format!(
            "| size | {} → {} ({:.2}×) |\n",
            bytes(s.bytes_before),
            bytes(s.bytes_after),
            s.compression_ratio
        ));
        o.push_str(&format!(
            "| worst relative error | {} |\n\n",
            pct(s.max_rel_error)
        ));
        if !s.findings.is_empty() {
            o.push_str("### Findings\n\n");
            for f in &s.findings {
                o.push_str(&format!(
                    "- **{:?}** `{}`: {}\n",
                    f.severity,
                    f.code,
                    cell(&f.message)
                ));
            }
            o.push('\n');
        }
        o.push_str("### Layers\n\n| tensor | dtype | shape | action | rel. error | MSE | max abs error | SQNR dB |\n|---|---|---|---|---:|---:|---:|---:|\n");
        for l in &r.layers {
            let action = super::action(l, " ");
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                cell(&l.name),
                cell(&l.dtype),
                shape(&l.shape),
                cell(&action),
                pct(l.rel_error),
                num(l.mse),
                num(l.max_abs_error),
                num(l.sqnr_db)
            ));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_inject_markup() {
        assert_eq!(cell("<img src=x>|a"), "&lt;img src=x&gt;\\|a");
        assert_eq!(cell("[x](javascript:1)"), "\\[x\\](javascript:1)");
    }
}
