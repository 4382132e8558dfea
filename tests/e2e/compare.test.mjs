// The "Compare two folders" page (www/compare.html) end to end in Chromium:
// the real MiniLM against the seeds' V2 (true int8) and V1 (fake
// quantization) outputs generated here, and SHA-256 in the worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  startServer, launch, openPage, waitSettled, miniLM, artifacts, tmpDir, genModels, repoRoot,
} from './helpers.mjs';

/** The native CLI's `verify` report (exit code 1 on error findings is expected). */
function cliVerify(original, converted) {
  const bin = path.join(repoRoot, 'target/release/quantlens');
  if (!fs.existsSync(bin)) execFileSync('cargo', ['build', '--release'], { cwd: repoRoot, stdio: 'inherit' });
  try {
    return JSON.parse(execFileSync(bin, ['verify', original, converted, '--json'], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString());
  } catch (e) {
    return JSON.parse(e.stdout.toString());
  }
}

function close(a, b, what) {
  if (a == null || b == null) {
    assert.equal(a ?? null, b ?? null, what);
    return;
  }
  const scale = Math.max(Math.abs(a), Math.abs(b));
  assert.ok(scale === 0 || Math.abs(a - b) / scale <= 1e-9, `${what}: page ${a} vs CLI ${b}`);
}

const MINILM_SHA = '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db';

let server;
let browser;
let page;
let tmp;

before(async () => {
  tmp = tmpDir('compare');
  genModels(['seeds-v1', miniLM, path.join(tmp, 'v1')]);
  genModels(['seeds-v2', miniLM, path.join(tmp, 'v2')]);
  server = await startServer();
  browser = await launch();
  page = await openPage(browser, `${server.url}compare.html`);
});
after(async () => {
  await browser?.close();
  server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function compare(converted) {
  await page.setInputFiles('[data-testid=pick-original]', miniLM);
  await page.setInputFiles('[data-testid=pick-converted]', converted);
  await page.waitForFunction(() => !document.querySelector('[data-testid=compare]').disabled);
  const t0 = Date.now();
  await page.click('[data-testid=compare]');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state !== 'idle');
  const state = await waitSettled(page, 180000);
  const error = await page.textContent('[data-testid=error]');
  assert.equal(state, 'done', `status ${state}: ${error}`);
  const findings = await page.$$eval('[data-testid=finding]', (fs) => fs.map((f) => ({
    code: f.dataset.code, tensor: f.dataset.tensor ?? null, severity: f.querySelector('.sev').textContent,
  })));
  const rows = await page.$$eval('[data-testid=verify-row]', (rs) => rs.map((r) => r.dataset.name));
  const report = await page.evaluate(() => window.__quantlens.report());
  return { findings, rows, report, ms: Date.now() - t0 };
}

test('original vs seeds V2 (true int8): done, 104 rows, no error findings, real compression', async () => {
  const { findings, rows, report, ms } = await compare(path.join(tmp, 'v2'));
  assert.equal(rows.length, 104);
  assert.equal(new Set(rows).size, 104);
  const errors = findings.filter((f) => f.severity === 'error');
  assert.deepEqual(errors, [], JSON.stringify(errors));
  assert.equal(findings.filter((f) => f.code === 'fake_quantization').length, 0);
  const s = report.summary;
  assert.equal(report.layers.length, 104);
  assert.ok(s.bytes_after > 58_000_000 && s.bytes_after < 59_000_000, `${s.bytes_after}`);
  assert.ok(s.compression_ratio > 1.5, `${s.compression_ratio}`);
  const q = report.layers.filter((l) => l.action === 'quantize');
  assert.equal(q.length, 37);
  // Same figures as the native `quantlens verify`, row by row.
  const cli = cliVerify(miniLM, path.join(tmp, 'v2'));
  assert.deepEqual(report.layers.map((l) => l.name), cli.layers.map((l) => l.name));
  for (const [i, l] of report.layers.entries()) {
    for (const k of ['rel_error', 'mse', 'max_abs_error', 'cosine', 'bytes_before', 'bytes_after']) close(l[k], cli.layers[i][k], `${l.name} ${k}`);
  }
  assert.deepEqual(findings.map((f) => f.code).sort(), cli.summary.findings.map((f) => f.code).sort());
  assert.equal(s.bytes_after, cli.summary.bytes_after);
  assert.match(await page.textContent('[data-testid=ratio]'), /^1\.\d{3}×$/);
  console.log(`V2: ${rows.length} rows in ${ms} ms; ${s.bytes_before} -> ${s.bytes_after} bytes, ratio ${s.compression_ratio.toFixed(4)}, worst rel ${s.max_rel_error}; findings ${findings.map((f) => f.code).join(',') || 'none'}`);
});

test('original vs seeds V1 (fake): fake_quantization on 37 layers and no_compression', async () => {
  const { findings, rows, report, ms } = await compare(path.join(tmp, 'v1'));
  assert.equal(rows.length, 104);
  const fakes = findings.filter((f) => f.code === 'fake_quantization');
  assert.equal(fakes.length, 37);
  assert.equal(new Set(fakes.map((f) => f.tensor)).size, 37);
  assert.ok(fakes.every((f) => f.tensor.endsWith('.weight') && !f.tensor.includes('embeddings')));
  assert.equal(findings.filter((f) => f.code === 'no_compression').length, 1);
  assert.ok(report.summary.compression_ratio < 1.01, `${report.summary.compression_ratio}`);
  // The per-row findings column names them too.
  const flagged = await page.$$eval('[data-testid=verify-row]', (rs) => rs.filter((r) => r.textContent.includes('fake_quantization')).length);
  assert.equal(flagged, 37);
  // The exported JSON is the same report.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-json]')]);
  const exported = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
  assert.equal(exported.layers.length, 104);
  assert.equal(exported.summary.findings.filter((f) => f.code === 'fake_quantization').length, 37);
  console.log(`V1: ${rows.length} rows in ${ms} ms; ${fakes.length} fake_quantization, ratio ${report.summary.compression_ratio.toFixed(4)}`);
});

test('SHA-256 in the worker: MiniLM model.safetensors is the Hub digest, ok when pasted', async () => {
  const row = '[data-testid=sha-row][data-side=original][data-file="model.safetensors"]';
  await page.waitForSelector(row);
  assert.equal(await page.getAttribute(row, 'data-state'), 'unknown');
  const t0 = Date.now();
  await page.click('[data-testid=sha-run]');
  await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid=sha-status]').dataset.state), null, { timeout: 120000 });
  assert.equal(await page.getAttribute('[data-testid=sha-status]', 'data-state'), 'done');
  const ms = Date.now() - t0;
  assert.equal((await page.textContent(`${row} [data-testid=sha-digest]`)).trim(), MINILM_SHA);
  assert.equal(await page.getAttribute(row, 'data-state'), 'unknown');
  await page.fill('[data-testid=sha-expected]', `${MINILM_SHA}  all-MiniLM-L6-v2/model.safetensors\n`);
  await page.waitForFunction((sel) => document.querySelector(sel).dataset.state === 'ok', row);
  // The V1 copy has the same file name but other bytes: a mismatch.
  const v1row = '[data-testid=sha-row][data-side=converted][data-file="model.safetensors"]';
  assert.equal(await page.getAttribute(v1row, 'data-state'), 'mismatch');
  // Files without an expected digest stay unknown.
  assert.equal(await page.getAttribute('[data-testid=sha-row][data-side=original][data-file="config.json"]', 'data-state'), 'unknown');
  const n = await page.$$eval('[data-testid=sha-row]', (rs) => rs.length);
  console.log(`SHA-256 of ${n} files (original + V1) in ${Date.now() - t0 > 0 ? ms : 0} ms`);
  assert.deepEqual(page.foreign, []);
  assert.deepEqual(page.errors, []);
  await page.screenshot({ path: path.join(artifacts, 'compare.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(artifacts, 'compare-dark.png') });
});

test('a converted folder without safetensors is refused before comparing', async () => {
  const dir = path.join(tmp, 'empty');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'notes.txt'), '<img src=x onerror=alert(1)>');
  await page.setInputFiles('[data-testid=pick-converted]', dir);
  await page.waitForFunction(() => !document.querySelector('[data-testid=error]').hidden);
  assert.match(await page.textContent('[data-testid=error]'), /No \.safetensors file/);
  assert.equal(await page.isDisabled('[data-testid=compare]'), true);
  assert.equal(await page.$$eval('img', (i) => i.length), 0);
});
