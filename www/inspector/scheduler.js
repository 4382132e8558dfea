// The scheduler of one analysis: opens the model on every worker and hands
// them its tensors in runs of rows that lie one after the other in a file
// (a worker reads a run's bytes in one stream: workers/blob-spans.js),
// largest run first, recycling a worker once it has read enough.
import { state } from './state.js';
import { pool, Cancelled } from './pool.js';

const RUN_BYTES = 64 << 20; // most bytes a run reads (a larger row is a run of its own)
const MIN_RUN_BYTES = 4 << 20;
const RUN_ROWS = 256;
const RECYCLE_BYTES = 384 << 20; // bytes a worker reads before it is replaced (see pool.js recycle)

// Opens the model on every worker, streams every tensor, builds the report.
// gate, when given, is awaited after the overview is drawn and before any
// tensor is read (the header view of a link source).
export async function analyse(key, options, onOverview, onRow, gate) {
  const input = state.input;
  const myRun = state.runId;
  const p = pool;
  await p.ready;
  // The first worker parses the headers; the others get what each row
  // reads with the request that analyses it.
  const opened = await p.open(0, { type: 'open', key, files: input.files, index: input.index, config: input.config, options, overview: true });
  const { report: planned, workBytes, structural, shards, rowTensors, rowStarts } = opened.overview;
  // The other workers prepare while this thread draws the overview; each
  // starts on its rows once it has.
  const prepared = p.workers.map((_, wi) => (wi === 0 ? Promise.resolve()
    : p.open(wi, { type: 'prepare', key, files: input.files, config: input.config, options, shards })));
  for (const w of prepared) w.catch(() => {});
  const n = opened.count;
  onOverview(planned, workBytes);
  if (gate) await gate();
  if (state.runId !== myRun) throw new Cancelled();
  const rows = planned.layers.slice();
  const results = new Array(n); // {row, findings} per row, for the report
  const done = new Array(n).fill(false);
  const queue = runsOf(workBytes, rowStarts, p.workers.length);
  let failed = null;
  // Each worker keeps two requests queued so it never idles between runs.
  // A worker is replaced once it has read RECYCLE_BYTES synchronously (see
  // Pool.recycle): a request counts its work bytes while in flight, then
  // what the worker reports.
  const loop = async (wi) => {
    await prepared[wi];
    let read = 0;
    const inflight = [];
    const live = () => !failed && state.runId === myRun;
    const fill = () => {
      while (inflight.length < 2 && queue.length && live() && read <= RECYCLE_BYTES) {
        const { indices, bytes, spans } = queue.shift();
        read += bytes;
        const parts = wi === 0 ? null : indices.map((i) => ({ name: planned.layers[i].name, tensors: rowTensors[i] }));
        const promise = p.call(wi, { type: 'analyze', key, indices, parts, spans });
        promise.catch(() => {});
        inflight.push({ promise, estimate: bytes });
      }
    };
    fill();
    while (inflight.length) {
      const { promise, estimate } = inflight.shift();
      let msg;
      try {
        msg = await promise;
      } catch (e) {
        failed = failed ?? e;
        throw e;
      }
      read += (msg.syncBytes ?? estimate) - estimate;
      state.stats.syncBytes = (state.stats.syncBytes ?? 0) + (msg.syncBytes ?? 0);
      state.stats.stalledReads = (state.stats.stalledReads ?? 0) + (msg.stalledReads ?? 0);
      if (state.runId !== myRun) throw new Cancelled();
      if (msg.mem > state.stats.maxWasmBytes) state.stats.maxWasmBytes = msg.mem;
      for (const { index, result, ms } of msg.rows) {
        const { row } = result;
        rows[index] = row;
        results[index] = result;
        done[index] = true;
        state.stats.busyMs = (state.stats.busyMs ?? 0) + ms;
        onRow(index, row, workBytes[index]);
      }
      fill();
      if (read > RECYCLE_BYTES / 2 && queue.length && live()) p.prepare(wi);
      if (!inflight.length && read > RECYCLE_BYTES && queue.length && live()) {
        await p.recycle(wi);
        read = 0;
        state.stats.recycled = (state.stats.recycled ?? 0) + 1;
        fill();
      }
    }
  };
  await Promise.all(p.workers.map((_, wi) => loop(wi)));
  if (state.runId !== myRun) throw new Cancelled();
  const { report } = await p.call(0, { type: 'report', key, rows: results });
  return { key, options, rows, results, report, planned, workBytes, structural };
}

// The rows in file order, cut into runs of at most RUN_BYTES and RUN_ROWS
// rows, each with the span of every file it reads ({file, start, end}:
// its rows' extents); largest run first. A run takes at most half of
// each worker's share of the bytes still unassigned, so that runs shrink
// towards the end and the pool finishes together. No smaller: every run is
// a Blob stream of its own, and opening one costs the browser about 4 ms
// of CPU (an eighth made 67 runs of bert-large, a half makes 34: the
// browser's CPU fell by about 0.1 CPU-s and the run by 2–5 %).
// rowStarts[i] is row i's extent {file, start, length} (what it reads in
// its main tensor's file), or null for a row that reads nothing.
function runsOf(workBytes, rowStarts, workers) {
  let left = workBytes.reduce((a, b) => a + b, 0);
  const where = (i) => rowStarts[i] ?? { file: -1, start: i };
  const order = workBytes.map((_, i) => i).sort((a, b) => where(a).file - where(b).file || where(a).start - where(b).start);
  const runs = [];
  let run = null;
  let cap = 0;
  for (const i of order) {
    if (!run || run.indices.length >= RUN_ROWS || (run.bytes > 0 && run.bytes + workBytes[i] > cap)) {
      left -= run?.bytes ?? 0;
      cap = Math.max(MIN_RUN_BYTES, Math.min(RUN_BYTES, Math.ceil(left / (2 * workers))));
      run = { indices: [], bytes: 0, spans: new Map() };
      runs.push(run);
    }
    run.indices.push(i);
    run.bytes += workBytes[i];
    const s = rowStarts[i];
    if (!s) continue;
    const span = run.spans.get(s.file);
    if (span) span.end = Math.max(span.end, s.start + s.length);
    else run.spans.set(s.file, { file: s.file, start: s.start, end: s.start + s.length });
  }
  return runs.map((r) => ({ ...r, spans: [...r.spans.values()] })).sort((a, b) => b.bytes - a.bytes);
}
