//! The safetensors header parser: the 8-byte length, the JSON, offsets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantlens::format::header::parse_header;
use quantlens::read_header;
use quantlens_fuzz::file;

fuzz_target!(|data: &[u8]| {
    let f = file("model.safetensors", data);
    let _ = read_header(&f.name, f.source.as_ref());
    // The JSON alone, as if the file were longer than the input.
    let _ = parse_header("model.safetensors", data, u64::MAX / 2);
});
