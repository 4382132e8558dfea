// One reader: copies every byte of its ranges into a fixed buffer (as the
// wasm side would), by one of three methods.
//   sync:   FileReaderSync on Blob.slice ranges (what the inspector uses)
//   async2: Blob.slice(...).arrayBuffer(), two requests in flight
//   byob:   Blob.slice(...).stream() with a BYOB reader into a reused buffer
//   byob-copy: the same, each piece then copied into the fixed buffer: the
//           page's own reads (workers/read-ahead.js), bytes into wasm memory
self.onmessage = async (e) => {
  const { ranges, method, sliceBytes } = e.data;
  const sink = new Uint8Array(sliceBytes);
  let bytes = 0;
  let check = 0;
  for (const { blob, from, to } of ranges) {
    if (method === 'sync') {
      const reader = new FileReaderSync();
      for (let at = from; at < to; at += sliceBytes) {
        const u = new Uint8Array(reader.readAsArrayBuffer(blob.slice(at, Math.min(to, at + sliceBytes))));
        sink.set(u);
        bytes += u.length;
        check ^= u[0];
      }
    } else if (method === 'async2') {
      const get = (at) => blob.slice(at, Math.min(to, at + sliceBytes)).arrayBuffer();
      let next = get(from);
      for (let at = from; at < to; at += sliceBytes) {
        const cur = next;
        next = at + sliceBytes < to ? get(at + sliceBytes) : null;
        const u = new Uint8Array(await cur);
        sink.set(u);
        bytes += u.length;
        check ^= u[0];
      }
    } else if (method === 'byob' || method === 'byob-copy') {
      const reader = blob.slice(from, to).stream().getReader({ mode: 'byob' });
      let buf = new ArrayBuffer(sliceBytes);
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(buf));
        if (done) break;
        if (method === 'byob-copy') sink.set(value);
        bytes += value.length;
        check ^= value[0];
        buf = value.buffer;
      }
    } else {
      throw new Error(`unknown method ${method}`);
    }
  }
  self.postMessage({ bytes, check });
};
