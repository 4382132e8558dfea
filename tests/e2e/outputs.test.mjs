// The Outputs panel on the real models: the page's figures against the torch
// references (reference.json, within the issues' tolerances) and against the
// native CLI's `outputs --json` (the same code: equal to 1e-6), pairs and
// labels, decoders' next-token figures and token strips, exports, Cancel,
// an error naming the missing file, the compare page against a converted
// folder, and a `#url=…&outputs=1` link streamed by Range.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  startServer, launch, openPage, analyse, miniLM, text, repoRoot, artifacts, tmpDir, confirmLink,
} from './helpers.mjs';
import { startRangeServer } from './range-server.mjs';

const models = path.resolve(repoRoot, '../shared/models');
const bin = path.join(repoRoot, 'target/release/quantlens');
let server;
let browser;
let tmp;
const timings = {};

before(async () => {
  if (!fs.existsSync(bin)) execFileSync('cargo', ['build', '--release'], { cwd: repoRoot, stdio: 'inherit' });
  tmp = tmpDir('outputs');
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (Object.keys(timings).length) fs.writeFileSync(path.join(artifacts, 'outputs-timings.json'), JSON.stringify(timings, null, 1));
});

const reference = (m) => JSON.parse(fs.readFileSync(path.join(models, m, 'reference/reference.json'), 'utf8'));
const inputsOf = (m) => fs.readFileSync(path.join(models, m, 'reference/inputs.txt'), 'utf8');

/** The CLI's `outputs` object for the model folder (and converted folder). */
function cliOutputs(dir, textFile, converted) {
  const args = ['outputs', dir, ...(converted ? [converted] : []), '--text', textFile, '--json', '--quiet'];
  return JSON.parse(execFileSync(bin, args, { maxBuffer: 64 << 20 }).toString()).outputs;
}

/** Within `rel` relative to the reference (or `abs` absolute). */
function close(got, want, rel, what, abs = 0) {
  assert.ok(Math.abs(got - want) <= Math.max(rel * Math.abs(want), abs), `${what}: page ${got}, reference ${want}`);
}

/**
 * Every number in a and b equal to 1e-6 relative, every other value equal:
 * the same code, but candle's f32 matrix products sum in another order
 * with wasm simd128 than with native AVX, which moves figures by about
 * 1e-8 relative. KL divergences and Δp are differences of nearly equal
 * sums, which turns that into up to a few 1e-6: they get 1e-4 relative and
 * 1e-8 absolute (the torch reference allows 5 % and 2 %).
 */
