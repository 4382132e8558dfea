//! The path the page's wasm `Inspector` takes, over in-memory bytes: open,
//! plan every row (the overview), then analyse every tensor. Input: one
//! options byte, the model file, config.json (see `split`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantlens::{Inspection, Model, Policy, PolicyKind, Scheme};
use quantlens_fuzz::{file, present, split};

fuzz_target!(|data: &[u8]| {
    let Some((&opts, rest)) = data.split_first() else {
        return;
    };
    let scheme = match opts & 3 {
        0 => Scheme::Int8Tensor,
        1 => Scheme::Int8Channel,
        2 => Scheme::Affine {
            bits: 4,
            group_size: 32,
        },
        _ => Scheme::Affine {
            bits: 8,
            group_size: 64,
        },
    };
    let kind = if opts & 4 == 0 {
        PolicyKind::Default
    } else {
        PolicyKind::Mlx
    };
    let Ok(policy) = Policy::new(kind, scheme.group_size().unwrap_or(64), &[], &[]) else {
        return;
    };
    let p = split(rest, 2);
    let Ok(model) = Model::open(vec![file("model.safetensors", p[0])], None, present(p[1])) else {
        return;
    };
    let inspection = Inspection::new(model, scheme, &policy);
    let rows: Vec<_> = (0..inspection.len())
        .filter_map(|i| inspection.planned_row(i).ok())
        .collect();
    let _ = inspection.report(rows);
    let _ = (0..inspection.len())
        .map(|i| inspection.work_bytes(i))
        .sum::<u64>();
    let _ = inspection.run();
});
