// quantlens browser inspector: the page thread only draws. Module workers
// (www/worker.js) own the wasm instances and do every read and computation.
// All file-derived text enters the DOM through textContent, never as HTML.
// Models opened by link (#url=, #hf=; see remote.js): the page fetches the
// headers, the workers read tensor data by Range requests.
import { parseFragment, buildFragment, sourceOf, resolveSource, sourceLabel, RemoteError, FULL_BODY_LIMIT, readBudget } from './remote.js';
import { confirmedHosts, confirmTyped, offerConfirm, withdrawConfirm } from './linkconfirm.js';
import { nf, fmtBytes, fmtParams, fmtPct, fmtSci, fmtFixed, storedLabel, storedBitsLine, actionText } from './inspector/format.js';

// Compare by link (#url=A&against=B) is the compare page's job.
{
  const f = parseFragment(location.hash);
  if (f.against || f.againstHf) location.replace(`compare.html${location.hash}`);
}

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

const SCHEMES = {
  'int8-tensor': { scheme: 'int8-tensor', label: 'int8 per tensor' },
  'int8-channel': { scheme: 'int8-channel', label: 'int8 per channel' },
  affine8: { scheme: 'affine', bits: 8, groupSize: 64, label: 'affine 8-bit g64' },
  affine4: { scheme: 'affine', bits: 4, groupSize: 64, label: 'affine 4-bit g64' },
};
const MAX_JSON_BYTES = 64 << 20;
const POOL_SIZE = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
const UI_TICK_MS = 250; // redraw pace while rows stream in (see markRowDirty)
const BATCH_BYTES = 4 << 20; // small tensors per request, by bytes read
const RECYCLE_BYTES = 384 << 20; // bytes a worker reads before it is replaced (see Pool.recycle)

// ---------------------------------------------------------------- state
const state = {
  input: null, // {files:[{name, blob}], index, config, ignored, label, t0}
  runId: 0,
  primary: null, // {key, options, rows, report, overview, workBytes}
  compare: null,
  selected: -1,
  sort: { key: 'index', dir: 1 },
  stats: { maxWasmBytes: 0 },
  thr: { warn: 0.01, bad: 0.05 }, // rel. error thresholds of the row colours
  link: null, // parsed fragment of the link being shown (remote.js parseFragment)
  net: { fetched: 0, total: 0 }, // bytes fetched over the network for a link source
  sha: null, // {expected, results} of the link's sha256= check
};
// Exposed for the end-to-end tests and for curious users (read-only use).
window.__quantlens = { state, lastRun: null, headerView: null, link: () => currentLink() };

// ---------------------------------------------------------------- worker pool
let wasmModule = null;
async function compileWasm() {
  if (!wasmModule) {
    const resp = await fetch('pkg/quantlens_bg.wasm');
    if (!resp.ok) throw new Error(`could not load the wasm module (HTTP ${resp.status}); run scripts/build-web`);
    wasmModule = await WebAssembly.compileStreaming(resp);
  }
  return wasmModule;
}

class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.cancelled = true;
  }
}

// Network bytes reported by the workers (link sources).
function addFetched(n) {
  if (!n) return;
  state.net.fetched += n;
  scheduleNetDraw();
}

class Pool {
  constructor(size) {
    this.size = size;
    this.seq = 0;
    this.dead = false;
    this.opens = new Map(); // worker index -> (key -> its 'open' or 'prepare' message), replayed on a recycled worker
    this.spares = new Map(); // worker index -> {w, ready}: its replacement, warming up
    this.workers = [];
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
    this.ready = compileWasm().then((module) =>
      Promise.all(this.workers.map((_, i) => this.call(i, { type: 'init', module, readBudget: readBudget(location.hash) }))));
  }
  spawn() {
    const w = { worker: new Worker('worker.js', { type: 'module' }), pending: new Map() };
    w.worker.onmessage = (ev) => {
      const msg = ev.data;
      if (msg.fetched && !this.dead) addFetched(msg.fetched);
      const p = w.pending.get(msg.seq);
      if (!p) return;
      if (msg.type === 'progress') {
        p.progress?.(msg);
        return;
      }
      w.pending.delete(msg.seq);
      if (msg.type === 'error') p.reject(new Error(msg.message));
      else p.resolve(msg);
    };
    w.worker.onerror = (ev) => {
      ev.preventDefault?.();
      const err = new Error(`worker failed: ${ev.message || 'unknown error (out of memory?)'}`);
      for (const p of w.pending.values()) p.reject(err);
      w.pending.clear();
    };
    return w;
  }
  call(i, msg, progress) {
    if (this.dead) return Promise.reject(new Cancelled());
    const w = this.workers[i];
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      w.pending.set(seq, { resolve, reject, progress });
      w.worker.postMessage({ ...msg, seq });
    });
  }
  async open(i, msg) {
    if (i === 0) this.dropSpares();
    if (!this.opens.has(i)) this.opens.set(i, new Map());
    this.opens.get(i).set(msg.key, { ...msg, overview: false });
    return this.call(i, msg);
  }
  // FileReaderSync (and a synchronous range request) hands every slice over
  // as a fresh ArrayBuffer, and a busy worker's garbage collector lets those
  // pile up (gigabytes on a big model). A fresh worker, re-opened on the same
  // files, returns it all. The first window of each tensor is read ahead
  // into a reused buffer instead (worker.js readAhead), so a model of
  // tensors under 32 MiB never needs this. prepare(i) starts the
  // replacement early so the swap costs nothing.
  prepare(i) {
    if (this.spares.has(i)) return;
    const w = this.spawn();
    const ready = (async () => {
      const call = (msg) => new Promise((resolve, reject) => {
        const seq = ++this.seq;
        w.pending.set(seq, { resolve, reject });
        w.worker.postMessage({ ...msg, seq });
      });
      await call({ type: 'init', module: await compileWasm(), readBudget: readBudget(location.hash) });
      for (const msg of this.opens.get(i)?.values() ?? []) await call(msg);
      return w;
    })();
    ready.catch(() => {});
    this.spares.set(i, { w, ready });
  }
  async recycle(i) {
    this.prepare(i);
    const spare = this.spares.get(i);
    this.spares.delete(i);
    await spare.ready;
    if (this.dead) {
      spare.w.worker.terminate();
      throw new Cancelled();
    }
    const old = this.workers[i];
    old.worker.terminate();
    for (const p of old.pending.values()) p.reject(new Cancelled());
    this.workers[i] = spare.w;
  }
  dropSpares() {
    for (const { w } of this.spares.values()) w.worker.terminate();
    this.spares.clear();
  }
  terminate() {
    this.dead = true;
    this.dropSpares();
    for (const w of this.workers) {
      w.worker.terminate();
      for (const p of w.pending.values()) p.reject(new Cancelled());
      w.pending.clear();
    }
  }
}

let pool = new Pool(POOL_SIZE);
pool.ready.catch((e) => showError(e.message));

// ---------------------------------------------------------------- formatting
function relClass(r) {
  if (r.rel_error == null) return r.action === 'keep' ? 'kept' : r.action === 'stored' ? 'stored' : 'pending';
  return r.rel_error < state.thr.warn ? 'good' : r.rel_error < state.thr.bad ? 'warn' : 'bad';
}

