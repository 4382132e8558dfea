// The real MiniLM model through the folder input: counts, the exported JSON
// against the native CLI, the sample button, schemes, screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, launch, openPage, analyse, waitSettled, miniLM, text, cliReport, repoRoot, artifacts, rowCount, revealRow,
} from './helpers.mjs';

let server;
let browser;
let page;

before(async () => {
  server = await startServer();
  browser = await launch();
  page = await openPage(browser, server.url);
});
after(async () => {
  await browser?.close();
  server?.close();
});

function close(a, b, what) {
  if (a === null || b === null) {
    assert.equal(a, b, what);
    return;
  }
  const scale = Math.max(Math.abs(a), Math.abs(b));
  assert.ok(scale === 0 || Math.abs(a - b) / scale <= 1e-6, `${what}: browser ${a} vs CLI ${b}`);
}

async function download(testid) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${testid}]`)]);
  return fs.readFileSync(await dl.path(), 'utf8');
}

test('MiniLM folder via pick-dir: 104 rows, 37 quantized, 67 kept', async () => {
  const t0 = Date.now();
  const st = await analyse(page, 'pick-dir', miniLM);
  const wall = Date.now() - t0;
  assert.equal(st, 'done', await text(page, 'error'));
  assert.equal(await rowCount(page), 104);
  assert.equal(await text(page, 'count-quantized'), '37');
  assert.equal(await text(page, 'count-kept'), '67');
  const run = await page.evaluate(() => window.__quantlens.lastRun);
  console.log(`  MiniLM: input to all rows ${run.ms.toFixed(0)} ms in the page (${wall} ms as seen by the test), `
    + `${(run.modelBytes / 1e6).toFixed(1)} MB of tensors at ${(run.modelBytesPerSec / 1e6).toFixed(0)} MB/s by ${run.workers} workers`);
  // the folder's other files are listed as ignored, config is recognised
  assert.match(await page.textContent('#ignored-summary'), /ignored/);
  assert.match(await text(page, 'config'), /BertModel/);
  assert.match(await text(page, 'metadata'), /format/);
  assert.match(await page.textContent('[data-testid=findings]'), /pooler\.dense\.bias/);
});

test('exported JSON equals the CLI report (mse, rel_error, max_abs_error within 1e-6)', async () => {
  const web = JSON.parse(await download('export-json'));
  const cli = cliReport(miniLM);
  assert.deepEqual(Object.keys(web).sort(), Object.keys(cli).sort());
  for (const k of ['tensors', 'quantized_layers', 'kept_layers', 'params', 'bytes_before', 'bytes_after']) {
    assert.equal(web.summary[k], cli.summary[k], k);
  }
  close(web.summary.compression_ratio, cli.summary.compression_ratio, 'compression_ratio');
  assert.equal(web.layers.length, cli.layers.length);
  for (let i = 0; i < cli.layers.length; i++) {
    const a = web.layers[i];
    const b = cli.layers[i];
    assert.equal(a.name, b.name);
    assert.equal(a.action, b.action, a.name);
    assert.equal(a.reason, b.reason, a.name);
    assert.deepEqual(a.shape, b.shape, a.name);
    for (const k of ['mse', 'rel_error', 'max_abs_error', 'sqnr_db', 'cosine', 'min', 'max', 'mean', 'std']) {
      close(a[k], b[k], `${a.name} ${k}`);
    }
  }
  assert.deepEqual(web.summary.findings, cli.summary.findings);
  const csv = await download('export-csv');
  assert.equal(csv.trim().split('\n').length, 105, 'CSV: header + 104 rows');
  const md = await download('export-markdown');
  assert.match(md, /encoder\.layer\.0\.output\.dense\.weight/);
  fs.writeFileSync(path.join(artifacts, 'minilm-report.json'), JSON.stringify(web, null, 1));
});

test('table sorts by clicking headers and filters by name', async () => {
  await page.click('th[data-key=rel_error] button');
  const first = await page.locator('[data-testid=layer-row]').first().getAttribute('data-name');
  assert.equal(first, 'encoder.layer.0.output.dense.weight');
  await page.fill('[data-testid=filter]', 'attention.self.query.weight');
  assert.equal(await page.locator('[data-testid=layer-row]:visible').count(), 6);
  await page.fill('[data-testid=filter]', '');
  await page.click('th[data-key=index] button');
  assert.equal(await page.locator('[data-testid=layer-row]').first().getAttribute('data-name'), 'embeddings.position_ids');
});

test('selecting a layer draws its weight and error histograms', async () => {
  await revealRow(page, 'encoder.layer.5.output.dense.weight');
  await page.click('[data-testid=layer-row][data-name="encoder.layer.5.output.dense.weight"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=hist-error] rect').length === 64);
  assert.equal(await page.locator('[data-testid=hist-weights] rect').count(), 64);
  assert.equal(await text(page, 'detail-name'), 'encoder.layer.5.output.dense.weight');
  // README figure: rel_error 5.24 % for this layer
  assert.match(await page.textContent('#detail-facts'), /5\.24 %/);
});

test('screenshots in light and dark mode', async () => {
  await page.screenshot({ path: path.join(artifacts, 'minilm-light-full.png'), fullPage: true });
  await page.evaluate(() => { window.scrollTo(0, 0); document.querySelector('.table-wrap').scrollTop = 0; });
  await page.screenshot({ path: path.join(artifacts, 'minilm-light.png') });
  const dark = await openPage(browser, server.url, { colorScheme: 'dark' });
  assert.equal(await analyse(dark, 'pick-dir', miniLM), 'done');
  await revealRow(dark, 'encoder.layer.5.output.dense.weight');
  await dark.click('[data-testid=layer-row][data-name="encoder.layer.5.output.dense.weight"]');
  await dark.waitForFunction(() => document.querySelectorAll('[data-testid=hist-error] rect').length === 64);
  await dark.screenshot({ path: path.join(artifacts, 'minilm-dark-full.png'), fullPage: true });
  await dark.evaluate(() => { window.scrollTo(0, 0); document.querySelector('.table-wrap').scrollTop = 0; });
  await dark.screenshot({ path: path.join(artifacts, 'minilm-dark.png') });
  const docs = path.join(repoRoot, 'docs');
  if (process.env.QUANTLENS_UPDATE_SCREENSHOTS) {
    fs.mkdirSync(docs, { recursive: true });
    fs.copyFileSync(path.join(artifacts, 'minilm-light.png'), path.join(docs, 'screenshot-light.png'));
    fs.copyFileSync(path.join(artifacts, 'minilm-dark.png'), path.join(docs, 'screenshot-dark.png'));
  }
  // laptop width: no horizontal scrolling of the page itself
  await dark.setViewportSize({ width: 1280, height: 800 });
  const overflow = await dark.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at 1280px`);
  await dark.screenshot({ path: path.join(artifacts, 'minilm-dark-1280.png') });
  assert.deepEqual(dark.foreign, []);
  await dark.context().close();
});

