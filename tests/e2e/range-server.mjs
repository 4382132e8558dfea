// A test HTTP server for the open-by-link tests (not a test file itself; its
// own tests are in range-server.test.mjs). Node built-ins only.
//
//   const srv = await startRangeServer({
//     mounts: { '/models/': '/some/dir', '/site/': { dir: 'dist', index: true } },
//     hub: { 'org/name': '/dir/of/that/model' },
//   });
//   srv.origin                       // http://127.0.0.1:PORT
//   srv.url('/models/x.safetensors') // origin + path
//   srv.url('/org/name/resolve/main/model.safetensors', ['norange'])  // with switches
//   srv.hubBase(['403'])             // base for the page's configurable Hub address
//   srv.log                          // [{method, path, range, status, bytes, ...}]
//   srv.bytesSent((e) => ...)        // sum of body bytes written, optional filter
//   srv.reset()                      // clears the log
//   await srv.close()
//
// Routes (after the optional switch prefix is stripped):
//   <mount prefix><relative path>               static file from the mounted dir
//   /<org>/<name>/resolve/<revision>/<file>     302 to /cdn/<org>/<name>/<revision>/<file>
//   /cdn/<org>/<name>/<revision>/<file>         the file from the hub dir
// Mounts are matched first (longest prefix). A URL ending in "/" is never
// listed: 404, or index.html for a mount given as { dir, index: true }.
// Every response carries CORS headers (unless `nocors`) and `Cache-Control:
// no-store`, so the browser never revalidates and every byte is counted here.
//
// Switches ride in the URL so that parallel tests cannot interfere: a leading
// /_/<sw>[,<sw>...]/ is stripped before routing and carried over into
// redirect Locations:
//   norange      ignore Range: always 200 with the full body (no Accept-Ranges)
//   nocors       no Access-Control-* header at all (OPTIONS included)
//   404|401|403  that status for every file (403/401: the Hub's gated-model text)
//   truncate=N   the file behaves as if only its first N bytes existed
//   badtotal     Content-Range total is 4096 larger than the file (bodies correct)
//   badstart     206 Content-Range start (and end) is +16 off (body from the requested start)
//   delay=MS     wait MS milliseconds before answering
//   xorigin      redirects point at the second listener (`cdnOrigin`), as the
//                Hub redirects to another host
//   overlong=N   a server that lies about lengths: file answers (200 and 206)
//                carry no Content-Length (and no Content-Range, which would
//                let the browser cut the body short itself), and after the
//                right bytes come N bytes more of padding (spaces, so JSON
//                stays valid); with
//   overfrom=K   only 206 answers whose range starts at byte K or later lie
//                The log entry's `cut` is true when the client hung up
//                before the body was complete.
//   lie=MODE     range requests starting at byte K (overfrom) or later and
//                reaching byte `overto` or later (0 by default), after
//                the first `honest=N` such requests for the same URL (0 by
//                default), get a wrong answer followed by `overlong` bytes of
//                padding, with no Content-Length: MODE 200 ignores the Range
//                (the whole file, then the padding); nocr answers 206 without
//                Content-Range; wide answers 206 whose Content-Range runs
//                `overlong` bytes past the end asked for (and sends them).
//                The log entry's `lie` is true for those answers.
//
// Manual use:
//   node tests/e2e/range-server.mjs --port 8090 --mount /models/=DIR --site /app/=dist --hub org/name=DIR
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIME_TYPES as TYPES } from '../../scripts/mime-types.mjs';


const EXPOSE = 'Content-Range, Content-Length, Accept-Ranges, ETag, X-Linked-Size';
const KNOWN_SWITCHES = new Set(['norange', 'nocors', '404', '401', '403', 'badtotal', 'badstart', 'xorigin']);

