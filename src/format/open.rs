//! Download sanity for sharded models: a shard that is truncated, has a
//! zeroed or garbage header, or is missing against the index becomes a
//! finding naming the file, and the other shards are still analysed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::format::header::{read_header, Header};
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
    // Tensors per shard, counted once: a count per missing shard would be
    // quadratic in an index naming many absent shards.
    let mut per_shard: BTreeMap<&str, usize> = BTreeMap::new();
    for s in idx.weight_map.values() {
        *per_shard.entry(s.as_str()).or_default() += 1;
    }
    for (&shard, &n) in &per_shard {
        if !supplied.contains(shard) {
            findings.push(Finding::file(
                "missing_shard",
                Severity::Error,
                shard,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn many_missing_shards_are_each_named_once() {
        // One present shard and an index naming 100 000 absent ones: the
        // open must stay linear (it took minutes when each missing shard
        // rescanned the whole index).
        let h = r#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#;
        let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(h.as_bytes());
        bytes.push(7);
        let n = 100_000;
        let mut map = Map::new();
        map.insert("w".into(), Value::String("present.safetensors".into()));
        for i in 0..n {
            map.insert(
                format!("t{i}"),
                Value::String(format!("gone-{i}.safetensors")),
            );
        }
        let index = serde_json::to_vec(&serde_json::json!({ "weight_map": map })).unwrap();
        let files = vec![NamedSource::new("present.safetensors", Arc::new(bytes))];
        let m = open_tolerant(files, Some(("i.json", &index)), None).unwrap();
        let missing = m.findings.iter().filter(|f| f.code == "missing_shard");
        assert_eq!(missing.count(), n);
        assert_eq!(m.tensors.len(), 1);
    }
}
