// "Try a sample model" on a server without the sample (a clone without
// ../shared, a site built without --sample): the page says so and opens
// the same model by link from the Hugging Face Hub. No request reaches the
// internet: the Hub's requests are answered here by playwright's routing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, waitSettled, text, tmpDir } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer(['--sample', tmpDir('no-sample')]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('without a served sample, the sample button opens #hf=sentence-transformers/all-MiniLM-L6-v2 and says why', async () => {
  const page = await openPage(browser, server.url);
  const hub = [];
  await page.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => {
    hub.push(route.request().url());
    return route.fulfill({ status: 503, body: 'stand-in: no internet in tests' });
  });
  await page.click('[data-testid=sample]');
  await page.waitForFunction(() => location.hash === '#hf=sentence-transformers/all-MiniLM-L6-v2');
  assert.match(await text(page, 'sample-note'), /no copy of the sample model.*Hugging Face Hub: sentence-transformers\/all-MiniLM-L6-v2/);
  assert.equal(await text(page, 'sample'), 'Try a sample model (from the Hub)');
  assert.equal(await page.inputValue('[data-testid=link-input]'), 'sentence-transformers/all-MiniLM-L6-v2');
  // The link flow ran: it asked the (stand-in) Hub and shows its answer.
  assert.equal(await waitSettled(page), 'error');
  assert.ok(hub.length > 0 && hub.every((u) => u.startsWith('https://huggingface.co/')), hub.join('\n'));
  await page.context().close();
});
