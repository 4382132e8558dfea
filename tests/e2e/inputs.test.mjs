// Inputs: a bf16 sharded copy, malformed files, hostile names, a folder
// without safetensors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, launch, openPage, analyse, waitSettled, miniLM, text, tmpDir, genModels, safetensors, weights, goodModel, rowCount,
} from './helpers.mjs';

let server;
let browser;
let page;
const dirs = [];

before(async () => {
  server = await startServer();
  browser = await launch();
  page = await openPage(browser, server.url);
});
after(async () => {
  await browser?.close();
  server?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const file = (name, buffer) => ({ name, mimeType: 'application/octet-stream', buffer });

async function expectGoodRun() {
  const st = await analyse(page, 'pick-files', [file('good.safetensors', goodModel())]);
  assert.equal(st, 'done', await text(page, 'error'));
  assert.equal(await page.locator('[data-testid=layer-row]').count(), 4);
  assert.equal(await text(page, 'count-quantized'), '2');
  assert.equal(await text(page, 'count-kept'), '2');
  assert.equal(await page.isHidden('[data-testid=error]'), true);
}

test('bf16 3-shard copy of MiniLM: 104 rows, 37 quantized, 67 kept', async () => {
  const dir = tmpDir('bf16');
  dirs.push(dir);
  genModels(['bf16-shards', miniLM, dir, '--shards', '3']);
  const st = await analyse(page, 'pick-dir', dir);
  assert.equal(st, 'done', await text(page, 'error'));
  assert.equal(await rowCount(page), 104);
  assert.equal(await text(page, 'count-quantized'), '37');
  assert.equal(await text(page, 'count-kept'), '67');
  const files = await page.locator('#files li').allTextContents();
  assert.equal(files.filter((f) => /model-0000\d-of-00003\.safetensors/.test(f)).length, 3, files.join(' | '));
  assert.ok(files.some((f) => f.includes('model.safetensors.index.json')), 'index recognised');
  assert.match(await page.textContent('#kept-by-dtype'), /BF16/);
});

// Each malformed file must give a readable message naming the file, and the
// page must analyse a good file right after.
const validHeaderNoData = () => {
  const full = safetensors([{ name: 'w', dtype: 'F32', shape: [64, 64], data: weights(4096) }]);
  return full.subarray(0, full.length - 4096 + 100); // data cut short
};
const lengthPastEnd = () => {
  const b = Buffer.alloc(24, 0x20);
  b.writeBigUInt64LE(1000000n);
  return b;
};
const garbageHeader = () => {
  const body = Buffer.from('this is not json at all!');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(body.length));
  return Buffer.concat([len, body]);
};
const cases = [
  ['empty file', 'empty.safetensors', () => Buffer.alloc(0)],
  ['truncated data', 'truncated.safetensors', validHeaderNoData],
  ['header length past the end', 'toolong.safetensors', lengthPastEnd],
  ['garbage header', 'garbage.safetensors', garbageHeader],
];
for (const [what, name, make] of cases) {
  test(`malformed: ${what} gives a readable error, then a good file works`, async () => {
    const st = await analyse(page, 'pick-files', [file(name, make())]);
    assert.equal(st, 'error');
    const msg = await text(page, 'error');
    console.log(`  ${what}: ${msg}`);
    assert.ok(msg.length > 15, `message too short: ${msg}`);
    assert.ok(msg.includes(name), `message should name the file: ${msg}`);
    assert.equal(await page.isVisible('[data-testid=error]'), true);
    await expectGoodRun();
  });
}

test('a folder without safetensors gives a clear message; other files are listed as ignored', async () => {
  const st = await analyse(page, 'pick-files', [file('notes.txt', Buffer.from('hello')), file('config.json', Buffer.from('{}'))]);
  assert.equal(st, 'error');
  assert.match(await text(page, 'error'), /No \.safetensors file/);
  await expectGoodRun();
  const st2 = await analyse(page, 'pick-files', [file('good.safetensors', goodModel()), file('README.md', Buffer.from('# hi'))]);
  assert.equal(st2, 'done');
  assert.match(await page.textContent('#ignored-box'), /README\.md/);
});

test('HTML and script in tensor names and __metadata__ render as inert text', async () => {
  const img = '<img src=x onerror="window.__pwned=1">';
  const script = '<script>window.__pwned=2</script>';
  const buf = safetensors([
    { name: `${img}.weight`, dtype: 'F32', shape: [64, 64], data: weights(4096, 3) },
    { name: `${script}.weight`, dtype: 'F32', shape: [64, 64], data: weights(4096, 4) },
    { name: 'plain.bias', dtype: 'F32', shape: [64], data: weights(64, 5) },
  ], { format: 'pt', note: img, [script]: '<b>bold</b><iframe src="https://example.com/"></iframe>' });
  const st = await analyse(page, 'pick-files', [file('<svg onload=alert(1)>.safetensors', buf)]);
  assert.equal(st, 'done', await text(page, 'error'));
  const names = await page.$$eval('[data-testid=layer-row]', (rows) => rows.map((r) => r.dataset.name));
  assert.deepEqual(names.sort(), [`${img}.weight`, `${script}.weight`, 'plain.bias'].sort());
  const body = await page.textContent('body');
  assert.ok(body.includes(img), 'img markup appears literally');
  assert.ok(body.includes(script), 'script markup appears literally');
  assert.ok(body.includes('<b>bold</b>'), 'metadata value appears literally');
  assert.equal(await page.locator('img').count(), 0, 'no img element created');
  assert.equal(await page.locator('main script, main iframe, main b, main svg[onload]').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  // select the hostile layer: its name goes to the detail header as text
  await page.click(`[data-testid=layer-row][data-name="${`${img}.weight`.replaceAll('"', '\\"')}"]`);
  await page.waitForFunction(() => document.querySelector('[data-testid=detail-name]').textContent.includes('<img'));
  assert.equal(await page.locator('img').count(), 0);
  assert.deepEqual(page.foreign, [], 'no request left the origin');
});


test('dropping files on the drop zone analyses them', async () => {
  const b64 = goodModel().toString('base64');
  await page.evaluate(async (data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'dropped.safetensors'));
    dt.items.add(new File(['hello'], 'notes.txt'));
    const zone = document.querySelector('[data-testid=drop-zone]');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, b64);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=layer-row][data-name="layer.1.dense.weight"]').length === 1
    && document.querySelector('[data-testid=status]').dataset.state === 'done', null, { timeout: 30000 });
  assert.match(await page.textContent('#files'), /dropped\.safetensors/);
  assert.match(await page.textContent('#ignored-box'), /notes\.txt/);
});

