// "Compare two folders": a converted model checked against its original,
// and SHA-256 of every file. All verification and hashing happen in
// quantlens (Rust, in compare-worker.js); this file picks files, moves
// messages and renders. File-derived text is untrusted: textContent only.
// Compare by link: #url=CONVERTED&against=ORIGINAL (or hf= / against-hf=,
// hub=BASE) opens both models by range requests (remote.js).
import { parseFragment, sourceOf, resolveSource, hostsOfSource, confirmError, readBudget } from './remote.js';
import { confirmedHosts, offerConfirm, withdrawConfirm } from './linkconfirm.js';

const $ = (id) => document.getElementById(id);
const MAX_JSON_BYTES = 64 << 20;
const BATCH_BYTES = 16 << 20;

// ---------------------------------------------------------------- worker
let worker = null;
let nextId = 1;
const pending = new Map();

function startWorker() {
  worker = new Worker(new URL('./compare-worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (ev) => {
    const m = ev.data;
    if (m.fetched) net.fetched += m.fetched;
    const p = pending.get(m.id);
    if (!p) return;
    if (m.type === 'sha-progress') {
      p.progress?.(m.done);
      return;
    }
    pending.delete(m.id);
    if (m.type === 'error') p.reject(new Error(m.error));
    else p.resolve(m);
  };
  worker.onerror = (ev) => {
    for (const p of pending.values()) p.reject(new Error(ev.message || 'the worker failed'));
    pending.clear();
  };
  return call({ type: 'init', readBudget: readBudget(location.hash) });
}

function call(msg, progress) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, progress });
    worker.postMessage({ ...msg, id });
  });
}

// ---------------------------------------------------------------- helpers
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function fmtBytes(n) {
  if (n == null) return '–';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = n;
  while (x >= 1000 && i < u.length - 1) { x /= 1000; i++; }
  return `${x.toFixed(i === 0 ? 0 : x < 10 ? 2 : 1)} ${u[i]}`;
}
const fmtInt = (n) => (n == null ? '–' : Number(n).toLocaleString('en-US'));
const fmtPct = (x) => (x == null ? '–' : `${(x * 100).toFixed(x < 0.001 ? 4 : 3)} %`);
const fmtNum = (x, d = 4) => (x == null ? '–' : Number(x).toPrecision(d));

function setStatus(state, text) {
  const s = $('status');
  s.dataset.state = state;
  s.textContent = text;
}

function showError(msg) {
  const e = $('error');
  e.hidden = !msg;
  e.textContent = msg || '';
}

// ---------------------------------------------------------------- input
// [File] from a folder picker -> {files, index, config, all, dir}
async function classify(list) {
  const items = [...list].map((f) => {
    const p = (f.webkitRelativePath || f.name).split('/').filter(Boolean);
    return { file: f, base: p[p.length - 1] ?? f.name, dir: p.slice(0, -1).join('/'), depth: p.length - 1 };
  });
  const st = items.filter((x) => x.base.toLowerCase().endsWith('.safetensors'));
  if (st.length === 0) throw new Error(`No .safetensors file among the ${items.length} file(s) of this folder.`);
  const depth = Math.min(...st.map((x) => x.depth));
  const dir = st.filter((x) => x.depth === depth).map((x) => x.dir).sort()[0];
  const here = items.filter((x) => x.dir === dir);
  const files = here.filter((x) => x.base.toLowerCase().endsWith('.safetensors'))
    .sort((a, b) => a.base.localeCompare(b.base))
    .map((x) => ({ name: x.base, blob: x.file }));
  const text = async (x) => {
    if (!x) return null;
    if (x.file.size > MAX_JSON_BYTES) throw new Error(`${x.base} is ${fmtBytes(x.file.size)}; JSON side files over ${fmtBytes(MAX_JSON_BYTES)} are not read`);
    return x.file.text();
  };
  const idx = here.find((x) => x.base.toLowerCase().endsWith('.safetensors.index.json'));
  const cfg = here.find((x) => x.base.toLowerCase() === 'config.json');
  return {
    dir,
    files,
    index: idx ? { name: idx.base, text: await text(idx) } : null,
    config: await text(cfg),
    all: here.sort((a, b) => a.base.localeCompare(b.base)).map((x) => ({ name: x.base, blob: x.file })),
  };
}

const sides = { original: null, converted: null };
const net = { fetched: 0, total: 0 }; // bytes fetched for link sources
const isRemote = () => Boolean(sides.original?.remote || sides.converted?.remote);
const fileSize = (f) => f.size ?? f.blob.size;

