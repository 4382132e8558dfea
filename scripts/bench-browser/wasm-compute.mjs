#!/usr/bin/env node
// The analysis's own cost in wasm, with no browser file reading: one shard
// held in memory, served to the wasm Inspector through a read callback, in
// Node's V8 (the engine Chromium uses), against the native CLI on one thread
// over the same shard. CPU seconds of this process; best of N.
//   node scripts/bench-browser/wasm-compute.mjs [SHARD] [--runs N] [--json FILE]
// Default shard: the first of /tmp/quantlens-bench-cache/bert-large-f32.
// Needs www/pkg (scripts/build-web) and target/release/quantlens.
// --json FILE also writes { shard, bytes, runs, wasm, native } (CPU-s).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, opt, writeJson } from './args.mjs';

const args = process.argv.slice(2);
const runs = Number(opt('--runs', 3));
const shard = path.resolve(args.find((a, i) => !a.startsWith('--') && !['--runs', '--json'].includes(args[i - 1]))
  ?? '/tmp/quantlens-bench-cache/bert-large-f32/model-00001-of-00003.safetensors');
const pkg = path.join(repoRoot, 'www/pkg');
const bin = path.join(repoRoot, 'target/release/quantlens');
for (const p of [shard, path.join(pkg, 'quantlens_bg.wasm'), bin]) {
  if (!fs.existsSync(p)) {
    console.error(`wasm-compute: ${p} not found`);
    process.exit(1);
  }
}
const { default: init, Inspector } = await import(path.join(pkg, 'quantlens.js'));
await init({ module_or_path: fs.readFileSync(path.join(pkg, 'quantlens_bg.wasm')) });
const buf = fs.readFileSync(shard);
const entry = {
  name: path.basename(shard),
  size: buf.length,
  read: (offset, length) => new Uint8Array(buf.buffer, buf.byteOffset + offset, length),
};

const cpuSecs = (u) => (u.user + u.system) / 1e6;
let wasm = Infinity;
for (let r = 0; r < runs; r++) {
  const insp = new Inspector([entry], null, null, null);
  const c0 = process.cpuUsage();
  for (let i = 0; i < insp.tensorCount(); i++) insp.analyzeTensor(i);
  wasm = Math.min(wasm, cpuSecs(process.cpuUsage(c0)));
  insp.free();
}

// The CLI wants a folder: link the shard into a temporary one.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-wasm-compute-'));
// A hard link (or a copy across file systems): the CLI refuses symlinks that
// leave the model folder.
try {
  fs.linkSync(shard, path.join(dir, 'model.safetensors'));
} catch {
  fs.copyFileSync(shard, path.join(dir, 'model.safetensors'));
}
let native = Infinity;
try {
  for (let r = 0; r < runs; r++) {
    const run = spawnSync('/usr/bin/time', ['-f', '%U %S', bin, 'inspect', dir, '--json'], {
      env: { ...process.env, RAYON_NUM_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (run.status !== 0) throw new Error(`native CLI failed: ${run.stderr}`);
    const [user, sys] = run.stderr.toString().trim().split('\n').pop().split(' ').map(Number);
    native = Math.min(native, user + sys);
  }
} finally {
  fs.rmSync(dir, { recursive: true });
}
const mb = buf.length / 1e6;
console.log(`${path.basename(shard)} (${mb.toFixed(0)} MB), best of ${runs}:`);
console.log(`  wasm analysis (Node ${process.version}, bytes from memory): ${wasm.toFixed(2)} CPU-s = ${(wasm * 1e9 / buf.length).toFixed(2)} ns/byte`);
console.log(`  native CLI, 1 thread (pread from the page cache):  ${native.toFixed(2)} CPU-s = ${(native * 1e9 / buf.length).toFixed(2)} ns/byte`);
console.log(`  wasm / native: ${(wasm / native).toFixed(2)}x`);
writeJson({ shard, bytes: buf.length, runs, wasm, native });
