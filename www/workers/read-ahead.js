// Reading a tensor's first window from a Blob ahead of its analysis, into
// one reused buffer (the inspector worker's local files).

// Reads blob bytes [start, start + length) with a BYOB stream into one
// buffer reused from read to read: about 30 % less CPU for the browser than
// FileReaderSync, and no garbage left behind (BENCHMARKS.md). Returns null
// when the read fails or comes up short: the analysis then reads the bytes
// itself, and its error names the file, the tensor and the offset.
//
// Chromium's blob stream now and then stops delivering mid-read and never
// resumes (about one read in a few thousand here): a read that makes no
// progress for READ_STALL_MS is abandoned the same way.
const READ_STALL_MS = 2000;
let readBuf = new ArrayBuffer(0);
let stalledReads = 0; // since the last message to the page
function stallGuard() {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => {
      stalledReads += 1;
      reject(new Error('read stalled'));
    }, READ_STALL_MS);
  });
  return { promise, clear: () => clearTimeout(timer) };
}
export async function readAhead(blob, start, length) {
  if (readBuf.byteLength < length) readBuf = new ArrayBuffer(length);
  let buf = readBuf;
  let got = 0;
  let reader = null;
  try {
    reader = blob.slice(start, start + length).stream().getReader({ mode: 'byob' });
    while (got < length) {
      const guard = stallGuard();
      const { done, value } = await Promise.race([reader.read(new Uint8Array(buf, got, length - got)), guard.promise])
        .finally(guard.clear);
      if (done) break;
      got += value.byteLength;
      buf = value.buffer;
    }
  } catch {
    got = -1;
  }
  // Close the browser's side of the read now, not when collected.
  reader?.cancel().catch(() => {});
  // A failed read may leave the buffer detached (transferred to the stream).
  readBuf = buf.detached ? new ArrayBuffer(0) : buf;
  return got === length ? new Uint8Array(buf, 0, got) : null;
}
export function takeStalledReads() {
  const n = stalledReads;
  stalledReads = 0;
  return n;
}
