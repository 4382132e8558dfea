// Reads the chosen files in `workers` module workers with one read method,
// and reports wall time and bytes. The files' bytes are split evenly across
// the workers (a worker may get the tail of one file and the head of the
// next), so no worker waits on a larger share.
window.readFloor = async (method, workers, sliceBytes) => {
  const files = [...document.getElementById('files').files];
  const total = files.reduce((a, f) => a + f.size, 0);
  const shares = Array.from({ length: workers }, () => []);
  let at = 0;
  for (const f of files) {
    for (let from = 0; from < f.size;) {
      const w = Math.min(workers - 1, Math.floor((at * workers) / total));
      const shareEnd = Math.ceil(((w + 1) * total) / workers);
      const to = Math.min(f.size, from + (shareEnd - at));
      shares[w].push({ blob: f, from, to });
      at += to - from;
      from = to;
    }
  }
  const t0 = performance.now();
  const jobs = shares.map((ranges) => new Promise((resolve, reject) => {
    const worker = new Worker('floor-worker.js', { type: 'module' });
    worker.onmessage = (e) => {
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage({ ranges, method, sliceBytes });
  }));
  const done = await Promise.all(jobs);
  const secs = (performance.now() - t0) / 1000;
  const bytes = done.reduce((a, d) => a + d.bytes, 0);
  return { secs, bytes };
};