test('scheme selector re-runs the model; compare shows both rel errors per layer', async () => {
  await page.selectOption('[data-testid=scheme]', 'int8-channel');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'running', null, { polling: 10 }).catch(() => {});
  assert.equal(await waitSettled(page), 'done');
  const web = JSON.parse(await download('export-json'));
  assert.equal(web.scheme, 'int8-channel');
  assert.equal(web.summary.quantized_layers, 37);
  await page.selectOption('[data-testid=compare]', 'affine4');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'running', null, { polling: 10 }).catch(() => {});
  assert.equal(await waitSettled(page), 'done');
  assert.match(await text(page, 'status'), /compared with affine 4-bit/);
  // the finished line, not the first (empty) progress drawn when the run began
  assert.match(await text(page, 'progress-text'), /^90\.9 MB compared with affine 4-bit g64 in \d+\.\d\d s · .+\/s · \d+ workers?$/);
  const row = page.locator('[data-testid=layer-row][data-name="encoder.layer.0.output.dense.weight"]');
  const cells = await row.locator('td').allTextContents();
  const ths = await page.locator('#layers-head th').allTextContents();
  const a = cells[ths.findIndex((t) => t.startsWith('Rel. error (int8 per channel'))];
  const b = cells[ths.findIndex((t) => t.startsWith('Rel. error (affine 4-bit'))];
  assert.match(a, /%/);
  assert.match(b, /%/);
  assert.notEqual(a, b);
  await page.screenshot({ path: path.join(artifacts, 'minilm-compare.png') });
  await page.selectOption('[data-testid=compare]', '');
  await page.selectOption('[data-testid=scheme]', 'int8-tensor');
  await waitSettled(page);
});

test('"Try a sample model" analyses the sample served with the page', async () => {
  await page.click('[data-testid=sample]');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state !== 'done', null, { polling: 10 }).catch(() => {});
  assert.equal(await waitSettled(page), 'done', await text(page, 'error'));
  assert.equal(await rowCount(page), 104);
  assert.equal(await text(page, 'count-quantized'), '37');
  assert.equal(await text(page, 'count-kept'), '67');
});

test('keyboard: rows are focusable and Enter selects a layer', async () => {
  await page.locator('[data-testid=layer-row]').nth(9).focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=detail-name]').textContent === 'encoder.layer.0.attention.self.key.weight');
});

test('no request left the page origin; no page errors', () => {
  assert.deepEqual(page.foreign, []);
  assert.deepEqual(page.errors, []);
});
