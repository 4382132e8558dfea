// Reads of local files through one BYOB stream per file span: a worker
// given rows that lie one after the other in a file (the scheduler's runs)
// reads them all from one stream instead of one stream per tensor. Opening
// a Blob stream costs the browser about 4 ms of CPU: bert-large read in
// 4 MiB streams took 3.8 CPU-s, in two streams 2.2 (BENCHMARKS.md).

/**
 * The open spans of one request: `spans` is [{file, start, end}] (file:
 * index into `files`). A read inside a span, at or past where its stream
 * stands, is served from that stream (the bytes in between are skipped);
 * any other read, or one after the stream failed, calls `fallback(f,
 * start, length, onChunk)`, which reads it on its own.
 */
export class BlobSpans {
  constructor(files, spans, fallback) {
    this.fallback = fallback;
    this.open = new Map(); // file object -> {pos, end, reader, broken}
    for (const s of spans ?? []) {
      const f = files[s.file];
      if (f?.blob && s.end > s.start) this.open.set(f, { pos: s.start, end: s.end, reader: null, broken: false });
    }
  }

  /**
   * Streams bytes [start, start + length) of `f` to onChunk(bytes, at).
   * `io` says how: pieces of at most `io.piece` bytes, read by
   * `io.read(reader, view)` (a stall-guarded read) into `io.view(n)`, a
   * view of a reused buffer that the stream hands back, to `io.keep`.
   */
  async read(f, start, length, onChunk, io) {
    const s = this.open.get(f);
    if (!s || s.broken || start < s.pos || start + length > s.end) {
      return this.fallback(f, start, length, onChunk);
    }
    try {
      s.reader ??= f.blob.slice(s.pos, s.end).stream().getReader({ mode: 'byob' });
      await this.advance(s, start, null, io);
      await this.advance(s, start + length, (chunk) => onChunk(chunk, s.pos - start - chunk.byteLength), io);
    } catch (e) {
      s.broken = true;
      s.reader?.cancel().catch(() => {});
      throw new Error(`${f.name}: reading bytes ${start}-${start + length - 1} of the local file failed (${e.message ?? e}).`);
    }
  }

  // Reads span `s` up to byte `to`, handing each piece to `take` (or
  // dropping it).
  async advance(s, to, take, io) {
    while (s.pos < to) {
      const view = io.view(Math.min(io.piece, to - s.pos));
      const { done, value } = await io.read(s.reader, view);
      if (done) throw new Error(`the file ended at byte ${s.pos}`);
      io.keep(value.buffer);
      s.pos += value.byteLength;
      take?.(value);
    }
  }

  /** Stops every stream still open. */
  close() {
    for (const s of this.open.values()) s.reader?.cancel().catch(() => {});
    this.open.clear();
  }
}
