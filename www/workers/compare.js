// The compare page's worker: one wasm instance. All verification and
// hashing happen in quantlens (Rust); this file moves messages, and reads
// each pair's bytes ahead of its verification, asynchronously and capped
// (read-ahead.js).
import init, { Verifier, parseSha256Sums } from '../pkg/quantlens.js';
import { remoteEntry } from '../link/range-entry.js';
import { configure, holdRanges } from './read-ahead.js';
import { hashFile } from './sha.js';
import { net, serve } from './serve.js';

let ready = null;
let verifier = null;
let sides = null; // [original files, converted files]

async function handle(msg) {
  switch (msg.type) {
    case 'init':
      ready = init().then((exports) => configure(exports.memory, msg.readBudget));
      await ready;
      return { type: 'ready' };
    case 'open': {
      await ready;
      verifier?.free();
      verifier = null;
      const side = (s) => [s.files.map((f) => remoteEntry(f)), s.index ?? null, s.config ?? null];
      verifier = new Verifier(...side(msg.original), ...side(msg.converted));
      sides = [msg.original.files, msg.converted.files];
      return { type: 'opened', count: verifier.tensorCount(), overview: verifier.overview() };
    }
    case 'rows': {
      const rows = [];
      for (const i of msg.indices) {
        verifier.release();
        const plan = verifier.readPlan(i);
        // One list of files across both sides; `entry` is the index within its side.
        const files = [...sides[0], ...sides[1]];
        const ranges = [
          ...plan.original.map((r) => ({ ...r, side: 0, entry: r.file })),
          ...plan.converted.map((r) => ({ ...r, side: 1, entry: r.file, file: sides[0].length + r.file })),
        ];
        await holdRanges(files, ranges, plan.bytes, `tensor pair ${i}`, {
          reserve: (r) => verifier.reserve(r.side, r.entry, r.start, r.length),
          commit: (r, slot) => verifier.commit(r.side, r.entry, slot),
        }, net);
        rows.push({ index: i, ...verifier.row(i) });
      }
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
