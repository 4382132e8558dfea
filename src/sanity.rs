//! Download sanity for sharded models: a shard that is truncated, has a
//! zeroed or garbage header, or is missing against the index becomes a
//! finding naming the file, and the other shards are still analysed.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::header::{read_header, Header};
use crate::{Error, Finding, Model, NamedSource, Severity, ShardIndex};

/// The finding for a shard whose header cannot be read.
pub fn header_finding(file: &str, e: &Error) -> Finding {
    let code = match e {
        Error::Truncated { .. } | Error::TooShort { .. } | Error::HeaderPastEnd { .. } => {
            "truncated"
        }
        _ => "bad_header",
    };
    Finding::file(
        code,
        Severity::Error,
        file,
        format!("{e}; this shard was not analysed"),
    )
}

/// Opens a model like [`Model::open`], except that shards whose header
/// cannot be read, and shards the index names that were not supplied,
/// become findings (`truncated`, `bad_header`, `missing_shard`) while the
/// healthy shards are opened. Fails as [`Model::open`] does when no
/// healthy shard is left or the index itself is unreadable.
pub fn open_tolerant(
    files: Vec<NamedSource>,
    index: Option<(&str, &[u8])>,
    config: Option<&[u8]>,
) -> Result<Model, Error> {
    let mut findings = Vec::new();
    let mut healthy = Vec::new();
    // Each header is read and parsed once: Model::open_with takes them from here.
    let mut parsed: HashMap<String, Header> = HashMap::new();
    for f in &files {
        match read_header(&f.name, f.source.as_ref()) {
            Ok(h) => {
                parsed.insert(f.name.clone(), h);
                healthy.push(f.clone());
            }
            Err(e) => findings.push(header_finding(&f.name, &e)),
        }
    }
    let mut header = |f: &NamedSource| match parsed.remove(&f.name) {
        Some(h) => Ok(h),
        None => read_header(&f.name, f.source.as_ref()),
    };
    let Some((iname, ibytes)) = index else {
        if healthy.is_empty() {
            return Model::open_with(files, None, config, &mut header);
        }
        let mut m = Model::open_with(healthy, None, config, &mut header)?;
        findings.append(&mut m.findings);
        m.findings = findings;
        return Ok(m);
    };
    let idx = ShardIndex::parse(iname, ibytes)?;
    let supplied: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let good: BTreeSet<String> = healthy.iter().map(|f| f.name.clone()).collect();
    for shard in idx.shards() {
        if !supplied.contains(shard.as_str()) {
            let n = idx.weight_map.values().filter(|s| **s == shard).count();
            findings.push(Finding::file(
                "missing_shard",
                Severity::Error,
                &shard,
                format!(
                    "{iname} names shard {shard}, which is not present; its {n} tensors were not analysed"
                ),
            ));
        }
    }
    if good.is_empty() || findings.is_empty() {
        // Nothing to salvage, or nothing wrong: the plain rules apply.
        let mut m = Model::open_with(files, index, config, &mut header)?;
        findings.append(&mut m.findings);
        m.findings = findings;
        return Ok(m);
    }
    let kept: Map<String, Value> = idx
        .weight_map
        .iter()
        .filter(|(_, s)| good.contains(*s))
        .map(|(t, s)| (t.clone(), Value::String(s.clone())))
        .collect();
    if kept.is_empty() {
        return Model::open_with(files, index, config, &mut header);
    }
    let filtered =
        serde_json::to_vec(&serde_json::json!({ "weight_map": kept })).expect("serializable");
    let mut m = Model::open_with(healthy, Some((iname, &filtered)), config, &mut header)?;
    findings.append(&mut m.findings);
    m.findings = findings;
    Ok(m)
}
