// Every byte the page reads of a linked model is streamed and stopped at
// the length asked for (Chromium): a server that answers a tensor read, a
// push-fed tensor over the read budget, a histogram read, a SHA-256 read or
// a compare-page read with (a) 200 and an endless body, (b) 206 without
// Content-Range and an endless body, or (c) 206 with more bytes than asked
// gets a clear error naming the file and the address within 10 s, and the
// server gets to send no more than the range asked for plus what the
// network buffers. Also: each tensor is read once (per-tensor int8 under
// the budget; per-channel and affine over it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, launch, openPage, confirmLink, text, tmpDir, safetensors, weights,
} from './helpers.mjs';
import { startRangeServer } from './range-server.mjs';

// An "endless" body: far more than a worker could hold in 10 s.
const ENDLESS = 4_000_000_000;
// What the network and the browser may buffer past a stopped transfer.
const SLACK = 48 << 20;
const LIES = ['200', 'nocr', 'wide'];
// The first window of a tensor the page used to read asynchronously.
const WINDOW = 32 << 20;
let server; // the page
let srv; // the model host
let browser;
let tmp;
let big; // {name, start, length, size} of the tensor over the old 32 MiB window
let file; // the model's bytes

before(async () => {
  tmp = tmpDir('streamcap');
  fs.mkdirSync(path.join(tmp, 'm'));
  fs.mkdirSync(path.join(tmp, 'c'));
  const small = weights(64 * 64, 3);
  // 2304 x 4000 f32: 36.9 MB, over the 32 MiB read-ahead window of old.
  const bigW = weights(2304 * 4000, 5, 0.05);
  file = safetensors([
    { name: 'small.weight', dtype: 'F32', shape: [64, 64], data: small },
    { name: 'big.weight', dtype: 'F32', shape: [2304, 4000], data: bigW },
  ], { format: 'pt' });
  fs.writeFileSync(path.join(tmp, 'm', 'model.safetensors'), file);
  const start = 8 + Number(file.readBigUInt64LE(0)) + small.byteLength;
  big = { start, length: bigW.byteLength, size: file.length };
  // The compare page's "converted" side: the same model (a kept-as-is copy).
  fs.writeFileSync(path.join(tmp, 'c', 'model.safetensors'), file);
  srv = await startRangeServer({ mounts: { '/models/': tmp } });
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function rangeStart(e) {
  return Number(/bytes=(\d+)/.exec(e.range ?? '')?.[1] ?? -1);
}
function rangeLength(e) {
  const m = /bytes=(\d+)-(\d+)/.exec(e.range ?? '');
  return m ? Number(m[2]) - Number(m[1]) + 1 : 0;
}

/** The lying answers, once each has ended: every one was stopped near the length asked for. */
async function assertStopped(label) {
  const lying = srv.log.filter((e) => e.lie);
  assert.ok(lying.length >= 1, `${label}: a lying answer was sent`);
  for (const e of lying) {
    const t0 = Date.now();
    while (!e.done && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(e.done, `${label}: ${e.range} ended`);
    // A 200 sends the whole file before its padding; the page stops it at the first chunk past the range.
    const asked = rangeLength(e);
    assert.ok(e.bytes <= asked + SLACK, `${label}: ${e.range}: ${e.bytes} bytes sent for ${asked} asked`);
    assert.equal(e.cut, true, `${label}: ${e.range}: the transfer was stopped`);
  }
}

/** What a worker's error says for each lie, naming the file and the address. */
function expected(lie, url) {
  const u = url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    200: new RegExp(`model\\.safetensors: the server stopped honouring Range requests \\(HTTP 200 for bytes \\d+-\\d+\\) at ${u}`),
    nocr: new RegExp(`model\\.safetensors: asked for bytes \\d+-\\d+ \\(\\d+ bytes\\) but the server sent more \\(\\d+ bytes so far\\) at ${u}; the transfer was stopped`),
    wide: new RegExp(`model\\.safetensors: asked for bytes \\d+-\\d+ but Content-Range says "bytes \\d+-\\d+/\\d+" \\(${u}\\)`),
  }[lie];
}

// How long each case took to settle is printed, not asserted (timings on a
// shared machine are noise); an endless body that is never cut fails the
// 60 s waits and the bytes-sent check in assertStopped.
async function timed(label, fn) {
  const t0 = Date.now();
  const out = await fn();
  console.log(`streamcap: ${label} settled in ${Date.now() - t0} ms`);
  return out;
}

for (const [what, budget] of [['read ahead whole', null], ['push-fed over the read budget', 1]]) {
  test(`a tensor ${what}: a lying answer ends in a clear error and is stopped`, async () => {
    for (const lie of LIES) {
      srv.reset();
      // Every read that reaches past the tensor's first 32 MiB lies: the
      // old page's later windows, the new page's one read of the tensor.
      const url = srv.url('/models/m/model.safetensors', [`lie=${lie}`, `overfrom=${big.start}`, `overto=${big.start + WINDOW}`, `overlong=${ENDLESS}`]);
      const page = await openPage(browser, `${server.url}#url=${url}${budget ? `&budget=${budget}` : ''}`);
      const state = await timed(lie, () => confirmLink(page, { timeout: 60000 }));
      assert.equal(state, 'error', `${lie}: ${await text(page, 'status')}`);
      assert.match(await text(page, 'error'), expected(lie, url), lie);
      await assertStopped(`${what}, ${lie}`);
      await page.context().close();
    }
  });
}

test('a histogram read: a lying answer ends in a clear error and is stopped', async () => {
  for (const lie of LIES) {
    srv.reset();
    // The analysis reads the big tensor once, honestly; the histogram's read lies.
    const url = srv.url('/models/m/model.safetensors', [`lie=${lie}`, `overfrom=${big.start}`, 'honest=1', `overlong=${ENDLESS}`]);
    const page = await openPage(browser, `${server.url}#url=${url}&layer=big.weight`);
    assert.equal(await confirmLink(page, { timeout: 60000 }), 'done', await text(page, 'error'));
    await timed(lie, () => page.waitForFunction(() => /Histogram failed/.test(document.querySelector('[data-testid=hist-weights]').textContent), null, { timeout: 60000, polling: 50 }));
    assert.match(await text(page, 'hist-weights'), expected(lie, url), lie);
    await assertStopped(`histogram, ${lie}`);
    await page.context().close();
  }
});

test('a SHA-256 read: a lying answer ends in a clear error and is stopped', async () => {
  // With a 1 MiB budget the digest reads 1 MiB ranges; the analysis (push-fed)
  // reads from each tensor's start, below 2 MiB, so only the digest's read at
  // 2 MiB lies.
  const from = 2 << 20;
  for (const lie of LIES) {
    srv.reset();
    const url = srv.url('/models/m/model.safetensors', [`lie=${lie}`, `overfrom=${from}`, `overlong=${ENDLESS}`]);
    const page = await openPage(browser, `${server.url}#url=${url}&budget=1&sha256=model.safetensors:${'0'.repeat(64)}`);
    assert.equal(await confirmLink(page, { timeout: 60000 }), 'done', await text(page, 'error'));
    await timed(lie, () => page.waitForSelector('[data-testid=sha-result][data-state=error]', { timeout: 60000 }));
    assert.match(await text(page, 'sha-result'), expected(lie, url), lie);
    await assertStopped(`sha, ${lie}`);
    await page.context().close();
  }
});

test('a compare-page read: a lying answer ends in a clear error and is stopped', async () => {
  for (const lie of LIES) {
    srv.reset();
    const url = srv.url('/models/c/model.safetensors', [`lie=${lie}`, `overfrom=${big.start}`, `overlong=${ENDLESS}`]);
    const page = await openPage(browser, `${server.url}compare.html#url=${url}&against=${srv.url('/models/m/model.safetensors')}`);
    const state = await timed(lie, () => confirmLink(page, { timeout: 60000, states: ['done', 'error'] }));
    assert.equal(state, 'error', lie);
    assert.match(await text(page, 'error'), expected(lie, url), lie);
    await assertStopped(`compare, ${lie}`);
    await page.context().close();
  }
});

test('each tensor is read once: per-tensor int8 under the budget, per-channel and affine over it; int8 over it rereads only what the budget did not keep', async () => {
  // The page counts the bytes its workers receive (run.fetched); the
  // selected layer's histograms, read after the run, are not in it.
  const dataStart = 8 + Number(file.readBigUInt64LE(0));
  const smallBytes = big.start - dataStart;
  for (const [frag, bigBytes] of [
    ['', big.length], // int8-tensor, the 36.9 MB tensor under the 256 MiB budget
    ['&scheme=int8-channel&budget=4', big.length], // one pass over the budget
    ['&scheme=affine4&budget=4', big.length],
    // int8-tensor over the budget: the max, then the errors of all but
    // the first 4 MiB, which the first pass kept.
    ['&budget=4', 2 * big.length - (4 << 20)],
  ]) {
    srv.reset();
    const page = await openPage(browser, `${server.url}#url=${srv.url('/models/m/model.safetensors')}${frag}`);
    assert.equal(await confirmLink(page), 'done', await text(page, 'error'));
    const run = await page.evaluate(() => window.__quantlens.lastRun);
    assert.equal(run.fetched, dataStart + smallBytes + bigBytes, frag || 'default');
    // Only the header, from the bytes the page fetched for it.
    assert.equal(run.syncBytes, dataStart, `${frag}: no tensor byte read synchronously`);
    await page.context().close();
  }
});