const COLS = [
  { key: 'index', label: '#', num: true, get: (r, i) => i, fmt: (x) => String(x) },
  { key: 'name', label: 'Tensor', cls: 'mono name' },
  { key: 'dtype', label: 'dtype' },
  { key: 'shape', label: 'Shape', get: (r) => r.shape, fmt: (s) => (s && s.length ? s.join(' × ') : 'scalar'), sortBy: (r) => r.params },
  { key: 'params', label: 'Params', num: true, fmt: fmtParams },
  { key: 'action', label: 'Action' },
  { key: 'reason', label: 'Reason', get: (r) => (r.action === 'stored' ? storedLabel(r) : r.reason), fmt: (x) => x ?? '' },
  { key: 'rel_error', label: 'Rel. error', num: true, fmt: fmtPct, cls: 'strong' },
  { key: 'cmp_rel_error', label: 'Rel. error (B)', num: true, fmt: fmtPct, cls: 'col-cmp', get: (r, i) => state.compare?.rows?.[i]?.rel_error ?? null },
  { key: 'mse', label: 'MSE', num: true, fmt: fmtSci },
  { key: 'max_abs_error', label: 'Max |err|', num: true, fmt: fmtSci },
  { key: 'sqnr_db', label: 'SQNR dB', num: true, fmt: fmtFixed(1) },
  { key: 'cosine', label: 'Cosine', num: true, fmt: fmtFixed(6) },
  { key: 'clip_frac', label: 'Clip', num: true, fmt: fmtPct },
  { key: 'outlier_ratio', label: 'Outlier ratio', num: true, fmt: fmtFixed(1) },
  { key: 'err_p99', label: 'err p99', num: true, fmt: fmtSci },
  { key: 'zero_frac', label: 'Zeros', num: true, fmt: fmtPct },
  { key: 'min', label: 'Min', num: true, fmt: fmtSci },
  { key: 'max', label: 'Max', num: true, fmt: fmtSci },
  { key: 'std', label: 'Std', num: true, fmt: fmtSci },
  { key: 'nan_count', label: 'NaN/Inf', num: true, get: (r) => (r.nan_count == null ? null : r.nan_count + (r.inf_count ?? 0)), fmt: (x) => (x == null ? '–' : String(x)) },
];
const colValue = (c, r, i) => (c.get ? c.get(r, i) : r[c.key]);

// ---------------------------------------------------------------- DOM helpers
function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  if (text != null) e.textContent = String(text);
  return e;
}
function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = String(text);
  return e;
}
function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function setStatus(stateName, text) {
  const s = $('status');
  s.dataset.state = stateName;
  s.textContent = text;
  $('cancel').disabled = stateName !== 'running';
  document.body.dataset.state = stateName;
}
function showError(text) {
  const e = $('error');
  e.hidden = false;
  e.textContent = text;
}
function clearError() {
  withdrawConfirm();
  const e = $('error');
  e.hidden = true;
  e.textContent = '';
}

// ---------------------------------------------------------------- input
function splitPath(p) {
  const parts = p.split('/').filter(Boolean);
  return { dir: parts.slice(0, -1).join('/'), base: parts[parts.length - 1] ?? p };
}

// entries: [{file, path}] -> analysis input, or throws a readable Error.
async function classify(entries) {
  const st = [];
  const indexes = [];
  const configs = [];
  const ignored = [];
  for (const e of entries) {
    const { dir, base } = splitPath(e.path || e.file.name);
    const lower = base.toLowerCase();
    const item = { ...e, dir, base, depth: dir ? dir.split('/').length : 0 };
    if (lower.endsWith('.safetensors')) st.push(item);
    else if (lower.endsWith('.safetensors.index.json')) indexes.push(item);
    else if (lower === 'config.json') configs.push(item);
    else ignored.push({ path: e.path || e.file.name, why: 'not a model file' });
  }
  if (st.length === 0) {
    const n = entries.length;
    throw new Error(n === 0
      ? 'No files were given. Choose a model folder or .safetensors files.'
      : `No .safetensors file found among the ${n} file${n === 1 ? '' : 's'} given. quantlens reads safetensors models (a folder with model.safetensors or model-0000k-of-0000N.safetensors shards).`);
  }
  // The model folder is the shallowest folder holding safetensors files.
  const minDepth = Math.min(...st.map((s) => s.depth));
  const modelDir = st.filter((s) => s.depth === minDepth).map((s) => s.dir).sort()[0];
  const files = [];
  const seen = new Set();
  for (const s of st.sort((a, b) => a.base.localeCompare(b.base))) {
    if (s.dir !== modelDir) ignored.push({ path: s.path || s.base, why: 'outside the model folder' });
    else if (seen.has(s.base)) ignored.push({ path: s.path || s.base, why: 'duplicate name' });
    else {
      seen.add(s.base);
      files.push({ name: s.base, blob: s.file });
    }
  }
  const pick = (list) => {
    const same = list.filter((x) => x.dir === modelDir);
    const chosen = same[0] ?? list.sort((a, b) => a.depth - b.depth)[0] ?? null;
    for (const x of list) if (x !== chosen) ignored.push({ path: x.path || x.base, why: 'another copy is used' });
    return chosen;
  };
  const readText = async (x) => {
    if (x.file.size > MAX_JSON_BYTES) throw new Error(`${x.base} is ${fmtBytes(x.file.size)}; JSON side files over ${fmtBytes(MAX_JSON_BYTES)} are not read`);
    return x.file.text();
  };
  const idx = pick(indexes);
  const cfg = pick(configs);
  return {
    files,
    index: idx ? { name: idx.base, text: await readText(idx) } : null,
    config: cfg ? await readText(cfg) : null,
    configName: cfg ? cfg.path || cfg.base : null,
    indexName: idx ? idx.path || idx.base : null,
    ignored,
  };
}

async function walkEntry(entry, prefix, out) {
  if (entry.isFile) {
    const file = await new Promise((res, rej) => entry.file(res, rej));
    out.push({ file, path: prefix + entry.name });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
      if (batch.length === 0) break;
      for (const child of batch) await walkEntry(child, `${prefix}${entry.name}/`, out);
    }
  }
}

async function entriesFromDrop(dt) {
  const out = [];
  const items = [...(dt.items ?? [])];
  const roots = items.map((it) => (it.kind === 'file' && it.webkitGetAsEntry ? it.webkitGetAsEntry() : null));
  if (roots.some(Boolean)) {
    for (const r of roots) if (r) await walkEntry(r, '', out);
  } else {
    for (const f of dt.files ?? []) out.push({ file: f, path: f.name });
  }
  return out;
}

async function acceptEntries(entries, label) {
  const t0 = performance.now();
  clearError();
  forgetLink();
  try {
    const input = await classify(entries);
    input.label = label;
    input.t0 = t0;
    await startInput(input);
  } catch (e) {
    if (e.cancelled) return;
    failRun(e);
  }
}

// ---------------------------------------------------------------- runs
function optionsFor(value) {
  const s = SCHEMES[value] ?? SCHEMES['int8-tensor'];
  const sha256 = (state.input?.remote && state.link?.sha256?.map((x) => [x.file, x.hex])) || [];
  return { scheme: s.scheme, bits: s.bits ?? 8, groupSize: s.groupSize ?? 64, policy: $('policy').value || 'default', include: [], exclude: [], sha256 };
}

function resetPool() {
  pool.terminate();
  pool = new Pool(POOL_SIZE);
  pool.ready.catch((e) => showError(e.message));
}

function failRun(e) {
  if (e.cancelled) return;
  setStatus('error', 'Could not analyse this input.');
  setPhase('');
  showError(e.message || String(e));
  $('progress').value = 0;
  setExportsEnabled(false);
}

async function startInput(input) {
  state.input = input;
  state.primary = null;
  state.compare = null;
  state.selected = -1;
  resetShare();
  renderFiles(input);
  await runPrimary();
}

