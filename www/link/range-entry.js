// The workers' reads of a link file's tensor data: each range streamed and
// stopped at the length asked for (the workers write it into the wasm
// memory, workers/read-ahead.js), and the file entry the wasm side opens,
// which serves only the header the page fetched.
import { RemoteError, statusError, checkContentRange } from './errors.js';
import { readCapped, tooLongRange } from './http.js';

/**
 * Streams bytes [start, start + length) of a link file ({name, url, size})
 * to `onChunk(bytes, at)` as they arrive (`at`: offset from `start`). The
 * answer is checked before its body is read (HTTP 206, and a Content-Range
 * that matches if there is one; none is an error once the body is in), and
 * the transfer is cancelled at the first chunk past `length`: whatever a
 * server sends, no more than `length` bytes are held.
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
  const contentRange = resp.headers.get('content-range');
  try {
    if (resp.status === 200) {
      throw new RemoteError(`${name}: the server stopped honouring Range requests (HTTP 200 for bytes ${start}-${last}) at ${url}; the transfer was stopped.`, { kind: 'norange', file: name, url });
    }
    if (resp.status !== 206) throw statusError(resp.status, name, url, {});
    // A wrong Content-Range is refused before the body; a missing one once
    // the body has come to the length asked for (more is stopped first).
    if (contentRange) checkContentRange(contentRange, start, last, size, null, name, url);
  } catch (e) {
    ctl.abort();
    throw e;
  }
  const broken = () => new RemoteError(`${name}: the connection broke while reading bytes ${start}-${last} of ${url}.`, { kind: 'network', file: name, url });
  const onBytes = (bytes, at) => {
    counter.bytes += bytes.byteLength;
    onChunk(bytes, at);
  };
  let got;
  try {
    ({ got } = await readCapped(resp, length, (n) => tooLongRange(name, url, start, last, n), broken, onBytes));
  } catch (e) {
    ctl.abort(); // also when the bytes' consumer failed: no body is left running
    throw e;
  }
  if (!contentRange) checkContentRange(contentRange, start, last, size, got, name, url);
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