// A real drag of a folder from the file manager, through the DevTools
// protocol: the page gets a directory entry and must walk its subfolders.
test('dropping a folder walks its subfolders (webkitGetAsEntry)', async () => {
  const dir = tmpDir('drop');
  dirs.push(dir);
  const root = path.join(dir, 'all-MiniLM-L6-v2');
  fs.mkdirSync(path.join(root, '1_Pooling'), { recursive: true });
  fs.mkdirSync(path.join(root, 'onnx', 'deep'), { recursive: true });
  // Copies, not links: Chromium leaves symbolic links out of a dropped folder.
  for (const f of ['model.safetensors', 'config.json']) fs.copyFileSync(path.join(miniLM, f), path.join(root, f));
  fs.copyFileSync(path.join(miniLM, '1_Pooling', 'config.json'), path.join(root, '1_Pooling', 'config.json'));
  fs.writeFileSync(path.join(root, 'onnx', 'deep', 'notes.txt'), 'not a model');
  const box = await page.locator('[data-testid=drop-zone]').boundingBox();
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const run = await page.evaluate(() => window.__quantlens.state.runId);
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files: [root], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  await cdp.detach();
  await page.waitForFunction((r) => window.__quantlens.state.runId > r, run, { timeout: 10000 });
  assert.equal(await waitSettled(page), 'done', await text(page, 'error'));
  assert.equal(await rowCount(page), 104);
  assert.equal(await text(page, 'count-quantized'), '37');
  assert.equal(await text(page, 'count-kept'), '67');
  const ignored = await page.textContent('#ignored-box');
  assert.match(ignored, /onnx\/deep\/notes\.txt/);
  assert.match(ignored, /1_Pooling\/config\.json/);
  assert.match(await page.textContent('#files'), /all-MiniLM-L6-v2\/config\.json/);
});

test('the page made no request to another origin and logged no errors', () => {
  assert.deepEqual(page.foreign, []);
  assert.deepEqual(page.errors, []);
});
