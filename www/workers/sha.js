// The 'sha' request of both workers: the SHA-256 of one file entry
// ({name, blob} or a link file), streamed in bounded reads, with a progress
// message every 8 MiB hashed.
import { sha256Entry } from '../pkg/quantlens.js';
import { remoteEntry } from '../link/range-entry.js';
import { net, progress } from './serve.js';

const PROGRESS_BYTES = 8 << 20;

/** Answers {type: 'sha', id, file}: {type: 'sha', digest}. */
export function hashFile(msg) {
  const size = msg.file.size ?? msg.file.blob?.size;
  let last = 0;
  const digest = sha256Entry(remoteEntry(msg.file, net), (done) => {
    if (done - last >= PROGRESS_BYTES || done === size) {
      last = done;
      progress(msg.id, { done });
    }
  });
  return { type: 'sha', digest };
}