/** Parses "/_/a,b=1/rest" into {switches: {a: true, b: '1'}, raw: 'a,b=1', rest: '/rest'}. */
function splitSwitches(rawPath) {
  const m = rawPath.match(/^\/_\/([^/]*)(\/.*)?$/);
  if (!m) return { switches: {}, raw: '', rest: rawPath };
  const switches = {};
  for (const part of decodeURIComponent(m[1]).split(',')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 && !KNOWN_SWITCHES.has(key)) throw new Error(`unknown switch ${key}`);
    if (eq >= 0 && !['truncate', 'delay', 'overlong', 'overfrom', 'overto', 'lie', 'honest'].includes(key)) throw new Error(`unknown switch ${key}`);
    switches[key] = eq < 0 ? true : part.slice(eq + 1);
  }
  return { switches, raw: m[1], rest: m[2] ?? '/' };
}

/**
 * Decodes path segments; null for traversal attempts or bad encodings. The
 * segment at index `slashOk` (a Hub revision such as refs%2Fpr%2F1) may hold
 * an encoded slash.
 */
function decodeSegments(rawRest, slashOk = -1) {
  const segs = [];
  for (const [i, s] of rawRest.split('/').entries()) {
    let d;
    try {
      d = decodeURIComponent(s);
    } catch {
      return null;
    }
    if (d === '..' || d === '.' || d.includes('\0') || d.includes('\\')) return null;
    if (d.includes('/') && (i !== slashOk || d.split('/').some((x) => x === '..' || x === '.'))) return null;
    segs.push(d);
  }
  return segs;
}

/** The file under `dir` named by decoded segments, or null when it escapes `dir`. */
function inside(dir, segs) {
  const root = path.resolve(dir);
  const full = path.resolve(root, ...segs);
  return full === root || full.startsWith(root + path.sep) ? full : null;
}

/**
 * Parses a Range header against `size`. Returns null (no range: serve 200),
 * {unsatisfiable: true}, or {start, end} (inclusive).
 */
export function parseRange(header, size) {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null; // malformed or several ranges: ignored, as RFC 9110 allows
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return { unsatisfiable: true };
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return null; // invalid: ignored
  if (start >= size) return { unsatisfiable: true };
  return { start, end: Math.min(end, size - 1) };
}

function normaliseMounts(mounts = {}) {
  return Object.entries(mounts)
    .map(([prefix, v]) => {
      const spec = typeof v === 'string' ? { dir: v } : { ...v };
      let p = prefix.startsWith('/') ? prefix : `/${prefix}`;
      if (!p.endsWith('/')) p += '/';
      return { prefix: p, dir: path.resolve(spec.dir), index: !!spec.index };
    })
    .sort((x, y) => y.prefix.length - x.prefix.length);
}

/**
 * Starts the server on 127.0.0.1 (port 0 = a free port; opts.port to choose).
 * opts = { mounts: {prefix: dir | {dir, index}}, hub: {'org/name': dir}, port, cdnPort }
 */
