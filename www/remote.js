// Opening models by link: URL fragment parameters, header-first range
// reads, and the workers' synchronous range reader. No DOM here: the page
// (app.js, compare.js) and the workers (worker.js, compare-worker.js) all
// import this module.
//
// Who reads what:
// * The page fetches, for every shard, the 8-byte length prefix and then
//   the header (two Range requests, at most CONCURRENCY shards at a time),
//   plus model.safetensors.index.json and config.json. These are small,
//   asynchronous requests that never block drawing, and they let the page
//   hand every worker the same header bytes (`head`) so that opening the
//   model in N workers costs no further request.
// * Tensor data is read only by the workers, asynchronously, with
//   streamRange(): each body is streamed and stopped at the length asked
//   for, into the wasm memory (workers/reads.js). The wasm side reads only
//   the headers handed to it (remoteEntry()).

import { hostsToConfirm, describeHosts } from './linkguard.js';

export const DEFAULT_HUB = 'https://huggingface.co';
/** A server that ignores Range may still be used, with consent, below this size. */
export const FULL_BODY_LIMIT = 64 * 1000 * 1000;
/** Shards whose headers are fetched at the same time. */
export const CONCURRENCY = 4;
/** safetensors' own cap on the header length (MAX_HEADER_BYTES in src/header.rs). */
const MAX_HEADER_BYTES = 100_000_000;
/** The most bytes read of a JSON side file (index, config.json), whatever the server announces. */
export const MAX_JSON_BYTES = 64 << 20;
const INDEX_NAME = 'model.safetensors.index.json';

// ---------------------------------------------------------------- fragment

/**
 * Fragment parameters (values percent-encoded, `&`-separated, after `#`):
 *   url=ADDRESS          a .safetensors file, a *.safetensors.index.json, or a folder ending in /
 *   hf=ORG/NAME[@REV]    a Hugging Face Hub model (REV defaults to main)
 *   hub=BASE             the Hub's base address (default https://huggingface.co)
 *   against=ADDRESS      compare by link: the original model (url form) ...
 *   against-hf=ORG/NAME[@REV]  ... or as a Hub id; the model of url/hf is the converted one
 *   scheme=int8-tensor|int8-channel|affine8|affine4
 *   compare=SCHEME       a second scheme shown side by side
 *   policy=default|mlx
 *   filter=TEXT          the table's name filter
 *   layer=NAME           the selected layer
 *   warn=PCT, bad=PCT    rel. error thresholds of the row colours, in percent (1 and 5)
 *   sha256=FILE:HEX[,FILE:HEX...]  expected digests, checked after the analysis
 *   view=header          stop after the structure view (no tensor data fetched)
 *   budget=MIB           bytes of a row each worker reads ahead whole (default 256); larger rows are streamed
 */
