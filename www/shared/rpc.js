// The page side of a module worker's request/answer protocol (the worker
// side is workers/serve.js). A request is {id, type, ...}; the worker answers
// it with one message of the same id, which is {type: 'error', message} on
// failure, after any number of {type: 'progress', ...}. Any message may carry
// `fetched`: network bytes read since the worker's previous message.

export class WorkerRpc {
  /**
   * url: the worker script (a URL made with import.meta.url, so that it
   * resolves from the module, not the page). onFetched(n) hears every
   * message's `fetched`.
   */
  constructor(url, { onFetched } = {}) {
    this.seq = 0;
    this.pending = new Map();
    this.worker = new Worker(url, { type: 'module' });
    this.worker.onmessage = (ev) => {
      const msg = ev.data;
      if (msg.fetched) onFetched?.(msg.fetched);
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') {
        p.progress?.(msg);
        return;
      }
      this.pending.delete(msg.id);
      if (msg.type === 'error') p.reject(new Error(msg.message));
      else p.resolve(msg);
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault?.();
      this.failAll(new Error(`worker failed: ${ev.message || 'unknown error (out of memory?)'}`));
    };
  }

  /** Sends msg ({type, ...}); resolves with the answer. progress(msg) hears the progress messages. */
  call(msg, progress) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.worker.postMessage({ ...msg, id });
    });
  }

  /** Rejects every pending request with err. */
  failAll(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Stops the worker; pending requests are rejected with err. */
  terminate(err) {
    this.worker.terminate();
    this.failAll(err);
  }
}
