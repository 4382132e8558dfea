// Shared helpers for the browser end-to-end tests (not a test file itself).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const miniLM = path.resolve(repoRoot, '../shared/models/all-MiniLM-L6-v2');
export const artifacts = path.join(repoRoot, 'test-artifacts');
fs.mkdirSync(artifacts, { recursive: true });

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--enable-precise-memory-info',
];

/** Starts scripts/serve.mjs on a free port (with extra options, e.g. --sample DIR); returns {url, close}. */
export async function startServer(options = []) {
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts/serve.mjs'), '--port', '0', ...options], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('server did not start')), 10000);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, close: () => child.kill('SIGTERM') };
}

export async function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

/**
 * Opens the page. Records every request that leaves the page's origin in
 * `page.foreign` and page errors in `page.errors`.
 */
export async function openPage(browser, url, { colorScheme = 'light', viewport = { width: 1440, height: 1000 } } = {}) {
  const context = await browser.newContext({ colorScheme, viewport, acceptDownloads: true });
  const page = await context.newPage();
  const origin = new URL(url).origin;
  page.foreign = [];
  page.errors = [];
  page.on('request', (req) => {
    const u = req.url();
    if (u.startsWith('blob:') || u.startsWith('data:')) return;
    if (new URL(u).origin !== origin) page.foreign.push(u);
  });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => window.__quantlens !== undefined);
  return page;
}

/** Waits until the status leaves `running`; returns the final state. */
export async function waitSettled(page, timeout = 120000) {
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid=status]').dataset.state;
    return s === 'done' || s === 'error' || s === 'idle';
  }, null, { timeout, polling: 50 });
  return page.getAttribute('[data-testid=status]', 'data-state');
}

/** Sets the files of an input and waits for the run it starts to settle. */
export async function analyse(page, testid, files, timeout) {
  await page.setInputFiles(`[data-testid=${testid}]`, files);
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'running'
    || document.querySelector('[data-testid=status]').dataset.state === 'error', null, { polling: 20 }).catch(() => {});
  return waitSettled(page, timeout);
}

export function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `quantlens-e2e-${prefix}-`));
}

/** Runs scripts/SCRIPT with python3 (stdout discarded, stderr shown). */
function pyScript(script, args) {
  execFileSync('python3', [path.join(repoRoot, 'scripts', script), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function genModels(args) {
  pyScript('gen_models.py', args);
}

/**
 * Why real MLX cannot run here (python3 cannot import mlx.core), or null
 * when it can. Meant for a test's `skip` option.
 */
export function mlxMissing() {
  try {
    execFileSync('python3', ['-c', 'import mlx.core'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'python3 cannot import mlx (pip install mlx==0.32.4): skipped';
  }
}

/** SRC quantized by real MLX into OUT (scripts/mlx_quantize_model.py; ARGS as it takes them). */
export function mlxQuantizeModel(src, out, args = []) {
  pyScript('mlx_quantize_model.py', [src, out, ...args]);
}

/** The native CLI's report for DIR (builds the binary when it is missing). */
export function cliReport(dir) {
  const bin = path.join(repoRoot, 'target/release/quantlens');
  if (!fs.existsSync(bin)) execFileSync('cargo', ['build', '--release'], { cwd: repoRoot, stdio: 'inherit' });
  return JSON.parse(execFileSync(bin, ['inspect', dir, '--json'], { maxBuffer: 256 << 20 }).toString());
}

export async function text(page, testid) {
  return (await page.textContent(`[data-testid=${testid}]`)).trim();
}

/** A safetensors file as a Buffer: tensors [{name, dtype, shape, data: TypedArray}]. */
export function safetensors(tensors, metadata) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  const parts = [];
  for (const t of tensors) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes.length] };
    off += bytes.length;
    parts.push(bytes);
  }
  let json = Buffer.from(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...parts]);
}

