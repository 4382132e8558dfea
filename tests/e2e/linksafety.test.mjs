// Shared links are written by strangers (Chromium): a link to this computer
// or a private network waits for a click that names the real host, a tensor
// read whose answer runs past the range asked for is stopped as it arrives,
// and a Hub id read from another host says so wherever it is named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, launch, openPage, waitSettled, confirmLink, text, tmpDir, goodModel,
} from './helpers.mjs';
import { startRangeServer } from './range-server.mjs';

const enc = encodeURIComponent;
const PAD = 200_000_000;
let server; // the page
let srv; // the model host
let browser;
let tmp;
let port;
let host;

before(async () => {
  tmp = tmpDir('linksafety');
  fs.mkdirSync(path.join(tmp, 'small'));
  fs.writeFileSync(path.join(tmp, 'small', 'good.safetensors'), goodModel());
  fs.writeFileSync(path.join(tmp, 'small', 'model.safetensors'), goodModel());
  srv = await startRangeServer({ mounts: { '/models/': tmp }, hub: { 'org/small': path.join(tmp, 'small') } });
  port = new URL(srv.origin).port;
  host = `127.0.0.1:${port}`;
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('a shared link to this computer opens only after a click that names the real host', async () => {
  for (const frag of [
    `url=http://0x7f000001:${port}/models/small/good.safetensors`,
    `url=http://2130706433:${port}/models/small/`,
    `hf=org/small&hub=${enc(`http://127.1:${port}`)}`,
  ]) {
    srv.reset();
    const page = await openPage(browser, `${server.url}#${frag}`);
    await page.waitForSelector('[data-testid=link-confirm]');
    assert.equal(await text(page, 'link-confirm'), `Read from ${host}`, frag);
    assert.match(await text(page, 'error'), new RegExp(`${host.replace(/\./g, '\\.')} \\(this computer\\)`), frag);
    assert.deepEqual(srv.log, [], `${frag}: nothing fetched before the click`);
    assert.deepEqual(page.foreign, [], `${frag}: no request left the page`);
    await page.click('[data-testid=link-confirm]');
    assert.equal(await waitSettled(page), 'done', await text(page, 'error'));
    assert.equal(await page.locator('[data-testid=layer-row]').count(), 4, frag);
    await page.context().close();
  }
});

test('a link to a private or link-local address is not contacted before the click', async () => {
  for (const [address, shown, what] of [
    ['https://192.168.0.1/m/model.safetensors', '192.168.0.1', 'a private network address'],
    ['https://0xa9fea9fe/latest/model.safetensors', '169.254.169.254', 'a link-local address'],
    ['https://[fd00::1]:8443/m/', '[fd00::1]:8443', 'a private network address'],
  ]) {
    const page = await openPage(browser, `${server.url}#url=${address}`);
    await page.waitForSelector('[data-testid=link-confirm]');
    assert.equal(await text(page, 'link-confirm'), `Read from ${shown}`);
    assert.ok((await text(page, 'error')).includes(`${shown} (${what})`), await text(page, 'error'));
    assert.deepEqual(page.foreign, [], 'no request left the page');
    await page.context().close();
  }
});

test('a tensor read answered with more bytes than asked for is stopped as they arrive', async () => {
  const file = path.join(tmp, 'small', 'good.safetensors');
  const b = fs.readFileSync(file);
  const dataStart = 8 + Number(b.readBigUInt64LE(0));
  srv.reset();
  const page = await openPage(browser, `${server.url}#url=${srv.url('/models/small/good.safetensors', [`overlong=${PAD}`, `overfrom=${dataStart}`])}`);
  assert.equal(await confirmLink(page), 'error');
  assert.match(await text(page, 'error'), /good\.safetensors: asked for bytes \d+-\d+ \(\d+ bytes\) but the server sent more \(\d+ bytes so far\).*the transfer was stopped/s);
  // every lying answer was cut short by the page, far below what the server would send
  const lying = srv.log.filter((e) => e.status === 206 && Number(/bytes=(\d+)/.exec(e.range)[1]) >= dataStart);
  assert.ok(lying.length >= 1);
  for (const e of lying) {
    while (!e.done) await new Promise((r) => setTimeout(r, 10));
    assert.equal(e.cut, true, `${e.range}: stopped`);
    assert.ok(e.bytes < PAD, `${e.range}: ${e.bytes} bytes sent`);
  }
  assert.equal(await page.locator('[data-testid=layer-row]').count(), 4, 'the structure view stays');
  await page.context().close();
});

test('a Hub id read from another host names that host, on both pages; a typed id goes to the Hub', async () => {
  const compare = await openPage(browser, `${server.url}compare.html#hf=org/small&against-hf=org/small&hub=${enc(srv.hubBase())}`);
  await compare.waitForSelector('[data-testid=link-confirm]');
  assert.match(await text(compare, 'error'), /this computer/);
  assert.equal(await confirmLink(compare, { states: ['done', 'error'] }), 'done', await text(compare, 'error'));
  for (const side of ['#orig-files', '#conv-files']) {
    assert.ok((await compare.textContent(side)).includes(`org/small@main on ${host} (not the Hugging Face Hub)`), await compare.textContent(side));
  }
  await compare.context().close();

  const page = await openPage(browser, `${server.url}#hf=org/small&hub=${enc(srv.hubBase())}`);
  assert.equal(await confirmLink(page), 'done', await text(page, 'error'));
  assert.equal(await text(page, 'source'), `org/small@main on ${host} (not the Hugging Face Hub)`);
  // An id typed afterwards is looked up on the Hugging Face Hub, not on the link's host.
  await page.route('https://huggingface.co/**', (route) => route.abort());
  await page.fill('[data-testid=link-input]', 'org/small');
  await page.click('[data-testid=link-open]');
  await page.waitForFunction(() => /huggingface\.co/.test(document.querySelector('[data-testid=status]').textContent)
    || document.querySelector('[data-testid=status]').dataset.state === 'error', null, { polling: 20 });
  const params = new URLSearchParams((await page.evaluate(() => location.hash)).slice(1));
  assert.equal(params.get('hf'), 'org/small');
  assert.equal(params.get('hub'), null, 'hub= is not carried over');
  assert.equal(await waitSettled(page), 'error');
  assert.match(await text(page, 'error'), /https:\/\/huggingface\.co\/org\/small\/resolve\/main\//);
  await page.context().close();
});
