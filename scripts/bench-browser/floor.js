// Reads the chosen files in `workers` module workers (files dealt round-robin)
// with one read method, and reports wall time and bytes.
window.readFloor = async (method, workers, sliceBytes) => {
  const files = [...document.getElementById('files').files];
  const t0 = performance.now();
  const jobs = [];
  for (let w = 0; w < workers; w++) {
    const mine = files.filter((_, i) => i % workers === w);
    jobs.push(new Promise((resolve, reject) => {
      const worker = new Worker('floor-worker.js', { type: 'module' });
      worker.onmessage = (e) => {
        worker.terminate();
        resolve(e.data);
      };
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage({ files: mine, method, sliceBytes });
    }));
  }
  const done = await Promise.all(jobs);
  const secs = (performance.now() - t0) / 1000;
  const bytes = done.reduce((a, d) => a + d.bytes, 0);
  return { secs, bytes };
};
