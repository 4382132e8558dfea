// The page's and workers' asynchronous reads of a link: a Range request
// with every answer checked (status, Content-Range, length, final host) and
// a small side file read under its cap.
import { hostsToConfirm } from './guard.js';
import { RemoteError, statusError, networkError, checkContentRange, confirmError } from './errors.js';
import { fmtBytes } from '../shared/format.js';
import { FULL_BODY_LIMIT, MAX_JSON_BYTES } from '../shared/settings.js';

/**
 * Reads a response body as a stream, chunk by chunk, and stops (cancelling
 * the transfer) as soon as more than `limit` bytes have arrived: a server
 * decides how long a body is, with or without Content-Length, so the cap is
 * checked on the bytes themselves. Returns the chunks and their total, or,
 * with `onChunk(bytes, at)`, hands each chunk over as it arrives and keeps
 * none; `tooLong()` builds the error thrown past the cap.
 */
export async function readCapped(resp, limit, tooLong, broken, onChunk = null) {
  const chunks = [];
  let got = 0;
  if (!resp.body) return { chunks, got };
  // Handed over chunk by chunk, the body is read into one reused buffer
  // (a byte stream's BYOB reader): a fresh array per chunk left hundreds
  // of MiB of garbage behind in a worker streaming gigabytes.
  let buf = onChunk ? new ArrayBuffer(BODY_PIECE) : null;
  const reader = buf ? byobReader(resp.body) : null;
  const plain = reader ? null : resp.body.getReader();
  for (;;) {
    let r;
    try {
      r = reader ? await reader.read(new Uint8Array(buf)) : await plain.read();
    } catch {
      throw broken();
    }
    if (r.done) break;
    if (reader) buf = r.value.buffer;
    got += r.value.byteLength;
    if (got > limit) {
      (reader ?? plain).cancel().catch(() => {});
      throw tooLong(got);
    }
    if (onChunk) onChunk(r.value, got - r.value.byteLength);
    else chunks.push(r.value);
  }
  return { chunks, got };
}

const BODY_PIECE = 1 << 20;

/** A BYOB reader of `body`, or null when it is not a byte stream. */
function byobReader(body) {
  try {
    return body.getReader({ mode: 'byob' });
  } catch {
    return null;
  }
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
      const { chunks, got } = await readCapped(resp, FULL_BODY_LIMIT - 1, (n) => new RemoteError(`${file}: the server sent more than ${fmtBytes(FULL_BODY_LIMIT)} for the whole file `
        + `(${fmtBytes(n)} so far, after announcing ${fmtBytes(known)}) at ${url}; the transfer was stopped.`, { kind: 'toolarge', file, url }), broken);
      count?.(got);
      return { full: new Blob(chunks), total: got };
    }
    ctl.abort(); // do not download a body nobody asked for
    const small = known != null && known < FULL_BODY_LIMIT;
    throw new RemoteError(`${file}: the server ignores Range requests (it answered HTTP 200 with the whole ${known != null ? fmtBytes(known) : 'file'}) at ${url}. `
      + (small ? 'This file is small enough to download whole; continue only if that is fine.'
        : `Without range requests the file would have to be downloaded whole${known == null ? ' (its size is not given)' : ''}; files of ${fmtBytes(FULL_BODY_LIMIT)} or more are not opened that way.`),
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

/** The error for a range answer that ran past the `end` asked for (`n` bytes so far). */
export function tooLongRange(file, url, start, end, n) {
  return new RemoteError(`${file}: asked for bytes ${start}-${end} (${end - start + 1} bytes) but the server sent more (${n} bytes so far) at ${url}; the transfer was stopped.`,
    { kind: 'contentrange', file, url });
}

/** GETs a small side file (index, config). Returns {bytes, text} or throws a RemoteError. */
export async function fetchSide(url, file, ctx, count) {
  let resp;
  try {
    resp = await fetch(url, { credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch {
    throw networkError(file, url);
  }
  const ctl = { abort: () => resp.body?.cancel().catch(() => {}) };
  checkFinalHost(resp, ctl, file, url, ctx);
  if (!resp.ok) throw statusError(resp.status, file, url, ctx);
  const tooLarge = (n) => new RemoteError(`${file} is ${fmtBytes(n)} or more; JSON side files over ${fmtBytes(MAX_JSON_BYTES)} are not read (${url})`, { kind: 'toolarge', file, url });
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