/** Deterministic pseudo-random f32 weights. */
export function weights(n, seed = 1, scale = 0.02) {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    a[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return a;
}

/** A small valid model: two quantizable matrices, a bias and a norm. */
export function goodModel() {
  return safetensors([
    { name: 'layer.0.dense.weight', dtype: 'F32', shape: [64, 64], data: weights(4096, 7) },
    { name: 'layer.0.dense.bias', dtype: 'F32', shape: [64], data: weights(64, 8) },
    { name: 'layer.0.LayerNorm.weight', dtype: 'F32', shape: [64], data: new Float32Array(64).fill(1) },
    { name: 'layer.1.dense.weight', dtype: 'F32', shape: [64, 128], data: weights(8192, 9) },
  ], { format: 'pt' });
}

/**
 * A shared link to this computer (every test server is on 127.0.0.1) waits
 * for a click on the button that names the host. Waits until `done(arg)`
 * holds in the page, clicking that button whenever one appears (once per
 * host asked about).
 */
export async function untilConfirmed(page, done, arg, { timeout = 180000 } = {}) {
  const button = '[data-testid=link-confirm]:not([data-clicked])';
  for (;;) {
    const which = await Promise.race([
      page.waitForFunction(done, arg, { timeout, polling: 50 }).then(() => 'done', () => null),
      page.waitForSelector(button, { timeout }).then(() => 'confirm', () => null),
    ]);
    if (which === 'done') return;
    if (which !== 'confirm') throw new Error(`the page did not settle: ${await page.textContent('[data-testid=status]')}`);
    const b = await page.$(button);
    await b.evaluate((el) => { el.dataset.clicked = '1'; });
    await b.click();
  }
}

/** untilConfirmed, then the page's settled state (one of `states`). */
export async function confirmLink(page, { timeout = 180000, states = ['done', 'error', 'idle'] } = {}) {
  await untilConfirmed(page, (ok) => {
    const s = document.querySelector('[data-testid=status]').dataset.state;
    return ok.includes(s) && !(s === 'error' && document.querySelector('[data-testid=link-confirm]'));
  }, states, { timeout });
  return page.getAttribute('[data-testid=status]', 'data-state');
}

/**
 * Anonymous resident memory (bytes) of every process descending from this
 * one, i.e. the browser. File-backed pages (the model's page cache mapped by
 * the blob reader) are not counted: the kernel can drop them at will.
 */
export function browserRss() {
  const children = new Map();
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(pid));
    } catch { /* gone */ }
  }
  let total = 0;
  const walk = (pid) => {
    for (const c of children.get(pid) ?? []) {
      try {
        const m = fs.readFileSync(`/proc/${c}/status`, 'utf8').match(/RssAnon:\s+(\d+) kB/);
        if (m) total += Number(m[1]) * 1024;
      } catch { /* gone */ }
      walk(c);
    }
  };
  walk(process.pid);
  return total;
}

// The layers table is virtualised (www/inspector/table.js): only the rows in
// its view are in the DOM. These two read the table as a user sees it.
/** The number of rows the layers table holds (filtered or not, drawn or not): its data-rows. */
export async function rowCount(page) {
  return Number(await page.getAttribute('[data-testid=layers]', 'data-rows'));
}

/** Scrolls the layers table, as a user would, until the row of this tensor is drawn. */
export async function revealRow(page, name) {
  await page.evaluate(async (n) => {
    const wrap = document.querySelector('[data-testid=layers]').parentElement;
    const find = () => [...document.querySelectorAll('[data-testid=layer-row]')].find((r) => r.dataset.name === n);
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    wrap.scrollTop = 0;
    await frame();
    while (!find() && wrap.scrollTop + wrap.clientHeight < wrap.scrollHeight) {
      wrap.scrollTop += wrap.clientHeight / 2;
      await frame();
    }
    find()?.scrollIntoView({ block: 'nearest' });
  }, name);
}
