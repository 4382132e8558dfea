// One wasm instance per worker. All analysis happens in quantlens (Rust);
// this file moves messages and bytes. Files arrive as Blob/File handles or
// link files {name, url, size, head}: what each row reads is read here,
// asynchronously and capped, into the wasm memory ahead of its analysis, or
// fed to it piece by piece over the read budget (reads.js).
import init, { Inspector, Analyser, exportReport, Sha256Feed } from './pkg/quantlens.js';
import { remoteEntry } from './remote.js';
import { configure, analyseRow, holdMain, hashStream, takeStalledReads } from './reads.js';

let ready = null;
const inspectors = new Map(); // key -> Inspector (the first worker) or Analyser (the others)
const filesOf = new Map(); // key -> the files: {name, blob} or link files {name, url, size}

// Bytes fetched over the network since the last message to the page.
const net = { bytes: 0 };
function takeFetched() {
  const n = net.bytes;
  net.bytes = 0;
  return n;
}

function message(e) {
  if (e instanceof Error) return e.message;
  return String(e);
}

function memoryBytes() {
  // wasm linear memory of this instance, for the page's memory readout.
  try {
    return ready && self.__wasmMemory ? self.__wasmMemory.buffer.byteLength : 0;
  } catch {
    return 0;
  }
}

async function handle(msg) {
  switch (msg.type) {
    case 'init': {
      ready = init({ module_or_path: msg.module }).then((exports) => {
        self.__wasmMemory = exports.memory;
        configure(exports.memory, msg.readBudget);
      });
      await ready;
      return { type: 'ready' };
    }
    case 'open': {
      await ready;
      const old = inspectors.get(msg.key);
      if (old) old.free();
      inspectors.delete(msg.key);
      const files = msg.files.map((f) => remoteEntry(f));
      const insp = new Inspector(files, msg.index ?? null, msg.config ?? null, msg.options);
      inspectors.set(msg.key, insp);
      filesOf.set(msg.key, msg.files);
      const out = { type: 'opened', key: msg.key, count: insp.tensorCount() };
      if (msg.overview) out.overview = insp.overview();
      return out;
    }
    case 'prepare': {
      // The other workers: sources and options, no header parsed; each
      // analyse request brings the tensors its rows read.
      await ready;
      inspectors.get(msg.key)?.free();
      const files = msg.files.map((f) => remoteEntry(f));
      inspectors.set(msg.key, new Analyser(files, msg.config ?? null, msg.options, msg.shards));
      filesOf.set(msg.key, msg.files);
      return { type: 'prepared', key: msg.key };
    }
    case 'analyze': {
      // a batch of tensor indices; small tensors travel together
      const insp = inspectors.get(msg.key);
      const rows = [];
      const files = filesOf.get(msg.key) ?? [];
      for (const [k, index] of msg.indices.entries()) {
        const t0 = performance.now();
        try {
          const part = msg.parts?.[k];
          const at = part ? insp.load(part.name, part.tensors) : index;
          rows.push({ index, result: await analyseRow(insp, at, files, net), ms: performance.now() - t0 });
        } catch (e) {
          e.tensorIndex = index;
          throw e;
        }
      }
      return { type: 'rows', key: msg.key, rows, mem: memoryBytes(), held: insp.heldBytes(), fetched: takeFetched(), syncBytes: insp.takeSyncReadBytes(), stalledReads: takeStalledReads() };
    }
    case 'report': {
      const insp = inspectors.get(msg.key);
      return { type: 'report', key: msg.key, report: insp.report(msg.rows, msg.digests ?? null) };
    }
    case 'export': {
      await ready;
      return { type: 'export', text: exportReport(msg.report, msg.format), format: msg.format };
    }
    case 'histograms': {
      const insp = inspectors.get(msg.key);
      await holdMain(insp, msg.index, filesOf.get(msg.key) ?? [], net);
      return { type: 'histograms', key: msg.key, index: msg.index, hist: insp.histograms(msg.index, msg.bins), fetched: takeFetched() };
    }
    case 'sha': {
      // SHA-256 of one file entry, streamed.
      await ready;
      let last = 0;
      const feed = new Sha256Feed();
      try {
        const digest = await hashStream(msg.file, feed, (done) => {
          if (done - last >= (8 << 20) || done === msg.file.size) {
            last = done;
            self.postMessage({ type: 'progress', seq: msg.seq, done, fetched: takeFetched() });
          }
        }, net);
        return { type: 'sha', digest, fetched: takeFetched() };
      } finally {
        feed.free();
      }
    }
    case 'close': {
      for (const insp of inspectors.values()) insp.free();
      inspectors.clear();
      return { type: 'closed' };
    }
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

// Messages are handled strictly one at a time, in order.
let chain = Promise.resolve();
self.onmessage = (ev) => {
  const msg = ev.data;
  chain = chain.then(async () => {
    try {
      const out = await handle(msg);
      self.postMessage({ ...out, seq: msg.seq });
    } catch (e) {
      self.postMessage({ type: 'error', seq: msg.seq, request: msg.type, index: msg.index, message: message(e), fetched: takeFetched() });
    }
  });
};