export function parseFragment(hash) {
  const raw = String(hash ?? '').replace(/^#/, '');
  const p = new URLSearchParams(raw);
  const get = (k) => {
    const v = p.get(k);
    return v == null || v === '' ? null : v;
  };
  const num = (k) => {
    const v = get(k);
    if (v == null) return null;
    const x = Number(v);
    return Number.isFinite(x) && x >= 0 ? x : null;
  };
  const sha256 = [];
  const shaErrors = [];
  for (const part of (get('sha256') ?? '').split(',')) {
    if (!part.trim()) continue;
    const at = part.lastIndexOf(':');
    const file = at > 0 ? part.slice(0, at).trim() : '';
    const hex = at > 0 ? part.slice(at + 1).trim().toLowerCase() : '';
    if (!file || !/^[0-9a-f]{64}$/.test(hex)) shaErrors.push(part);
    else sha256.push({ file, hex });
  }
  return {
    url: get('url'),
    hf: get('hf'),
    hub: get('hub'),
    against: get('against'),
    againstHf: get('against-hf'),
    scheme: get('scheme'),
    compare: get('compare'),
    policy: get('policy'),
    filter: p.get('filter'),
    layer: get('layer'),
    warn: num('warn'),
    bad: num('bad'),
    sha256,
    shaErrors,
    view: get('view'),
    budget: num('budget'),
  };
}

/** The workers' read budget in bytes set by the fragment (budget=MIB), or null for their default. */
export function readBudget(hash) {
  const mib = parseFragment(hash).budget;
  return mib ? Math.round(mib * (1 << 20)) : null;
}

/** The fragment (without `#`) for params of the parseFragment shape; nulls and defaults left out. */
export function buildFragment(params) {
  const out = [];
  const add = (k, v) => {
    if (v == null || v === '') return;
    // encodeURIComponent keeps "/" and ":" readable only when we let them: the
    // value must survive URLSearchParams, so everything else is escaped.
    out.push(`${k}=${encodeURIComponent(String(v)).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@').replace(/%2C/g, ',')}`);
  };
  add('url', params.url);
  add('hf', params.hf);
  add('against', params.against);
  add('against-hf', params.againstHf);
  if (params.hub && params.hub !== DEFAULT_HUB) add('hub', params.hub);
  if (params.scheme && params.scheme !== 'int8-tensor') add('scheme', params.scheme);
  add('compare', params.compare);
  if (params.policy && params.policy !== 'default') add('policy', params.policy);
  add('filter', params.filter);
  add('layer', params.layer);
  if (params.warn != null && params.warn !== 1) add('warn', params.warn);
  if (params.bad != null && params.bad !== 5) add('bad', params.bad);
  if (params.sha256?.length) add('sha256', params.sha256.map((s) => `${s.file}:${s.hex}`).join(','));
  add('view', params.view);
  add('budget', params.budget);
  return out.join('&');
}

/** The link source of parsed params ({kind:'url'|'hf', ...}), the `against` side with against=true. */
export function sourceOf(params, against = false) {
  const url = against ? params.against : params.url;
  const hf = against ? params.againstHf : params.hf;
  if (url) return { kind: 'url', url };
  if (hf) return { kind: 'hf', id: hf, hub: params.hub || DEFAULT_HUB };
  return null;
}

// ---------------------------------------------------------------- errors

export class RemoteError extends Error {
  constructor(message, { kind, file = null, url = null, size = null, hosts = null } = {}) {
    super(message);
    this.hosts = hosts; // kind 'confirm': [{host, kind}] that need the visitor's click
    this.kind = kind;
    this.file = file;
    this.url = url;
    this.size = size;
  }
}

function fmtMB(n) {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

function statusError(status, file, url, ctx) {
  if (status === 404 || status === 410) {
    return new RemoteError(`${file}: not found (HTTP ${status}) at ${url}.${ctx.hf ? ` Check the model id and revision (${ctx.hf}).` : ''}`, { kind: 'notfound', file, url });
  }
  if (status === 401 || status === 403) {
    return new RemoteError(`${file}: access denied (HTTP ${status}) at ${url}. The model is gated or private: this page reads without credentials, so only public models can be opened by link. `
      + 'Download it (after accepting its terms on the Hub) and drop the folder here instead.', { kind: 'denied', file, url });
  }
  if (status === 416) {
    return new RemoteError(`${file}: the server refused the byte range (HTTP 416) at ${url}; the file is shorter than its own header says, or empty.`, { kind: 'range', file, url });
  }
  return new RemoteError(`${file}: HTTP ${status} from ${url}.`, { kind: 'http', file, url });
}

function networkError(file, url) {
  return new RemoteError(`${file}: could not read ${url}. The host does not allow cross-origin reads from this page (no CORS headers for this origin), or it could not be reached. `
    + 'Models can be opened by link only from hosts that send Access-Control-Allow-Origin (the Hugging Face Hub does).', { kind: 'cors', file, url });
}

/**
 * Checks a 206 answer's Content-Range against the request. `size` is the
 * size known from earlier answers (null at the first). Returns the total.
 */
function checkContentRange(header, start, end, size, got, file, url) {
  if (!header) {
    throw new RemoteError(`${file}: the server answered the range request for bytes ${start}-${end} without a readable Content-Range header (${url}). `
      + 'It must send Content-Range and expose it to this page (Access-Control-Expose-Headers: Content-Range).', { kind: 'contentrange', file, url });
  }
  const m = /^\s*bytes\s+(\d+)-(\d+)\s*\/\s*(\d+|\*)\s*$/i.exec(header);
  if (!m) {
    throw new RemoteError(`${file}: unreadable Content-Range "${header}" for bytes ${start}-${end} (${url}).`, { kind: 'contentrange', file, url });
  }
  const [a, b] = [Number(m[1]), Number(m[2])];
  const total = m[3] === '*' ? null : Number(m[3]);
  if (total == null) {
    throw new RemoteError(`${file}: Content-Range "${header}" gives no total size (${url}).`, { kind: 'contentrange', file, url });
  }
  if (size != null && total !== size) {
    throw new RemoteError(`${file}: Content-Range "${header}" disagrees with the file size ${size} bytes reported before (${url}); the file changed on the server, or the server reports sizes inconsistently.`, { kind: 'contentrange', file, url });
  }
  const wantEnd = Math.min(end, total - 1);
  if (a !== start || b !== wantEnd) {
    throw new RemoteError(`${file}: asked for bytes ${start}-${end} but Content-Range says "${header}" (${url}).`, { kind: 'contentrange', file, url });
  }
  if (got != null && got !== b - a + 1) {
    throw new RemoteError(`${file}: Content-Range "${header}" promises ${b - a + 1} bytes but ${got} arrived (${url}); the transfer was cut short.`, { kind: 'contentrange', file, url });
  }
  return total;
}

// ---------------------------------------------------------------- page side: async reads

/**
 * Reads a response body as a stream, chunk by chunk, and stops (cancelling
 * the transfer) as soon as more than `limit` bytes have arrived: a server
 * decides how long a body is, with or without Content-Length, so the cap is
 * checked on the bytes themselves. Returns the chunks and their total;
 * `tooLong()` builds the error thrown past the cap.
 */
export async function readCapped(resp, limit, tooLong, broken) {
  const chunks = [];
  let got = 0;
  if (!resp.body) return { chunks, got };
  const reader = resp.body.getReader();
  for (;;) {
    let r;
    try {
      r = await reader.read();
    } catch {
      throw broken();
    }
    if (r.done) break;
    got += r.value.byteLength;
    if (got > limit) {
      reader.cancel().catch(() => {});
      throw tooLong(got);
    }
    chunks.push(r.value);
  }
  return { chunks, got };
}

function concat(chunks, got) {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(got);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * A redirect may lead a public address to this computer or the visitor's
 * network: the final address of a response is held to the same rule as the
 * link itself (the request has been made, but its body is not read).
 */
function checkFinalHost(resp, ctl, file, url, ctx) {
  if (!ctx.allowHosts) return; // the workers' reads: the page checked these addresses
  const need = resp.url ? hostsToConfirm([resp.url], ctx.allowHosts) : [];
  if (need.length) {
    ctl.abort();
    throw confirmError(need, `${file}: ${url} redirected to ${resp.url}`);
  }
}

/** The error that stops a link until the visitor agrees to read from `hosts` ([{host, kind}]). */
export function confirmError(hosts, what) {
  return new RemoteError(`${what}, on ${describeHosts(hosts)}. A shared link does not open such hosts by itself; open it only if you expect this link to read from there.`,
    { kind: 'confirm', hosts });
}

/**
 * Fetches bytes [start, end] (inclusive) of `url`. Returns {bytes, total}.
 * On a 200 (Range ignored) throws kind 'norange' with the size, unless
 * opts.allowFull and the file is under FULL_BODY_LIMIT: then returns
 * {full: Blob, total}.
 */
export async function fetchRange(url, start, end, file, { size = null, allowFull = false, ctx = {}, count } = {}) {
  const ctl = new AbortController();
  let resp;
  try {
    resp = await fetch(url, { headers: { Range: `bytes=${start}-${end}` }, signal: ctl.signal, credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch {
    throw networkError(file, url);
  }
  checkFinalHost(resp, ctl, file, url, ctx);
  const broken = () => new RemoteError(`${file}: the connection broke while reading bytes ${start}-${end} of ${url}.`, { kind: 'network', file, url });
  if (resp.status === 200) {
    const len = Number(resp.headers.get('content-length'));
    const known = Number.isFinite(len) && resp.headers.get('content-length') != null ? len : null;
    if (allowFull && known != null && known < FULL_BODY_LIMIT) {
      const { chunks, got } = await readCapped(resp, FULL_BODY_LIMIT - 1, (n) => new RemoteError(`${file}: the server sent more than ${fmtMB(FULL_BODY_LIMIT)} for the whole file `
        + `(${fmtMB(n)} so far, after announcing ${fmtMB(known)}) at ${url}; the transfer was stopped.`, { kind: 'toolarge', file, url }), broken);
      count?.(got);
      return { full: new Blob(chunks), total: got };
    }
    ctl.abort(); // do not download a body nobody asked for
    const small = known != null && known < FULL_BODY_LIMIT;
    throw new RemoteError(`${file}: the server ignores Range requests (it answered HTTP 200 with the whole ${known != null ? fmtMB(known) : 'file'}) at ${url}. `
      + (small ? 'This file is small enough to download whole; continue only if that is fine.'
        : `Without range requests the file would have to be downloaded whole${known == null ? ' (its size is not given)' : ''}; files of ${fmtMB(FULL_BODY_LIMIT)} or more are not opened that way.`),
    { kind: 'norange', file, url, size: known });
  }
  if (resp.status !== 206) {
    ctl.abort();
    throw statusError(resp.status, file, url, ctx);
  }
  const want = end - start + 1;
  const { chunks, got } = await readCapped(resp, want, (n) => tooLongRange(file, url, start, end, n), broken);
  const buf = concat(chunks, got);
  count?.(buf.length);
  const total = checkContentRange(resp.headers.get('content-range'), start, end, size, buf.length, file, url);
  return { bytes: buf, total };
}

function tooLongRange(file, url, start, end, n) {
  return new RemoteError(`${file}: asked for bytes ${start}-${end} (${end - start + 1} bytes) but the server sent more (${n} bytes so far) at ${url}; the transfer was stopped.`,
    { kind: 'contentrange', file, url });
}

/** GETs a small side file (index, config). Returns {bytes, text} or throws a RemoteError. */
async function fetchSide(url, file, ctx, count) {
  let resp;
  try {
    resp = await fetch(url, { credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch {
    throw networkError(file, url);
  }
  const ctl = { abort: () => resp.body?.cancel().catch(() => {}) };
  checkFinalHost(resp, ctl, file, url, ctx);
  if (!resp.ok) throw statusError(resp.status, file, url, ctx);
  const tooLarge = (n) => new RemoteError(`${file} is ${fmtMB(n)} or more; JSON side files over ${fmtMB(MAX_JSON_BYTES)} are not read (${url})`, { kind: 'toolarge', file, url });
  const len = Number(resp.headers.get('content-length'));
  if (resp.headers.get('content-length') != null && Number.isFinite(len) && len > MAX_JSON_BYTES) {
    ctl.abort();
    throw tooLarge(len);
  }
  const { chunks, got } = await readCapped(resp, MAX_JSON_BYTES, tooLarge,
    () => new RemoteError(`${file}: the connection broke while reading ${url}.`, { kind: 'network', file, url }));
  const bytes = concat(chunks, got);
  count?.(bytes.length);
  return { bytes, text: new TextDecoder().decode(bytes) };
}

/** The head of one shard: the 8-byte prefix and the header. */
async function fetchHead(name, url, opts) {
  const first = await fetchRange(url, 0, 7, name, opts);
  if (first.full) return { name, url, size: first.total, blob: first.full };
  const size = first.total;
  const prefix = first.bytes;
  if (prefix.length < 8) return { name, url, size, head: prefix }; // the wasm side names it: too short
  const declared = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  // A length past the cap or the end is reported by the wasm side, which
  // needs only the prefix for that.
  if (declared === 0 || declared > MAX_HEADER_BYTES || declared > size - 8) return { name, url, size, head: prefix };
  const rest = await fetchRange(url, 8, 8 + declared - 1, name, { ...opts, size });
  if (rest.full) return { name, url, size: rest.total, blob: rest.full };
  const head = new Uint8Array(8 + declared);
  head.set(prefix, 0);
  head.set(rest.bytes, 8);
  return { name, url, size, head };
}

async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  let failed = null;
  const run = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failed = failed ?? e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  if (failed) throw failed;
  return out;
}

function hubBase(src) {
  const m = /^([A-Za-z0-9][\w.-]*)\/([\w.-]+)(?:@(.+))?$/.exec(src.id);
  if (!m) throw new RemoteError(`"${src.id}" is not a Hub model id: expected hf=ORG/NAME or hf=ORG/NAME@REVISION.`, { kind: 'badlink' });
  let hub;
  try {
    hub = new URL(src.hub);
  } catch {
    throw new RemoteError(`hub=${src.hub} is not an address.`, { kind: 'badlink' });
  }
  const base = hub.href.replace(/\/+$/, '');
  const rev = m[3] ?? 'main';
  return { base: `${base}/${m[1]}/${m[2]}/resolve/${encodeURIComponent(rev)}/`, repo: `${m[1]}/${m[2]}`, rev };
}

/**
 * How a link source is named wherever the page shows it: the address for
 * url=, and for a Hub id `ORG/NAME@REV`, followed by the host it is read
 * from when hub= points somewhere other than the Hugging Face Hub.
 */
export function sourceLabel(src) {
  if (src.kind === 'url') return src.url;
  const m = /^([^@]*)(?:@(.+))?$/.exec(src.id);
  const id = `${m[1]}@${m[2] ?? 'main'}`;
  const hub = String(src.hub ?? DEFAULT_HUB).replace(/\/+$/, '');
  let host;
  try {
    host = new URL(hub).host;
  } catch {
    host = hub;
  }
  return hub === DEFAULT_HUB ? `${id} on ${host}` : `${id} on ${host} (not the Hugging Face Hub)`;
}

/** The hosts of a link source (its address, or its Hub's) that need the visitor's click: [{host, kind}]. */
export function hostsOfSource(src, allowHosts = new Set()) {
  let address;
  try {
    address = src.kind === 'hf' ? hubBase(src).base : new URL(src.url).href;
  } catch {
    return []; // refused later, with its own message
  }
  return hostsToConfirm([address], allowHosts);
}

function checkAddress(u, what) {
  let url;
  try {
    url = new URL(u);
  } catch {
    throw new RemoteError(`${what} "${u}" is not an absolute address (it must start with https://).`, { kind: 'badlink' });
  }
  const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new RemoteError(`${what} ${url.href}: only https:// addresses can be opened (http:// only on this computer, localhost or 127.0.0.1).`, { kind: 'badlink' });
  }
  return url;
}

/**
 * Resolves a link source to what the Inspector needs, header first:
 *   {label, source, files: [{name, url, size, head} | {name, url, size, blob}],
 *    index: {name, text} | null, indexName, config, configName,
 *    side: Map(name -> {url, bytes}), notes: [string], fetched, total}
 * Throws a RemoteError with a message naming the file and address.
 */
export async function resolveSource(src, { allowFull = false, onFetched, allowHosts = new Set() } = {}) {
  let fetched = 0;
  const count = (n) => {
    fetched += n;
    onFetched?.(fetched);
  };
  let base;
  let single = null;
  let indexUrl = null;
  let label;
  const ctx = { allowHosts };
  if (src.kind === 'hf') {
    const h = hubBase(src);
    const hub = checkAddress(h.base, 'Hub address');
    base = h.base;
    ctx.hf = src.id;
    label = sourceLabel(src);
    const need = hostsOfSource(src, allowHosts);
    if (need.length) throw confirmError(need, `This link reads the Hub model ${src.id} from ${hub.origin}`);
  } else {
    const url = checkAddress(src.url, 'url');
    const need = hostsOfSource(src, allowHosts);
    if (need.length) throw confirmError(need, `This link reads ${url.href}`);
    const last = url.pathname.split('/').pop();
    const lower = decodeURIComponent(last).toLowerCase();
    label = url.href;
    if (url.pathname.endsWith('/')) base = url.href;
    else if (lower.endsWith('.safetensors.index.json')) indexUrl = url.href;
    else if (lower.endsWith('.safetensors')) single = url.href;
    else if (!lower.includes('.')) base = `${url.href.replace(/[?#].*$/, '')}/`;
    else throw new RemoteError(`url=${url.href}: the address must name a .safetensors file, a .safetensors.index.json, or a folder ending in "/".`, { kind: 'badlink' });
  }
  const opts = { allowFull, ctx, count };
  const side = new Map();
  const notes = [];
  let index = null;
  let shardNames;
  let dir;
  let configProbe = null;
  if (single) {
    const u = new URL(single);
    shardNames = [{ name: decodeURIComponent(u.pathname.split('/').pop()), url: single }];
    dir = new URL('./', u).href;
  } else {
    if (base) {
      dir = base;
      indexUrl = new URL(INDEX_NAME, base).href;
      configProbe = fetchSide(new URL('config.json', base).href, 'config.json', ctx, count).catch((e) => e);
      try {
        const got = await fetchSide(indexUrl, INDEX_NAME, ctx, count);
        index = { name: INDEX_NAME, text: got.text };
        side.set(INDEX_NAME, { url: indexUrl, bytes: got.bytes });
      } catch (e) {
        if (e.kind !== 'notfound') throw e;
        indexUrl = null;
      }
    } else {
      dir = new URL('./', indexUrl).href;
      const name = decodeURIComponent(new URL(indexUrl).pathname.split('/').pop());
      const got = await fetchSide(indexUrl, name, ctx, count);
      index = { name, text: got.text };
      side.set(name, { url: indexUrl, bytes: got.bytes });
    }
    if (index) {
      let map;
      try {
        map = JSON.parse(index.text).weight_map;
      } catch (e) {
        throw new RemoteError(`${index.name}: not valid JSON (${e.message}) at ${indexUrl}.`, { kind: 'badindex', file: index.name, url: indexUrl });
      }
      if (!map || typeof map !== 'object') throw new RemoteError(`${index.name}: no "weight_map" object (${indexUrl}).`, { kind: 'badindex', file: index.name, url: indexUrl });
      const names = [...new Set(Object.values(map).map(String))].sort();
      for (const n of names) {
        if (n.includes('/') || n.includes('\\') || n === '..' || n === '.' || n === '') {
          throw new RemoteError(`${index.name}: shard name "${n}" is not a plain file name; refusing to fetch it (${indexUrl}).`, { kind: 'badindex', file: index.name, url: indexUrl });
        }
      }
      shardNames = names.map((n) => ({ name: n, url: new URL(encodeURIComponent(n), dir).href }));
    } else {
      // a folder without an index: one model.safetensors
      shardNames = [{ name: 'model.safetensors', url: new URL('model.safetensors', base).href }];
    }
  }
  if (!configProbe) configProbe = fetchSide(new URL('config.json', dir).href, 'config.json', ctx, count).catch((e) => e);

  let files;
  try {
    files = await mapLimit(shardNames, CONCURRENCY, (s) => fetchHead(s.name, s.url, opts));
  } catch (e) {
    if (base && !index && e.kind === 'notfound') {
      const cfg = await configProbe;
      throw new RemoteError(cfg instanceof Error
        ? `Nothing to open at ${base}: neither ${INDEX_NAME} nor model.safetensors nor config.json was found there (HTTP 404).${ctx.hf ? ` Check the model id and revision (${ctx.hf}).` : ''}`
        : `${base} has a config.json but neither ${INDEX_NAME} nor model.safetensors: only safetensors weights can be analysed (not .bin or .gguf).`, { kind: 'notfound', url: base });
    }
    throw e;
  }
  const cfg = await configProbe;
  let config = null;
  if (cfg instanceof Error) {
    notes.push(cfg.kind === 'notfound' ? 'config.json: not present' : `config.json: not read (${cfg.message})`);
  } else {
    config = cfg.text;
    side.set('config.json', { url: new URL('config.json', dir).href, bytes: cfg.bytes });
  }
  return {
    label,
    source: src,
    files,
    index,
    indexName: index?.name ?? null,
    config,
    configName: config != null ? 'config.json' : null,
    side,
    notes,
    fetched,
    total: files.reduce((a, f) => a + f.size, 0),
  };
}

// ---------------------------------------------------------------- worker side

/**
 * Streams bytes [start, start + length) of a link file ({name, url, size})
 * to `onChunk(bytes, at)` as they arrive (`at`: offset from `start`). The
 * answer is checked before its body is read (HTTP 206 with the matching
 * Content-Range), and the transfer is cancelled at the first chunk past
 * `length`: whatever a server sends, no more than `length` bytes are held.
 * Throws a RemoteError naming the file, the bytes and the address.
 */
export async function streamRange(f, start, length, onChunk, counter) {
  const { name, url, size } = f;
  const last = start + length - 1;
  const ctl = new AbortController();
  let resp;
  try {
    resp = await fetch(url, { headers: { Range: `bytes=${start}-${last}` }, signal: ctl.signal, credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch {
    throw new RemoteError(`${name}: the range request for bytes ${start}-${last} of ${url} failed: the connection was lost, `
      + 'or the host (or the host it redirects to) refused the cross-origin read.', { kind: 'network', file: name, url });
  }
  try {
    if (resp.status === 200) {
      throw new RemoteError(`${name}: the server stopped honouring Range requests (HTTP 200 for bytes ${start}-${last}) at ${url}; the transfer was stopped.`, { kind: 'norange', file: name, url });
    }
    if (resp.status !== 206) throw statusError(resp.status, name, url, {});
    checkContentRange(resp.headers.get('content-range'), start, last, size, null, name, url);
  } catch (e) {
    ctl.abort();
    throw e;
  }
  const broken = () => new RemoteError(`${name}: the connection broke while reading bytes ${start}-${last} of ${url}.`, { kind: 'network', file: name, url });
  let got = 0;
  const reader = resp.body?.getReader();
  while (reader) {
    let r;
    try {
      r = await reader.read();
    } catch {
      throw broken();
    }
    if (r.done) break;
    const n = r.value.byteLength;
    counter.bytes += n;
    if (got + n > length) {
      reader.cancel().catch(() => {});
      ctl.abort();
      throw tooLongRange(name, url, start, last, got + n);
    }
    onChunk(r.value, got);
    got += n;
  }
  if (got !== length) {
    throw new RemoteError(`${name}: asked for bytes ${start}-${last} (${length} bytes) but the transfer ended after ${got} at ${url}.`, { kind: 'contentrange', file: name, url });
  }
}

/**
 * A file entry for the wasm side from {name, url, size, head} (or
 * {name, blob}, passed through). The wasm side reads a link's header from
 * `head` and nothing else: the workers read tensor data ahead of each
 * analysis with streamRange (a synchronous request could only be checked
 * once its whole body was in memory).
 */
export function remoteEntry(f) {
  if (f.blob) return { name: f.name, blob: f.blob };
  const { name, url, size } = f;
  const head = f.head ?? new Uint8Array(0);
  return {
    name,
    size,
    read(offset, length) {
      const end = offset + length;
      if (end <= head.length) return head.slice(offset, end);
      throw new RemoteError(`${name}: bytes ${offset}-${end - 1} of ${url} were needed but not read ahead (an internal error: please report it).`, { kind: 'internal', file: name, url });
    },
  };
}