// Opens the model on every worker, streams every tensor, builds the report.
// gate, when given, is awaited after the overview is drawn and before any
// tensor is read (the header view of a link source).
async function analyse(key, options, onOverview, onRow, gate) {
  const input = state.input;
  const myRun = state.runId;
  const p = pool;
  await p.ready;
  // The first worker parses the headers; the others get what each row
  // reads with the request that analyses it.
  const opened = await p.open(0, { type: 'open', key, files: input.files, index: input.index, config: input.config, options, overview: true });
  const { report: planned, workBytes, structural, shards, rowTensors } = opened.overview;
  await Promise.all(p.workers.slice(1).map((_, k) =>
    p.open(k + 1, { type: 'prepare', key, files: input.files, config: input.config, options, shards })));
  const n = opened.count;
  onOverview(planned, workBytes);
  if (gate) await gate();
  if (state.runId !== myRun) throw new Cancelled();
  const rows = planned.layers.slice();
  const results = new Array(n); // {row, findings} per row, for the report
  const done = new Array(n).fill(false);
  // Largest first, so the pool finishes together.
  const queue = [...Array(n).keys()].sort((a, b) => workBytes[b] - workBytes[a] || a - b);
  let failed = null;
  // Each worker keeps two requests queued so it never idles between tensors;
  // small tensors go in batches of up to BATCH_BYTES so the tail of biases
  // and norms does not wait on this thread. A worker is replaced once it has
  // read RECYCLE_BYTES synchronously (see Pool.recycle): a request counts
  // its work bytes while in flight, then what the worker reports.
  const loop = async (wi) => {
    let read = 0;
    const inflight = [];
    const live = () => !failed && state.runId === myRun;
    const fill = () => {
      while (inflight.length < 2 && queue.length && live() && read <= RECYCLE_BYTES) {
        const indices = [queue.shift()];
        let batch = workBytes[indices[0]];
        while (queue.length && indices.length < 256 && batch + workBytes[queue[0]] <= BATCH_BYTES) {
          const i = queue.shift();
          indices.push(i);
          batch += workBytes[i];
        }
        read += batch;
        const parts = wi === 0 ? null : indices.map((i) => ({ name: planned.layers[i].name, tensors: rowTensors[i] }));
        const promise = p.call(wi, { type: 'analyze', key, indices, parts });
        promise.catch(() => {});
        inflight.push({ promise, estimate: batch });
      }
    };
    fill();
    while (inflight.length) {
      const { promise, estimate } = inflight.shift();
      let msg;
      try {
        msg = await promise;
      } catch (e) {
        failed = failed ?? e;
        throw e;
      }
      read += (msg.syncBytes ?? estimate) - estimate;
      state.stats.syncBytes = (state.stats.syncBytes ?? 0) + (msg.syncBytes ?? 0);
      state.stats.stalledReads = (state.stats.stalledReads ?? 0) + (msg.stalledReads ?? 0);
      if (state.runId !== myRun) throw new Cancelled();
      if (msg.mem > state.stats.maxWasmBytes) state.stats.maxWasmBytes = msg.mem;
      for (const { index, result, ms } of msg.rows) {
        const { row } = result;
        rows[index] = row;
        results[index] = result;
        done[index] = true;
        state.stats.busyMs = (state.stats.busyMs ?? 0) + ms;
        onRow(index, row, workBytes[index]);
      }
      fill();
      if (read > RECYCLE_BYTES / 2 && queue.length && live()) p.prepare(wi);
      if (!inflight.length && read > RECYCLE_BYTES && queue.length && live()) {
        await p.recycle(wi);
        read = 0;
        state.stats.recycled = (state.stats.recycled ?? 0) + 1;
        fill();
      }
    }
  };
  await Promise.all(p.workers.map((_, wi) => loop(wi)));
  if (state.runId !== myRun) throw new Cancelled();
  const { report } = await p.call(0, { type: 'report', key, rows: results });
  return { key, options, rows, results, report, planned, workBytes, structural };
}

// Progress is counted in the analysis's work bytes (what the workers read,
// passes included) and shown scaled to the model's own size.
function progressUpdater(total, modelBytes, n, t0, what) {
  let bytes = 0;
  let count = 0;
  let scheduled = false;
  let stopped = false;
  const runAt = state.runId;
  const scale = total > 0 ? modelBytes / total : 1;
  const draw = () => {
    scheduled = false;
    if (stopped || runAt !== state.runId) return;
    const secs = Math.max((performance.now() - t0) / 1000, 1e-3);
    $('progress').max = Math.max(total, 1);
    $('progress').value = bytes;
    $('progress-text').textContent = state.input?.remote
      ? `${fmtBytes(state.net.fetched)} fetched of ${fmtBytes(state.net.total)} · ${fmtBytes((state.net.fetched - net0) / secs)}/s · ${nf.format(count)} of ${nf.format(n)} tensors`
      : `${fmtBytes(bytes * scale)} of ${fmtBytes(modelBytes)} · ${fmtBytes((bytes * scale) / secs)}/s · ${nf.format(count)} of ${nf.format(n)} tensors`;
    setStatus('running', `${what}: ${nf.format(count)} of ${nf.format(n)} tensors…`);
  };
  let net0 = state.net.fetched;
  const prog = {
    add(b) {
      bytes += b;
      count += 1;
      prog.schedule();
    },
    schedule() {
      if (!scheduled) {
        scheduled = true;
        setTimeout(() => requestAnimationFrame(draw), UI_TICK_MS);
      }
    },
    draw,
    stop() {
      stopped = true;
      if (activeProg === prog) activeProg = null;
    },
    restart() {
      t0 = performance.now();
      net0 = state.net.fetched;
    },
    get bytes() {
      return bytes;
    },
  };
  activeProg = prog;
  return prog;
}

// Redraws the progress line when workers report network bytes.
let activeProg = null;
let netDrawScheduled = false;
function scheduleNetDraw() {
  if (activeProg) {
    activeProg.schedule();
    return;
  }
  if (netDrawScheduled) return;
  netDrawScheduled = true;
  requestAnimationFrame(() => {
    netDrawScheduled = false;
    if ($('status').dataset.phase === 'headers') {
      $('progress-text').textContent = `${fmtBytes(state.net.fetched)} fetched (headers)`;
    } else if (state.sha?.running) {
      drawSha();
    }
  });
}

async function runPrimary() {
  const runId = ++state.runId;
  const input = state.input;
  const schemeValue = $('scheme').value;
  const options = optionsFor(schemeValue);
  const t0 = input.t0 ?? performance.now();
  input.t0 = null;
  let tStart = performance.now();
  setStatus('running', 'Opening the model…');
  setPhase(input.remote ? 'opening' : '');
  hideLinkButtons();
  setExportsEnabled(false);
  clearError();
  let prog = null;
  let modelBytes = 0;
  // A link source's structure view: drawn from the headers alone. With
  // view=header the run waits here until "Analyse the tensors" is pressed.
  const gate = input.remote ? async () => {
    state.net.headerView = { fetched: state.net.fetched, ms: performance.now() - (input.linkT0 ?? t0) };
    window.__quantlens.headerView = { ...state.net.headerView, files: input.files.length };
    setPhase('header');
    if (input.headerOnly) {
      await new Promise((resolve) => {
        const b = $('fetch-tensors');
        setStatus('idle', `Structure of ${nf.format(state.primary.rows.length)} tensors read from the headers (${fmtBytes(state.net.fetched)} fetched of ${fmtBytes(state.net.total)}).`);
        $('progress-text').textContent = `${fmtBytes(state.net.fetched)} fetched of ${fmtBytes(state.net.total)} · no tensor data read yet`;
        b.textContent = `Analyse the tensors (fetches up to ${fmtBytes(state.net.total - state.net.fetched)})`;
        b.hidden = false;
        b.onclick = () => {
          b.hidden = true;
          b.onclick = null;
          input.headerOnly = false;
          setStatus('running', 'Analysing…');
          resolve();
        };
      });
      tStart = performance.now();
      prog?.restart();
    }
    if (runId === state.runId) setPhase('tensors');
  } : null;
  try {
    const result = await analyse('a', options, (planned, workBytes) => {
      state.primary = { planned, rows: planned.layers.slice(), workBytes, options, scheme: schemeValue };
      const total = workBytes.reduce((a, b) => a + b, 0);
      modelBytes = planned.layers.reduce((a, r) => a + (r.bytes_before ?? 0), 0);
      prog = progressUpdater(total, modelBytes, planned.layers.length, tStart, `Analysing (${SCHEMES[schemeValue].label})`);
      prog.draw();
      renderOverview(planned);
      buildTable(planned.layers);
      drawRelPlot();
      $('copy-link').disabled = false;
    }, (i, row, bytes) => {
      state.primary.rows[i] = row;
      markRowDirty(i);
      prog.add(bytes);
      scheduleRelPlot();
    }, gate);
    prog?.stop();
    if (runId !== state.runId) return;
    Object.assign(state.primary, result);
    const ms = performance.now() - t0;
    const secs = (performance.now() - tStart) / 1000;
    const total = prog.bytes;
    window.__quantlens.lastRun = {
      ms,
      analyseMs: secs * 1000,
      bytes: total,
      modelBytes,
      modelBytesPerSec: modelBytes / Math.max(secs, 1e-6),
      tensors: result.rows.length,
      bytesPerSec: total / Math.max(secs, 1e-6),
      workers: pool.size,
      maxWasmBytes: state.stats.maxWasmBytes,
      recycledWorkers: state.stats.recycled ?? 0,
      stalledReads: state.stats.stalledReads ?? 0,
      syncBytes: state.stats.syncBytes ?? 0,
      workerBusyMs: state.stats.busyMs ?? 0,
      source: input.remote ? 'link' : input.label,
      fetched: input.remote ? state.net.fetched : 0,
      fileBytes: input.remote ? state.net.total : input.files.reduce((a, f) => a + (f.size ?? f.blob.size), 0),
      headerView: input.remote ? state.net.headerView : null,
    };
    state.stats.busyMs = 0;
    state.stats.recycled = 0;
    state.stats.stalledReads = 0;
    state.stats.syncBytes = 0;
    renderOverview(result.report);
    refreshAllRows();
    drawRelPlot();
    $('progress').value = $('progress').max;
    $('progress-text').textContent = input.remote
      ? `${fmtBytes(modelBytes)} analysed in ${secs.toFixed(2)} s · ${fmtBytes(state.net.fetched)} fetched of ${fmtBytes(state.net.total)} · ${pool.size} worker${pool.size === 1 ? '' : 's'}`
      : `${fmtBytes(modelBytes)} analysed in ${secs.toFixed(2)} s · ${fmtBytes(modelBytes / Math.max(secs, 1e-6))}/s · ${pool.size} worker${pool.size === 1 ? '' : 's'}`;
    setExportsEnabled(true);
    const $status = $('status');
    $status.dataset.ms = String(Math.round(ms));
    if ($('compare').value) await runCompare();
    if (runId !== state.runId) return;
    setPhase(input.remote ? 'done' : '');
    setStatus('done', `Done: ${nf.format(result.rows.length)} tensors in ${(ms / 1000).toFixed(2)} s${state.compare ? ` (compared with ${SCHEMES[state.compare.scheme].label})` : ''}.`);
    if (result.structural) {
      // As the CLI (exit 2): part of the model could not be read; what
      // could be read is reported, and exported with that finding.
      const e = input.remote ? explainRemote(new Error(result.structural.message), input) : null;
      showError(e?.message ?? result.structural.message);
      setStatus('error', 'Part of the model could not be read; the rest was analysed.');
    }
    const want = state.pendingLayer;
    state.pendingLayer = null;
    const wanted = want != null ? result.rows.findIndex((r) => r.name === want) : -1;
    if (wanted >= 0) selectLayer(wanted, true);
    else if (state.selected < 0) {
      const worst = result.report.summary.worst_layers?.[0]?.name;
      const wi = worst ? result.rows.findIndex((r) => r.name === worst) : -1;
      if (wi >= 0) selectLayer(wi, false);
    } else selectLayer(state.selected, false);
    if (input.remote && state.link?.sha256?.length && state.sha?.input !== input) runShaCheck(input);
  } catch (e) {
    prog?.stop();
    if (e.cancelled || runId !== state.runId) return;
    failRun(input.remote ? explainRemote(e, input) : e);
  }
}

