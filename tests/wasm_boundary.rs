//! The wasm boundary, run under Node by `scripts/test-wasm`
//! (`wasm-pack test --node`): JS file entries with a `read(offset, length)`
//! callback (how the page reads HTTP ranges), 64-bit offsets on wasm32,
//! errors that name the file, and the streamed SHA-256.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use quantlens::web::inspector::Inspector;
use quantlens::web::verifier::sha256_entry;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

/// A file served through a read callback, with a log of the calls made.
/// Bytes at or past `data.len()` read as zeros, so a file can claim to be
/// far larger than the memory behind it.
struct FakeFile {
    entry: Object,
    calls: Rc<RefCell<Vec<(u64, u64)>>>,
    _read: Closure<dyn Fn(f64, f64) -> Result<Uint8Array, JsValue>>,
}

fn fake_file(name: &str, size: u64, head: Vec<u8>, tail: Option<(u64, Vec<u8>)>) -> FakeFile {
    fake_file_with(name, size, head, tail, false)
}

fn fake_file_with(
    name: &str,
    size: u64,
    head: Vec<u8>,
    tail: Option<(u64, Vec<u8>)>,
    short_reads: bool,
) -> FakeFile {
    let calls = Rc::new(RefCell::new(Vec::new()));
    let log = calls.clone();
    let read = Closure::<dyn Fn(f64, f64) -> Result<Uint8Array, JsValue>>::new(
        move |offset: f64, len: f64| {
            let (offset, len) = (offset as u64, len as u64);
            log.borrow_mut().push((offset, len));
            if offset == 404 {
                return Err(js_sys::Error::new("HTTP 404 for this range").into());
            }
            let n = if short_reads && len > 4096 {
                len - 1
            } else {
                len
            };
            let mut out = vec![0u8; n as usize];
            for (i, b) in out.iter_mut().enumerate() {
                let at = offset + i as u64;
                if (at as usize) < head.len() {
                    *b = head[at as usize];
                } else if let Some((start, bytes)) = &tail {
                    if at >= *start && at < start + bytes.len() as u64 {
                        *b = bytes[(at - start) as usize];
                    }
                }
            }
            Ok(Uint8Array::from(&out[..]))
        },
    );
    let entry = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&entry, &k.into(), v).unwrap();
    set("name", &name.into());
    set("size", &JsValue::from_f64(size as f64));
    set("read", read.as_ref());
    FakeFile {
        entry,
        calls,
        _read: read,
    }
}

/// Deterministic weights with a spread of magnitudes.
fn weights(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = ((i as u64 * 2654435761) % 10007) as f32 / 10007.0 - 0.5;
            x * (1.0 + (i % 7) as f32)
        })
        .collect()
}

/// int8 per-tensor round trip written out directly (numpy's recipe):
/// returns (relative error, max |error|).
fn int8_reference(w: &[f32]) -> (f64, f64) {
    let amax = w.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = amax / 127.0;
    let (mut err2, mut w2, mut max) = (0f64, 0f64, 0f64);
    for &x in w {
        let q = (x / scale).round_ties_even().clamp(-127.0, 127.0);
        let e = (x - q * scale) as f64;
        err2 += e * e;
        w2 += (x as f64) * (x as f64);
        max = max.max(e.abs());
    }
    ((err2 / w2).sqrt(), max)
}

fn open(files: &[&FakeFile]) -> Result<Inspector, JsValue> {
    let arr = Array::new();
    for f in files {
        arr.push(&f.entry);
    }
    Inspector::new(arr, JsValue::NULL, None, JsValue::UNDEFINED).map_err(JsValue::from)
}

fn json(v: JsValue) -> Value {
    serde_wasm_bindgen::from_value(v).unwrap()
}

fn message(e: JsValue) -> String {
    Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1e-30)
}

#[wasm_bindgen_test]
fn callback_source_reads_each_tensor_in_one_range() {
    let w = weights(256 * 256);
    let data = common::f32_bytes(&w);
    let header = format!(
        r#"{{"w":{{"dtype":"F32","shape":[256,256],"data_offsets":[0,{n}]}},"b":{{"dtype":"F32","shape":[256],"data_offsets":[{n},{m}]}}}}"#,
        n = data.len(),
        m = data.len() + 1024
    );
    let mut all = data.clone();
    all.extend_from_slice(&common::f32_bytes(&weights(256)));
    let bytes = common::raw_file(&header, &all);
    let file = fake_file("model.safetensors", bytes.len() as u64, bytes.clone(), None);
    let mut insp = open(&[&file]).unwrap();
    let header_reads = file.calls.borrow().len();
    assert!(header_reads <= 2, "header took {header_reads} reads");

    let row = json(insp.analyze_tensor(0).map_err(JsValue::from).unwrap());
    let calls = file.calls.borrow()[header_reads..].to_vec();
    let start = 8 + header.len() as u64;
    assert_eq!(
        calls,
        vec![(start, data.len() as u64)],
        "one read per tensor"
    );
    assert_eq!(row["name"], "w");
    assert_eq!(row["action"], "quantize");
    let (rel, max) = int8_reference(&w);
    let got_rel = row["rel_error"].as_f64().unwrap();
    let got_max = row["max_abs_error"].as_f64().unwrap();
    assert!(
        close(got_rel, rel),
        "rel_error {got_rel} vs reference {rel}"
    );
    assert!(
        close(got_max, max),
        "max_abs_error {got_max} vs reference {max}"
    );
}