async function pick(side, input, label) {
  sides[side] = null;
  showError('');
  try {
    sides[side] = await classify(input.files);
    const s = sides[side];
    label.textContent = `${s.dir || '(folder)'}: ${s.files.length} safetensors file(s)${s.index ? ', index' : ''}${s.config != null ? ', config.json' : ''}; ${s.all.length} file(s) in all`;
  } catch (e) {
    label.textContent = 'No usable folder chosen.';
    showError(`${side}: ${e.message}`);
  }
  $('compare').disabled = !(sides.original && sides.converted);
  $('sha-run').disabled = !(sides.original || sides.converted);
  renderShaRows();
}

// ---------------------------------------------------------------- compare
let lastReport = null;
let running = false;

function findingItem(f) {
  return el('li', { class: `finding ${f.severity}`, 'data-testid': 'finding', 'data-code': f.code, 'data-tensor': f.tensor ?? null },
    el('span', { class: 'sev' }, f.severity),
    el('span', { class: 'code' }, f.code),
    el('span', { class: 'msg' }, f.message));
}

function renderSummary(report, rowsDone) {
  $('summary-section').hidden = false;
  const s = report.summary;
  const list = $('findings-list');
  list.replaceChildren(...s.findings.map(findingItem));
  $('findings').hidden = s.findings.length === 0;
  const bySev = {};
  for (const f of s.findings) bySev[f.severity] = (bySev[f.severity] ?? 0) + 1;
  $('count-findings').textContent = fmtInt(s.findings.length);
  $('count-findings').className = `value ${bySev.error ? 'bad' : bySev.warning ? 'warn' : 'good'}`;
  $('findings-by-sev').textContent = Object.entries(bySev).map(([k, v]) => `${v} ${k}`).join(', ');
  $('count-rows').textContent = fmtInt(rowsDone ?? report.layers.length);
  $('format').textContent = report.scheme;
  $('size').textContent = `${fmtBytes(s.bytes_before)} → ${fmtBytes(s.bytes_after)}`;
  $('size-exact').textContent = `${fmtInt(s.bytes_before)} → ${fmtInt(s.bytes_after)} bytes`;
  $('ratio').textContent = `${s.compression_ratio.toFixed(3)}×`;
  $('ratio').className = `value ${s.compression_ratio > 1.05 ? 'good' : 'warn'}`;
  $('max-rel').textContent = fmtPct(s.max_rel_error);
  $('worst-name').textContent = s.worst_layers?.[0]?.name ?? '';
}

function rowClass(r) {
  if (r.rel_error == null) return 'kept';
  return r.rel_error < 0.01 ? 'good' : r.rel_error < 0.05 ? 'warn' : 'bad';
}

function renderRow(r, findings) {
  const codes = el('td', { class: 'codes' });
  for (const f of findings) codes.append(el('span', { class: f.severity, title: f.message }, f.code), ' ');
  return el('tr', { class: rowClass(r), 'data-testid': 'verify-row', 'data-name': r.name, 'data-action': r.action },
    el('td', { class: 'name mono', title: r.name }, r.name),
    el('td', {}, r.reason ? `${r.dtype} (${r.reason})` : `${r.dtype} ${r.scheme ?? ''}`.trim()),
    el('td', { class: 'mono' }, `[${r.shape.join(', ')}]`),
    el('td', { class: 'num' }, fmtInt(r.bytes_before)),
    el('td', { class: 'num' }, fmtInt(r.bytes_after)),
    el('td', { class: 'num strong' }, fmtPct(r.rel_error)),
    el('td', { class: 'num' }, fmtNum(r.max_abs_error)),
    el('td', { class: 'num' }, r.sqnr_db == null ? '–' : r.sqnr_db.toFixed(1)),
    el('td', { class: 'num' }, r.cosine == null ? '–' : r.cosine.toFixed(6)),
    codes);
}

