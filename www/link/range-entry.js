// The workers' reads of a link file's tensor data: a window read ahead
// asynchronously, and the file entry whose synchronous Range requests
// (allowed in workers) the wasm side calls, in windows of up to 32 MiB
// clamped to the tensor.
import { RemoteError, statusError, checkContentRange } from './errors.js';
import { fetchRange } from './http.js';

/**
 * Reads `length` bytes at `start` of a link file ({name, url, size}) ahead
 * of the analysis, asynchronously, so that a body longer than asked for is
 * stopped as it arrives (a synchronous request, below, can only be checked
 * once the whole body is in memory). Returns the bytes, or null when the
 * read failed in a way the synchronous read will report with its own
 * message (network, CORS, a short file); throws a RemoteError when the
 * server answered wrongly (too much, a wrong Content-Range, no Range).
 */
export async function fetchWindow(f, start, length, counter) {
  let got;
  try {
    got = await fetchRange(f.url, start, start + length - 1, f.name, { size: f.size, count: (n) => { counter.bytes += n; } });
  } catch (e) {
    if (e.kind === 'network' || e.kind === 'cors') return null;
    throw e;
  }
  return got.bytes?.length === length ? got.bytes : null;
}

// The synchronous reads of the wasm side:

/**
 * A file entry for the wasm side from {name, url, size, head} (or
 * {name, blob}, passed through). `counter.bytes` grows by every byte fetched.
 */
export function remoteEntry(f, counter) {
  if (f.blob) return { name: f.name, blob: f.blob };
  const { name, url, size } = f;
  const head = f.head ?? new Uint8Array(0);
  return {
    name,
    size,
    read(offset, length) {
      const end = offset + length;
      if (end <= head.length) return head.slice(offset, end);
      if (length === 0) return new Uint8Array(0);
      const last = end - 1;
      const xhr = new XMLHttpRequest();
      xhr.open('GET', url, false);
      xhr.responseType = 'arraybuffer';
      xhr.setRequestHeader('Range', `bytes=${offset}-${last}`);
      const lost = () => new RemoteError(`${name}: the range request for bytes ${offset}-${last} of ${url} failed: the connection was lost, `
        + 'or the host (or the host it redirects to) refused the cross-origin read.', { kind: 'network', file: name, url });
      try {
        xhr.send();
      } catch {
        throw lost();
      }
      if (xhr.status === 0) throw lost();
      if (xhr.status === 200) {
        throw new RemoteError(`${name}: the server stopped honouring Range requests (HTTP 200 for bytes ${offset}-${last}) at ${url}.`, { kind: 'norange', file: name, url });
      }
      if (xhr.status !== 206) throw statusError(xhr.status, name, url, {});
      const buf = new Uint8Array(xhr.response ?? new ArrayBuffer(0));
      counter.bytes += buf.length;
      checkContentRange(xhr.getResponseHeader('content-range'), offset, last, size, buf.length, name, url);
      if (buf.length !== length) {
        throw new RemoteError(`${name}: asked for ${length} bytes at ${offset}, got ${buf.length} (${url}).`, { kind: 'contentrange', file: name, url });
      }
      return buf;
    },
  };
}
