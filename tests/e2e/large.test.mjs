// Large models: Cancel during a long run, and a >4 GiB shard streamed under a
// memory bound. QUANTLENS_BIG_GB sets the big model's size (default 6).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, launch, openPage, analyse, waitSettled, text, tmpDir, genModels, goodModel, artifacts, browserRss, rowCount,
} from './helpers.mjs';

const BIG_GB = Number(process.env.QUANTLENS_BIG_GB ?? 6);
const MiB = 1 << 20;

let server;
let browser;
const dirs = [];

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});


test('Cancel during a large run leaves the page usable', async () => {
  const dir = tmpDir('cancel');
  dirs.push(dir);
  genModels(['big-bf16', dir, '--gb', '1.5', '--shards', '2']);
  const page = await openPage(browser, server.url);
  await page.setInputFiles('[data-testid=pick-dir]', dir);
  await page.waitForFunction(() => /[1-9]\d* of \d+ tensors/.test(document.querySelector('[data-testid=progress-text]').textContent), null, { timeout: 60000, polling: 50 });
  assert.equal(await page.getAttribute('[data-testid=status]', 'data-state'), 'running');
  assert.equal(await page.isEnabled('[data-testid=cancel]'), true);
  const t0 = Date.now();
  await page.click('[data-testid=cancel]');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'idle', null, { timeout: 5000, polling: 20 });
  console.log(`  cancel took effect in ${Date.now() - t0} ms`);
  assert.equal(await page.isDisabled('[data-testid=cancel]'), true);
  assert.equal(await text(page, 'error'), '');
  // stays idle: no late rows or progress frames from the cancelled run
  await page.waitForTimeout(1500);
  assert.equal(await page.getAttribute('[data-testid=status]', 'data-state'), 'idle');
  // and the next model works
  const st = await analyse(page, 'pick-files', [{ name: 'good.safetensors', mimeType: 'application/octet-stream', buffer: goodModel() }]);
  assert.equal(st, 'done', await text(page, 'error'));
  assert.equal(await page.locator('[data-testid=layer-row]').count(), 4);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.foreign, []);
  await page.context().close();
});

test(`a ${BIG_GB} GiB bf16 model in one shard (offsets past 4 GiB) streams under the memory bound`, { timeout: 15 * 60000 }, async () => {
  const dir = tmpDir('big');
  dirs.push(dir);
  const g0 = Date.now();
  genModels(['big-bf16', dir, '--gb', String(BIG_GB), '--shards', '1']);
  const shard = path.join(dir, 'model-00001-of-00001.safetensors');
  const size = fs.statSync(shard).size;
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  const expected = Object.keys(index.weight_map).length;
  console.log(`  generated ${(size / 2 ** 30).toFixed(2)} GiB, ${expected} tensors in ${((Date.now() - g0) / 1000).toFixed(1)} s`);
  const page = await openPage(browser, server.url);
  let crashed = false;
  page.on('crash', () => { crashed = true; });
  let maxRss = 0;
  let maxHeap = 0;
  const sampler = setInterval(async () => {
    maxRss = Math.max(maxRss, browserRss());
    try {
      const h = await page.evaluate(() => performance.memory.usedJSHeapSize);
      maxHeap = Math.max(maxHeap, h);
    } catch { /* page busy or gone */ }
  }, 500);
  const t0 = Date.now();
  let st;
  try {
    st = await analyse(page, 'pick-dir', dir, 14 * 60000);
  } finally {
    clearInterval(sampler);
  }
  const secs = (Date.now() - t0) / 1000;
  assert.equal(crashed, false, 'renderer crashed');
  assert.equal(st, 'done', await text(page, 'error'));
  assert.equal(await rowCount(page), expected);
  const run = await page.evaluate(() => window.__quantlens.lastRun);
  const heap = await page.evaluate(() => performance.memory.usedJSHeapSize);
  maxHeap = Math.max(maxHeap, heap);
  const line = `big model: ${(size / 2 ** 30).toFixed(2)} GiB in ${secs.toFixed(1)} s = ${(size / secs / 1e6).toFixed(0)} MB/s of file, `
    + `${run.workers} workers; wasm memory per worker max ${(run.maxWasmBytes / MiB).toFixed(0)} MiB; `
    + `page JS heap max ${(maxHeap / MiB).toFixed(0)} MiB; browser anonymous RSS max ${(maxRss / MiB).toFixed(0)} MiB`;
  console.log(`  ${line}`);
  fs.writeFileSync(path.join(artifacts, 'big-model.txt'), `${line}\n`);
  assert.ok(run.maxWasmBytes < 512 * MiB, `wasm memory ${run.maxWasmBytes}`);
  assert.ok(maxHeap < 256 * MiB, `page heap ${maxHeap}`);
  assert.ok(maxRss < 1024 * MiB, `browser RSS ${maxRss} for a ${size}-byte model`);
  await page.screenshot({ path: path.join(artifacts, 'big-model.png') });
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.foreign, []);
  await page.context().close();
});

const BENCH = process.env.QUANTLENS_BENCH_MODEL ?? '/tmp/quantlens-bench-cache/bert-large-f32';
test('throughput on the 1.34 GB synthetic bert-large (printed, not asserted)', { skip: !fs.existsSync(BENCH) && `${BENCH} not present (scripts/bench creates it)` }, async () => {
  const page = await openPage(browser, server.url);
  const bytes = fs.readdirSync(BENCH).filter((f) => f.endsWith('.safetensors')).reduce((a, f) => a + fs.statSync(path.join(BENCH, f)).size, 0);
  const st = await analyse(page, 'pick-dir', BENCH, 10 * 60000);
  assert.equal(st, 'done', await text(page, 'error'));
  const run = await page.evaluate(() => window.__quantlens.lastRun);
  const line = `bert-large-f32: ${(bytes / 1e9).toFixed(2)} GB, ${run.tensors} tensors in ${(run.ms / 1000).toFixed(2)} s = `
    + `${(bytes / (run.ms / 1000) / 1e6).toFixed(0)} MB/s of model file (${run.workers} workers, ${run.recycledWorkers} worker recycles, workers busy ${(run.workerBusyMs / 1000).toFixed(1)} s in analyzeTensor)`;
  console.log(`  ${line}`);
  fs.writeFileSync(path.join(artifacts, 'bench-bert-large.txt'), `${line}\n`);
  await page.context().close();
});