async function compare() {
  if (running || !sides.original || !sides.converted) return;
  running = true;
  $('compare').disabled = true;
  $('export-json').disabled = true;
  showError('');
  lastReport = null;
  $('rows').replaceChildren();
  $('table-section').hidden = true;
  $('summary-section').hidden = true;
  setStatus('running', 'Opening both models…');
  const t0 = performance.now();
  try {
    const strip = (s) => ({ files: s.files, index: s.index, config: s.config });
    const opened = await call({ type: 'open', original: strip(sides.original), converted: strip(sides.converted) });
    const n = opened.count;
    const work = opened.overview.workBytes;
    const total = work.reduce((a, b) => a + b, 0) || 1;
    renderSummary(opened.overview.report, 0);
    $('table-section').hidden = false;
    const rows = [];
    let done = 0;
    let i = 0;
    while (i < n) {
      const batch = [];
      let bytes = 0;
      while (i < n && (batch.length === 0 || bytes + work[i] <= BATCH_BYTES)) {
        bytes += work[i];
        batch.push(i++);
      }
      const out = await call({ type: 'rows', indices: batch });
      for (const r of out.rows) {
        rows.push({ row: r.row, findings: r.findings });
        $('rows').append(renderRow(r.row, r.findings));
        done += work[r.index];
      }
      $('progress').value = done / total;
      $('progress-text').textContent = isRemote()
        ? `${rows.length} / ${n} tensors · ${fmtBytes(net.fetched)} fetched of ${fmtBytes(net.total)}`
        : `${rows.length} / ${n} tensors · ${fmtBytes(done)} of ${fmtBytes(total)} read`;
      setStatus('running', `Comparing… ${rows.length} / ${n} tensors`);
    }
    const { report } = await call({ type: 'report', rows });
    lastReport = report;
    renderSummary(report);
    $('shown').textContent = `${report.layers.length} tensors`;
    $('progress').value = 1;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    $('progress-text').textContent = isRemote()
      ? `${n} tensors · ${fmtBytes(net.fetched)} fetched of ${fmtBytes(net.total)} in ${secs} s`
      : `${n} tensors · ${fmtBytes(total)} read in ${secs} s`;
    window.__quantlens.lastRun = { ms: performance.now() - (linkT0 ?? t0), fetched: net.fetched, total: net.total };
    const errs = report.summary.findings.filter((f) => f.severity === 'error').length;
    setStatus('done', `Done: ${n} tensors compared, ${report.summary.findings.length} finding(s)${errs ? `, ${errs} error(s)` : ''}.`);
    $('export-json').disabled = false;
  } catch (e) {
    setStatus('error', 'Comparison failed.');
    showError(e.message);
  } finally {
    running = false;
    $('compare').disabled = !(sides.original && sides.converted);
  }
}