#[wasm_bindgen_test]
fn provided_bytes_replace_the_synchronous_read() {
    // Two tensors; the bytes of "w" are handed over ahead (as the worker
    // does after an asynchronous read), "b" is read through the callback.
    let w = weights(128 * 128);
    let data = common::f32_bytes(&w);
    let bias = common::f32_bytes(&weights(128));
    let header = format!(
        r#"{{"w":{{"dtype":"F32","shape":[128,128],"data_offsets":[0,{n}]}},"b":{{"dtype":"F32","shape":[128],"data_offsets":[{n},{m}]}},"ids":{{"dtype":"I64","shape":[4],"data_offsets":[{m},{k}]}}}}"#,
        n = data.len(),
        m = data.len() + bias.len(),
        k = data.len() + bias.len() + 32
    );
    let mut all = data.clone();
    all.extend_from_slice(&bias);
    all.extend_from_slice(&[0u8; 32]);
    let bytes = common::raw_file(&header, &all);
    let start = 8 + header.len() as u64;
    let file = fake_file("model.safetensors", bytes.len() as u64, bytes.clone(), None);
    let other = fake_file(
        "other.safetensors",
        8 + 2,
        b"\x02\0\0\0\0\0\0\0{}".to_vec(),
        None,
    );
    let mut insp = open(&[&other, &file]).unwrap();
    let _ = insp.take_sync_read_bytes();
    let reads_before = file.calls.borrow().len();

    let index_of = |name: &str, insp: &mut Inspector| {
        (0..insp.tensor_count())
            .find(|&i| json(insp.analyze_tensor(i).map_err(JsValue::from).unwrap())["name"] == name)
            .unwrap()
    };
    let wi = index_of("w", &mut insp);
    let bi = index_of("b", &mut insp);
    let ids = index_of("ids", &mut insp);
    let _ = insp.take_sync_read_bytes();
    file.calls.borrow_mut().truncate(reads_before);

    let plan = json(insp.read_plan(wi).map_err(JsValue::from).unwrap());
    let span = &plan["ranges"][0];
    assert_eq!(span["file"], 1, "index into the entries as given");
    assert_eq!(span["start"].as_f64().unwrap(), start as f64);
    assert_eq!(span["length"].as_f64().unwrap(), data.len() as f64);
    assert_eq!(plan["feed"], true, "a float tensor can be push-fed");
    let none = json(insp.read_plan(ids).map_err(JsValue::from).unwrap());
    assert_eq!(
        none["ranges"],
        serde_json::json!([]),
        "an I64 tensor is never read"
    );
    assert_eq!(none["bytes"], 0);
    assert!(insp.read_plan(99).is_ok());

    let slot = insp
        .reserve(1, start as f64, data.len())
        .map_err(JsValue::from)
        .unwrap();
    // SAFETY: the reserved buffer holds data.len() bytes at this address.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), slot[1] as usize as *mut u8, data.len())
    };
    insp.commit(1, slot[0] as usize)
        .map_err(JsValue::from)
        .unwrap();
    let row = json(insp.analyze_tensor(wi).map_err(JsValue::from).unwrap());
    assert_eq!(
        file.calls.borrow().len(),
        reads_before,
        "no read for provided bytes"
    );
    assert_eq!(insp.take_sync_read_bytes(), 0.0);
    let (rel, _) = int8_reference(&w);
    assert!(close(row["rel_error"].as_f64().unwrap(), rel));

    json(insp.analyze_tensor(bi).map_err(JsValue::from).unwrap());
    assert_eq!(insp.take_sync_read_bytes(), bias.len() as f64);
    assert_eq!(insp.take_sync_read_bytes(), 0.0, "taken once");

    // The same row push-fed in odd pieces: the same figures, no read.
    insp.release();
    // The first pass holds 3000 bytes, so the second starts there.
    insp.feed_begin(wi, 3000.0).map_err(JsValue::from).unwrap();
    loop {
        let from = insp.feed_resume_at().map_err(JsValue::from).unwrap() as usize;
        for piece in data[from..].chunks(1001) {
            let ptr = insp.feed_buffer(piece.len()) as usize as *mut u8;
            // SAFETY: the feed buffer holds piece.len() bytes at this address.
            unsafe { std::ptr::copy_nonoverlapping(piece.as_ptr(), ptr, piece.len()) };
            insp.feed_push(piece.len()).map_err(JsValue::from).unwrap();
        }
        if !insp.feed_end_pass().map_err(JsValue::from).unwrap() {
            break;
        }
    }
    let fed = json(insp.feed_finish().map_err(JsValue::from).unwrap());
    assert_eq!(fed["row"], row);
    assert_eq!(insp.take_sync_read_bytes(), 0.0);
}

