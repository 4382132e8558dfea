// The worker side of the request/answer protocol (the page side is
// shared/rpc.js): requests are handled strictly one at a time, in order, and
// every message to the page carries the network bytes fetched since the
// previous one.

/** The network byte counter of this worker: link reads add to `bytes`. */
export const net = { bytes: 0 };

function takeFetched() {
  const n = net.bytes;
  net.bytes = 0;
  return n;
}

/** Posts a progress message for the request `id`. */
export function progress(id, fields) {
  self.postMessage({ ...fields, type: 'progress', id, fetched: takeFetched() });
}

/**
 * Answers each request with `await handle(msg)` (an object with a type),
 * or with {type: 'error', message} when it throws.
 */
export function serve(handle) {
  let chain = Promise.resolve();
  self.onmessage = (ev) => {
    const msg = ev.data;
    chain = chain.then(async () => {
      try {
        const out = await handle(msg);
        self.postMessage({ ...out, id: msg.id, fetched: takeFetched() });
      } catch (e) {
        self.postMessage({ type: 'error', id: msg.id, request: msg.type, message: e instanceof Error ? e.message : String(e), fetched: takeFetched() });
      }
    });
  };
}
