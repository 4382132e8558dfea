#!/usr/bin/env node
// Static server for the quantlens browser inspector (no dependencies).
//   node scripts/serve.mjs [--port N] [--host H] [--root DIR] [--sample DIR]
// Serves www/ at /, and the MiniLM sample (model.safetensors, config.json only)
// at /sample/. --port 0 picks a free port. Prints "quantlens inspector: URL".
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIME_TYPES as TYPES } from './mime-types.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const port = Number(opt('--port', process.env.PORT ?? 8080));
const host = opt('--host', '127.0.0.1');
const root = path.resolve(opt('--root', path.join(repoRoot, 'www')));
const sampleDir = path.resolve(opt('--sample', path.join(repoRoot, '../shared/models/all-MiniLM-L6-v2')));
const SAMPLE_FILES = new Set(['model.safetensors', 'config.json']);


function send(res, code, text) {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function resolvePath(urlPath) {
  let p;
  try {
    p = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (p.includes('\0')) return null;
  if (p.startsWith('/sample/')) {
    const name = p.slice('/sample/'.length);
    return SAMPLE_FILES.has(name) ? path.join(sampleDir, name) : null;
  }
  if (p.endsWith('/')) p += 'index.html';
  const full = path.resolve(root, '.' + p);
  if (full !== root && !full.startsWith(root + path.sep)) return null;
  return full;
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  const url = new URL(req.url, 'http://localhost');
  const file = resolvePath(url.pathname);
  if (!file) return send(res, 404, 'not found');
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return send(res, 404, 'not found');
    const headers = {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return res.end();
    const stream = fs.createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
});

server.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`quantlens inspector: http://${host}:${actual}/`);
  if (!fs.existsSync(path.join(root, 'pkg', 'quantlens_bg.wasm'))) {
    console.log('warning: www/pkg is missing; run scripts/build-web first');
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
