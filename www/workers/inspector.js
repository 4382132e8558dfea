// The inspector page's worker: one wasm instance. All analysis happens in
// quantlens (Rust); this file moves messages and bytes. Files arrive as
// Blob/File handles: the first window of each tensor is read here ahead of
// its analysis (read-ahead.js) and the wasm side reads the rest in bounded
// slices with FileReaderSync. Link files {name, url, size, head} are read
// by Range requests (link/range-entry.js).
import init, { Inspector, Analyser, exportReport } from '../pkg/quantlens.js';
import { remoteEntry, fetchWindow } from '../link/range-entry.js';
import { readAhead, takeStalledReads } from './read-ahead.js';
import { hashFile } from './sha.js';
import { net, serve } from './serve.js';

let ready = null;
const inspectors = new Map(); // key -> Inspector (the first worker) or Analyser (the others)
const blobsOf = new Map(); // key -> the files' Blobs (null for link sources)
const linksOf = new Map(); // key -> the link files {name, url, size} (null for Blobs)

function memoryBytes() {
  // wasm linear memory of this instance, for the page's memory readout.
  try {
    return ready && self.__wasmMemory ? self.__wasmMemory.buffer.byteLength : 0;
  } catch {
    return 0;
  }
}

function remember(key, files) {
  blobsOf.set(key, files.map((f) => f.blob ?? null));
  linksOf.set(key, files.map((f) => (f.blob ? null : f)));
}

async function handle(msg) {
  switch (msg.type) {
    case 'init': {
      ready = init({ module_or_path: msg.module }).then((exports) => {
        self.__wasmMemory = exports.memory;
      });
      await ready;
      return { type: 'ready' };
    }
    case 'open': {
      await ready;
      inspectors.get(msg.key)?.free();
      inspectors.delete(msg.key);
      const insp = new Inspector(msg.files.map((f) => remoteEntry(f, net)), msg.index ?? null, msg.config ?? null, msg.options);
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
      inspectors.set(msg.key, new Analyser(msg.files.map((f) => remoteEntry(f, net)), msg.config ?? null, msg.options, msg.shards));
      remember(msg.key, msg.files);
      return { type: 'prepared', key: msg.key };
    }
    case 'analyze': {
      // a batch of tensor indices; small tensors travel together
      const insp = inspectors.get(msg.key);
      const rows = [];
      const blobs = blobsOf.get(msg.key) ?? [];
      const links = linksOf.get(msg.key) ?? [];
      for (const [k, index] of msg.indices.entries()) {
        const t0 = performance.now();
        const part = msg.parts?.[k];
        const at = part ? insp.load(part.name, part.tensors) : index;
        const span = insp.tensorSpan(at);
        const link = span && links[span.file];
        const bytes = span && blobs[span.file] ? await readAhead(blobs[span.file], span.start, span.length)
          : link ? await fetchWindow(link, span.start, span.length, net) : null;
        if (bytes) insp.provide(at, span.file, span.start, bytes);
        rows.push({ index, result: insp.analyzeRow(at), ms: performance.now() - t0 });
      }
      return { type: 'rows', key: msg.key, rows, mem: memoryBytes(), syncBytes: insp.takeSyncReadBytes(), stalledReads: takeStalledReads() };
    }
    case 'report':
      return { type: 'report', key: msg.key, report: inspectors.get(msg.key).report(msg.rows, msg.digests ?? null) };
    case 'export':
      await ready;
      return { type: 'export', text: exportReport(msg.report, msg.format), format: msg.format };
    case 'histograms':
      return { type: 'histograms', key: msg.key, index: msg.index, hist: inspectors.get(msg.key).histograms(msg.index, msg.bins) };
    case 'sha':
      await ready;
      return hashFile(msg);
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

serve(handle);
