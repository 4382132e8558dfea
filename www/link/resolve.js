// Resolving a link source (an address or a Hub id) to the files of a model,
// header first: for every shard the 8-byte length prefix and the header (at
// most CONCURRENCY shards at a time), plus the index and config.json. The
// page hands every worker these header bytes (`head`), so that opening the
// model in N workers costs no further request; tensor data is read only by
// the workers (range-entry.js).
import { hostsToConfirm } from './guard.js';
import { DEFAULT_HUB } from './fragment.js';
import { RemoteError, confirmError } from './errors.js';
import { fetchRange, fetchSide } from './http.js';
import { MAX_HEADER_BYTES } from '../shared/settings.js';

/** Shards whose headers are fetched at the same time. */
export const CONCURRENCY = 4;
const INDEX_NAME = 'model.safetensors.index.json';

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
