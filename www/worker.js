// One wasm instance per worker. All analysis happens in quantlens (Rust);
// this file moves messages and bytes. Files arrive as Blob/File handles: the
// first window of each tensor is read here ahead of its analysis (readAhead)
// and the wasm side reads the rest in bounded slices with FileReaderSync.
// Link sources {name, url, size, head} are read by synchronous Range
// requests (remote.js).
import init, { Inspector, Analyser, exportReport, sha256Entry } from './pkg/quantlens.js';
import { remoteEntry, fetchWindow } from './remote.js';

let ready = null;
const inspectors = new Map(); // key -> Inspector (the first worker) or Analyser (the others)
const blobsOf = new Map(); // key -> the files' Blobs (null for link sources)
const linksOf = new Map(); // key -> the link files {name, url, size} (null for Blobs)

// Reads blob bytes [start, start + length) with a BYOB stream into one
// buffer reused from read to read: about 30 % less CPU for the browser than
// FileReaderSync, and no garbage left behind (BENCHMARKS.md). Returns null
// when the read fails or comes up short: the analysis then reads the bytes
// itself, and its error names the file, the tensor and the offset.
//
// Chromium's blob stream now and then stops delivering mid-read and never
// resumes (about one read in a few thousand here): a read that makes no
// progress for READ_STALL_MS is abandoned the same way.
const READ_STALL_MS = 2000;
let readBuf = new ArrayBuffer(0);
let stalledReads = 0; // since the last message to the page
function stallGuard() {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => {
      stalledReads += 1;
      reject(new Error('read stalled'));
    }, READ_STALL_MS);
  });
  return { promise, clear: () => clearTimeout(timer) };
}
async function readAhead(blob, start, length) {
  if (readBuf.byteLength < length) readBuf = new ArrayBuffer(length);
  let buf = readBuf;
  let got = 0;
  let reader = null;
  try {
    reader = blob.slice(start, start + length).stream().getReader({ mode: 'byob' });
    while (got < length) {
      const guard = stallGuard();
      const { done, value } = await Promise.race([reader.read(new Uint8Array(buf, got, length - got)), guard.promise])
        .finally(guard.clear);
      if (done) break;
      got += value.byteLength;
      buf = value.buffer;
    }
  } catch {
    got = -1;
  }
  // Close the browser's side of the read now, not when collected.
  reader?.cancel().catch(() => {});
  // A failed read may leave the buffer detached (transferred to the stream).
  readBuf = buf.detached ? new ArrayBuffer(0) : buf;
  return got === length ? new Uint8Array(buf, 0, got) : null;
}
function takeStalledReads() {
  const n = stalledReads;
  stalledReads = 0;
  return n;
}
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
      });
      await ready;
      return { type: 'ready' };
    }
    case 'open': {
      await ready;
      const old = inspectors.get(msg.key);
      if (old) old.free();
      inspectors.delete(msg.key);
      const files = msg.files.map((f) => remoteEntry(f, net));
      const insp = new Inspector(files, msg.index ?? null, msg.config ?? null, msg.options);
      inspectors.set(msg.key, insp);
      blobsOf.set(msg.key, msg.files.map((f) => f.blob ?? null));
      linksOf.set(msg.key, msg.files.map((f) => (f.blob ? null : f)));
      const out = { type: 'opened', key: msg.key, count: insp.tensorCount() };
      if (msg.overview) out.overview = insp.overview();
      return out;
    }
    case 'prepare': {
      // The other workers: sources and options, no header parsed; each
      // analyse request brings the tensors its rows read.
      await ready;
      inspectors.get(msg.key)?.free();
      const files = msg.files.map((f) => remoteEntry(f, net));
      inspectors.set(msg.key, new Analyser(files, msg.config ?? null, msg.options, msg.shards));
      blobsOf.set(msg.key, msg.files.map((f) => f.blob ?? null));
      linksOf.set(msg.key, msg.files.map((f) => (f.blob ? null : f)));
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
        try {
          const part = msg.parts?.[k];
          const at = part ? insp.load(part.name, part.tensors) : index;
          const span = insp.tensorSpan(at);
          const link = span && links[span.file];
          const bytes = span && blobs[span.file] ? await readAhead(blobs[span.file], span.start, span.length)
            : link ? await fetchWindow(link, span.start, span.length, net) : null;
          if (bytes) insp.provide(at, span.file, span.start, bytes);
          rows.push({ index, result: insp.analyzeRow(at), ms: performance.now() - t0 });
        } catch (e) {
          e.tensorIndex = index;
          throw e;
        }
      }
      return { type: 'rows', key: msg.key, rows, mem: memoryBytes(), fetched: takeFetched(), syncBytes: insp.takeSyncReadBytes(), stalledReads: takeStalledReads() };
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
      return { type: 'histograms', key: msg.key, index: msg.index, hist: insp.histograms(msg.index, msg.bins), fetched: takeFetched() };
    }
    case 'sha': {
      // SHA-256 of one file entry, streamed in bounded range reads.
      await ready;
      let last = 0;
      const digest = sha256Entry(remoteEntry(msg.file, net), (done) => {
        if (done - last >= (8 << 20) || done === msg.file.size) {
          last = done;
          self.postMessage({ type: 'progress', seq: msg.seq, done, fetched: takeFetched() });
        }
      });
      return { type: 'sha', digest, fetched: takeFetched() };
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
