use super::{bytes, num, pct, printable, shape, Exporter};
use crate::Report;

/// The terminal table: one aligned line per tensor, then the summary.
pub struct Table;

/// Pads or truncates to `w` characters.
fn fit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        format!("{s}{}", " ".repeat(w - n))
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

impl Exporter for Table {
    fn render(&self, r: &Report) -> String {
        let name_w = r
            .layers
            .iter()
            .map(|l| printable(&l.name).chars().count())
            .max()
            .unwrap_or(4)
            .clamp(6, 60);
        let mut o = format!(
            "{}  {:<6} {:<12} {:<18} {:>10} {:>10} {:>10} {:>8}\n",
            fit("tensor", name_w),
            "dtype",
            "shape",
            "action",
            "rel.err",
            "mse",
            "max.abs",
            "sqnr.dB"
        );
        for l in &r.layers {
            let action = super::action(l, ": ");
            o.push_str(&format!(
                "{}  {:<6} {:<12} {:<18} {:>10} {:>10} {:>10} {:>8}\n",
                fit(&printable(&l.name), name_w),
                fit(&printable(&l.dtype), 6),
                fit(&shape(&l.shape), 12),
                fit(&action, 18),
                l.rel_error
                    .map_or("-".into(), |v| format!("{:.4}%", v * 100.0)),
                num(l.mse),
                num(l.max_abs_error),
                l.sqnr_db.map_or("-".into(), |v| format!("{v:.2}")),
            ));
        }
        let s = &r.summary;
        let kept: Vec<String> = s
            .kept_by_dtype
            .iter()
            .map(|(k, v)| format!("{v} {}", printable(k)))
            .collect();
        let kept = if kept.is_empty() {
            String::new()
        } else {
            format!(" ({})", kept.join(", "))
        };
        o.push_str(&format!(
            "\n{} tensors: {} quantized ({}), {} kept{kept}\n",
            s.tensors, s.quantized_layers, r.scheme, s.kept_layers,
        ));
        if let Some(line) = super::stored_summary(r) {
            o.push_str(&line);
            o.push('\n');
        }
        o.push_str(&format!(
            "{} parameters; {} -> {} ({:.2}x smaller)\n",
            s.params,
            bytes(s.bytes_before),
            bytes(s.bytes_after),
            s.compression_ratio
        ));
        if !s.worst_layers.is_empty() {
            o.push_str("worst layers by relative error:\n");
            for w in &s.worst_layers {
                o.push_str(&format!(
                    "  {:>9}  {}\n",
                    pct(Some(w.rel_error)),
                    printable(&w.name)
                ));
            }
        }
        if s.findings.is_empty() {
            o.push_str("no findings\n");
        } else {
            o.push_str(&format!("{} findings:\n", s.findings.len()));
            for f in &s.findings {
                let sev = serde_json::to_value(f.severity).unwrap();
                o.push_str(&format!(
                    "  [{}] {}: {}\n",
                    sev.as_str().unwrap_or(""),
                    f.code,
                    printable(&f.message)
                ));
            }
        }
        o
    }
}
