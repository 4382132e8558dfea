// The compare page's worker (workers/compare.js) and its start.
import { WorkerRpc } from '../shared/rpc.js';
import { setStatus, showError } from '../shared/dom.js';
import { cmp } from './state.js';

/** The RPC of the compare page's worker. */
export const rpc = new WorkerRpc(new URL('../workers/compare.js', import.meta.url), {
  onFetched: (n) => { cmp.net.fetched += n; },
});
/** Settles once the worker's wasm instance is ready (or could not start: the page says so). */
export const ready = rpc.call({ type: 'init' }).catch((e) => {
  setStatus('error', 'The WebAssembly module could not be loaded.');
  showError(e.message);
});