async function runCompare() {
  const value = $('compare').value;
  if (!value || !state.primary?.report) {
    state.compare = null;
    refreshCompare();
    return;
  }
  const runId = state.runId;
  const options = optionsFor(value);
  const tStart = performance.now();
  let prog = null;
  state.compare = { scheme: value, rows: [] };
  refreshCompare();
  const result = await analyse('b', options, (planned, workBytes) => {
    prog = progressUpdater(workBytes.reduce((a, b) => a + b, 0), planned.layers.reduce((a, r) => a + (r.bytes_before ?? 0), 0), planned.layers.length, tStart, `Comparing with ${SCHEMES[value].label}`);
    prog.draw();
  }, (i, row, bytes) => {
    state.compare.rows[i] = row;
    markRowDirty(i);
    prog.add(bytes);
    scheduleRelPlot();
  });
  prog?.stop();
  if (runId !== state.runId) throw new Cancelled();
  state.compare = { scheme: value, rows: result.rows, report: result.report };
  refreshCompare();
}

function refreshCompare() {
  $('layers').classList.toggle('no-compare', !state.compare);
  const th = document.querySelector('th[data-key="cmp_rel_error"] button');
  if (th) th.textContent = state.compare ? `Rel. error (${SCHEMES[state.compare.scheme].label})` : 'Rel. error (B)';
  const tha = document.querySelector('th[data-key="rel_error"] button');
  if (tha && state.primary) tha.textContent = state.compare ? `Rel. error (${SCHEMES[state.primary.scheme].label})` : 'Rel. error';
  refreshAllRows();
  drawRelPlot();
}

function cancelRun() {
  if ($('status').dataset.state !== 'running') return;
  state.runId++;
  resetPool();
  hideLinkButtons();
  setPhase('');
  state.primary = state.primary?.report ? state.primary : null;
  state.compare = null;
  setExportsEnabled(Boolean(state.primary?.report));
  $('progress').value = 0;
  $('progress-text').textContent = 'Cancelled. Choose a model to analyse again.';
  setStatus('idle', 'Cancelled. Ready for another model.');
}

// ---------------------------------------------------------------- open by link
function setPhase(phase) {
  $('status').dataset.phase = phase;
}
function hideLinkButtons() {
  $('fetch-tensors').hidden = true;
  $('continue-full').hidden = true;
}
// A local input replaces a link: the address bar must not keep claiming it.
function forgetLink() {
  state.link = null;
  state.pendingLayer = null;
  state.net = { fetched: 0, total: 0 };
  state.sha = null;
  drawSha();
  if (location.hash) history.replaceState(null, '', location.href.split('#')[0]);
}

// Structural errors of a link source (a truncated file, a header past the
// end) are measured against the size the server gave: say so.
function explainRemote(e, input) {
  const msg = e.message || String(e);
  const f = input.files.find((x) => msg.includes(x.name));
  if (!f || !f.url || f.blob || e instanceof RemoteError) return e;
  if (!/truncated|data section|past the end|too short|shorter/i.test(msg)) return e;
  return new Error(`${msg}\nThe file size used, ${nf.format(f.size)} bytes, is the total the server gave in its Content-Range for ${f.url}: `
    + 'the Content-Range disagrees with the file\'s header, or the file on the server is incomplete.');
}

let linkSeq = 0;
async function openLink(params, { allowFull = false } = {}) {
  const src = sourceOf(params);
  if (!src) return;
  beforeNewInput();
  const my = ++linkSeq;
  const runAt = ++state.runId;
  clearError();
  hideLinkButtons();
  withdrawConfirm();
  applyViewParams(params);
  state.link = params;
  state.net = { fetched: 0, total: 0 };
  state.sha = null;
  drawSha();
  $('link-input').value = src.kind === 'url' ? src.url : src.id;
  const t0 = performance.now();
  setStatus('running', `Reading the headers of ${sourceLabel(src)}…`);
  setPhase('headers');
  $('progress').value = 0;
  $('progress-text').textContent = 'Reading headers by range requests…';
  try {
    const r = await resolveSource(src, {
      allowFull,
      allowHosts: confirmedHosts(),
      onFetched: (n) => {
        if (my !== linkSeq) return;
        state.net.fetched = n;
        scheduleNetDraw();
      },
    });
    if (my !== linkSeq || runAt !== state.runId) return;
    state.net = { fetched: r.fetched, total: r.total };
    const input = {
      files: r.files, index: r.index, config: r.config, configName: r.configName, indexName: r.indexName,
      ignored: [], label: 'link', remote: r, t0, linkT0: t0, headerOnly: params.view === 'header',
    };
    await startInput(input);
  } catch (e) {
    if (e.cancelled || my !== linkSeq || runAt !== state.runId) return;
    failRun(e);
    setPhase('');
    $('progress-text').textContent = `${fmtBytes(state.net.fetched)} fetched before the error`;
    if (e.kind === 'confirm') offerConfirm($('error'), e.hosts, () => openLink(params, { allowFull }));
    if (e.kind === 'norange' && e.size != null && e.size < FULL_BODY_LIMIT && !allowFull) {
      const b = $('continue-full');
      b.textContent = `Download ${e.file} whole (${fmtBytes(e.size)}) and continue`;
      b.hidden = false;
      b.onclick = () => {
        b.hidden = true;
        openLink(params, { allowFull: true });
      };
    }
  }
}

