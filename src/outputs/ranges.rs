//! The byte ranges a step of the output check reads, merged into few
//! requests for a reader that fetches them ahead (the page's worker).

/// A byte range `start..end` of one of a model's files, named as in its header.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct FileRange {
    /// The file name.
    pub file: String,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// Ranges closer than this are fetched as one (fewer requests, a few
/// unused bytes).
const MERGE_GAP: u64 = 256 << 10;

/// Sorts ranges and merges those that overlap or lie within [`MERGE_GAP`].
pub fn merge_ranges(mut v: Vec<FileRange>) -> Vec<FileRange> {
    v.sort();
    let mut out: Vec<FileRange> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if last.file == r.file && r.start <= last.end.saturating_add(MERGE_GAP) => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}
