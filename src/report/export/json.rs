use super::Exporter;
use crate::Report;

/// The public JSON contract (see README).
pub struct Json;

impl Exporter for Json {
    fn render(&self, report: &Report) -> String {
        let mut s = serde_json::to_string_pretty(report).expect("reports always serialize");
        s.push('\n');
        s
    }
}