function thresholdsFromInputs() {
  const w = Number($('thr-warn').value);
  const b = Number($('thr-bad').value);
  const warn = Number.isFinite(w) && w >= 0 ? w : 1;
  const bad = Number.isFinite(b) && b >= warn ? b : Math.max(warn, 5);
  state.thrPct = { warn, bad };
  state.thr = { warn: warn / 100, bad: bad / 100 };
  $('thr-bad-echo').textContent = String(bad);
}
function applyThresholds() {
  thresholdsFromInputs();
  refreshAllRows();
  drawRelPlot();
  if (state.primary?.report) {
    const m = state.primary.report.summary.max_rel_error;
    $('max-rel').className = `value ${m == null ? '' : relClass({ rel_error: m })}`;
  }
}

// Puts a link's view settings into the controls (before a run reads them).
function applyViewParams(p) {
  $('scheme').value = SCHEMES[p.scheme] ? p.scheme : 'int8-tensor';
  $('compare').value = SCHEMES[p.compare] ? p.compare : '';
  $('policy').value = p.policy === 'mlx' ? 'mlx' : 'default';
  $('filter').value = p.filter ?? '';
  $('thr-warn').value = String(p.warn ?? 1);
  $('thr-bad').value = String(p.bad ?? 5);
  thresholdsFromInputs();
  state.pendingLayer = p.layer ?? null;
}

function sameSource(a, b) {
  if (!a || !b || a.kind !== b.kind) return false;
  return a.kind === 'url' ? a.url === b.url : a.id === b.id && a.hub === b.hub;
}

// The address bar's fragment changed (or the page was opened with one).
function fromFragment() {
  const params = parseFragment(location.hash);
  if (params.against || params.againstHf) {
    location.replace(`compare.html${location.hash}`);
    return;
  }
  const src = sourceOf(params);
  if (!src) return;
  const cur = state.input?.remote?.source;
  if (cur && sameSource(cur, src) && state.primary?.report && !busy()) {
    // Same model: apply the view; re-run only when the analysis differs.
    const rerun = (SCHEMES[params.scheme] ? params.scheme : 'int8-tensor') !== $('scheme').value
      || (params.policy === 'mlx' ? 'mlx' : 'default') !== $('policy').value;
    const recompare = (SCHEMES[params.compare] ? params.compare : '') !== $('compare').value;
    const shaChanged = JSON.stringify(params.sha256) !== JSON.stringify(state.link?.sha256 ?? []);
    applyViewParams(params);
    state.link = params;
    if (rerun) {
      state.compare = null;
      runPrimary();
      return;
    }
    applyFilter();
    refreshAllRows();
    drawRelPlot();
    if (recompare) $('compare').dispatchEvent(new Event('change'));
    const want = state.pendingLayer;
    state.pendingLayer = null;
    const i = want != null ? state.primary.rows.findIndex((r) => r.name === want) : -1;
    if (i >= 0) selectLayer(i, true);
    if (shaChanged && params.sha256.length) runShaCheck(state.input);
    return;
  }
  openLink(params);
}

// ---- share
function resetShare() {
  $('share-url').hidden = true;
  $('share-url').value = '';
  $('share-local-note').hidden = true;
  $('share-status').textContent = '';
  $('copy-link').disabled = true;
}

/** The address that reproduces the current view, or null for local files. */
function currentLink() {
  const input = state.input;
  if (!input?.remote) return null;
  const src = input.remote.source;
  const sel = state.primary?.rows?.[state.selected]?.name ?? null;
  const frag = buildFragment({
    url: src.kind === 'url' ? src.url : null,
    hf: src.kind === 'hf' ? src.id : null,
    hub: src.kind === 'hf' ? src.hub : null,
    scheme: $('scheme').value,
    compare: $('compare').value || null,
    policy: $('policy').value,
    filter: $('filter').value || null,
    layer: sel,
    warn: state.thrPct?.warn ?? 1,
    bad: state.thrPct?.bad ?? 5,
    sha256: state.link?.sha256 ?? [],
    view: input.headerOnly ? 'header' : null, // tensors not analysed yet: the link does not fetch them either
  });
  return `${location.href.split('#')[0]}#${frag}`;
}

async function copyLink() {
  if (!state.input) return;
  const note = $('share-local-note');
  const field = $('share-url');
  if (!state.input.remote) {
    field.hidden = true;
    note.hidden = false;
    $('share-status').textContent = '';
    return;
  }
  note.hidden = true;
  const url = currentLink();
  field.value = url;
  field.hidden = false;
  field.focus();
  field.select();
  try {
    await navigator.clipboard.writeText(url);
    $('share-status').textContent = 'Link copied.';
  } catch {
    $('share-status').textContent = 'Copy the selected link.';
  }
}

// ---- sha256= check of a link source
function shaTarget(input, name) {
  const f = input.files.find((x) => x.name === name);
  if (f) return { entry: f, size: f.size ?? f.blob.size };
  const side = input.remote?.side.get(name);
  if (side) return { entry: { name, blob: new Blob([side.bytes]) }, size: side.bytes.length };
  return null;
}

async function runShaCheck(input) {
  const list = state.link?.sha256 ?? [];
  // cost: bytes fetched by the hashing alone (its worker reports them per message)
  const sha = { input, running: true, items: list.map((x) => ({ ...x, actual: null, state: 'pending', done: 0, size: null })), cost: 0, bad: state.link?.shaErrors ?? [] };
  state.sha = sha;
  drawSha();
  for (const item of sha.items) {
    if (state.sha !== sha) return;
    const t = shaTarget(input, item.file);
    if (!t) {
      item.state = 'missing';
      drawSha();
      continue;
    }
    item.size = t.size;
    item.state = 'running';
    drawSha();
    try {
      const { digest, fetched } = await pool.call(0, { type: 'sha', file: t.entry }, (m) => {
        item.done = m.done;
        sha.cost += m.fetched ?? 0;
        scheduleNetDraw();
      });
      sha.cost += fetched ?? 0;
      item.actual = digest;
      item.done = t.size;
      item.state = digest === item.hex ? 'ok' : 'mismatch';
    } catch (e) {
      if (state.sha !== sha) return;
      item.state = 'error';
      item.error = e.cancelled ? 'cancelled' : e.message;
    }
    drawSha();
  }
  if (state.sha === sha && state.primary?.results && state.input === input && !sha.items.some((x) => x.state === 'error')) {
    // The digest findings are the core's (as the CLI's inspect --sha256
    // words them): the report is built again with the digests.
    const digests = Object.fromEntries(sha.items.filter((x) => x.actual).map((x) => [x.file, x.actual]));
    try {
      const { report } = await pool.call(0, { type: 'report', key: 'a', rows: state.primary.results, digests });
      if (state.sha === sha && state.input === input) {
        state.primary.report = report;
        renderOverview(report);
      }
    } catch (e) {
      if (!e.cancelled) showError(`SHA-256 findings could not be added: ${e.message}`);
    }
  }
  sha.running = false;
  drawSha();
}

function drawSha() {
  const box = $('sha-result');
  const sha = state.sha;
  clear(box);
  if (!sha || (!sha.items.length && !sha.bad.length)) {
    box.hidden = true;
    delete box.dataset.state;
    return;
  }
  box.hidden = false;
  const states = sha.items.map((x) => x.state);
  const overall = sha.running ? 'running'
    : states.some((x) => x === 'mismatch' || x === 'missing') || sha.bad.length ? 'mismatch'
      : states.some((x) => x === 'error') ? 'error' : 'ok';
  box.dataset.state = overall;
  const cost = sha.cost;
  const title = {
    running: 'Checking SHA-256 digests from the link…',
    ok: `SHA-256: every file matches the digest in the link (${fmtBytes(cost)} fetched to hash ${sha.items.length} file${sha.items.length === 1 ? '' : 's'}).`,
    mismatch: 'SHA-256 MISMATCH: a file is not the one the link vouches for.',
    error: 'SHA-256 check could not finish.',
  }[overall];
  box.append(el('h2', {}, title));
  const ul = el('ul');
  for (const x of sha.items) {
    const li = el('li', { class: `sha-item ${x.state}`, 'data-file': x.file, 'data-state': x.state });
    li.append(el('span', { class: 'mono strong' }, x.file), document.createTextNode(' '));
    if (x.state === 'ok') li.append(el('span', {}, `matches ${x.hex}`));
    else if (x.state === 'mismatch') li.append(el('span', {}, `expected ${x.hex}, got ${x.actual}`));
    else if (x.state === 'missing') li.append(el('span', {}, `expected ${x.hex}, but this model has no file of that name`));
    else if (x.state === 'error') li.append(el('span', {}, `could not be hashed: ${x.error}`));
    else if (x.state === 'running') li.append(el('span', { class: 'muted' }, `hashing: ${fmtBytes(x.done)} of ${fmtBytes(x.size)} (read again by range requests)`));
    else li.append(el('span', { class: 'muted' }, 'waiting'));
    ul.append(li);
  }
  for (const b of sha.bad) ul.append(el('li', { class: 'sha-item missing', 'data-state': 'invalid' }, `not understood: "${b}" (expected FILE:64 hex digits)`));
  box.append(ul);
  if (overall !== 'running' && cost > 0 && overall !== 'ok') box.append(el('p', { class: 'muted small' }, `${fmtBytes(cost)} fetched for hashing.`));
}

