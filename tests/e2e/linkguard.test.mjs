// Shared links and the hosts they may reach (Node only, no browser): which
// hosts need the visitor's click, that nothing is fetched before it, that a
// redirect to such a host is held to the same rule, and how a Hub id read
// from another host is named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { localKind, hostsToConfirm } from '../../www/link/guard.js';
import { resolveSource, sourceLabel } from '../../www/link/resolve.js';
import { DEFAULT_HUB } from '../../www/link/fragment.js';
import { productionCsp } from '../../scripts/csp-production.mjs';
import { startRangeServer } from './range-server.mjs';
import { tmpDir, goodModel, repoRoot } from './helpers.mjs';

let srv;
let tmp;
before(async () => {
  tmp = tmpDir('linkguard');
  fs.writeFileSync(path.join(tmp, 'model.safetensors'), goodModel());
  srv = await startRangeServer({ mounts: { '/m/': tmp }, hub: { 'org/small': tmp } });
});
after(async () => {
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const kindOf = (address) => localKind(new URL(address).hostname);

test('loopback, private, link-local and numeric spellings of them need a click; public hosts do not', () => {
  const cases = {
    'http://127.0.0.1:6379/': 'loopback',
    'http://0x7f000001:6379/': 'loopback',
    'http://2130706433/': 'loopback',
    'http://127.1/': 'loopback',
    'http://0177.0.0.1/': 'loopback',
    'http://127.255.0.9/': 'loopback',
    'http://0.0.0.0/': 'loopback',
    'http://localhost:5000/': 'loopback',
    'https://app.localhost/': 'loopback',
    'http://[::1]/': 'loopback',
    'http://[::ffff:127.0.0.1]/': 'loopback',
    'https://10.0.0.1/': 'private',
    'https://0xa000001/': 'private',
    'https://172.16.0.1/': 'private',
    'https://172.31.255.255/': 'private',
    'https://192.168.1.1/': 'private',
    'https://[::ffff:192.168.1.1]/': 'private',
    'https://[fc00::1]/': 'private',
    'https://[fd12:3456::1]/': 'private',
    'https://169.254.169.254/': 'link-local',
    'https://[fe80::1]/': 'link-local',
    'https://[febf::1]/': 'link-local',
    'https://router/': 'local name',
    'https://nas.local/': 'local name',
    'https://huggingface.co/': null,
    'https://cdn-lfs.hf.co/': null,
    'https://8.8.8.8/': null,
    'https://172.32.0.1/': null,
    'https://[2001:db8::1]/': null,
    'https://[fec0::1]/': null,
  };
  for (const [address, kind] of Object.entries(cases)) assert.equal(kindOf(address), kind, address);
  // the real host is what the visitor is shown
  assert.deepEqual(hostsToConfirm(['http://0x7f000001:6379/x', 'https://huggingface.co/x', 'http://127.1:6379/y']),
    [{ host: '127.0.0.1:6379', kind: 'loopback' }]);
  assert.deepEqual(hostsToConfirm(['http://127.0.0.1:6379/x'], new Set(['127.0.0.1:6379'])), []);
});

test('a link to this computer is refused before any request, and opens once its host is confirmed', async () => {
  const port = new URL(srv.origin).port;
  for (const src of [
    { kind: 'url', url: `http://0x7f000001:${port}/m/model.safetensors` },
    { kind: 'url', url: `http://2130706433:${port}/m/` },
    { kind: 'hf', id: 'org/small', hub: srv.hubBase() },
  ]) {
    srv.reset();
    await assert.rejects(resolveSource(src), (e) => {
      assert.equal(e.kind, 'confirm', e.message);
      assert.deepEqual(e.hosts, [{ host: `127.0.0.1:${port}`, kind: 'loopback' }]);
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port} \\(this computer\\)`));
      return true;
    });
    assert.deepEqual(srv.log, [], 'nothing was requested');
    const r = await resolveSource(src, { allowHosts: new Set([`127.0.0.1:${port}`]) });
    assert.equal(r.files.length, 1);
    assert.ok(srv.log.length > 0);
  }
});

test('a redirect to a host nobody confirmed stops the read and names that host', async () => {
  const cdn = new URL(srv.cdnOrigin).host;
  const src = { kind: 'hf', id: 'org/small', hub: srv.hubBase(['xorigin']) };
  await assert.rejects(resolveSource(src, { allowHosts: new Set([new URL(srv.origin).host]) }), (e) => {
    assert.equal(e.kind, 'confirm', e.message);
    assert.deepEqual(e.hosts.map((h) => h.host), [cdn]);
    assert.match(e.message, /redirected to http:\/\/127\.0\.0\.1:\d+\/_\/xorigin\/cdn\/org\/small\/main\//);
    return true;
  });
  const r = await resolveSource(src, { allowHosts: new Set([new URL(srv.origin).host, cdn]) });
  assert.equal(r.files.length, 1);
});

test('a Hub id is named with the host it is read from when hub= is not the Hugging Face Hub', async () => {
  assert.equal(sourceLabel({ kind: 'hf', id: 'org/name', hub: DEFAULT_HUB }), 'org/name@main on huggingface.co');
  assert.equal(sourceLabel({ kind: 'hf', id: 'org/name@v2', hub: 'http://127.0.0.1:5000/' }), 'org/name@v2 on 127.0.0.1:5000 (not the Hugging Face Hub)');
  assert.equal(sourceLabel({ kind: 'url', url: 'https://example.org/m/' }), 'https://example.org/m/');
  const r = await resolveSource({ kind: 'hf', id: 'org/small', hub: srv.hubBase() }, { allowHosts: new Set([new URL(srv.origin).host]) });
  assert.equal(r.label, `org/small@main on ${new URL(srv.origin).host} (not the Hugging Face Hub)`);
});

test('production pages connect to https only; the test pages may add loopback', () => {
  const connectSrc = (html) => /connect-src ([^;"]*)/.exec(html)[1].trim();
  for (const f of ['index.html', 'compare.html']) {
    const html = fs.readFileSync(path.join(repoRoot, 'www', f), 'utf8');
    assert.match(connectSrc(html), /http:\/\/127\.0\.0\.1:\*/, `${f} (test build)`);
    const prod = productionCsp(html, f);
    assert.equal(connectSrc(prod), "'self' https:", f);
    // the rest of the policy is untouched
    assert.equal(prod.replace(/connect-src [^;"]*/, ''), html.replace(/connect-src [^;"]*/, ''));
  }
  assert.throws(() => productionCsp('<html></html>', 'x.html'), /x\.html: no Content-Security-Policy/);
});
