// The workers' reads of tensor data and whole files, all asynchronous and
// capped: a link's body is streamed and stopped at the length asked for
// (link/range-entry.js streamRange), a Blob is read with a BYOB stream into one
// reused buffer. The bytes go straight into the wasm memory: into buffers
// the analysis reads (held ranges, reused from row to row), or piece by
// piece into a push-fed analysis or digest, so a worker holds at most its
// read budget whatever the file or the server.
import { streamRange } from '../link/range-entry.js';
import { RemoteError } from '../link/errors.js';
import { BlobSpans } from './blob-spans.js';

/** Bytes of a row read ahead whole, per worker; larger rows are push-fed. */
export const DEFAULT_READ_BUDGET = 256 << 20;
/**
 * A row that cannot be push-fed (a stored-quantized layer, a compared
 * pair) is read ahead whole up to this size when it comes by link; a
 * local file's is read in bounded slices past the budget instead.
 */
export const LINK_HOLD_LIMIT = 1 << 30;
const BLOB_PIECE = 4 << 20;

let memory = null;
let budget = DEFAULT_READ_BUDGET;

/** The wasm memory the reads write into, and the read budget (bytes; null for the default). */
export function configure(mem, readBudget) {
  memory = mem;
  budget = readBudget > 0 ? readBudget : DEFAULT_READ_BUDGET;
}

// Chromium's blob stream now and then stops delivering mid-read and never
// resumes (about one read in a few thousand here): a read that makes no
// progress for READ_STALL_MS is abandoned.
const READ_STALL_MS = 2000;
let blobBuf = new ArrayBuffer(BLOB_PIECE);
let stalledReads = 0; // since the last message to the page

function stallGuard() {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => {
      stalledReads += 1;
      reject(new Error('the read stalled'));
    }, READ_STALL_MS);
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** Reads stalled since the last call. */
export function takeStalledReads() {
  const n = stalledReads;
  stalledReads = 0;
  return n;
}

/** `reader.read(view)`, rejected once it has made no progress for READ_STALL_MS (counted in takeStalledReads). */
export async function guardedRead(reader, view) {
  const guard = stallGuard();
  try {
    return await Promise.race([reader.read(view), guard.promise]);
  } catch (e) {
    // A failed read may leave the buffer detached (transferred to the stream).
    if (blobBuf.detached) blobBuf = new ArrayBuffer(BLOB_PIECE);
    throw e;
  } finally {
    guard.clear();
  }
}

// Blob reads go into one reused buffer, in pieces of at most BLOB_PIECE,
// with a BYOB stream (about 30 % less CPU for the browser than
// FileReaderSync, and no garbage left behind: BENCHMARKS.md).
const blobIo = {
  piece: BLOB_PIECE,
  view: (n) => new Uint8Array(blobBuf, 0, n),
  keep: (buf) => {
    blobBuf = buf;
  },
  read: guardedRead,
};

// Blob bytes [start, start + length), in a stream of their own.
async function readBlob(f, start, length, onChunk) {
  if (length <= 0) return;
  const one = new BlobSpans([f], [{ file: 0, start, end: start + length }], null);
  try {
    await one.read(f, start, length, onChunk, blobIo);
  } finally {
    one.close();
  }
}

/**
 * The spans of one request to read local files through
 * ([`BlobSpans`]): [{file, start, end}], file indexing `files`.
 */
export function openSpans(files, spans) {
  return new BlobSpans(files, spans, readBlob);
}

/**
 * Streams bytes of a file ({name, blob} or a link file) to onChunk(bytes,
 * at); a Blob's through `spans` (openSpans) when given.
 */
export function streamBytes(f, start, length, onChunk, net, spans) {
  if (!f.blob) return streamRange(f, start, length, onChunk, net);
  return spans ? spans.read(f, start, length, onChunk, blobIo) : readBlob(f, start, length, onChunk);
}

function writeAt(ptr, chunk, at) {
  new Uint8Array(memory.buffer, ptr + at, chunk.byteLength).set(chunk);
}

