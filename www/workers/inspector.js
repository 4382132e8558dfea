// The inspector page's worker: one wasm instance. All analysis happens in
// quantlens (Rust); this file moves messages and bytes. Files arrive as
// Blob/File handles or link files {name, url, size, head}: what each row
// reads is read here, asynchronously and capped, into the wasm memory ahead
// of its analysis, or fed to it piece by piece over the read budget
// (read-ahead.js).
import init, { Inspector, Analyser, exportReport } from '../pkg/quantlens.js';
import { remoteEntry } from '../link/range-entry.js';
import { configure, analyseRow, holdMain, openSpans, takeStalledReads } from './read-ahead.js';
import { hashFile } from './sha.js';
import { net, serve } from './serve.js';

let ready = null;
const inspectors = new Map(); // key -> Inspector (the first worker) or Analyser (the others)
const filesOf = new Map(); // key -> the files: {name, blob} or link files {name, url, size}

function memoryBytes() {
  // wasm linear memory of this instance, for the page's memory readout.
  try {
    return ready && self.__wasmMemory ? self.__wasmMemory.buffer.byteLength : 0;
  } catch {
    return 0;
  }
}

function remember(key, files) {
  filesOf.set(key, files);
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
      inspectors.get(msg.key)?.free();
      inspectors.delete(msg.key);
      const insp = new Inspector(msg.files.map((f) => remoteEntry(f)), msg.index ?? null, msg.config ?? null, msg.options);
      inspectors.set(msg.key, insp);
      remember(msg.key, msg.files);
      const out = { type: 'opened', key: msg.key, count: insp.tensorCount() };
      if (msg.overview) out.overview = insp.overview();
      return out;
    }
    case 'prepare': {
      // The other workers: sources and options, no header parsed; each
      // analyse request brings the tensors its rows read.
      await ready;
      inspectors.get(msg.key)?.free();
      inspectors.set(msg.key, new Analyser(msg.files.map((f) => remoteEntry(f)), msg.config ?? null, msg.options, msg.shards));
      remember(msg.key, msg.files);
      return { type: 'prepared', key: msg.key };
    }
    case 'analyze': {
      // a run of rows that lie one after the other, read through one
      // stream per file span
      const insp = inspectors.get(msg.key);
      const rows = [];
      const files = filesOf.get(msg.key) ?? [];
      const spans = openSpans(files, msg.spans);
      try {
        for (const [k, index] of msg.indices.entries()) {
          const t0 = performance.now();
          const part = msg.parts?.[k];
          const at = part ? insp.load(part.name, part.tensors) : index;
          rows.push({ index, result: await analyseRow(insp, at, files, net, spans), ms: performance.now() - t0 });
        }
      } finally {
        spans.close();
      }
      return { type: 'rows', key: msg.key, rows, mem: memoryBytes(), held: insp.heldBytes(), syncBytes: insp.takeSyncReadBytes(), stalledReads: takeStalledReads() };
    }
    case 'report':
      return { type: 'report', key: msg.key, report: inspectors.get(msg.key).report(msg.rows, msg.digests ?? null) };
    case 'export':
      await ready;
      return { type: 'export', text: exportReport(msg.report, msg.format), format: msg.format };
    case 'histograms': {
      const insp = inspectors.get(msg.key);
      await holdMain(insp, msg.index, filesOf.get(msg.key) ?? [], net);
      return { type: 'histograms', key: msg.key, index: msg.index, hist: insp.histograms(msg.index, msg.bins) };
    }
    case 'sha':
      await ready;
      return await hashFile(msg);
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

serve(handle);