// ---------------------------------------------------------------- rendering
function renderFiles(input) {
  $('files-section').hidden = false;
  const ul = $('files');
  clear(ul);
  const src = $('source-line');
  src.hidden = !input.remote;
  clear(src);
  if (input.remote) {
    const r = input.remote;
    src.append(el('span', { class: 'muted' }, 'Opened by link from '), el('span', { class: 'mono', 'data-testid': 'source' }, r.label));
    src.append(el('span', { class: 'muted' }, ` · headers: ${fmtBytes(r.fetched)} fetched${r.notes.length ? ` · ${r.notes.join(' · ')}` : ''}`));
  }
  for (const f of input.files) {
    const li = el('li');
    li.append(el('span', { class: 'mono' }, f.name), el('span', { class: 'muted' }, fmtBytes(f.size ?? f.blob.size)));
    if (f.url) li.title = f.url;
    if (f.blob && f.url) li.append(el('span', { class: 'warn-text' }, 'downloaded whole (the server ignores Range)'));
    ul.append(li);
  }
  for (const [label, name] of [['index', input.indexName], ['config', input.configName]]) {
    if (!name) continue;
    const li = el('li');
    li.append(el('span', { class: 'mono' }, name), el('span', { class: 'muted' }, label));
    ul.append(li);
  }
  const ign = $('ignored');
  clear(ign);
  for (const x of input.ignored) {
    const li = el('li');
    li.append(el('span', { class: 'mono' }, x.path), el('span', {}, x.why));
    ign.append(li);
  }
  $('ignored-box').hidden = input.ignored.length === 0;
  $('ignored-summary').textContent = `${input.ignored.length} ignored file${input.ignored.length === 1 ? '' : 's'}`;
}

function renderOverview(report) {
  const s = report.summary;
  for (const id of ['summary-section', 'plots-section', 'table-section', 'meta-section']) $(id).hidden = false;
  $('count-tensors').textContent = String(s.tensors);
  $('count-quantized').textContent = String(s.quantized_layers);
  $('count-kept').textContent = String(s.kept_layers);
  $('count-stored').textContent = String(s.stored_layers ?? 0);
  $('stored-bpw').textContent = storedBitsLine(report);
  $('kept-by-dtype').textContent = Object.entries(s.kept_by_dtype ?? {}).map(([k, v]) => `${v} ${k}`).join(' · ');
  $('params').textContent = fmtParams(s.params);
  const [b0, b1] = [fmtBytes(s.bytes_before), fmtBytes(s.bytes_after)];
  const [n0, u0] = b0.split(' ');
  $('size').textContent = u0 === b1.split(' ')[1] ? `${n0} → ${b1}` : `${b0} → ${b1}`;
  $('ratio').textContent = s.compression_ratio ? `${s.compression_ratio.toFixed(2)}× smaller` : '';
  $('max-rel').textContent = s.max_rel_error == null ? '–' : fmtPct(s.max_rel_error);
  $('worst-name').textContent = s.worst_layers?.[0]?.name ?? '';
  $('worst-name').title = s.worst_layers?.[0]?.name ?? '';
  $('max-rel').className = `value ${s.max_rel_error == null ? '' : relClass({ rel_error: s.max_rel_error })}`;
  // Findings, most severe first.
  const box = $('findings');
  clear(box);
  const rank = { error: 0, warning: 1, info: 2 };
  const fs = [...(s.findings ?? [])].sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3));
  box.hidden = fs.length === 0;
  if (fs.length) {
    box.append(el('h2', {}, `Findings (${fs.length})`));
    const ul = el('ul');
    for (const f of fs.slice(0, 200)) {
      const li = el('li', { class: `finding ${f.severity}` });
      li.append(el('span', { class: 'sev' }, f.severity), el('span', {}, f.message));
      if (f.file) li.append(el('span', { class: 'muted mono small' }, f.file));
      ul.append(li);
    }
    if (fs.length > 200) ul.append(el('li', { class: 'muted' }, `… and ${fs.length - 200} more (see the JSON export)`));
    box.append(ul);
  }
  // config essentials and __metadata__
  const cfg = $('config');
  clear(cfg);
  const c = report.config;
  if (c) {
    for (const [k, v] of Object.entries(c)) {
      if (v == null) continue;
      cfg.append(el('dt', {}, k.replaceAll('_', ' ')), el('dd', { class: 'mono' }, typeof v === 'object' ? JSON.stringify(v) : v));
    }
  }
  if (!cfg.firstChild) cfg.append(el('dd', { class: 'muted' }, 'no config.json given'));
  const meta = $('metadata');
  clear(meta);
  for (const f of report.files ?? []) {
    const wrap = el('div', { class: 'meta-file' });
    wrap.append(el('h4', { class: 'mono' }, `${f.name} · ${nf.format(f.tensors)} tensors · ${fmtBytes(f.bytes)}`));
    const dl = el('dl', { class: 'kv' });
    const entries = Object.entries(f.metadata ?? {});
    for (const [k, v] of entries) dl.append(el('dt', { class: 'mono' }, k), el('dd', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v)));
    if (!entries.length) dl.append(el('dd', { class: 'muted' }, 'no __metadata__'));
    wrap.append(dl);
    meta.append(wrap);
  }
}

// ---- table
let rowEls = [];
function buildTable(layers) {
  const head = $('layers-head');
  clear(head);
  for (const c of COLS) {
    const th = el('th', { scope: 'col', class: `${c.num ? 'num ' : ''}${c.cls ?? ''}`, dataset: { key: c.key } });
    const b = el('button', { type: 'button', class: 'sort' }, c.label);
    b.addEventListener('click', () => sortBy(c.key));
    th.append(b);
    head.append(th);
  }
  const body = $('layers-body');
  clear(body);
  rowEls = layers.map((r, i) => {
    const tr = el('tr', { tabindex: '0', dataset: { testid: 'layer-row', name: r.name, index: String(i) } });
    tr.setAttribute('data-testid', 'layer-row');
    for (const c of COLS) tr.append(el('td', { class: `${c.num ? 'num ' : ''}${c.cls ?? ''}` }));
    body.append(tr);
    return tr;
  });
  for (let i = 0; i < layers.length; i++) updateRow(i);
  state.sort = { key: 'index', dir: 1 };
  markSort();
  applyFilter();
}

function updateRow(i) {
  const tr = rowEls[i];
  const r = state.primary?.rows?.[i];
  if (!tr || !r) return;
  const tds = tr.children;
  COLS.forEach((c, k) => {
    const v = colValue(c, r, i);
    tds[k].textContent = c.fmt ? c.fmt(v) : v == null ? '–' : String(v);
  });
  tr.className = relClass(r) + (i === state.selected ? ' selected' : '');
  const cmp = state.compare?.rows?.[i];
  if (cmp?.rel_error != null) tds[COLS.findIndex((c) => c.key === 'cmp_rel_error')].className = `num col-cmp ${relClass(cmp)}`;
  tr.title = r.name;
}
// While a run streams rows in, the table and the progress line are redrawn
// at most every UI_TICK_MS: each redraw makes the browser lay out the table
// again (its column widths follow the content), on the same cores as the
// analysis workers. Redrawing on every animation frame cost the page thread
// about 2.6 s of CPU during a 5 s run of bert-large; this, with the table's
// content-visibility, about 1.2 s.
const dirtyRows = new Set();
let rowsFlushScheduled = false;
function markRowDirty(i) {
  dirtyRows.add(i);
  if (rowsFlushScheduled) return;
  rowsFlushScheduled = true;
  setTimeout(flushDirtyRows, UI_TICK_MS);
}
function flushDirtyRows() {
  rowsFlushScheduled = false;
  for (const i of dirtyRows) updateRow(i);
  dirtyRows.clear();
}
function refreshAllRows() {
  dirtyRows.clear();
  for (let i = 0; i < rowEls.length; i++) updateRow(i);
  if (state.sort.key !== 'index') applySort();
}