function fmtMiB(n) {
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/**
 * Reads each range {file, start, length} of `files` ahead into buffers the
 * wasm side reserves (`reserve(range) -> [slot, address]`, then
 * `commit(range, slot)`). Over the budget only links are read (up to
 * LINK_HOLD_LIMIT, else an error naming the file); a Blob's failed or
 * skipped range is read by the wasm side in bounded slices, and its error
 * names the tensor.
 */
export async function holdRanges(files, ranges, bytes, what, { reserve, commit }, net, spans) {
  const links = ranges.filter((r) => !files[r.file].blob);
  if (links.length && bytes > Math.max(budget, LINK_HOLD_LIMIT)) {
    const f = files[links[0].file];
    throw new RemoteError(`${f.name}: ${what} reads ${fmtMiB(bytes)} in one piece, more than a worker holds for a linked file (${fmtMiB(Math.max(budget, LINK_HOLD_LIMIT))}; budget= in the link sets the read budget). `
      + `Download the model and drop the folder here, or use the command line (${f.url}).`, { kind: 'toolarge', file: f.name, url: f.url });
  }
  // In file order: a row's tensors are then read from one stream (an MLX
  // layer's biases and scales lie before its weight, the main range).
  const inOrder = [...ranges].sort((a, b) => a.file - b.file || a.start - b.start);
  for (const r of inOrder) {
    const f = files[r.file];
    if (f.blob && bytes > budget) continue;
    const [slot, ptr] = reserve(r);
    try {
      await streamBytes(f, r.start, r.length, (chunk, at) => writeAt(ptr, chunk, at), net, spans);
    } catch (e) {
      if (!f.blob) throw e;
      continue;
    }
    commit(r, slot);
  }
}

/** The reserve/commit of holdRanges for an Inspector or Analyser. */
function heldBy(insp) {
  return {
    reserve: (r) => insp.reserve(r.file, r.start, r.length),
    commit: (r, slot) => insp.commit(r.file, slot),
  };
}

/**
 * Analyses row `at` of an Inspector or Analyser: a tensor read once
 * (every scheme but int8 per tensor) is push-fed through one small
 * buffer, as is a larger one; the other rows are read ahead into the wasm
 * memory (held whole, up to the budget, for their two passes). Pushing
 * spares the worker's memory a tensor-sized buffer (bert-large's 125 MB
 * embeddings), which it would keep for good.
 * Local files are read through `spans` (openSpans) when given.
 * Returns {row, findings}.
 */
export async function analyseRow(insp, at, files, net, spans) {
  insp.release();
  const plan = insp.readPlan(at);
  if (!plan.feed || (plan.twoPasses && plan.bytes <= budget)) {
    await holdRanges(files, plan.ranges, plan.bytes, `row ${at}`, heldBy(insp), net, spans);
    return insp.analyzeRow(at);
  }
  const r = plan.ranges[0];
  const f = files[r.file];
  // The first pass keeps up to the budget of the tensor's start, so a
  // second pass (int8 per tensor) reads only the rest.
  insp.feedBegin(at, budget);
  const push = (chunk) => {
    const ptr = insp.feedBuffer(chunk.byteLength);
    writeAt(ptr, chunk, 0);
    insp.feedPush(chunk.byteLength);
  };
  try {
    for (let from = 0; ; from = insp.feedResumeAt()) {
      if (from < r.length) await streamBytes(f, r.start + from, r.length - from, push, net, spans);
      if (!insp.feedEndPass()) break;
    }
  } catch (e) {
    if (!f.blob) throw e;
    // A local file's stream failed or stalled: the analysis reads it in
    // bounded slices instead (its error, if any, names the tensor).
    return insp.analyzeRow(at);
  }
  return insp.feedFinish();
}

/** Reads ahead what the histograms of row `at` read (its main tensor). */
export async function holdMain(insp, at, files, net) {
  insp.release();
  const plan = insp.readPlan(at);
  const main = plan.ranges.slice(0, 1);
  const bytes = main.reduce((a, r) => a + r.length, 0);
  await holdRanges(files, main, bytes, `the histograms of row ${at}`, heldBy(insp), net);
}

/**
 * The SHA-256 of a file ({name, blob} or a link file) as 64 hex digits,
 * streamed into `feed` (a Sha256Feed); progress(done) after each piece.
 */
export async function hashStream(f, feed, progress, net) {
  const size = f.blob ? f.blob.size : f.size;
  // Links in ranges of at most the budget: each answer is checked, and a
  // broken transfer costs one range, not the file.
  const step = f.blob ? size : budget;
  for (let at = 0; at < size; at += step) {
    const n = Math.min(step, size - at);
    await streamBytes(f, at, n, (chunk) => {
      feed.update(chunk);
      progress(feed.fed());
    }, net);
  }
  if (size === 0) progress(0);
  return feed.hex();
}