#[wasm_bindgen_test]
fn offsets_past_4_gib_work_on_wasm32() {
    // A 5 GiB padding tensor, then a small weight matrix past 4 GiB; only
    // the header and the matrix are ever read.
    let pad: u64 = 5 << 30;
    let w = weights(64 * 64);
    let data = common::f32_bytes(&w);
    let header = format!(
        r#"{{"pad":{{"dtype":"U8","shape":[{pad}],"data_offsets":[0,{pad}]}},"w":{{"dtype":"F32","shape":[64,64],"data_offsets":[{pad},{end}]}}}}"#,
        end = pad + data.len() as u64
    );
    let head = common::raw_file(&header, &[]);
    let start = head.len() as u64 + pad;
    let size = start + data.len() as u64;
    let file = fake_file("big.safetensors", size, head, Some((start, data)));
    let mut insp = open(&[&file]).unwrap();
    assert_eq!(insp.tensor_count(), 2);
    let rows: Vec<Value> = (0..2)
        .map(|i| json(insp.analyze_tensor(i).map_err(JsValue::from).unwrap()))
        .collect();
    let w_row = rows.iter().find(|r| r["name"] == "w").unwrap();
    let pad_row = rows.iter().find(|r| r["name"] == "pad").unwrap();
    assert_eq!(pad_row["action"], "keep");
    assert_eq!(pad_row["bytes_before"].as_f64().unwrap(), pad as f64);
    let (rel, _) = int8_reference(&w);
    assert!(close(w_row["rel_error"].as_f64().unwrap(), rel));
    let read: u64 = file.calls.borrow().iter().map(|c| c.1).sum();
    assert!(read < 1 << 20, "read {read} bytes of a 5 GiB file");
    assert!(file.calls.borrow().iter().any(|c| c.0 >= 4 << 30));
}

#[wasm_bindgen_test]
fn short_read_is_an_error_naming_file_and_tensor() {
    let data = common::f32_bytes(&weights(64 * 64));
    let header = format!(
        r#"{{"layer.w":{{"dtype":"F32","shape":[64,64],"data_offsets":[0,{}]}}}}"#,
        data.len()
    );
    let bytes = common::raw_file(&header, &data);
    let file = fake_file_with("shard-2.safetensors", bytes.len() as u64, bytes, None, true);
    let mut insp = open(&[&file]).unwrap();
    let err = message(insp.analyze_tensor(0).map_err(JsValue::from).unwrap_err());
    assert!(err.contains("shard-2.safetensors"), "{err}");
    assert!(err.contains("layer.w"), "{err}");
    assert!(err.contains("expected"), "{err}");
}

#[wasm_bindgen_test]
fn error_thrown_by_read_callback_reaches_the_caller() {
    // The header is 396 bytes long, so the first read of the data starts at
    // offset 404, where the fake server answers "HTTP 404".
    let pad = 396 - r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#.len();
    let header = format!(
        r#"{{"w":{{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}{}}}"#,
        " ".repeat(pad)
    );
    let bytes = common::raw_file(&header, &common::f32_bytes(&[1.0, -2.0, 0.5, 0.25]));
    let file = fake_file("remote.safetensors", bytes.len() as u64, bytes, None);
    let mut insp = open(&[&file]).unwrap();
    let err = message(insp.analyze_tensor(0).map_err(JsValue::from).unwrap_err());
    assert!(err.contains("HTTP 404 for this range"), "{err}");
    assert!(err.contains("remote.safetensors"), "{err}");
}

#[wasm_bindgen_test]
fn header_errors_name_the_file() {
    let bytes = common::raw_file("{not json", &[]);
    let file = fake_file("broken.safetensors", bytes.len() as u64, bytes, None);
    let err = message(open(&[&file]).err().unwrap());
    assert!(err.contains("broken.safetensors"), "{err}");
}

#[wasm_bindgen_test]
fn sha256_entry_matches_the_fips_vector() {
    // FIPS 180-2 test vector: SHA-256("abc").
    let file = fake_file("abc.txt", 3, b"abc".to_vec(), None);
    let hex = sha256_entry(file.entry.clone().into(), None)
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
