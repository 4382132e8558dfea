// The workers' stall guard (www/workers/read-ahead.js): a Blob stream read
// that never settles is abandoned and counted; others pass through.
import test from 'node:test';
import assert from 'node:assert/strict';
import { guardedRead, takeStalledReads } from '../../www/workers/read-ahead.js';

const view = new Uint8Array(4);

test('a read that settles is returned as it is, and not counted', async () => {
  const reader = { read: async (v) => ({ done: false, value: v }) };
  for (let i = 0; i < 1000; i++) assert.equal((await guardedRead(reader, view)).value, view);
  await assert.rejects(guardedRead({ read: async () => { throw new Error('gone'); } }, view), /gone/);
  assert.equal(takeStalledReads(), 0);
});

test('a read that never settles is abandoned, not before 2 s, and counted', { timeout: 30000 }, async () => {
  const t0 = performance.now();
  const never = { read: () => new Promise(() => {}) };
  await assert.rejects(Promise.all([guardedRead(never, view), guardedRead(never, view)]), /the read stalled/);
  const waited = performance.now() - t0;
  assert.ok(waited >= 2000, `abandoned after ${waited} ms`);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(takeStalledReads(), 2);
});
