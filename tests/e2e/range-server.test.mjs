// Unit tests of the range test server (tests/e2e/range-server.mjs), with fetch.
// Fast, no browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRangeServer, parseRange } from './range-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
let srv;
let dir;
let site;
let secret;
const DATA = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

before(async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-range-'));
  dir = path.join(root, 'models');
  site = path.join(root, 'site');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.mkdirSync(site);
  fs.writeFileSync(path.join(dir, 'a.safetensors'), DATA);
  fs.writeFileSync(path.join(dir, 'sub', 'b.bin'), Buffer.from('hello'));
  fs.writeFileSync(path.join(dir, 'empty.bin'), Buffer.alloc(0));
  fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><p>index</p>');
  fs.writeFileSync(path.join(site, 'x.wasm'), Buffer.from([0, 97, 115, 109]));
  secret = path.join(root, 'secret.txt');
  fs.writeFileSync(secret, 'do not serve');
  srv = await startRangeServer({
    mounts: { '/models/': dir, '/site': { dir: site, index: true } },
    hub: { 'org/name': dir },
  });
});
after(() => srv?.close());

const get = (p, headers = {}, init = {}) => fetch(srv.url(p), { headers, redirect: 'manual', ...init });
const body = async (r) => Buffer.from(await r.arrayBuffer());
const last = () => srv.log[srv.log.length - 1];

test('parseRange: the three single-range forms, unsatisfiable and ignored headers', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=50-5000', 100), { start: 50, end: 99 });
  assert.deepEqual(parseRange('bytes=100-', 100), { unsatisfiable: true });
  assert.deepEqual(parseRange('bytes=-0', 100), { unsatisfiable: true });
  assert.deepEqual(parseRange('bytes=0-0', 0), { unsatisfiable: true });
  assert.equal(parseRange('bytes=0-1,5-6', 100), null);
  assert.equal(parseRange('bytes=9-3', 100), null);
  assert.equal(parseRange('items=0-3', 100), null);
  assert.equal(parseRange(undefined, 100), null);
});

test('static mount: 200 full body, CORS, ETag, type, log entry', async () => {
  srv.reset();
  const r = await get('/models/a.safetensors');
  assert.equal(r.status, 200);
  assert.deepEqual(await body(r), DATA);
  assert.equal(r.headers.get('content-length'), '1000');
  assert.equal(r.headers.get('accept-ranges'), 'bytes');
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(r.headers.get('access-control-expose-headers'),
    'Content-Range, Content-Length, Accept-Ranges, ETag, X-Linked-Size');
  assert.match(r.headers.get('etag'), /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.equal(r.headers.get('content-type'), 'application/octet-stream');
  assert.equal(srv.log.length, 1);
  const e = last();
  assert.equal(e.method, 'GET');
  assert.equal(e.path, '/models/a.safetensors');
  assert.equal(e.range, null);
  assert.equal(e.status, 200);
  assert.equal(e.bytes, 1000);
  const sub = await get('/models/sub/b.bin');
  assert.equal((await body(sub)).toString(), 'hello');
});

test('Range: a-b, a-, -n give 206 with Content-Range and the right bytes', async () => {
  srv.reset();
  let r = await get('/models/a.safetensors', { Range: 'bytes=10-19' });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), 'bytes 10-19/1000');
  assert.equal(r.headers.get('content-length'), '10');
  assert.equal(r.headers.get('accept-ranges'), 'bytes');
  assert.deepEqual(await body(r), DATA.subarray(10, 20));
  r = await get('/models/a.safetensors', { Range: 'bytes=990-' });
  assert.equal(r.headers.get('content-range'), 'bytes 990-999/1000');
  assert.deepEqual(await body(r), DATA.subarray(990));
  r = await get('/models/a.safetensors', { Range: 'bytes=-8' });
  assert.equal(r.headers.get('content-range'), 'bytes 992-999/1000');
  assert.deepEqual(await body(r), DATA.subarray(992));
  r = await get('/models/a.safetensors', { Range: 'bytes=995-5000' });
  assert.equal(r.headers.get('content-range'), 'bytes 995-999/1000');
  assert.equal((await body(r)).length, 5);
  assert.equal(srv.bytesSent(), 10 + 10 + 8 + 5);
  assert.equal(srv.bytesSent((e) => e.range === 'bytes=-8'), 8);
  assert.equal(srv.log[0].range, 'bytes=10-19');
  assert.equal(srv.log[0].status, 206);
});

