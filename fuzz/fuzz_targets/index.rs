//! The shard index parser, and a tolerant open of a sharded model whose
//! index is the input (one small healthy shard supplied; others missing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantlens::format::open::open_tolerant;
use quantlens::ShardIndex;
use quantlens_fuzz::file;

const SHARD: &[u8] = include_bytes!("../seeds/shard.safetensors");

fuzz_target!(|data: &[u8]| {
    if let Ok(idx) = ShardIndex::parse("model.safetensors.index.json", data) {
        let _ = idx.shards();
    }
    let files = vec![file("model-00001-of-00002.safetensors", SHARD)];
    let _ = open_tolerant(files, Some(("model.safetensors.index.json", data)), None);
});
