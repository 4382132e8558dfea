// The errors of reading a model by link: RemoteError (with a `kind` the
// page acts on) and the messages of HTTP answers that do not fit a range
// read. Shared by the page's async reads and the workers' synchronous ones.
import { describeHosts } from './guard.js';

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

/** The RemoteError of an HTTP status that is not the answer a read expects. */
export function statusError(status, file, url, ctx) {
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

/** The RemoteError of a request that failed without an answer (CORS, unreachable). */
export function networkError(file, url) {
  return new RemoteError(`${file}: could not read ${url}. The host does not allow cross-origin reads from this page (no CORS headers for this origin), or it could not be reached. `
    + 'Models can be opened by link only from hosts that send Access-Control-Allow-Origin (the Hugging Face Hub does).', { kind: 'cors', file, url });
}

/**
 * Checks a 206 answer's Content-Range against the request. `size` is the
 * size known from earlier answers (null at the first). Returns the total.
 */
export function checkContentRange(header, start, end, size, got, file, url) {
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

/** The error that stops a link until the visitor agrees to read from `hosts` ([{host, kind}]). */
export function confirmError(hosts, what) {
  return new RemoteError(`${what}, on ${describeHosts(hosts)}. A shared link does not open such hosts by itself; open it only if you expect this link to read from there.`,
    { kind: 'confirm', hosts });
}
