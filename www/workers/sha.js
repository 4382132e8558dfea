// The 'sha' request of both workers: the SHA-256 of one file entry
// ({name, blob} or a link file), streamed into the wasm side's digest as it
// arrives (capped, workers/read-ahead.js), with a progress message every
// 8 MiB hashed.
import { Sha256Feed } from '../pkg/quantlens.js';
import { hashStream } from './read-ahead.js';
import { net, progress } from './serve.js';

const PROGRESS_BYTES = 8 << 20;

/** Answers {type: 'sha', id, file}: {type: 'sha', digest}. */
export async function hashFile(msg) {
  const size = msg.file.size ?? msg.file.blob?.size;
  let last = 0;
  const report = (done) => {
    if (done - last >= PROGRESS_BYTES || done === size) {
      last = done;
      progress(msg.id, { done });
    }
  };
  // A local file's stream now and then stalls for good (read-ahead.js):
  // it is hashed again from the start, once.
  for (let attempt = 0; ; attempt++) {
    const feed = new Sha256Feed();
    last = 0;
    try {
      return { type: 'sha', digest: await hashStream(msg.file, feed, report, net) };
    } catch (e) {
      if (!msg.file.blob || attempt > 0) throw e;
    } finally {
      feed.free();
    }
  }
}
