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
  const feed = new Sha256Feed();
  try {
    const digest = await hashStream(msg.file, feed, (done) => {
      if (done - last >= PROGRESS_BYTES || done === size) {
        last = done;
        progress(msg.id, { done });
      }
    }, net);
    return { type: 'sha', digest };
  } finally {
    feed.free();
  }
}
