// The virtualised layers table (www/inspector/table.js): only the rows in
// view are in the DOM, whatever the model's size, and scrolling, sorting,
// filtering and the keyboard reach every row.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, analyse, miniLM, rowCount, revealRow } from './helpers.mjs';

let server;
let browser;
let page;
before(async () => {
  [server, browser] = await Promise.all([startServer(), launch()]);
  page = await openPage(browser, server.url);
  assert.equal(await analyse(page, 'pick-dir', miniLM), 'done');
});
after(() => Promise.all([browser?.close(), server?.close()]));

const drawn = () => page.$$eval('[data-testid=layer-row]', (rows) => rows.map((r) => r.dataset.name));

test('only the rows in view are drawn; the table holds all 104', async () => {
  assert.equal(await rowCount(page), 104);
  const names = await drawn();
  assert.ok(names.length > 10 && names.length < 104, `${names.length} rows drawn`);
  assert.equal(names[0], 'embeddings.position_ids');
});

test('scrolling to the end draws the last rows, and the first ones leave the DOM', async () => {
  await revealRow(page, 'pooler.dense.weight');
  const names = await drawn();
  assert.ok(names.includes('pooler.dense.weight'));
  assert.ok(!names.includes('embeddings.position_ids'));
  await page.click('[data-testid=layer-row][data-name="pooler.dense.weight"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=detail-name]').textContent === 'pooler.dense.weight');
});

test('sorting and filtering work on all rows, drawn or not', async () => {
  await page.click('th[data-key=rel_error] button'); // descending: the worst first
  await page.evaluate(() => { document.querySelector('[data-testid=layers]').parentElement.scrollTop = 0; });
  await page.waitForFunction(() => document.querySelector('[data-testid=layer-row]')?.dataset.name === 'encoder.layer.0.output.dense.weight');
  await page.fill('[data-testid=filter]', 'LayerNorm.weight');
  assert.equal((await drawn()).length, 13);
  assert.equal(await page.getAttribute('[data-testid=layers]', 'data-shown'), '13');
  assert.match(await page.textContent('#shown'), /^13 of 104 shown$/);
  await page.fill('[data-testid=filter]', '');
  await page.click('th[data-key=index] button');
});

test('the arrow keys walk past the drawn rows to the last one', async () => {
  await page.evaluate(() => { document.querySelector('[data-testid=layers]').parentElement.scrollTop = 0; });
  await page.waitForFunction(() => document.querySelector('[data-testid=layer-row]')?.dataset.name === 'embeddings.position_ids');
  await page.locator('[data-testid=layer-row]').first().focus();
  for (let k = 0; k < 103; k++) await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.index), '103', 'the last row has the focus');
  const last = await page.evaluate(() => document.activeElement.dataset.name);
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelector('[data-testid=detail-name]').textContent === n, last);
  assert.deepEqual(page.errors, []);
});
