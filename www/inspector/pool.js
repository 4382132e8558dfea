// The inspector's pool of module workers (workers/inspector.js), each with
// its own wasm instance, and their replacement once they have read enough.
import { WorkerRpc } from '../shared/rpc.js';
import { readBudget } from '../link/fragment.js';

// One worker more than the cores: while a worker waits on the browser for
// a tensor's bytes, its core goes to another's analysis (bert-large on 2
// cores: 2.3–2.5 s with 2 workers, 2.0–2.1 s with 3 or 4; BENCHMARKS.md).
const POOL_SIZE = Math.max(2, Math.min((navigator.hardwareConcurrency || 2) + 1, 4));
// What the workers hold of rows read ahead, all together: split between
// them, so that the extra worker does not raise the page's memory (the
// 3.2 GB file: 836 MiB with 3 workers of 170 MiB each, 1.05 GiB with 3 of
// 256). `budget=MIB` in the link sets each worker's instead.
const POOL_READ_BUDGET = 512 << 20;
const workerBudget = () => readBudget(location.hash) ?? Math.floor(POOL_READ_BUDGET / POOL_SIZE);
const WORKER_URL = new URL('../workers/inspector.js', import.meta.url);

let wasmModule = null;
async function compileWasm() {
  if (!wasmModule) {
    const resp = await fetch(new URL('../pkg/quantlens_bg.wasm', import.meta.url));
    if (!resp.ok) throw new Error(`could not load the wasm module (HTTP ${resp.status}); run scripts/build-web`);
    wasmModule = await WebAssembly.compileStreaming(resp);
  }
  return wasmModule;
}

/** The rejection of a request whose run was cancelled. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.cancelled = true;
  }
}

class Pool {
  constructor(size, onFetched) {
    this.size = size;
    this.dead = false;
    this.onFetched = onFetched;
    this.opens = new Map(); // worker index -> (key -> its 'open' or 'prepare' message), replayed on a recycled worker
    this.spares = new Map(); // worker index -> {w, ready}: its replacement, warming up
    this.workers = [];
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
    this.ready = compileWasm().then((module) =>
      Promise.all(this.workers.map((_, i) => this.call(i, { type: 'init', module, readBudget: workerBudget() }))));
  }
  spawn() {
    return new WorkerRpc(WORKER_URL, { onFetched: (n) => { if (!this.dead) this.onFetched(n); } });
  }
  call(i, msg, progress) {
    if (this.dead) return Promise.reject(new Cancelled());
    return this.workers[i].call(msg, progress);
  }
  async open(i, msg) {
    if (i === 0) this.dropSpares();
    if (!this.opens.has(i)) this.opens.set(i, new Map());
    this.opens.get(i).set(msg.key, { ...msg, overview: false });
    return this.call(i, msg);
  }
  // FileReaderSync hands every slice over as a fresh ArrayBuffer, and a busy
  // worker's garbage collector lets those pile up (gigabytes on a big
  // model). A fresh worker, re-opened on the same files, returns it all.
  // Every row's bytes are read ahead into reused buffers instead
  // (workers/read-ahead.js); only a local stored-quantized layer over the
  // read budget is still read in slices, so this is rarely needed.
  // prepare(i) starts the replacement early so the swap costs nothing.
  prepare(i) {
    if (this.spares.has(i)) return;
    const w = this.spawn();
    const ready = (async () => {
      await w.call({ type: 'init', module: await compileWasm(), readBudget: workerBudget() });
      for (const msg of this.opens.get(i)?.values() ?? []) await w.call(msg);
      return w;
    })();
    ready.catch(() => {});
    this.spares.set(i, { w, ready });
  }
  async recycle(i) {
    this.prepare(i);
    const spare = this.spares.get(i);
    this.spares.delete(i);
    await spare.ready;
    if (this.dead) {
      spare.w.terminate(new Cancelled());
      throw new Cancelled();
    }
    this.workers[i].terminate(new Cancelled());
    this.workers[i] = spare.w;
  }
  dropSpares() {
    for (const { w } of this.spares.values()) w.terminate(new Cancelled());
    this.spares.clear();
  }
  terminate() {
    this.dead = true;
    this.dropSpares();
    for (const w of this.workers) w.terminate(new Cancelled());
  }
}

let hooks = null;
/** The live pool (replaced by resetPool). */
export let pool = null;

/** Starts the pool; onFetched(n) hears network bytes, onError(e) a failed start. */
export function startPool(onFetched, onError) {
  hooks = { onFetched, onError };
  pool = new Pool(POOL_SIZE, onFetched);
  pool.ready.catch(onError);
}

/** Stops every worker (their requests reject with Cancelled) and starts a fresh pool. */
export function resetPool() {
  pool.terminate();
  startPool(hooks.onFetched, hooks.onError);
}
