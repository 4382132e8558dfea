// Response bodies the page reads are capped on the bytes that arrive, not on
// what the server announces (Node only, no browser; the workers' reads are
// in linksafety.test.mjs). The range server's overlong switch sends no
// Content-Length and pads every answer far past what was asked for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { resolveSource } from '../../www/link/resolve.js';
import { fetchRange } from '../../www/link/http.js';
import { MAX_JSON_BYTES } from '../../www/shared/settings.js';
import { startRangeServer } from './range-server.mjs';
import { tmpDir, goodModel } from './helpers.mjs';

const PAD = 200_000_000;
let srv;
let tmp;
let allowHosts;
before(async () => {
  tmp = tmpDir('bodies');
  fs.writeFileSync(path.join(tmp, 'model-00001-of-00001.safetensors'), goodModel());
  fs.writeFileSync(path.join(tmp, 'model.safetensors.index.json'), JSON.stringify({
    weight_map: { 'layer.0.dense.weight': 'model-00001-of-00001.safetensors' },
  }));
  srv = await startRangeServer({ mounts: { '/m/': tmp } });
  allowHosts = new Set([new URL(srv.origin).host]);
});
after(async () => {
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The log entry of the one request whose path ends with `suffix`, once the server saw it end. */
async function entry(suffix) {
  const e = srv.log.filter((x) => x.path.endsWith(suffix) && x.method === 'GET');
  assert.equal(e.length, 1, `one request for ${suffix}`);
  while (!e[0].done) await new Promise((r) => setTimeout(r, 10));
  return e[0];
}

test('an index.json without Content-Length is read only up to the JSON cap', async () => {
  srv.reset();
  const src = { kind: 'url', url: srv.url('/m/model.safetensors.index.json', [`overlong=${PAD}`]) };
  await assert.rejects(resolveSource(src, { allowHosts }), (e) => {
    assert.equal(e.kind, 'toolarge', e.message);
    assert.match(e.message, /model\.safetensors\.index\.json is 6\d\.\d MB or more; JSON side files over 67\.1 MB are not read/);
    return true;
  });
  // The page hung up: the server did not get to send the whole padded body.
  const e = await entry('index.json');
  assert.equal(e.cut, true, 'the transfer was stopped');
  assert.ok(e.bytes < PAD, `${e.bytes} bytes sent`);
  assert.ok(MAX_JSON_BYTES < PAD);
});

test('a 206 answer longer than the range asked for is stopped, not read whole', async () => {
  srv.reset();
  const url = srv.url('/m/model-00001-of-00001.safetensors', [`overlong=${PAD}`]);
  await assert.rejects(fetchRange(url, 0, 7, 'model-00001-of-00001.safetensors'), (e) => {
    assert.equal(e.kind, 'contentrange', e.message);
    assert.match(e.message, /asked for bytes 0-7 \(8 bytes\) but the server sent more \(\d+ bytes so far\).*the transfer was stopped/);
    return true;
  });
  const e = await entry('.safetensors');
  assert.equal(e.cut, true, 'the transfer was stopped');
  assert.ok(e.bytes < PAD, `${e.bytes} bytes sent`);
});

test('the same server telling the truth opens normally', async () => {
  const r = await resolveSource({ kind: 'url', url: srv.url('/m/model.safetensors.index.json') }, { allowHosts });
  assert.equal(r.files.length, 1);
  assert.equal(r.files[0].size, goodModel().length);
});
