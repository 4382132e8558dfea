//! Where an analysis spends its time: nanoseconds per element of each
//! per-element step, on one thread, over a 4096 × 1024 f32 matrix held in
//! memory (about N(0, 0.02), with a few outliers, like the synthetic
//! bert-large). Best of `--runs` (default 5).
//!
//!     cargo run --release --example kernel_bench [-- --runs N] [--only TEXT]
//!
//! Uses only the crate's public API, so the same file times older builds.

use std::time::Instant;

use quantlens::quant::analyze::{analyze_tensor, scan, Scratch};
use quantlens::quant::kernels;
use quantlens::quant::stats::{ErrorStats, LogHistogram, ValueStats, QUANTILES};
use quantlens::{read_header, Dtype, Scheme};

const ROWS: usize = 4096;
const COLS: usize = 1024;
const N: usize = ROWS * COLS;
const CHUNK: usize = 1 << 15;

fn weights() -> Vec<f32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..N)
        .map(|i| {
            // Sum of four uniforms: near-normal, std 0.02.
            let g = (uniform() + uniform() + uniform() + uniform() - 2.0) * 0.0346;
            if i % 100_003 == 7 {
                g * 40.0
            } else {
                g
            }
        })
        .collect()
}

fn file(dtype: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!(
        r#"{{"w":{{"dtype":"{dtype}","shape":[{ROWS},{COLS}],"data_offsets":[0,{}]}}}}"#,
        data.len()
    );
    // Padded to 8 bytes, as the safetensors writers do, so the data is aligned.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e9 / N as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(5);
    let w = weights();
    let f32_bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
    let f16_bytes: Vec<u8> = w
        .iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect();
    let bf16_bytes: Vec<u8> = w
        .iter()
        .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
        .collect();
    let scale = w.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
    let d: Vec<f32> = w
        .iter()
        .map(|&x| (x / scale).round_ties_even().clamp(-127.0, 127.0) * scale)
        .collect();
    let mut err = vec![0f32; CHUNK];
    let mut out = vec![0f32; N];
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let mut b = Bench {
        runs,
        only,
        rows: Vec::new(),
    };

    b.row("decode f16", || Dtype::F16.decode(&f16_bytes, &mut out));
    b.row("decode bf16", || Dtype::BF16.decode(&bf16_bytes, &mut out));
    b.row("value stats (ValueStats::push, 32 Ki chunks)", || {
        let mut v = ValueStats::default();
        w.chunks(CHUNK).for_each(|c| v.push(c));
        std::hint::black_box(v);
    });
    b.row("error sums + error histogram (ErrorStats::push)", || {
        let mut e = ErrorStats::default();
        for (a, b) in w.chunks(CHUNK).zip(d.chunks(CHUNK)) {
            e.push(a, b, &mut err);
        }
        std::hint::black_box(e);
    });
    let mut d_out = vec![0f32; N];
    b.row(
        "int8 quantize → dequantize (kernels::int8_dequantized)",
        || {
            std::hint::black_box(kernels::int8_dequantized(&w, &mut d_out, scale));
        },
    );
    let mut buckets = vec![0u16; N];
    b.row("  error sums alone (kernels::error_sums)", || {
        let mut acc = kernels::ErrorLanes::default();
        for ((a, b), k) in w
            .chunks(CHUNK)
            .zip(d.chunks(CHUNK))
            .zip(buckets.chunks_mut(CHUNK))
        {
            kernels::error_sums(a, b, k, &mut acc);
        }
        std::hint::black_box(acc);
    });
    b.row(
        "  int8 quantize, then error sums (two kernels, chunk by chunk)",
        || {
            let mut acc = kernels::ErrorLanes::default();
            let mut dc = vec![0f32; CHUNK];
            for (a, k) in w.chunks(CHUNK).zip(buckets.chunks_mut(CHUNK)) {
                let dc = &mut dc[..a.len()];
                std::hint::black_box(kernels::int8_dequantized(a, dc, scale));
                std::hint::black_box(kernels::error_sums(a, dc, k, &mut acc));
            }
            std::hint::black_box(acc);
        },
    );
    b.row(
        "  int8 quantize + error sums in one (kernels::int8_error_sums)",
        || {
            let mut acc = kernels::ErrorLanes::default();
            for (a, k) in w.chunks(CHUNK).zip(buckets.chunks_mut(CHUNK)) {
                std::hint::black_box(kernels::int8_error_sums(a, scale, k, &mut acc));
            }
            std::hint::black_box(acc);
        },
    );
    let mut full = LogHistogram::default();
    full.push_buckets(&buckets);
    if let Some(bands) = full.bands_around(QUANTILES) {
        b.row(
            "  two bands' count (LogHistogram::banded, push_buckets)",
            || {
                let mut h = LogHistogram::banded(bands);
                buckets.chunks(CHUNK).for_each(|c| h.push_buckets(c));
                std::hint::black_box(h);
            },
        );
    }
    let errors: Vec<f32> = w.iter().zip(&d).map(|(a, b)| a - b).collect();
    b.row("  of which the histogram (LogHistogram::push)", || {
        let mut h = LogHistogram::default();
        errors.chunks(CHUNK).for_each(|c| h.push(c));
        std::hint::black_box(h);
    });
    for (dtype, data) in [("F32", &f32_bytes), ("F16", &f16_bytes)] {
        let bytes = file(dtype, data);
        let h = read_header("bench", &bytes).unwrap();
        let t = &h.tensors[0];
        b.row(
            if dtype == "F32" {
                "scan of an F32 tensor (read + value stats)"
            } else {
                "scan of an F16 tensor (read + decode + value stats)"
            },
            || {
                let mut s = Scratch::default();
                std::hint::black_box(scan(&bytes, "bench", t, &mut s).unwrap());
            },
        );
        let schemes = [
            ("int8-tensor", Scheme::Int8Tensor),
            ("int8-channel", Scheme::Int8Channel),
            (
                "affine 4-bit g64",
                Scheme::Affine {
                    bits: 4,
                    group_size: 64,
                },
            ),
        ];
        for (name, scheme) in schemes {
            let label = format!("whole analysis, {dtype}, {name}");
            b.row(&label, || {
                let mut s = Scratch::default();
                let a = analyze_tensor(&bytes, "bench", t, true, scheme, &mut s).unwrap();
                std::hint::black_box(a);
            });
        }
    }
    println!("kernel_bench: {ROWS} x {COLS} elements, one thread, best of {runs}");
    println!();
    println!("| step | ns per element |");
    println!("| --- | ---: |");
    for (what, ns) in b.rows {
        println!("| {what} | {ns:.3} |");
    }
}

/// The rows timed so far, and which to time.
struct Bench {
    runs: usize,
    /// Only rows whose label holds this (`--only TEXT`), to profile one.
    only: Option<String>,
    rows: Vec<(String, f64)>,
}

impl Bench {
    fn row(&mut self, what: &str, f: impl FnMut()) {
        if self.only.as_ref().is_none_or(|o| what.contains(o.as_str())) {
            self.rows.push((what.to_string(), time(self.runs, f)));
        }
    }
}
