//! Format recognition with decoding: verify a converted model against its
//! original. Input: original file, converted file, converted config.json
//! (see `split`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantlens::format::open::open_tolerant;
use quantlens::Verification;
use quantlens_fuzz::{file, present, split};

fuzz_target!(|data: &[u8]| {
    let p = split(data, 3);
    let Ok(original) = open_tolerant(vec![file("model.safetensors", p[0])], None, None) else {
        return;
    };
    let Ok(converted) = open_tolerant(vec![file("model.safetensors", p[1])], None, present(p[2]))
    else {
        return;
    };
    let v = Verification::new(original, converted);
    let _ = v.format_label();
    let _ = v.report(Vec::new());
    let _ = v.run();
});