export async function startRangeServer(opts = {}) {
  const mounts = normaliseMounts(opts.mounts);
  const hub = new Map(Object.entries(opts.hub ?? {}).map(([k, d]) => [k, path.resolve(d)]));
  const log = [];
  let origin = '';
  let cdnOrigin = '';

  async function handle(req, res) {
    const url = new URL(req.url, 'http://x');
    const entry = {
      method: req.method, path: url.pathname, range: req.headers.range ?? null,
      status: 0, bytes: 0, done: false, cut: false, route: null, switches: {}, revision: null, file: null,
    };
    log.push(entry);
    res.on('close', () => { entry.done = true; });
    let sw = {};
    let swRaw = '';
    let rest = url.pathname;
    try {
      ({ switches: sw, raw: swRaw, rest } = splitSwitches(url.pathname));
    } catch (e) {
      return finish(res, entry, 400, {}, `${e.message}\n`, false);
    }
    entry.switches = sw;
    entry.route = rest;
    const cors = !sw.nocors;
    const delay = Number(sw.delay ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));

    if (req.method === 'OPTIONS') {
      const h = cors ? {
        'Access-Control-Allow-Headers': 'Range, Content-Type',
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Max-Age': '600',
      } : {};
      return finish(res, entry, 204, h, null, cors);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return finish(res, entry, 405, { Allow: 'GET, HEAD, OPTIONS' }, 'method not allowed\n', cors);
    }
    const prefixOut = swRaw ? `/_/${swRaw}` : '';

    // mounts
    const mount = mounts.find((m) => rest.startsWith(m.prefix) || (m.index && rest === m.prefix.slice(0, -1)));
    if (mount) {
      if (rest === mount.prefix.slice(0, -1)) {
        return finish(res, entry, 301, { Location: `${prefixOut}${mount.prefix}` }, null, cors);
      }
      const segs = decodeSegments(rest.slice(mount.prefix.length));
      if (!segs) return finish(res, entry, 404, {}, 'not found\n', cors);
      if (segs[segs.length - 1] === '') {
        if (!mount.index) return finish(res, entry, 404, {}, 'not found\n', cors);
        segs[segs.length - 1] = 'index.html';
      }
      const file = inside(mount.dir, segs);
      return serveFile(req, res, entry, file, sw, cors, rest, log);
    }

    const rawSegs = rest.slice(1).split('/');
    const segs = decodeSegments(rest.slice(1), rawSegs[0] === 'cdn' ? 3 : rawSegs[2] === 'resolve' ? 3 : -1);
    if (!segs) return finish(res, entry, 404, {}, 'not found\n', cors);

    // /cdn/<org>/<name>/<revision>/<file...>
    if (segs[0] === 'cdn' && segs.length >= 5) {
      const repo = `${segs[1]}/${segs[2]}`;
      entry.revision = segs[3];
      const dir = hub.get(repo);
      if (!dir) return finish(res, entry, 404, {}, 'not found\n', cors);
      const fileSegs = segs.slice(4);
      entry.file = fileSegs.join('/');
      if (fileSegs.includes('')) return finish(res, entry, 404, {}, 'not found\n', cors);
      return serveFile(req, res, entry, inside(dir, fileSegs), sw, cors, repo, log);
    }

    // /<org>/<name>/resolve/<revision>/<file...>
    if (segs.length >= 5 && segs[2] === 'resolve') {
      const repo = `${segs[0]}/${segs[1]}`;
      const rev = segs[3];
      entry.revision = rev;
      const fileSegs = segs.slice(4);
      entry.file = fileSegs.join('/');
      const dir = hub.get(repo);
      const hubError = (code, msg) => finish(res, entry, 404,
        { 'X-Error-Code': code, 'X-Error-Message': msg }, msg, cors);
      if (!dir) return hubError('RepositoryNotFound', 'Repository not found');
      const st = statusSwitch(sw);
      if (st) return finish(res, entry, st, gatedHeaders(st, repo), gatedBody(st, repo), cors);
      if (rev === 'missing-rev') return hubError('RevisionNotFound', 'Revision Not Found');
      const file = fileSegs.includes('') ? null : inside(dir, fileSegs);
      const size = fileSize(file);
      if (size === null) return hubError('EntryNotFound', 'Entry not found');
      const target = `${sw.xorigin ? cdnOrigin : origin}${prefixOut}/cdn/${encodeURIComponent(segs[0])}/`
        + `${encodeURIComponent(segs[1])}/${encodeURIComponent(rev)}/${fileSegs.map(encodeURIComponent).join('/')}`;
      const eff = sw.truncate !== undefined ? Math.min(size, Number(sw.truncate)) : size;
      return finish(res, entry, 302, { Location: target, 'X-Linked-Size': String(eff) }, null, cors);
    }
    return finish(res, entry, 404, {}, 'not found\n', cors);
  }

  const main = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(e));
    });
  });
  const cdn = http.createServer(main.listeners('request')[0]);
  const listen = (srv, port) => new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv.address().port));
  });
  origin = `http://127.0.0.1:${await listen(main, opts.port ?? 0)}`;
  cdnOrigin = `http://127.0.0.1:${await listen(cdn, opts.cdnPort ?? 0)}`;

  const withSwitches = (p, switches) => {
    const list = typeof switches === 'string' ? [switches] : (switches ?? []);
    return list.length ? `/_/${list.join(',')}${p}` : p;
  };
  const match = (filter) => {
    if (!filter) return () => true;
    if (typeof filter === 'function') return filter;
    if (filter instanceof RegExp) return (e) => filter.test(e.path);
    return (e) => e.path.includes(String(filter));
  };
  return {
    origin,
    cdnOrigin,
    url: (p, switches) => `${origin}${withSwitches(p, switches)}`,
    hubBase: (switches) => `${origin}${withSwitches('', switches)}`,
    log,
    bytesSent: (filter) => log.filter(match(filter)).reduce((s, e) => s + e.bytes, 0),
    reset: () => { log.length = 0; },
    close: () => Promise.all([main, cdn].map((s) => new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections?.();
    }))),
  };
}