function sortBy(key) {
  state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: key !== 'index' && COLS.find((c) => c.key === key)?.num ? -1 : 1 };
  applySort();
}
function applySort() {
  const c = COLS.find((x) => x.key === state.sort.key);
  const rows = state.primary?.rows ?? [];
  const val = (i) => (c.sortBy ? c.sortBy(rows[i]) : colValue(c, rows[i], i));
  const order = rows.map((_, i) => i).sort((a, b) => {
    const va = val(a);
    const vb = val(b);
    if (va == null && vb == null) return a - b;
    if (va == null) return 1; // missing values last in both directions
    if (vb == null) return -1;
    const d = typeof va === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return d * state.sort.dir || a - b;
  });
  const body = $('layers-body');
  const frag = document.createDocumentFragment();
  for (const i of order) frag.append(rowEls[i]);
  body.append(frag);
  markSort();
}
function markSort() {
  for (const th of $('layers-head').children) {
    const on = th.dataset.key === state.sort.key;
    th.setAttribute('aria-sort', on ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
  }
}

function applyFilter() {
  const q = $('filter').value.trim().toLowerCase();
  let shown = 0;
  rowEls.forEach((tr, i) => {
    const name = state.primary?.rows?.[i]?.name ?? '';
    const hide = q !== '' && !name.toLowerCase().includes(q);
    tr.hidden = hide;
    if (!hide) shown++;
  });
  $('shown').textContent = q ? `${shown} of ${rowEls.length} shown` : `${rowEls.length} tensors`;
}

// ---- relative error plot
let relPlotScheduled = false;
function scheduleRelPlot() {
  if (relPlotScheduled) return;
  relPlotScheduled = true;
  setTimeout(() => {
    relPlotScheduled = false;
    drawRelPlot();
  }, 300);
}

function niceMax(x) {
  if (!(x > 0)) return 0.01;
  const e = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= x) return m * e;
  return 10 * e;
}

