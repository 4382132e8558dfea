// The output check's worker: its own wasm module (pkg-outputs, with the
// forward code), loaded only when the user runs the check, so the
// inspector's first load does not grow. All computing happens in quantlens
// (Rust); this file moves bytes: before each step (the embeddings, one
// layer, the head) it asks the run which byte ranges the step reads and
// reads them asynchronously (Blob.slice for dropped files, capped Range
// requests for links), so nothing is ever read synchronously. Cancel is
// terminating this worker between steps.
import init, { OutputsRun, outputsModulePaths } from '../pkg-outputs/quantlens_outputs.js';
import { fetchRange, fetchSide } from '../link/http.js';
import { MAX_HEADER_BYTES, MAX_JSON_BYTES } from '../shared/settings.js';
import { net, progress, serve } from './serve.js';

// The side files the check reads when present (src/outputs/side.rs FIXED).
const SIDE_FILES = ['tokenizer.json', 'sentence_bert_config.json', 'modules.json', 'config_sentence_transformers.json'];

let memory = null;
let highWater = 0;
function wasmBytes() {
  const n = memory ? memory.buffer.byteLength : 0;
  highWater = Math.max(highWater, n);
  return n;
}

const count = (n) => { net.bytes += n; };

// Bytes [start, start + length) of a file {name, blob} or {name, url, size}.
async function readBytes(f, start, length, ctx) {
  if (length === 0) return new Uint8Array(0);
  if (f.blob) return new Uint8Array(await f.blob.slice(start, start + length).arrayBuffer());
  const got = await fetchRange(f.url, start, start + length - 1, f.name, { size: f.size, ctx, count });
  if (got.bytes?.length !== length) throw new Error(`${f.name}: asked for ${length} bytes at ${start}, got ${got.bytes?.length ?? 0} (${f.url})`);
  return got.bytes;
}

// The entry the wasm side opens: name, size and the header bytes.
async function entryOf(f, ctx) {
  const size = f.blob ? f.blob.size : f.size;
  if (f.head) return { name: f.name, size, head: f.head };
  const prefix = await readBytes(f, 0, Math.min(8, size), ctx);
  if (prefix.length < 8) return { name: f.name, size, head: prefix };
  const declared = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  if (declared === 0 || declared > MAX_HEADER_BYTES || declared > size - 8) return { name: f.name, size, head: prefix };
  return { name: f.name, size, head: await readBytes(f, 0, 8 + declared, ctx) };
}

// {path: Uint8Array} of the side files: from `files` ({path: Blob}) of a
// dropped folder, or fetched relative to `base` for a link.
async function sideFiles({ files, base }, ctx) {
  const out = {};
  const read = async (path) => {
    if (files) {
      const b = files[path];
      if (!b) return;
      if (b.size > MAX_JSON_BYTES) throw new Error(`${path}: ${b.size} bytes is too large for a side file`);
      out[path] = new Uint8Array(await b.arrayBuffer());
      return;
    }
    if (!base) return;
    try {
      out[path] = (await fetchSide(new URL(path, base).href, path, ctx, count)).bytes;
    } catch (e) {
      if (e.kind !== 'notfound') throw e;
    }
  };
  for (const p of SIDE_FILES) await read(p);
  if (out['modules.json']) {
    for (const m of outputsModulePaths(out['modules.json'])) await read(`${m}/config.json`);
  }
  return out;
}

async function model(m, ctx) {
  const files = [];
  for (const f of m.files) files.push(await entryOf(f, ctx));
  return { files, index: m.index ?? null, config: m.config ?? null };
}

async function run(msg) {
  const ctx = { allowHosts: new Set(msg.allowHosts ?? []) };
  if (!memory) memory = (await init()).memory;
  const side = await sideFiles(msg.side, ctx);
  const sources = [msg.original.files, msg.converted?.files ?? []];
  const r = new OutputsRun(await model(msg.original, ctx), msg.converted ? await model(msg.converted, ctx) : null,
    msg.options ?? null, side, msg.text ?? '');
  try {
    const total = r.total();
    const t0 = performance.now();
    progress(msg.id, { done: 0, total, layer: null, wasmBytes: wasmBytes() });
    while (r.done() < total) {
      for (const p of r.plan()) {
        r.provide(p.side, p.file, p.start, await readBytes(sources[p.side][p.file], p.start, p.length, ctx));
      }
      const s = r.step();
      progress(msg.id, { done: s.done, total, layer: s.layer, wasmBytes: wasmBytes() });
    }
    return {
      type: 'done',
      report: r.report(),
      csv: r.render('csv'),
      markdown: r.render('markdown'),
      ms: performance.now() - t0,
      wasmBytes: wasmBytes(),
      wasmHighWater: highWater,
    };
  } finally {
    r.free();
  }
}

serve(async (msg) => {
  if (msg.type === 'run') return run(msg);
  throw new Error(`unknown request ${msg.type}`);
});