function statusSwitch(sw) {
  for (const s of ['404', '401', '403']) if (sw[s]) return Number(s);
  return 0;
}

function gatedHeaders(status, what) {
  if (status === 404) return { 'X-Error-Code': 'EntryNotFound', 'X-Error-Message': 'Entry not found' };
  return { 'X-Error-Code': 'GatedRepo', 'X-Error-Message': gatedBody(status, what) };
}

function gatedBody(status, what) {
  if (status === 404) return 'Entry not found';
  if (status === 401) return `Access to model ${what} is restricted. You must be authenticated to access it.`;
  return `Access to model ${what} is restricted. You must have access to it and be authenticated to access it.`;
}

function fileSize(file) {
  if (!file) return null;
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

function corsHeaders() {
  return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': EXPOSE };
}

/** Writes a complete small response and records it. */
function finish(res, entry, status, headers, body, cors) {
  const buf = body == null ? null : Buffer.from(body);
  const h = {
    'Cache-Control': 'no-store',
    ...(cors ? corsHeaders() : {}),
    ...(buf ? { 'Content-Type': 'text/plain; charset=utf-8' } : {}),
    'Content-Length': String(buf ? buf.length : 0),
    ...headers,
  };
  entry.status = status;
  res.writeHead(status, h);
  if (buf && entry.method !== 'HEAD') {
    entry.bytes += buf.length;
    res.end(buf);
  } else {
    res.end();
  }
}

function serveFile(req, res, entry, file, sw, cors, what, log) {
  const st = statusSwitch(sw);
  if (st) return finish(res, entry, st, gatedHeaders(st, what), gatedBody(st, what), cors);
  let stat = null;
  try {
    stat = file ? fs.statSync(file) : null;
  } catch {
    stat = null;
  }
  if (!stat || !stat.isFile()) return finish(res, entry, 404, {}, 'not found\n', cors);
  const size = sw.truncate !== undefined ? Math.min(stat.size, Math.max(0, Number(sw.truncate) || 0)) : stat.size;
  const reportedTotal = sw.badtotal ? size + 4096 : size;
  const etag = `"${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const base = {
    'Cache-Control': 'no-store',
    ...(cors ? corsHeaders() : {}),
    'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'X-Content-Type-Options': 'nosniff',
    ETag: etag,
    ...(sw.norange ? {} : { 'Accept-Ranges': 'bytes' }),
  };
  const r = sw.norange ? null : parseRange(req.headers.range, size);
  if (r?.unsatisfiable) {
    return finish(res, entry, 416, { ...base, 'Content-Range': `bytes */${reportedTotal}` }, null, cors);
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const headers = { ...base };
  if (r) {
    ({ start, end } = r);
    status = 206;
    const shift = sw.badstart ? 16 : 0;
    headers['Content-Range'] = `bytes ${start + shift}-${end + shift}/${reportedTotal}`;
  }
  if (sw.lie && r && start >= Number(sw.overfrom ?? 0) && end >= Number(sw.overto ?? 0)) {
    entry.lieMatch = true;
    const seen = log.filter((e) => e !== entry && e.lieMatch && e.path === entry.path).length;
    entry.lie = seen >= Number(sw.honest ?? 0);
  }
  if (entry.lie) return lie(req, res, entry, file, sw.lie, { start, end, size, total: reportedTotal, pad: Number(sw.overlong ?? 0), headers });
  const length = end - start + 1;
  const extra = !sw.lie && sw.overlong !== undefined && (status === 200 || start >= Number(sw.overfrom ?? 0)) ? Number(sw.overlong) : 0;
  if (!extra) headers['Content-Length'] = String(Math.max(0, length));
  // Chromium itself stops a 206 body that runs past its Content-Range; without one, only the page can.
  else delete headers['Content-Range'];
  entry.status = status;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || length <= 0) return res.end();
  sendFile(res, entry, file, start, end, extra);
}

/** Streams file bytes [from, to] as the client takes them, then `extra` bytes of padding. */
function sendFile(res, entry, file, from, to, extra) {
  const stream = fs.createReadStream(file, { start: from, end: to });
  stream.on('data', (chunk) => {
    entry.bytes += chunk.length;
    if (!res.write(chunk)) {
      stream.pause();
      res.once('drain', () => stream.resume());
    }
  });
  stream.on('end', () => (extra ? pad(res, entry, extra) : res.end()));
  stream.on('error', () => res.destroy());
  res.on('close', () => {
    stream.destroy();
    if (!res.writableEnded) entry.cut = true;
  });
}

/** The wrong answers of the lie switch: file bytes [from, to], then `pad` bytes of padding. */
function lie(req, res, entry, file, mode, { start, end, size, total, pad: n, headers }) {
  delete headers['Content-Length'];
  let [status, from, to] = [206, start, end];
  if (mode === '200') {
    [status, from, to] = [200, 0, size - 1];
    delete headers['Content-Range'];
  } else if (mode === 'nocr') {
    delete headers['Content-Range'];
  } else if (mode === 'wide') {
    headers['Content-Range'] = `bytes ${start}-${end + n}/${total}`;
  } else {
    return finish(res, entry, 400, {}, `unknown lie ${mode}\n`, true);
  }
  entry.status = status;
  res.writeHead(status, headers);
  if (req.method === 'HEAD') return res.end();
  sendFile(res, entry, file, from, to, n);
}

/** Writes `n` bytes of spaces after a body (the overlong switch), as fast as the client takes them. */
function pad(res, entry, n) {
  const chunk = Buffer.alloc(64 << 10, 0x20);
  let left = n;
  const more = () => {
    while (left > 0 && !res.destroyed) {
      const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= c.length;
      entry.bytes += c.length;
      if (!res.write(c)) return res.once('drain', more);
    }
    if (!res.destroyed) res.end();
  };
  res.on('close', () => { if (left > 0) entry.cut = true; });
  more();
}

// ---------------------------------------------------------------- command line
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opts = { mounts: {}, hub: {}, port: 0 };
  for (let i = 0; i < args.length; i++) {
    const [k, v] = [args[i], args[i + 1]];
    const pair = () => {
      const eq = (v ?? '').indexOf('=');
      if (eq <= 0) throw new Error(`${k} expects KEY=DIR, got ${v}`);
      i++;
      return [v.slice(0, eq), v.slice(eq + 1)];
    };
    if (k === '--port') { opts.port = Number(v); i++; }
    else if (k === '--cdn-port') { opts.cdnPort = Number(v); i++; }
    else if (k === '--mount') { const [p, d] = pair(); opts.mounts[p] = d; }
    else if (k === '--site') { const [p, d] = pair(); opts.mounts[p] = { dir: d, index: true }; }
    else if (k === '--hub') { const [p, d] = pair(); opts.hub[p] = d; }
    else {
      console.error('usage: range-server.mjs [--port N] [--cdn-port N] [--mount /prefix/=DIR]... '
        + '[--site /prefix/=DIR]... [--hub org/name=DIR]...');
      process.exit(2);
    }
  }
  const srv = await startRangeServer(opts);
  console.log(`range server: ${srv.origin}/ (second origin for xorigin redirects: ${srv.cdnOrigin}/)`);
  for (const [p, m] of Object.entries(opts.mounts)) console.log(`  ${srv.origin}${p} -> ${typeof m === 'string' ? m : m.dir}`);
  for (const [r, d] of Object.entries(opts.hub)) console.log(`  ${srv.origin}/${r}/resolve/main/<file> -> ${d}`);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => srv.close().then(() => process.exit(0)));
}