function exportJson() {
  if (!lastReport) return;
  const blob = new Blob([JSON.stringify(lastReport, null, 2)], { type: 'application/json' });
  const a = el('a', { href: URL.createObjectURL(blob), download: 'quantlens-verify.json' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// ---------------------------------------------------------------- sha-256
const digests = new Map(); // `${side}/${name}` -> hex
let expected = new Map(); // name -> hex
let shaRunning = false;

async function readExpected() {
  const { digests: list, badLines } = await call({ type: 'parse-sums', text: $('sha-expected').value })
    .catch(() => ({ digests: [], badLines: [] }));
  expected = new Map(list);
  $('sha-status').textContent = badLines.length ? `Lines not understood: ${badLines.join(', ')}` : '';
}

function shaState(name, hex) {
  if (hex == null || !expected.has(name)) return 'unknown';
  return expected.get(name) === hex ? 'ok' : 'mismatch';
}

function renderShaRows() {
  const body = $('sha-rows');
  body.replaceChildren();
  for (const side of ['original', 'converted']) {
    const s = sides[side];
    if (!s) continue;
    for (const f of s.all) {
      const hex = digests.get(`${side}/${f.name}`);
      const state = shaState(f.name, hex);
      const check = hex == null ? 'not computed' : state === 'ok' ? 'matches' : state === 'mismatch' ? `MISMATCH: expected ${expected.get(f.name).slice(0, 16)}…` : 'no expected digest';
      body.append(el('tr', { 'data-testid': 'sha-row', 'data-side': side, 'data-file': f.name, 'data-state': state },
        el('td', {}, side),
        el('td', { class: 'mono' }, f.name),
        el('td', { class: 'num' }, fmtInt(fileSize(f))),
        el('td', { class: 'digest', 'data-testid': 'sha-digest' }, hex ?? '…'),
        el('td', { class: 'check', title: state === 'mismatch' ? `expected ${expected.get(f.name)}` : null }, check)));
    }
  }
}

async function computeSha() {
  if (shaRunning) return;
  shaRunning = true;
  $('sha-run').disabled = true;
  try {
    for (const side of ['original', 'converted']) {
      const s = sides[side];
      if (!s) continue;
      for (const f of s.all) {
        const key = `${side}/${f.name}`;
        if (digests.has(key)) continue;
        $('sha-status').textContent = `Hashing ${side}/${f.name}…`;
        const msg = s.remote ? { type: 'sha', file: f } : { type: 'sha', blob: f.blob };
        const out = await call(msg, (done) => {
          $('sha-status').textContent = `Hashing ${side}/${f.name}: ${fmtBytes(done)} of ${fmtBytes(fileSize(f))}${s.remote ? ' (fetched by range requests)' : ''}`;
        });
        digests.set(key, out.digest);
        renderShaRows();
      }
    }
    $('sha-status').textContent = 'SHA-256 computed for every file.';
    $('sha-status').dataset.state = 'done';
  } catch (e) {
    $('sha-status').textContent = `Hashing failed: ${e.message}`;
    $('sha-status').dataset.state = 'error';
  } finally {
    shaRunning = false;
    $('sha-run').disabled = !(sides.original || sides.converted);
  }
}

// ---------------------------------------------------------------- wiring
const ready = startWorker().catch((e) => {
  setStatus('error', 'The WebAssembly module could not be loaded.');
  showError(e.message);
});

// ---------------------------------------------------------------- by link
let linkT0 = null;
async function openByLink() {
  const params = parseFragment(location.hash);
  const conv = sourceOf(params);
  const orig = sourceOf(params, true);
  if (!conv && !orig) return;
  await ready;
  showError('');
  withdrawConfirm();
  if (!conv || !orig) {
    setStatus('error', 'Incomplete link.');
    showError('Compare by link needs both models: url= (or hf=) for the converted model and against= (or against-hf=) for the original.');
    return;
  }
  linkT0 = performance.now();
  running = true;
  $('compare').disabled = true;
  setStatus('running', 'Reading the headers of both models…');
  $('progress-text').textContent = 'Reading headers by range requests…';
  net.fetched = 0;
  net.total = 0;
  digests.clear();
  try {
    const need = [...hostsOfSource(orig, confirmedHosts()), ...hostsOfSource(conv, confirmedHosts())]
      .filter((h, i, all) => all.findIndex((x) => x.host === h.host) === i);
    if (need.length) throw confirmError(need, 'This link reads its two models');
    const [o, c] = await Promise.all([
      resolveSource(orig, { allowHosts: confirmedHosts() }).catch((e) => { throw Object.assign(new Error(`original model: ${e.message}`), { kind: e.kind, hosts: e.hosts }); }),
      resolveSource(conv, { allowHosts: confirmedHosts() }).catch((e) => { throw Object.assign(new Error(`converted model: ${e.message}`), { kind: e.kind, hosts: e.hosts }); }),
    ]);
    net.fetched = o.fetched + c.fetched;
    net.total = o.total + c.total;
    const side = (r) => ({ dir: r.label, files: r.files, index: r.index, config: r.config, all: r.files, remote: r });
    sides.original = side(o);
    sides.converted = side(c);
    for (const [s, label] of [[sides.original, $('orig-files')], [sides.converted, $('conv-files')]]) {
      label.textContent = `by link: ${s.dir}: ${s.files.length} safetensors file(s)${s.index ? ', index' : ''}${s.config != null ? ', config.json' : ''}; header ${fmtBytes(s.remote.fetched)} fetched of ${fmtBytes(s.remote.total)}`;
    }
    renderShaRows();
    $('sha-run').disabled = false;
  } catch (e) {
    setStatus('error', 'Could not open the models of this link.');
    showError(e.message);
    if (e.kind === 'confirm') {
      offerConfirm($('error'), e.hosts, () => {
        setStatus('running', 'Reading the headers of both models…');
        openByLink();
      });
    }
    return;
  } finally {
    running = false;
  }
  await compare();
}
window.addEventListener('hashchange', () => location.reload());

$('pick-original').addEventListener('change', (e) => {
  digests.clear();
  pick('original', e.target, $('orig-files'));
});
$('pick-converted').addEventListener('change', (e) => {
  digests.clear();
  pick('converted', e.target, $('conv-files'));
});
$('compare').addEventListener('click', compare);
$('export-json').addEventListener('click', exportJson);
$('sha-run').addEventListener('click', computeSha);
$('sha-expected').addEventListener('input', async () => {
  await readExpected();
  renderShaRows();
});

window.__quantlens = { ready, report: () => lastReport, net, lastRun: null };
openByLink();
