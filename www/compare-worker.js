// The compare page's worker: owns one wasm instance. All verification and
// hashing happen in quantlens (Rust); this file only moves messages.
import init, { Verifier, sha256Blob, sha256Entry, parseSha256Sums } from './pkg/quantlens.js';
import { remoteEntry } from './remote.js';

let ready = null;
let verifier = null;
// Bytes fetched by range requests (link sources) since the last answer.
const net = { bytes: 0 };
function takeFetched() {
  const n = net.bytes;
  net.bytes = 0;
  return n;
}

function message(e) {
  return e instanceof Error ? e.message : String(e);
}

async function handle(msg) {
  switch (msg.type) {
    case 'init':
      ready = init();
      await ready;
      return { type: 'ready' };
    case 'open': {
      await ready;
      if (verifier) verifier.free();
      verifier = null;
      const side = (s) => [s.files.map((f) => remoteEntry(f, net)), s.index ?? null, s.config ?? null];
      verifier = new Verifier(...side(msg.original), ...side(msg.converted));
      return { type: 'opened', count: verifier.tensorCount(), overview: verifier.overview() };
    }
    case 'rows': {
      const rows = [];
      for (const i of msg.indices) rows.push({ index: i, ...verifier.row(i) });
      return { type: 'rows', rows, fetched: takeFetched() };
    }
    case 'report':
      return { type: 'report', report: verifier.report(msg.rows) };
    case 'sha': {
      await ready;
      const progress = (done) => self.postMessage({ id: msg.id, type: 'sha-progress', done, fetched: takeFetched() });
      const digest = msg.blob ? sha256Blob(msg.blob, progress) : sha256Entry(remoteEntry(msg.file, net), progress);
      return { type: 'sha', digest, fetched: takeFetched() };
    }
    case 'parse-sums':
      await ready;
      return { type: 'sums', ...parseSha256Sums(msg.text) };
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

self.onmessage = async (ev) => {
  const msg = ev.data;
  try {
    const out = await handle(msg);
    self.postMessage({ id: msg.id, ...out });
  } catch (e) {
    self.postMessage({ id: msg.id, type: 'error', error: message(e), fetched: takeFetched() });
  }
};