test('Range: unsatisfiable gives 416 with bytes */total; empty file too', async () => {
  let r = await get('/models/a.safetensors', { Range: 'bytes=1000-1001' });
  assert.equal(r.status, 416);
  assert.equal(r.headers.get('content-range'), 'bytes */1000');
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  await body(r);
  r = await get('/models/empty.bin', { Range: 'bytes=0-7' });
  assert.equal(r.status, 416);
  assert.equal(r.headers.get('content-range'), 'bytes */0');
  await body(r);
  r = await get('/models/empty.bin');
  assert.equal(r.status, 200);
  assert.equal((await body(r)).length, 0);
});

test('HEAD: headers without a body, for full and ranged requests', async () => {
  srv.reset();
  let r = await get('/models/a.safetensors', {}, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-length'), '1000');
  assert.ok(r.headers.get('etag'));
  r = await get('/models/a.safetensors', { Range: 'bytes=0-7' }, { method: 'HEAD' });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), 'bytes 0-7/1000');
  assert.equal(srv.bytesSent(), 0);
  assert.deepEqual(srv.log.map((e) => e.method), ['HEAD', 'HEAD']);
});

test('404: missing files, folder URLs are not listed, no traversal, unknown routes', async () => {
  for (const p of ['/models/nope.bin', '/models/', '/models/sub/', '/models/sub', '/models/../secret.txt',
    '/models/%2e%2e/secret.txt', '/models/sub/%2e%2e%2f%2e%2e%2fsecret.txt', '/models/..%5csecret.txt', '/elsewhere/a']) {
    const r = await get(p);
    assert.equal(r.status, 404, p);
    assert.equal(r.headers.get('access-control-allow-origin'), '*', p);
    assert.doesNotMatch((await body(r)).toString(), /do not serve/, p);
  }
});

test('index mount: a URL ending in / serves index.html; the bare prefix redirects; wasm MIME type', async () => {
  let r = await get('/site/');
  assert.equal(r.status, 200);
  assert.match((await body(r)).toString(), /index/);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  r = await get('/site');
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), '/site/');
  r = await get('/site/x.wasm');
  assert.equal(r.headers.get('content-type'), 'application/wasm');
  await body(r);
});

