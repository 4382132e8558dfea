// The scheduler of one analysis: opens the model on every worker and hands
// them its tensors, largest first, in batches, recycling a worker once it
// has read enough.
import { state } from './state.js';
import { pool, Cancelled } from './pool.js';

const BATCH_BYTES = 4 << 20; // small tensors per request, by bytes read
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
  const { report: planned, workBytes, structural, shards, rowTensors } = opened.overview;
  await Promise.all(p.workers.slice(1).map((_, k) =>
    p.open(k + 1, { type: 'prepare', key, files: input.files, config: input.config, options, shards })));
  const n = opened.count;
  onOverview(planned, workBytes);
  if (gate) await gate();
  if (state.runId !== myRun) throw new Cancelled();
  const rows = planned.layers.slice();
  const results = new Array(n); // {row, findings} per row, for the report
  const done = new Array(n).fill(false);
  // Largest first, so the pool finishes together.
  const queue = [...Array(n).keys()].sort((a, b) => workBytes[b] - workBytes[a] || a - b);
  let failed = null;
  // Each worker keeps two requests queued so it never idles between tensors;
  // small tensors go in batches of up to BATCH_BYTES so the tail of biases
  // and norms does not wait on this thread. A worker is replaced once it has
  // read RECYCLE_BYTES synchronously (see Pool.recycle): a request counts
  // its work bytes while in flight, then what the worker reports.
  const loop = async (wi) => {
    let read = 0;
    const inflight = [];
    const live = () => !failed && state.runId === myRun;
    const fill = () => {
      while (inflight.length < 2 && queue.length && live() && read <= RECYCLE_BYTES) {
        const indices = [queue.shift()];
        let batch = workBytes[indices[0]];
        while (queue.length && indices.length < 256 && batch + workBytes[queue[0]] <= BATCH_BYTES) {
          const i = queue.shift();
          indices.push(i);
          batch += workBytes[i];
        }
        read += batch;
        const parts = wi === 0 ? null : indices.map((i) => ({ name: planned.layers[i].name, tensors: rowTensors[i] }));
        const promise = p.call(wi, { type: 'analyze', key, indices, parts });
        promise.catch(() => {});
        inflight.push({ promise, estimate: batch });
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