function same(a, b, where = 'outputs') {
  if (typeof a === 'number' && typeof b === 'number') {
    const diff = /kld|delta_p/.test(where);
    const slack = (diff ? 1e-4 : 1e-6) * Math.max(Math.abs(a), Math.abs(b)) + (diff ? 1e-8 : 0);
    assert.ok(Math.abs(a - b) <= slack, `${where}: page ${a} vs CLI ${b}`);
  } else if (a && typeof a === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${where}: keys`);
    for (const k of Object.keys(a)) same(a[k], b[k], `${where}.${k}`);
  } else {
    assert.equal(a, b, where);
  }
}

/** Types `inputs` into the panel, runs the check and waits; returns {state, result}. */
async function runPanel(page, inputs, { timeout = 240000 } = {}) {
  await page.fill('[data-testid=outputs-text]', inputs);
  await page.click('[data-testid=outputs-run]');
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid=outputs-status]').dataset.state;
    return s === 'done' || s === 'error';
  }, null, { timeout, polling: 50 });
  const state = await page.getAttribute('[data-testid=outputs-status]', 'data-state');
  return { state, result: await page.evaluate(() => window.__quantlens.outputs?.result ?? null) };
}

function checkLayers(got, want) {
  assert.equal(got.length, want.length);
  for (const [i, w] of want.entries()) {
    assert.equal(got[i].layer, w.layer);
    close(got[i].rel_error, w.rel_error, 0.02, `layer ${i} rel_error`, 1e-7);
    close(got[i].cosine, w.cosine, 0.02, `layer ${i} cosine`);
    if (w.alone_rel_error != null) close(got[i].alone_rel_error, w.alone_rel_error, 0.02, `layer ${i} alone`, 1e-7);
  }
}

test('MiniLM, 24 inputs, int8 per tensor: the page equals reference.json and the CLI; exports carry the outputs', async () => {
  const page = await openPage(browser, server.url);
  assert.equal(await analyse(page, 'pick-dir', miniLM), 'done', await text(page, 'error'));
  const textFile = path.join(models, 'all-MiniLM-L6-v2/reference/inputs.txt');
  const { state, result } = await runPanel(page, inputsOf('all-MiniLM-L6-v2'));
  assert.equal(state, 'done', await text(page, 'outputs-status'));
  const r = result.report;
  const ref = reference('all-MiniLM-L6-v2');
  checkLayers(r.layers, ref.layers);
  close(r.embedding.cosine_mean, ref.embedding.cosine_mean, 0.02, 'cosine_mean');
  close(r.embedding.cosine_min, ref.embedding.cosine_min, 0.02, 'cosine_min');
  assert.equal(r.embedding.neighbours_same, ref.embedding.neighbours_same);
  r.embedding.per_input.forEach((p, i) => close(p.cosine, ref.embedding.per_input[i], 0, `input ${i} cosine`, 1e-4));
  same(r, cliOutputs(miniLM, textFile));
  // the panel shows what the report says
  assert.equal(Number(await page.getAttribute('[data-testid=outputs-cosine-mean]', 'data-value')), r.embedding.cosine_mean);
  assert.equal(await page.locator('[data-testid=outputs-layer-row]').count(), 7);
  assert.equal(await page.getAttribute('[data-testid=outputs-layer-row] >> nth=6', 'data-layer'), '6');
  assert.equal(await page.locator('[data-testid=outputs-input]').count(), 24);
  // sortable: ascending cosine puts the lowest first
  await page.click('[data-testid=outputs-sort-cosine] button');
  const worst = r.embedding.per_input.reduce((a, p, i) => (p.cosine < r.embedding.per_input[a].cosine ? i : a), 0);
  assert.equal(await page.getAttribute('[data-testid=outputs-input] >> nth=0', 'data-index'), String(worst));
  // exports: the JSON's `outputs` is the CLI's object, CSV and Markdown carry the section
  const download = async (id) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${id}]`)]);
    return fs.readFileSync(await dl.path(), 'utf8');
  };
  same(JSON.parse(await download('export-json')).outputs, r);
  assert.match(await download('export-csv'), /^kind,index,rel_error,cosine,alone_rel_error,text/m);
  assert.match(await download('export-markdown'), /^## Outputs$/m);
  timings.minilm = { clickToFiguresMs: result.ms, wasmHighWaterBytes: result.wasmHighWater };
  console.log(`  MiniLM outputs: ${result.ms.toFixed(0)} ms click to figures, wasm high-water ${(result.wasmHighWater / 2 ** 20).toFixed(0)} MiB`);
  // the README's picture of the panel (docs/screenshot-outputs.png is a copy)
  await page.locator('[data-testid=outputs-panel]').screenshot({ path: path.join(artifacts, 'screenshot-outputs.png') });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('tiny-distilbert-nli: pairs, labels and agreement as reference.json', async () => {
  const page = await openPage(browser, server.url);
  const dir = path.join(models, 'tiny-distilbert-nli');
  assert.equal(await analyse(page, 'pick-dir', dir), 'done', await text(page, 'error'));
  const { state, result } = await runPanel(page, inputsOf('tiny-distilbert-nli'));
  assert.equal(state, 'done', await text(page, 'outputs-status'));
  const r = result.report;
  const ref = reference('tiny-distilbert-nli');
  checkLayers(r.layers, ref.layers);
  const c = r.classification;
  assert.equal(c.agreement, ref.classification.agreement);
  assert.deepEqual(c.per_input.map((p) => p.label), ref.classification.labels);
  assert.deepEqual(c.per_input.map((p) => p.label_quantized), ref.classification.labels_quantized);
  close(c.kld_mean, ref.classification.kld_mean, 0.05, 'kld_mean');
  close(c.kld_max, ref.classification.kld_max, 0.05, 'kld_max');
  assert.equal(await page.getAttribute('[data-testid=outputs-agreement]', 'data-value'), String(ref.classification.agreement));
  // the pair's two texts, drawn as text
  assert.match(await page.textContent('[data-testid=outputs-input] >> nth=0'), / ⇥ /);
  same(r, cliOutputs(dir, path.join(dir, 'reference/inputs.txt')));
  await page.context().close();
});

for (const m of ['tiny-llama', 'tiny-qwen2']) {
  test(`${m}: next-token figures as reference.json, the KLD histogram and token strips`, async () => {
    const page = await openPage(browser, server.url);
    const dir = path.join(models, m);
    assert.equal(await analyse(page, 'pick-dir', dir), 'done', await text(page, 'error'));
    const { state, result } = await runPanel(page, inputsOf(m));
    assert.equal(state, 'done', await text(page, 'outputs-status'));
    const r = result.report;
    const ref = reference(m);
    checkLayers(r.layers, ref.layers);
    assert.equal(r.tokens, ref.tokens);
    for (const k of ['kld_mean', 'kld_median', 'kld_p99', 'kld_max']) close(r.next_token[k], ref.next_token[k], 0.05, k);
    close(r.next_token.rms_delta_p, ref.next_token.rms_delta_p, 0.02, 'rms_delta_p');
    const slack = Math.max(2, 0.005 * r.tokens);
    assert.ok(Math.abs(r.next_token.same_top - ref.next_token.same_top) <= slack, `same_top ${r.next_token.same_top} vs ${ref.next_token.same_top}`);
    same(r, cliOutputs(dir, path.join(dir, 'reference/inputs.txt')));
    // one coloured token per position, drawn as the text it covers
    assert.equal(await page.locator('[data-testid=outputs-tokens] .tok').count(), r.tokens);
    assert.ok(await page.locator('[data-testid=outputs-kld-hist] rect').count() > 0);
    // the histogram counts every position, as the cards and reference.json do
    const cards = (await text(page, 'outputs-same-top')).split('/')[1];
    assert.equal(Number(cards), ref.tokens);
    assert.equal(Number(await page.getAttribute('[data-testid=outputs-kld-hist-count]', 'data-value')), ref.tokens);
    assert.match(await text(page, 'outputs-kld-hist-count'), new RegExp(`^${ref.tokens} positions`));
    const bars = await page.$$eval('[data-testid=outputs-kld-hist] rect', (rs) => rs.map((r) => Number(r.dataset.count)));
    assert.equal(bars.reduce((a, b) => a + b, 0), ref.tokens);
    // the key to the strips' colours: four bands of the run's p99, and as
    // many red tokens as positions at ¾ of p99 or more
    const p99 = r.next_token.kld_p99;
    assert.equal(await page.locator('[data-testid=outputs-kld-legend] tr').count(), 4);
    const red = await page.locator('[data-testid=outputs-tokens] .tok.b3, [data-testid=outputs-tokens] .tok.b4').count();
    assert.equal(red, r.per_input.flatMap((p) => p.kld).filter((k) => k >= 0.75 * p99).length);
    assert.ok(red > 0 && red < r.tokens, `${red} red tokens of ${r.tokens}`);
    // each input's strips, joined, read as the input (special tokens aside)
    const lines = inputsOf(m).split('\n').filter((l) => l.trim());
    const strips = await page.$$eval('[data-testid=outputs-tokens]', (ss) => ss.map((s) => [...s.querySelectorAll('.tok')].map((t) => t.textContent)));
    assert.equal(strips.length, lines.length);
    strips.forEach((s, i) => assert.equal(s.filter((t) => t !== '<s>' && !/^<\|.*\|>$/.test(t)).join(''), lines[i]));
    assert.equal(r.per_input[0].token_strings.length, r.per_input[0].tokens);
    if (m === 'tiny-llama') await page.locator('[data-testid=outputs-panel]').screenshot({ path: path.join(artifacts, 'screenshot-outputs-decoder.png') });
    await page.context().close();
  });
}

test('Cancel stops the run; a folder without tokenizer.json is an error naming it', async () => {
  const page = await openPage(browser, server.url);
  assert.equal(await analyse(page, 'pick-dir', miniLM), 'done', await text(page, 'error'));
  await page.click('[data-testid=outputs-run]');
  await page.waitForFunction(() => document.querySelector('[data-testid=outputs-status]').dataset.state === 'running');
  await page.click('[data-testid=outputs-cancel]');
  assert.equal(await page.getAttribute('[data-testid=outputs-status]', 'data-state'), 'idle');
  assert.match(await text(page, 'outputs-status'), /Cancelled/);
  await page.context().close();

  const bare = path.join(tmp, 'no-tokenizer');
  fs.mkdirSync(bare);
  for (const f of ['model.safetensors', 'config.json']) fs.copyFileSync(path.join(miniLM, f), path.join(bare, f));
  const p2 = await openPage(browser, server.url);
  assert.equal(await analyse(p2, 'pick-dir', bare), 'done', await text(p2, 'error'));
  const { state } = await runPanel(p2, '');
  assert.equal(state, 'error');
  assert.match(await text(p2, 'outputs-status'), /tokenizer\.json/);
  await p2.context().close();
});

test('compare page: the original against a converted int8 folder equals the CLI', async () => {
  const conv = path.join(tmp, 'minilm-int8');
  execFileSync(bin, ['convert', '--format', 'int8', '--quiet', miniLM, conv], { stdio: 'ignore' });
  const page = await openPage(browser, `${server.url}compare.html`);
  await page.setInputFiles('[data-testid=pick-original]', miniLM);
  await page.setInputFiles('[data-testid=pick-converted]', conv);
  await page.waitForFunction(() => !document.querySelector('[data-testid=compare]').disabled);
  const textFile = path.join(models, 'all-MiniLM-L6-v2/reference/inputs.txt');
  const { state, result } = await runPanel(page, inputsOf('all-MiniLM-L6-v2'));
  assert.equal(state, 'done', await text(page, 'outputs-status'));
  same(result.report, cliOutputs(miniLM, textFile, conv));
  assert.match(result.report.quantized, /converted/);
  await page.context().close();
});

test('#url=…&outputs=1 runs the check after the analysis, streamed by Range', async () => {
  const srv = await startRangeServer({ mounts: { '/models/minilm/': miniLM } });
  try {
    const page = await openPage(browser, `${server.url}#url=${srv.url('/models/minilm/')}&outputs=1`);
    assert.equal(await confirmLink(page), 'done', await text(page, 'error'));
    await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('[data-testid=outputs-status]').dataset.state), null, { timeout: 240000 });
    assert.equal(await page.getAttribute('[data-testid=outputs-status]', 'data-state'), 'done', await text(page, 'outputs-status'));
    const r = await page.evaluate(() => window.__quantlens.outputs.result.report);
    const builtin = path.join(tmp, 'builtin.txt');
    fs.writeFileSync(builtin, r.embedding.per_input.map((p) => p.text).join('\n'));
    same(r, cliOutputs(miniLM, builtin));
    // every tensor byte came by Range requests, none of the whole file
    const whole = srv.log.filter((e) => e.path.endsWith('model.safetensors') && !e.range);
    assert.deepEqual(whole, []);
    await page.context().close();
  } finally {
    await srv.close();
  }
});