test('OPTIONS preflight: 204 with the allowed headers, methods and max-age', async () => {
  const r = await get('/org/name/resolve/main/a.safetensors', {
    Origin: 'http://example.test', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range',
  }, { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(r.headers.get('access-control-allow-headers'), 'Range, Content-Type');
  assert.equal(r.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS');
  assert.equal(r.headers.get('access-control-max-age'), '600');
});

test('hub: resolve redirects (302, CORS, X-Linked-Size) to /cdn/, which serves ranges; revision logged', async () => {
  srv.reset();
  let r = await get('/org/name/resolve/main/a.safetensors');
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${srv.origin}/cdn/org/name/main/a.safetensors`);
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(r.headers.get('x-linked-size'), '1000');
  assert.equal(srv.log[0].revision, 'main');
  assert.equal(srv.log[0].status, 302);
  // followed (fetch's default)
  r = await fetch(srv.url('/org/name/resolve/v1.0/sub/b.bin'), { headers: { Range: 'bytes=1-3' } });
  assert.equal(r.status, 206);
  assert.equal(r.url, `${srv.origin}/cdn/org/name/v1.0/sub/b.bin`);
  assert.equal((await body(r)).toString(), 'ell');
  assert.equal(r.headers.get('content-range'), 'bytes 1-3/5');
  assert.deepEqual(srv.log.map((e) => [e.status, e.revision, e.file]),
    [[302, 'main', 'a.safetensors'], [302, 'v1.0', 'sub/b.bin'], [206, 'v1.0', 'sub/b.bin']]);
  // a revision with an encoded slash stays one segment
  r = await get('/org/name/resolve/refs%2Fpr%2F1/a.safetensors');
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${srv.origin}/cdn/org/name/refs%2Fpr%2F1/a.safetensors`);
  assert.equal(last().revision, 'refs/pr/1');
});

test('hub: unknown repo, missing-rev and missing file answer 404 with the Hub texts', async () => {
  let r = await get('/other/repo/resolve/main/a.safetensors');
  assert.equal(r.status, 404);
  assert.equal((await body(r)).toString(), 'Repository not found');
  assert.equal(r.headers.get('x-error-code'), 'RepositoryNotFound');
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  r = await get('/org/name/resolve/missing-rev/a.safetensors');
  assert.equal(r.status, 404);
  assert.match((await body(r)).toString(), /Revision Not Found/);
  r = await get('/org/name/resolve/main/model.safetensors.index.json');
  assert.equal(r.status, 404);
  assert.match((await body(r)).toString(), /Entry not found/);
  r = await get('/org/name/resolve/main/../../secret.txt');
  assert.equal(r.status, 404);
  r = await get('/cdn/other/repo/main/a.safetensors');
  assert.equal(r.status, 404);
  await body(r);
});

test('switch prefix is carried into redirects; xorigin redirects to the second origin', async () => {
  let r = await get('/_/norange/org/name/resolve/main/a.safetensors');
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${srv.origin}/_/norange/cdn/org/name/main/a.safetensors`);
  r = await get('/_/xorigin,delay=1/org/name/resolve/main/a.safetensors');
  assert.notEqual(srv.cdnOrigin, srv.origin);
  assert.equal(r.headers.get('location'), `${srv.cdnOrigin}/_/xorigin,delay=1/cdn/org/name/main/a.safetensors`);
  r = await fetch(srv.url('/org/name/resolve/main/a.safetensors', ['xorigin']), { headers: { Range: 'bytes=0-3' } });
  assert.equal(r.status, 206);
  assert.ok(r.url.startsWith(srv.cdnOrigin));
  assert.deepEqual(await body(r), DATA.subarray(0, 4));
  assert.equal(srv.hubBase(['403']), `${srv.origin}/_/403`);
  r = await get('/_/bogus/models/a.safetensors');
  assert.equal(r.status, 400, 'unknown switches are refused');
});

test('norange: Range ignored, 200 with the full body and no Accept-Ranges, through the redirect', async () => {
  srv.reset();
  const r = await fetch(srv.url('/org/name/resolve/main/a.safetensors', 'norange'), { headers: { Range: 'bytes=0-7' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-range'), null);
  assert.equal(r.headers.get('accept-ranges'), null);
  assert.deepEqual(await body(r), DATA);
  assert.equal(srv.bytesSent((e) => e.path.includes('/cdn/')), 1000);
  assert.equal(srv.log[1].path, '/_/norange/cdn/org/name/main/a.safetensors');
  assert.deepEqual(srv.log[1].switches, { norange: true });
});

test('nocors: no Access-Control-* header on files, redirects, errors and OPTIONS', async () => {
  const paths = ['/_/nocors/models/a.safetensors', '/_/nocors/org/name/resolve/main/a.safetensors', '/_/nocors/models/nope'];
  for (const p of paths) {
    const r = await get(p, { Range: 'bytes=0-3' });
    await body(r);
    assert.deepEqual([...r.headers.keys()].filter((k) => k.startsWith('access-control-')), [], p);
  }
  const r = await get(paths[0], { 'Access-Control-Request-Method': 'GET' }, { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.deepEqual([...r.headers.keys()].filter((k) => k.startsWith('access-control-')), []);
});

test('404/401/403 switches: that status for every file, with the Hub texts, CORS kept', async () => {
  for (const [sw, status] of [['404', 404], ['401', 401], ['403', 403]]) {
    for (const p of ['/models/a.safetensors', '/org/name/resolve/main/a.safetensors', '/cdn/org/name/main/a.safetensors']) {
      const r = await get(p.replace(/^/, `/_/${sw}`), { Range: 'bytes=0-7' });
      assert.equal(r.status, status, `${sw} ${p}`);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      const t = (await body(r)).toString();
      if (status === 403) {
        assert.match(t, /^Access to model .+ is restricted\. You must have access to it and be authenticated to access it\.$/);
      }
      if (status === 401) assert.match(t, /restricted.*authenticated/);
    }
  }
  const r = await get('/_/403/org/name/resolve/main/a.safetensors');
  assert.equal((await body(r)).toString(),
    'Access to model org/name is restricted. You must have access to it and be authenticated to access it.');
});

test('truncate=N: sizes, Content-Range totals, bodies and 416 beyond N', async () => {
  let r = await get('/_/truncate=100/models/a.safetensors');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-length'), '100');
  assert.deepEqual(await body(r), DATA.subarray(0, 100));
  r = await get('/_/truncate=100/models/a.safetensors', { Range: 'bytes=90-199' });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), 'bytes 90-99/100');
  assert.deepEqual(await body(r), DATA.subarray(90, 100));
  r = await get('/_/truncate=100/models/a.safetensors', { Range: 'bytes=100-199' });
  assert.equal(r.status, 416);
  assert.equal(r.headers.get('content-range'), 'bytes */100');
  await body(r);
  r = await get('/_/truncate=100/org/name/resolve/main/a.safetensors');
  assert.equal(r.headers.get('x-linked-size'), '100');
  r = await fetch(srv.url('/org/name/resolve/main/a.safetensors', 'truncate=10'), { headers: { Range: 'bytes=-4' } });
  assert.equal(r.headers.get('content-range'), 'bytes 6-9/10');
  assert.deepEqual(await body(r), DATA.subarray(6, 10));
});

test('badtotal: Content-Range total is 4096 too large, body correct', async () => {
  const r = await get('/_/badtotal/models/a.safetensors', { Range: 'bytes=0-7' });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), 'bytes 0-7/5096');
  assert.deepEqual(await body(r), DATA.subarray(0, 8));
});

test('badstart: Content-Range start is +16 off, body from the requested start', async () => {
  const r = await get('/_/badstart/models/a.safetensors', { Range: 'bytes=100-107' });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), 'bytes 116-123/1000');
  assert.equal(r.headers.get('content-length'), '8');
  assert.deepEqual(await body(r), DATA.subarray(100, 108));
});

test('delay=MS: the answer waits (request still logged and served)', async () => {
  srv.reset();
  let answered = false;
  const p = get('/_/delay=150/models/sub/b.bin').then(async (r) => {
    answered = true;
    return body(r);
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, false, 'answered before the delay');
  assert.equal(srv.log.length, 1, 'the request is logged on arrival');
  assert.equal((await p).toString(), 'hello');
  assert.equal(last().status, 200);
});

test('log: bytes are those written, also when the client aborts; reset clears; filters', async () => {
  const big = path.join(dir, 'big.bin');
  fs.writeFileSync(big, Buffer.alloc(8 << 20, 7));
  try {
    srv.reset();
    const ac = new AbortController();
    const r = await fetch(srv.url('/models/big.bin'), { signal: ac.signal });
    const reader = r.body.getReader();
    await reader.read();
    ac.abort();
    await reader.read().catch(() => {});
    await new Promise((res) => setTimeout(res, 100));
    const e = srv.log[0];
    assert.equal(e.status, 200);
    assert.ok(e.bytes > 0 && e.bytes < 8 << 20, `bytes written ${e.bytes}`);
    assert.equal(e.done, true);
    assert.equal(srv.bytesSent('/models/big'), e.bytes);
    assert.equal(srv.bytesSent(/nothing-like-this/), 0);
    srv.reset();
    assert.equal(srv.log.length, 0);
    assert.equal(srv.bytesSent(), 0);
  } finally {
    fs.rmSync(big);
  }
});

test('command line: prints its origin and serves the mount and the hub', async () => {
  const child = spawn(process.execPath, [path.join(here, 'range-server.mjs'), '--port', '0',
    '--mount', `/m/=${dir}`, '--hub', `org/name=${dir}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const origin = await new Promise((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        const m = buf.match(/http:\/\/127\.0\.0\.1:\d+/);
        if (m) resolve(m[0]);
      });
      child.on('exit', (c) => reject(new Error(`exited with ${c}`)));
    });
    let r = await fetch(`${origin}/m/sub/b.bin`);
    assert.equal(await r.text(), 'hello');
    r = await fetch(`${origin}/org/name/resolve/main/sub/b.bin`, { headers: { Range: 'bytes=0-1' } });
    assert.equal(await r.text(), 'he');
  } finally {
    child.kill('SIGTERM');
  }
});
