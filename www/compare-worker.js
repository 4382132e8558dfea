// The compare page's worker: owns one wasm instance. All verification and
// hashing happen in quantlens (Rust); this file only moves messages.
import init, { Verifier, sha256Blob, parseSha256Sums } from './pkg/quantlens.js';

let ready = null;
let verifier = null;

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
      const side = (s) => [s.files.map((f) => ({ name: f.name, blob: f.blob })), s.index ?? null, s.config ?? null];
      verifier = new Verifier(...side(msg.original), ...side(msg.converted));
      return { type: 'opened', count: verifier.tensorCount(), overview: verifier.overview() };
    }
    case 'rows': {
      const rows = [];
      for (const i of msg.indices) rows.push({ index: i, ...verifier.row(i) });
      return { type: 'rows', rows };
    }
    case 'report':
      return { type: 'report', report: verifier.report(msg.rows) };
    case 'sha': {
      await ready;
      const digest = sha256Blob(msg.blob, (done) => self.postMessage({ id: msg.id, type: 'sha-progress', done }));
      return { type: 'sha', digest };
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
    self.postMessage({ id: msg.id, type: 'error', error: message(e) });
  }
};
