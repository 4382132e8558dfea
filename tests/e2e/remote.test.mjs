// Open by link, page side: models read from another origin by HTTP
// range requests (tests/e2e/range-server.mjs, a different port, so every
// read is cross-origin as in real life), the header-first structure view and
// what it costs, each failure mode's message, the share link, sha256= in the
// link, and compare by link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  startServer, launch, openPage, analyse, waitSettled, miniLM, text, tmpDir, genModels, goodModel, repoRoot, artifacts,
  confirmLink, untilConfirmed, rowCount,
} from './helpers.mjs';
import { startRangeServer } from './range-server.mjs';

const MINILM_SHA = '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db';
const SHARDS = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'];

let server; // the page (scripts/serve.mjs)
let srv; // the model host (range server, another origin)
let browser;
let tmp;
let bf16;
const local = {}; // reference reports of a local pick: {minilm, bf16: {report, ms}}
const figures = {};

before(async () => {
  tmp = tmpDir('remote');
  bf16 = path.join(tmp, 'bf16');
  genModels(['bf16-shards', miniLM, bf16, '--shards', '3']);
  genModels(['seeds-v2', miniLM, path.join(tmp, 'v2')]);
  fs.mkdirSync(path.join(tmp, 'small'));
  fs.writeFileSync(path.join(tmp, 'small', 'good.safetensors'), goodModel());
  fs.mkdirSync(path.join(tmp, 'nomodel'));
  fs.writeFileSync(path.join(tmp, 'nomodel', 'config.json'), '{"architectures": ["BertModel"]}');
  srv = await startRangeServer({
    mounts: { '/models/minilm/': miniLM, '/models/bf16/': bf16, '/models/': tmp },
    hub: { 'sentence-transformers/all-MiniLM-L6-v2': miniLM, 'org/bf16-shards': bf16, 'org/v2': path.join(tmp, 'v2') },
  });
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (Object.keys(figures).length) {
    fs.writeFileSync(path.join(artifacts, 'remote-figures.json'), JSON.stringify(figures, null, 1));
  }
});

// ---------------------------------------------------------------- helpers
const enc = encodeURIComponent;

/**
 * Opens the page at `#frag` in a fresh browser context, confirms the test
 * servers' loopback hosts, and waits for the run to settle.
 */
async function openLink(frag, { settle = true } = {}) {
  const page = await openPage(browser, `${server.url}#${frag}`);
  if (settle) await confirmLink(page);
  else await page.click('[data-testid=link-confirm]');
  return page;
}

/** Sets the fragment of an open page (a hashchange) and waits until `done` holds, confirming hosts. */
async function goTo(page, frag, done, arg) {
  await page.evaluate((f) => { location.hash = f; }, frag);
  await untilConfirmed(page, done, arg, { timeout: 60000 });
}

