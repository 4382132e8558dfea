// The compare page's worker: one wasm instance. All verification and
// hashing happen in quantlens (Rust); this file only moves messages.
import init, { Verifier, parseSha256Sums } from '../pkg/quantlens.js';
import { remoteEntry } from '../link/range-entry.js';
import { hashFile } from './sha.js';
import { net, serve } from './serve.js';

let ready = null;
let verifier = null;

async function handle(msg) {
  switch (msg.type) {
    case 'init':
      ready = init();
      await ready;
      return { type: 'ready' };
    case 'open': {
      await ready;
      verifier?.free();
      verifier = null;
      const side = (s) => [s.files.map((f) => remoteEntry(f, net)), s.index ?? null, s.config ?? null];
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
    case 'sha':
      await ready;
      return hashFile(msg);
    case 'parse-sums':
      await ready;
      return { type: 'sums', ...parseSha256Sums(msg.text) };
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

serve(handle);
