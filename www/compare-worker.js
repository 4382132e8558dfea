// The compare page's worker: owns one wasm instance. All verification and
// hashing happen in quantlens (Rust); this file moves messages, and reads
// each pair's bytes ahead of its verification, asynchronously and capped
// (reads.js).
import init, { Verifier, Sha256Feed, parseSha256Sums } from './pkg/quantlens.js';
import { remoteEntry } from './remote.js';
import { configure, holdRanges, hashStream } from './reads.js';

let ready = null;
let verifier = null;
let sides = null; // [original files, converted files]
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
      ready = init().then((exports) => configure(exports.memory, msg.readBudget));
      await ready;
      return { type: 'ready' };
    case 'open': {
      await ready;
      if (verifier) verifier.free();
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
      return { type: 'rows', rows, fetched: takeFetched() };
    }
    case 'report':
      return { type: 'report', report: verifier.report(msg.rows) };
    case 'sha': {
      await ready;
      const progress = (done) => self.postMessage({ id: msg.id, type: 'sha-progress', done, fetched: takeFetched() });
      const feed = new Sha256Feed();
      let last = -1;
      try {
        const file = msg.blob ? { name: msg.blob.name ?? 'file', blob: msg.blob } : msg.file;
        const size = msg.blob ? msg.blob.size : msg.file.size;
        const digest = await hashStream(file, feed, (done) => {
          if (done - last >= (8 << 20) || done === size) {
            last = done;
            progress(done);
          }
        }, net);
        return { type: 'sha', digest, fetched: takeFetched() };
      } finally {
        feed.free();
      }
    }
    case 'parse-sums':
      await ready;
      return { type: 'sums', ...parseSha256Sums(msg.text) };
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

// Requests are handled one at a time, in order: a pair's reads ahead and
// its verification must not interleave with another request's.
let chain = Promise.resolve();
self.onmessage = (ev) => {
  const msg = ev.data;
  chain = chain.then(async () => {
    try {
      const out = await handle(msg);
      self.postMessage({ id: msg.id, ...out });
    } catch (e) {
      self.postMessage({ id: msg.id, type: 'error', error: message(e), fetched: takeFetched() });
    }
  });
};