async function download(page, testid) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${testid}]`)]);
  return fs.readFileSync(await dl.path(), 'utf8');
}

async function expectDone(page) {
  const st = await page.getAttribute('[data-testid=status]', 'data-state');
  assert.equal(st, 'done', `status ${st}: ${await text(page, 'error')}`);
}

function close(a, b, what) {
  if (a == null || b == null) {
    assert.equal(a ?? null, b ?? null, what);
    return;
  }
  const scale = Math.max(Math.abs(a), Math.abs(b));
  assert.ok(scale === 0 || Math.abs(a - b) / scale <= 1e-9, `${what}: link ${a} vs local ${b}`);
}

/** The report of a link equals the report of a local pick, figure by figure. */
function sameReport(web, ref, what) {
  for (const k of ['tensors', 'quantized_layers', 'kept_layers', 'params', 'bytes_before', 'bytes_after']) {
    assert.equal(web.summary[k], ref.summary[k], `${what}: ${k}`);
  }
  assert.deepEqual(web.summary.findings, ref.summary.findings, `${what}: findings`);
  assert.deepEqual(web.files.map((f) => [f.name, f.bytes, f.tensors]), ref.files.map((f) => [f.name, f.bytes, f.tensors]), `${what}: files`);
  assert.equal(web.layers.length, ref.layers.length);
  for (let i = 0; i < ref.layers.length; i++) {
    const a = web.layers[i];
    const b = ref.layers[i];
    assert.equal(a.name, b.name);
    for (const k of ['action', 'reason', 'dtype']) assert.equal(a[k], b[k], `${what}: ${a.name} ${k}`);
    assert.deepEqual(a.shape, b.shape);
    for (const k of ['mse', 'rel_error', 'max_abs_error', 'sqnr_db', 'cosine', 'zero_frac', 'clip_frac', 'outlier_ratio', 'min', 'max', 'mean', 'std', 'err_p99']) {
      close(a[k], b[k], `${what}: ${a.name} ${k}`);
    }
  }
}

/** Every request that left the page went to the model host, nowhere else. */
function onlyModelHost(page) {
  const other = page.foreign.filter((u) => ![srv.origin, srv.cdnOrigin].includes(new URL(u).origin));
  assert.deepEqual(other, [], 'requests to a third origin');
}
/** Uncaught errors only: failed loads (404 probes, refused requests) are expected here. */
function noPageErrors(page) {
  assert.deepEqual(page.errors.filter((e) => !/Failed to load resource|CORS|net::ERR/.test(e)), []);
}

/** Bytes a shard's structure costs: the 8-byte prefix and the header. */
function headBytes(file) {
  const fd = fs.openSync(file, 'r');
  const b = Buffer.alloc(8);
  fs.readSync(fd, b, 0, 8, 0);
  fs.closeSync(fd);
  return 8 + Number(b.readBigUInt64LE(0));
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// ---------------------------------------------------------------- references
test('reference: MiniLM and the 3-shard bf16 copy picked as local folders', async () => {
  const page = await openPage(browser, server.url);
  for (const [key, dir] of [['minilm', miniLM], ['bf16', bf16]]) {
    assert.equal(await analyse(page, 'pick-dir', dir), 'done', await text(page, 'error'));
    assert.equal(await rowCount(page), 104);
    const run = await page.evaluate(() => window.__quantlens.lastRun);
    local[key] = { report: JSON.parse(await download(page, 'export-json')), ms: run.ms };
  }
  // A local analysis cannot be linked: the share control says so and offers the reports.
  await page.click('[data-testid=copy-link]');
  assert.equal(await page.isVisible('[data-testid=share-local-note]'), true);
  assert.equal(await page.isVisible('[data-testid=share-url]'), false);
  assert.match(await text(page, 'share-local-note'), /not online/);
  const md = await download(page, 'share-markdown');
  assert.match(md, /encoder\.layer\.0\.output\.dense\.weight/);
  const json = JSON.parse(await download(page, 'share-json'));
  assert.equal(json.layers.length, 104);
  assert.deepEqual(page.foreign, [], 'a local analysis makes no request beyond the page origin');
  noPageErrors(page);
  await page.context().close();
});

// ---------------------------------------------------------------- same rows by link
const MINILM_LINKS = () => [
  ['#url= file', `url=${srv.url('/models/minilm/model.safetensors')}`],
  ['#url= folder/', `url=${srv.url('/models/minilm/')}`],
  ['#hf=', `hf=sentence-transformers/all-MiniLM-L6-v2&hub=${enc(srv.hubBase())}`],
];
const BF16_LINKS = () => [
  ['#url= index', `url=${srv.url('/models/bf16/model.safetensors.index.json')}`],
  ['#url= folder/', `url=${srv.url('/models/bf16/')}`],
  ['#hf= (redirect to another host)', `hf=org/bf16-shards&hub=${enc(srv.hubBase(['xorigin']))}`],
];

for (const [key, links, files] of [['minilm', MINILM_LINKS, ['model.safetensors']], ['bf16', BF16_LINKS, SHARDS]]) {
  test(`${key} by link gives the same rows and figures as the local pick (file/index, folder/, hf)`, async () => {
    assert.ok(local[key], 'reference run');
    const dir = key === 'minilm' ? miniLM : bf16;
    const heads = files.reduce((a, f) => a + headBytes(path.join(dir, f)), 0);
    const size = files.reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
    for (const [what, frag] of links()) {
      srv.reset();
      const page = await openLink(frag);
      await expectDone(page);
      assert.equal(await rowCount(page), 104, what);
      assert.equal(await text(page, 'count-quantized'), '37');
      assert.equal(await text(page, 'count-kept'), '67');
      const web = JSON.parse(await download(page, 'export-json'));
      sameReport(web, local[key].report, `${key} ${what}`);
      const run = await page.evaluate(() => window.__quantlens.lastRun);
      // The structure view was drawn from the headers alone.
      assert.ok(run.headerView.fetched <= heads + 65536 * files.length, `${what}: header view fetched ${run.headerView.fetched} > ${heads} + 64 KiB per shard`);
      assert.ok(run.headerView.fetched >= heads, `${what}: the headers are ${heads} bytes`);
      // Bytes fetched are shown out of the total.
      assert.match(await text(page, 'progress-text'), /fetched of/);
      assert.equal(run.fileBytes, size);
      // every tensor byte came by range request: no 200 for a shard
      const shardAnswers = srv.log.filter((e) => e.path.endsWith('.safetensors') && e.method === 'GET' && e.status !== 302);
      assert.ok(shardAnswers.length > files.length * 2, 'range requests were made');
      assert.deepEqual(shardAnswers.filter((e) => e.status !== 206).map((e) => `${e.path} ${e.status}`), []);
      const sent = srv.bytesSent((e) => e.path.endsWith('.safetensors'));
      console.log(`  ${key} ${what}: ${(run.ms / 1000).toFixed(2)} s by link (local pick ${(local[key].ms / 1000).toFixed(2)} s); `
        + `header view ${run.headerView.fetched} B in ${run.headerView.ms.toFixed(0)} ms; ${(run.fetched / 1e6).toFixed(2)} MB fetched of ${(size / 1e6).toFixed(2)} MB `
        + `(server sent ${(sent / 1e6).toFixed(2)} MB of .safetensors in ${shardAnswers.length} responses)`);
      figures[`${key} ${what}`] = { linkMs: run.ms, localMs: local[key].ms, headerViewBytes: run.headerView.fetched, headerViewMs: run.headerView.ms, fetched: run.fetched, size, headerBytes: heads, serverSafetensorsBytes: sent, responses: shardAnswers.length };
      onlyModelHost(page);
      noPageErrors(page);
      await page.context().close();
    }
  });
}

// ---------------------------------------------------------------- header view
test('header view: structure from headers only (counted at the server), then the tensors on request', async () => {
  for (const [what, frag, prefix] of [
    ['3-shard #url= index', `url=${srv.url('/models/bf16/model.safetensors.index.json')}&view=header`, '/models/bf16/'],
    ['3-shard #hf=', `hf=org/bf16-shards&hub=${enc(srv.hubBase())}&view=header`, '/bf16-shards/'],
  ]) {
    srv.reset();
    const page = await openLink(frag, { settle: false });
    await page.waitForSelector('[data-testid=status][data-phase=header]', { timeout: 60000 });
    // the structure view: every tensor with dtype, shape, params; the policy's plan; files
    assert.equal(await rowCount(page), 104);
    assert.equal(await text(page, 'count-quantized'), '37');
    assert.equal(await text(page, 'count-kept'), '67');
    assert.match(await page.textContent('#kept-by-dtype'), /BF16/);
    assert.match(await page.textContent('#files'), /model-00003-of-00003\.safetensors/);
    const cells = await page.locator('[data-testid=layer-row][data-name="encoder.layer.0.output.dense.weight"] td').allTextContents();
    assert.ok(cells.includes('BF16') && cells.includes('384 × 1536') && cells.includes('quantize'), cells.join('|'));
    assert.equal(await page.isVisible('[data-testid=fetch-tensors]'), true);
    await page.click('[data-testid=copy-link]');
    assert.match(await page.inputValue('[data-testid=share-url]'), /&view=header$/, 'a link to the header view keeps it');
    // What the server sent so far: the headers (8-byte prefix + header per
    // shard), the index and config.json; no tensor data.
    const heads = SHARDS.reduce((a, f) => a + headBytes(path.join(bf16, f)), 0);
    const sent = srv.bytesSent((e) => e.path.includes(prefix));
    const dataRequests = srv.log.filter((e) => e.range && !/^bytes=(0-7|8-\d+)$/.test(e.range));
    assert.deepEqual(dataRequests.map((e) => `${e.path} ${e.range}`), [], 'no tensor data requested');
    assert.ok(sent <= heads + 65536 * SHARDS.length, `${what}: ${sent} bytes sent > headers ${heads} + 64 KiB per shard`);
    const shardHeadBytes = srv.bytesSent((e) => e.path.endsWith('.safetensors'));
    assert.equal(shardHeadBytes, heads, 'exactly the prefixes and headers of the shards');
    const pageCount = await page.evaluate(() => window.__quantlens.state.net.fetched);
    assert.equal(pageCount, sent, 'the page counts what the server sent');
    assert.match(await text(page, 'progress-text'), /fetched of 45\.\d MB/);
    console.log(`  header view, ${what}: ${sent} bytes from the server (headers ${heads} B + index + config), ${srv.log.length} requests`);
    figures[`header view ${what}`] = { serverBytes: sent, headerBytes: heads, requests: srv.log.length };
    await page.click('[data-testid=fetch-tensors]');
    assert.equal(await waitSettled(page, 180000), 'done', await text(page, 'error'));
    const web = JSON.parse(await download(page, 'export-json'));
    sameReport(web, local.bf16.report, what);
    onlyModelHost(page);
    await page.context().close();
  }
});

// ---------------------------------------------------------------- failures
const FAILURES = () => [
  ['server ignores Range (90.9 MB: no offer)', `url=${srv.url('/models/minilm/model.safetensors', ['norange'])}`, /model\.safetensors: the server ignores Range requests .*90\.9 MB.*64\.0 MB or more are not opened/s],
  ['CORS refused', `url=${srv.url('/models/minilm/model.safetensors', ['nocors'])}`, /model\.safetensors: could not read http.*does not allow cross-origin reads/s],
  ['404', `url=${srv.url('/models/minilm/missing.safetensors')}`, /missing\.safetensors: not found \(HTTP 404\)/],
  ['404 on the Hub', `hf=org/no-such-model&hub=${enc(srv.hubBase())}`, /Nothing to open at .*org\/no-such-model\/resolve\/main\/.*\(HTTP 404\)/s],
  ['401 (gated)', `hf=sentence-transformers/all-MiniLM-L6-v2&hub=${enc(srv.hubBase(['401']))}`, /access denied \(HTTP 401\).*gated or private/s],
  ['403 (gated)', `url=${srv.url('/models/minilm/model.safetensors', ['403'])}`, /model\.safetensors: access denied \(HTTP 403\).*gated or private/s],
  ['Content-Range start disagrees with the request', `url=${srv.url('/models/minilm/model.safetensors', ['badstart'])}`, /model\.safetensors: asked for bytes 0-7 but Content-Range says "bytes 16-23\/90868376"/],
  ['Content-Range total disagrees with the header', `url=${srv.url('/models/minilm/model.safetensors', ['badtotal'])}`, /model\.safetensors: data section is 90861056 bytes, header declares only 90856960.*Content-Range.*disagrees with the file's header/s],
  ['truncated inside the header', `url=${srv.url('/models/minilm/model.safetensors', ['truncate=5000'])}`, /model\.safetensors: header length \d+ runs past the end of the 5000-byte file.*Content-Range/s],
  ['truncated data', `url=${srv.url('/models/bf16/', ['truncate=20000000'])}`, /model-00001-of-00003\.safetensors: truncated: data section is .*Content-Range/s],
  ['a folder without safetensors', `url=${srv.url('/models/nomodel/')}`, /has a config\.json but neither model\.safetensors\.index\.json nor model\.safetensors/],
  ['not an https address', 'url=http://example.com/model.safetensors', /only https:\/\/ addresses can be opened/],
  ['not a Hub id', 'hf=not/a/model', /"not\/a\/model" is not a Hub model id/],
];

test('each failure mode shows its specific message, and the page stays usable', async () => {
  for (const [what, frag, re] of FAILURES()) {
    const page = await openLink(frag);
    assert.equal(await page.getAttribute('[data-testid=status]', 'data-state'), 'error', what);
    assert.equal(await page.isVisible('[data-testid=error]'), true);
    const msg = await text(page, 'error');
    assert.match(msg, re, what);
    console.log(`  ${what}: ${msg.split('\n')[0].slice(0, 150)}`);
    if (what === 'not an https address') assert.deepEqual(page.foreign, [], 'nothing was requested');
    // usable afterwards: a good link through the address bar (hashchange)
    await goTo(page, `url=${srv.url('/models/small/good.safetensors')}`, () => document.querySelectorAll('[data-testid=layer-row]').length === 4
      && document.querySelector('[data-testid=status]').dataset.state === 'done');
    assert.equal(await page.isHidden('[data-testid=error]'), true);
    onlyModelHost(page);
    noPageErrors(page);
    await page.context().close();
  }
});

test('an address typed into the link field opens the model and becomes the page fragment', async () => {
  const page = await openPage(browser, server.url);
  const url = srv.url('/models/small/good.safetensors');
  await page.fill('[data-testid=link-input]', url);
  await page.click('[data-testid=link-open]');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'done'
    && document.querySelectorAll('[data-testid=layer-row]').length === 4, null, { timeout: 60000 });
  assert.equal(new URLSearchParams((await page.evaluate(() => location.hash)).slice(1)).get('url'), url);
  assert.match(await page.textContent('#source-line'), /good\.safetensors/);
  // a local pick afterwards drops the fragment: the address no longer claims the link
  assert.equal(await analyse(page, 'pick-dir', path.join(tmp, 'small')), 'done');
  assert.equal(await page.evaluate(() => location.hash), '');
  await page.context().close();
});

test('a small file on a server without Range: offered, then read whole with a warning', async () => {
  const page = await openLink(`url=${srv.url('/models/small/good.safetensors', ['norange'])}`);
  assert.equal(await page.getAttribute('[data-testid=status]', 'data-state'), 'error');
  assert.match(await text(page, 'error'), /good\.safetensors: the server ignores Range requests.*small enough to download whole/s);
  assert.equal(await page.isVisible('[data-testid=continue-full]'), true);
  await page.click('[data-testid=continue-full]');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'done', null, { timeout: 60000 });
  assert.equal(await page.locator('[data-testid=layer-row]').count(), 4);
  assert.match(await page.textContent('#files'), /downloaded whole/);
  await page.context().close();
});

test('a Content-Range the page cannot read (not exposed by CORS) is named', async () => {
  const page = await openPage(browser, server.url);
  await page.route((u) => u.origin === srv.origin, async (route) => {
    const resp = await route.fetch();
    const headers = { ...resp.headers() };
    delete headers['access-control-expose-headers'];
    await route.fulfill({ response: resp, headers });
  });
  await goTo(page, `url=${srv.url('/models/minilm/model.safetensors')}`, () => document.querySelector('[data-testid=status]').dataset.state === 'error'
    && !document.querySelector('[data-testid=link-confirm]'));
  assert.match(await text(page, 'error'), /model\.safetensors: the server answered the range request for bytes 0-7 without a readable Content-Range header.*Access-Control-Expose-Headers/s);
  await page.context().close();
});

test('a tensor read that fails mid-stream names the file, the bytes and the address', async () => {
  const page = await openPage(browser, server.url);
  // headers pass; the first request for tensor data is cut off
  const modelHost = (u) => u.origin === srv.origin;
  await page.route(modelHost, async (route) => {
    const range = route.request().headers().range ?? '';
    if (range && !/^bytes=(0-7|8-\d+)$/.test(range)) await route.abort('connectionreset');
    else await route.continue();
  });
  await goTo(page, `url=${srv.url('/models/minilm/model.safetensors')}`, () => document.querySelector('[data-testid=status]').dataset.state === 'error'
    && !document.querySelector('[data-testid=link-confirm]'))
    .catch(async (e) => { throw new Error(`${e.message}: ${await text(page, 'status')} / ${await text(page, 'error')}`); });
  assert.match(await text(page, 'error'), /model\.safetensors.*the range request for bytes \d+-\d+ of http:\/\/127\.0\.0\.1:\d+\/models\/minilm\/model\.safetensors failed/s);
  assert.equal(await rowCount(page), 104, 'the structure view stays');
  await page.unroute(modelHost);
  await goTo(page, `url=${srv.url('/models/small/good.safetensors')}`, () => document.querySelector('[data-testid=status]').dataset.state === 'done'
    && document.querySelectorAll('[data-testid=layer-row]').length === 4);
  await page.context().close();
});

// ---------------------------------------------------------------- share
test('Copy link reproduces scheme, policy, filter, selected layer and thresholds in a fresh browser context', async () => {
  const page = await openLink(`url=${srv.url('/models/minilm/')}`);
  await expectDone(page);
  await page.selectOption('[data-testid=scheme]', 'int8-channel');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'running', null, { polling: 10 }).catch(() => {});
  assert.equal(await waitSettled(page), 'done');
  await page.fill('[data-testid=thr-warn]', '2');
  await page.fill('[data-testid=thr-bad]', '10');
  await page.fill('[data-testid=filter]', 'output.dense');
  await page.click('[data-testid=layer-row][data-name="encoder.layer.3.output.dense.weight"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=detail-name]').textContent === 'encoder.layer.3.output.dense.weight');
  await page.click('[data-testid=copy-link]');
  assert.equal(await page.isVisible('[data-testid=share-url]'), true);
  const link = await page.inputValue('[data-testid=share-url]');
  console.log(`  share link: ${link}`);
  assert.ok(link.startsWith(server.url), link);
  for (const part of ['scheme=int8-channel', 'filter=output.dense', 'layer=encoder.layer.3.output.dense.weight', 'warn=2', 'bad=10', 'url=']) {
    assert.ok(link.includes(part), `${part} in ${link}`);
  }
  const view = (p) => p.evaluate(() => ({
    scheme: document.querySelector('[data-testid=scheme]').value,
    policy: document.querySelector('[data-testid=policy]').value,
    filter: document.querySelector('[data-testid=filter]').value,
    warn: document.querySelector('[data-testid=thr-warn]').value,
    bad: document.querySelector('[data-testid=thr-bad]').value,
    detail: document.querySelector('[data-testid=detail-name]').textContent,
    rows: [...document.querySelectorAll('[data-testid=layer-row]')].filter((r) => !r.hidden)
      .map((r) => [r.dataset.name, r.className, [...r.children].map((td) => td.textContent).join('|')]),
  }));
  const a = await view(page);
  assert.equal(a.rows.length, 24, 'attention.output.dense and output.dense, weight and bias, 6 layers');
  assert.ok(a.rows.some((r) => r[1].includes('selected')));
  const fresh = await openPage(browser, link);
  assert.equal(await confirmLink(fresh), 'done', await text(fresh, 'error'));
  await fresh.waitForFunction(() => document.querySelector('[data-testid=detail-name]').textContent === 'encoder.layer.3.output.dense.weight');
  const b = await view(fresh);
  assert.deepEqual(b, a);
  // with the default 1 %/5 % thresholds, some row would be coloured differently
  await fresh.fill('[data-testid=thr-warn]', '1');
  await fresh.fill('[data-testid=thr-bad]', '5');
  const c = await view(fresh);
  assert.notDeepEqual(c.rows.map((r) => r[1]), a.rows.map((r) => r[1]));
  await fresh.screenshot({ path: path.join(artifacts, 'remote-shared-view.png') });
  // Editing the fragment of the same model changes the view without reopening it.
  srv.reset();
  await fresh.evaluate((h) => { location.hash = h; }, link.split('#')[1].replace('layer=encoder.layer.3.', 'layer=encoder.layer.4.').replace('filter=output.dense', 'filter=layer.4.'));
  await fresh.waitForFunction(() => document.querySelector('[data-testid=detail-name]').textContent === 'encoder.layer.4.output.dense.weight');
  assert.equal(await fresh.locator('[data-testid=layer-row]:visible').count(), 16);
  assert.equal(await fresh.getAttribute('[data-testid=status]', 'data-state'), 'done');
  assert.deepEqual(srv.log.filter((e) => e.range === 'bytes=0-7' || e.path.endsWith('.json')).map((e) => e.path), [], 'no header re-read');
  onlyModelHost(fresh);
  noPageErrors(fresh);
  await fresh.context().close();
  await page.context().close();
});

// ---------------------------------------------------------------- sha256
test('sha256= in the link: a right digest passes, a wrong one is flagged with both digests', async () => {
  const right = await openLink(`url=${srv.url('/models/minilm/model.safetensors')}&sha256=model.safetensors:${MINILM_SHA}`);
  await expectDone(right);
  await right.waitForSelector('[data-testid=sha-result][data-state=ok]', { timeout: 120000 });
  assert.match(await text(right, 'sha-result'), /every file matches.*90\.\d MB fetched to hash 1 file/s);
  await right.context().close();

  const s2 = sha256(path.join(bf16, SHARDS[1]));
  const actual = sha256(path.join(bf16, SHARDS[2]));
  const wrong = `${actual[0] === 'f' ? '0' : 'f'}${actual.slice(1)}`;
  srv.reset();
  const page = await openLink(`url=${srv.url('/models/bf16/model.safetensors.index.json')}&sha256=${SHARDS[1]}:${s2},${SHARDS[2]}:${wrong}`);
  await expectDone(page);
  await page.waitForSelector('[data-testid=sha-result][data-state=mismatch]', { timeout: 120000 });
  const box = await text(page, 'sha-result');
  assert.match(box, /MISMATCH/);
  const items = await page.$$eval('[data-testid=sha-result] li', (ls) => ls.map((l) => [l.dataset.file, l.dataset.state, l.textContent]));
  assert.equal(items[0][0], SHARDS[1]);
  assert.equal(items[0][1], 'ok');
  assert.equal(items[1][0], SHARDS[2]);
  assert.equal(items[1][1], 'mismatch');
  assert.ok(items[1][2].includes(wrong) && items[1][2].includes(actual), items[1][2]);
  assert.match(box, /fetched for hashing/);
  // a finding of the report too, as the CLI's inspect --sha256 words it
  assert.match(await text(page, 'findings'), new RegExp(`${SHARDS[2]} has SHA-256 ${actual}, but ${wrong} was expected`));
  const web = JSON.parse(await download(page, 'export-json'));
  const codes = web.summary.findings.filter((f) => f.code.startsWith('sha256')).map((f) => [f.code, f.severity, f.file]);
  assert.deepEqual(codes, [['sha256_verified', 'info', SHARDS[1]], ['sha256_mismatch', 'error', SHARDS[2]]]);
  await page.context().close();
});

// ---------------------------------------------------------------- compare by link
test('against= runs the converted-versus-original verification by link', async () => {
  const page = await openPage(browser, `${server.url}#url=${srv.url('/models/v2/')}&against=${srv.url('/models/minilm/')}`);
  await page.waitForURL(/compare\.html#/);
  await page.waitForFunction(() => window.__quantlens?.net !== undefined);
  await confirmLink(page, { states: ['done', 'error'] });
  assert.equal(await page.getAttribute('[data-testid=status]', 'data-state'), 'done', await text(page, 'error'));
  assert.equal(await page.locator('[data-testid=verify-row]').count(), 104);
  const report = await page.evaluate(() => window.__quantlens.report());
  const errors = report.summary.findings.filter((f) => f.severity === 'error');
  assert.deepEqual(errors, []);
  assert.ok(report.summary.compression_ratio > 1.5, String(report.summary.compression_ratio));
  // the same figures as the CLI's verify of the same two folders
  const bin = path.join(repoRoot, 'target/release/quantlens');
  if (!fs.existsSync(bin)) execFileSync('cargo', ['build', '--release'], { cwd: repoRoot, stdio: 'inherit' });
  let cli;
  try {
    cli = JSON.parse(execFileSync(bin, ['verify', miniLM, path.join(tmp, 'v2'), '--json'], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString());
  } catch (e) {
    cli = JSON.parse(e.stdout.toString());
  }
  assert.equal(report.layers.length, cli.layers.length);
  for (let i = 0; i < cli.layers.length; i++) {
    assert.equal(report.layers[i].name, cli.layers[i].name);
    close(report.layers[i].rel_error, cli.layers[i].rel_error, `${cli.layers[i].name} rel_error`);
  }
  assert.match(await text(page, 'progress-text'), /fetched of/);
  onlyModelHost(page);

  // Hub ids on both sides; SHA-256 of a linked file through range requests
  const hub = await openPage(browser, `${server.url}compare.html#hf=org/v2&against-hf=sentence-transformers/all-MiniLM-L6-v2&hub=${enc(srv.hubBase())}`);
  await confirmLink(hub, { states: ['done', 'error'] });
  assert.equal(await hub.getAttribute('[data-testid=status]', 'data-state'), 'done', await text(hub, 'error'));
  assert.equal(await hub.locator('[data-testid=verify-row]').count(), 104);
  await hub.fill('[data-testid=sha-expected]', `${MINILM_SHA}  model.safetensors`);
  await hub.click('[data-testid=sha-run]');
  await hub.waitForFunction(() => document.querySelector('[data-testid=sha-status]').dataset.state === 'done', null, { timeout: 120000 });
  assert.equal(await hub.getAttribute('[data-testid=sha-row][data-side=original][data-file="model.safetensors"]', 'data-state'), 'ok');
  assert.equal(await hub.getAttribute('[data-testid=sha-row][data-side=converted][data-file="model.safetensors"]', 'data-state'), 'mismatch');
  onlyModelHost(hub);
  await hub.context().close();
  await page.context().close();
});