function drawRelPlot() {
  const host = $('plot-rel');
  clear(host);
  const rows = state.primary?.rows ?? [];
  const cmpRows = state.compare?.rows ?? [];
  const legend = $('legend');
  clear(legend);
  if (!rows.length) return;
  const W = 900;
  const H = 240;
  const m = { l: 52, r: 12, t: 10, b: 26 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  let maxV = 0;
  for (const r of rows) if (r?.rel_error > maxV) maxV = r.rel_error;
  for (const r of cmpRows) if (r?.rel_error > maxV) maxV = r.rel_error;
  const ymax = niceMax(maxV);
  const n = rows.length;
  const bw = pw / n;
  const y = (v) => m.t + ph - (Math.min(v, ymax) / ymax) * ph;
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': 'Relative error per layer in model order' });
  // grid + y ticks
  for (let k = 0; k <= 4; k++) {
    const v = (ymax * k) / 4;
    svg.append(svgEl('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(svgEl('text', { x: m.l - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, fmtPct(v).replace(' ', '')));
  }
  for (const [thr, cls] of [[state.thr.warn, 'thr-warn'], [state.thr.bad, 'thr-bad']]) {
    if (thr < ymax) svg.append(svgEl('line', { x1: m.l, x2: W - m.r, y1: y(thr), y2: y(thr), class: cls }));
  }
  const cmp = state.compare ? cmpRows : null;
  const barW = cmp ? bw / 2 : bw;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const x = m.l + i * bw;
    const g = svgEl('g', { class: `bar${i === state.selected ? ' selected' : ''}`, 'data-index': i });
    // a full-height hit target so thin bars are easy to click
    g.append(svgEl('rect', { x, y: m.t, width: Math.max(bw, 1), height: ph, class: 'hit' }));
    if (r?.rel_error != null) {
      g.append(svgEl('rect', { x: x + (bw > 3 ? 0.5 : 0), y: y(r.rel_error), width: Math.max(barW - (bw > 3 ? 1 : 0), 0.6), height: Math.max(m.t + ph - y(r.rel_error), 0.5), class: `v ${relClass(r)}` }));
    }
    const c = cmp?.[i];
    if (c?.rel_error != null) {
      g.append(svgEl('rect', { x: x + barW, y: y(c.rel_error), width: Math.max(barW - (bw > 3 ? 1 : 0), 0.6), height: Math.max(m.t + ph - y(c.rel_error), 0.5), class: 'v cmp' }));
    }
    const tip = `${r?.name ?? ''}\n${r ? actionText(r, `rel. error ${fmtPct(r.rel_error)}`) : ''}${c?.rel_error != null ? ` · ${SCHEMES[state.compare.scheme].label}: ${fmtPct(c.rel_error)}` : ''}`;
    g.append(svgEl('title', {}, tip));
    g.addEventListener('click', () => selectLayer(i, true));
    svg.append(g);
  }
  svg.append(svgEl('line', { x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph, class: 'axis' }));
  svg.append(svgEl('text', { x: m.l, y: H - 6, class: 'tick' }, 'first tensor'));
  svg.append(svgEl('text', { x: W - m.r, y: H - 6, class: 'tick', 'text-anchor': 'end' }, `tensor ${n}`));
  host.append(svg);
  const item = (cls, text) => {
    const s = el('span', { class: 'item' });
    s.append(el('span', { class: `swatch ${cls}` }), document.createTextNode(text));
    return s;
  };
  legend.append(item('primary', state.primary ? SCHEMES[state.primary.scheme].label : ''));
  if (state.compare) legend.append(item('cmp', SCHEMES[state.compare.scheme].label));
  legend.append(item('thr-warn-sw', fmtPct(state.thr.warn)), item('thr-bad-sw', fmtPct(state.thr.bad)));
}

// ---- layer detail + histograms
let histSeq = 0;
async function selectLayer(i, scroll) {
  const rows = state.primary?.rows;
  if (!rows?.[i]) return;
  const prev = state.selected;
  state.selected = i;
  if (prev >= 0) updateRow(prev);
  updateRow(i);
  for (const g of $('plot-rel').querySelectorAll('g.bar.selected')) g.classList.remove('selected');
  $('plot-rel').querySelector(`g.bar[data-index="${i}"]`)?.classList.add('selected');
  if (scroll) rowEls[i]?.scrollIntoView({ block: 'nearest' });
  const r = rows[i];
  $('detail-name').textContent = r.name;
  const cmp = state.compare?.rows?.[i];
  $('detail-facts').textContent = [
    `${r.dtype} ${r.shape?.join(' × ') || 'scalar'}`,
    actionText(r, `quantized · rel. error ${fmtPct(r.rel_error)} · SQNR ${fmtFixed(1)(r.sqnr_db)} dB · cosine ${fmtFixed(6)(r.cosine)}`),
    cmp?.rel_error != null ? `${SCHEMES[state.compare.scheme].label}: ${fmtPct(cmp.rel_error)}` : null,
  ].filter(Boolean).join(' · ');
  const my = ++histSeq;
  const hw = $('hist-w');
  const he = $('hist-e');
  clear(hw);
  clear(he);
  hw.append(el('p', { class: 'muted small' }, 'computing…'));
  try {
    const { hist } = await pool.call(0, { type: 'histograms', key: 'a', index: i, bins: 64 });
    if (my !== histSeq) return;
    clear(hw);
    clear(he);
    if (!hist) {
      hw.append(el('p', { class: 'muted small' }, 'No histogram for this tensor (not a float tensor, or no finite values).'));
      return;
    }
    drawHist(hw, hist.weight_counts, hist.weight_min, hist.weight_max, 'w');
    if (hist.error_max > 0 && r.action === 'quantize') drawHist(he, hist.error_counts, -hist.error_max, hist.error_max, 'e');
    else he.append(el('p', { class: 'muted small' }, r.action === 'quantize' ? 'No quantization error.' : r.action === 'stored' ? 'Stored quantized: not quantized again.' : `Kept in ${r.dtype}: no quantization error.`));
  } catch (e) {
    if (e.cancelled || my !== histSeq) return;
    clear(hw);
    hw.append(el('p', { class: 'muted small' }, `Histogram failed: ${e.message}`));
  }
}

function drawHist(host, counts, lo, hi, cls) {
  const W = 300;
  const H = 130;
  const m = { l: 8, r: 8, t: 8, b: 22 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const max = Math.max(...counts, 1);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart hist', role: 'img', 'aria-label': `histogram from ${lo} to ${hi}` });
  const bw = pw / counts.length;
  counts.forEach((c, k) => {
    // square-root scale keeps the tails visible next to the peak
    const h = c > 0 ? Math.max(Math.sqrt(c / max) * ph, 1) : 0;
    const rect = svgEl('rect', { x: m.l + k * bw + 0.5, y: m.t + ph - h, width: Math.max(bw - 1, 0.5), height: h, class: `hbar ${cls}` });
    const a = lo + ((hi - lo) * k) / counts.length;
    const b = lo + ((hi - lo) * (k + 1)) / counts.length;
    rect.append(svgEl('title', {}, `[${fmtSci(a)}, ${fmtSci(b)}): ${nf.format(c)}`));
    svg.append(rect);
  });
  svg.append(svgEl('line', { x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph, class: 'axis' }));
  svg.append(svgEl('text', { x: m.l, y: H - 6, class: 'tick' }, fmtSci(lo)));
  svg.append(svgEl('text', { x: W - m.r, y: H - 6, class: 'tick', 'text-anchor': 'end' }, fmtSci(hi)));
  if (lo < 0 && hi > 0) {
    const x0 = m.l + ((0 - lo) / (hi - lo)) * pw;
    svg.append(svgEl('line', { x1: x0, x2: x0, y1: m.t, y2: m.t + ph, class: 'zero' }));
    if (x0 - m.l > 60 && W - m.r - x0 > 60) svg.append(svgEl('text', { x: x0, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, '0'));
  }
  host.append(svg);
  host.append(el('p', { class: 'muted small' }, `${nf.format(counts.reduce((a, b) => a + b, 0))} values · counts on a square-root scale`));
}

// ---------------------------------------------------------------- exports
function setExportsEnabled(on) {
  for (const id of ['export-json', 'export-csv', 'export-md']) $(id).disabled = !on;
}
async function doExport(format, ext, mime) {
  const report = state.primary?.report;
  if (!report) return;
  try {
    const { text } = await pool.call(0, { type: 'export', report, format });
    const url = URL.createObjectURL(new Blob([text], { type: mime }));
    const a = el('a', { href: url, download: `quantlens-report.${ext}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    if (!e.cancelled) showError(`Export failed: ${e.message}`);
  }
}

// ---------------------------------------------------------------- wiring
function busy() {
  return $('status').dataset.state === 'running';
}
function beforeNewInput() {
  if (busy()) cancelRun();
}

for (const id of ['pick-files', 'pick-dir']) {
  $(id).addEventListener('change', (ev) => {
    const input = ev.target;
    const entries = [...input.files].map((f) => ({ file: f, path: f.webkitRelativePath || f.name }));
    input.value = '';
    if (!entries.length) return;
    beforeNewInput();
    acceptEntries(entries, id === 'pick-dir' ? 'folder' : 'files');
  });
}

const drop = $('drop');
for (const t of ['dragenter', 'dragover']) {
  drop.addEventListener(t, (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
}
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (ev) => {
  ev.preventDefault();
  drop.classList.remove('over');
  beforeNewInput();
  const t0 = performance.now();
  try {
    const entries = await entriesFromDrop(ev.dataTransfer);
    await acceptEntries(entries, 'drop');
    if (state.input) state.input.t0 ??= t0;
  } catch (e) {
    failRun(e);
  }
});
// Keep a stray drop outside the zone from navigating away from the page.
window.addEventListener('dragover', (ev) => ev.preventDefault());
window.addEventListener('drop', (ev) => ev.preventDefault());
drop.addEventListener('keydown', (ev) => {
  if ((ev.key === 'Enter' || ev.key === ' ') && ev.target === drop) {
    ev.preventDefault();
    $('pick-files').click();
  }
});

$('sample').addEventListener('click', async () => {
  beforeNewInput();
  clearError();
  const t0 = performance.now();
  setStatus('running', 'Fetching the sample model (all-MiniLM-L6-v2, 91 MB)…');
  const myRun = ++state.runId;
  try {
    const [m, c] = await Promise.all([fetch('sample/model.safetensors'), fetch('sample/config.json')]);
    if (!m.ok) throw new Error(`The sample model is not available on this server (HTTP ${m.status}).`);
    const blob = await m.blob();
    const config = c.ok ? await c.text() : null;
    if (myRun !== state.runId) return;
    const entries = [{ file: new File([blob], 'model.safetensors'), path: 'all-MiniLM-L6-v2/model.safetensors' }];
    if (config != null) entries.push({ file: new File([config], 'config.json'), path: 'all-MiniLM-L6-v2/config.json' });
    await acceptEntries(entries, 'sample');
    if (window.__quantlens.lastRun) window.__quantlens.lastRun.withFetchMs = performance.now() - t0;
  } catch (e) {
    if (myRun === state.runId) failRun(e);
  }
});

$('cancel').addEventListener('click', cancelRun);
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && busy()) cancelRun();
});
$('filter').addEventListener('input', applyFilter);
$('layers-body').addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr');
  if (tr) selectLayer(Number(tr.dataset.index), false);
});
$('layers-body').addEventListener('keydown', (ev) => {
  const tr = ev.target.closest('tr');
  if (!tr) return;
  if (ev.key === 'Enter' || ev.key === ' ') {
    ev.preventDefault();
    selectLayer(Number(tr.dataset.index), false);
  } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    let next = ev.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
    while (next && next.hidden) next = ev.key === 'ArrowDown' ? next.nextElementSibling : next.previousElementSibling;
    next?.focus();
  }
});
for (const id of ['scheme', 'policy']) {
  $(id).addEventListener('change', () => {
    if (!state.input) return;
    beforeNewInput();
    state.compare = null;
    runPrimary();
  });
}
for (const id of ['thr-warn', 'thr-bad']) $(id).addEventListener('input', applyThresholds);
$('copy-link').addEventListener('click', copyLink);
$('share-json').addEventListener('click', () => doExport('json', 'json', 'application/json'));
$('share-md').addEventListener('click', () => doExport('markdown', 'md', 'text/markdown'));
$('share-url').addEventListener('focus', (ev) => ev.target.select());
$('link-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = $('link-input').value.trim();
  if (!v) return;
  const hubPage = /^https:\/\/huggingface\.co\/([\w.-]+\/[\w.-]+)\/?$/.exec(v);
  // A typed Hub id goes to the Hugging Face Hub: a hub= of an earlier link is not carried over.
  const params = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) && !hubPage ? { url: v } : { hf: hubPage ? hubPage[1] : v };
  if (params.url) confirmTyped(params.url);
  const frag = buildFragment(params);
  if (`#${frag}` === location.hash) openLink(parseFragment(frag));
  else location.hash = frag;
});
window.addEventListener('hashchange', fromFragment);
$('compare').addEventListener('change', async () => {
  if (!state.primary?.report || busy()) {
    if (!$('compare').value) {
      state.compare = null;
      refreshCompare();
    }
    return;
  }
  const runId = ++state.runId;
  setStatus('running', 'Comparing…');
  try {
    await runCompare();
    if (runId !== state.runId) return;
    const n = state.primary.rows.length;
    setStatus('done', state.compare ? `Done: ${nf.format(n)} tensors, compared with ${SCHEMES[state.compare.scheme].label}.` : `Done: ${nf.format(n)} tensors.`);
    if (state.selected >= 0) selectLayer(state.selected, false);
  } catch (e) {
    if (e.cancelled || runId !== state.runId) return;
    failRun(e);
  }
});
$('export-json').addEventListener('click', () => doExport('json', 'json', 'application/json'));
$('export-csv').addEventListener('click', () => doExport('csv', 'csv', 'text/csv'));
$('export-md').addEventListener('click', () => doExport('markdown', 'md', 'text/markdown'));

setStatus('idle', 'Ready. Choose a model to begin.');
thresholdsFromInputs();
if (sourceOf(parseFragment(location.hash))) fromFragment();
