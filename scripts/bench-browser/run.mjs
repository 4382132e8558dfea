#!/usr/bin/env node
// Same-run throughput of the native CLI and the browser inspector on one
// model, with the browser's raw file-read floor (workers that only read the
// dropped files, no analysis) measured beside them.
//   node scripts/bench-browser/run.mjs [--model DIR] [--runs N] [--www DIR] [--json FILE]
// Default model: /tmp/quantlens-bench-cache/bert-large-f32 (scripts/bench
// generates it). Needs target/release/quantlens, www/pkg and Chromium.
// Rounds are interleaved (native, floor, page, ...) so that every measure
// sees the same machine load; medians are reported. --json FILE also writes
// them as { model, bytes, runs, workers, median: { KEY: { secs, cpu } } }.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startRangeServer } from '../../tests/e2e/range-server.mjs';
import { here, repoRoot, opt, writeJson } from './args.mjs';
import { launch, analyse, artifacts } from '../../tests/e2e/helpers.mjs';

const model = path.resolve(opt('--model', '/tmp/quantlens-bench-cache/bert-large-f32'));
const runs = Number(opt('--runs', 3));
const bin = path.join(repoRoot, 'target/release/quantlens');
for (const [what, p] of [['model', model], ['native CLI', bin], ['wasm package', path.join(repoRoot, 'www/pkg/quantlens_bg.wasm')]]) {
  if (!fs.existsSync(p)) {
    console.error(`bench-browser: ${what} not found at ${p}`);
    process.exit(1);
  }
}
const shards = fs.readdirSync(model).filter((f) => f.endsWith('.safetensors')).map((f) => path.join(model, f));
const bytes = shards.reduce((a, f) => a + fs.statSync(f).size, 0);
for (const f of shards) execFileSync('cat', [f], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 });

const srv = await startRangeServer({
  mounts: { '/app/': { dir: path.resolve(opt('--www', path.join(repoRoot, 'www'))), index: true }, '/floor/': { dir: here, index: true } },
});
const browser = await launch();
// byob-copy reads as the page does (read-ahead.js: 4 MiB pieces, each
// copied into the wasm memory): what the page pays before any analysis.
const FLOORS = [['sync', 32 << 20], ['async2', 32 << 20], ['byob', 8 << 20], ['byob-copy', 4 << 20]];
const times = { native: [], page: [] };
const cpu = { native: [], page: [] };
for (const [m] of FLOORS) {
  times[`floor-${m}`] = [];
  cpu[`floor-${m}`] = [];
}

// CPU seconds spent by the whole machine (every process: the browser,
// its renderer and workers, the native CLI), from /proc/stat. Measures run
// one at a time on an otherwise quiet machine, so the difference across a
// measure is what that measure cost, whichever process paid it.
const HZ = 100;
function busySecs() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle, iowait
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / HZ;
}
// Runs fn(mark); fn calls mark() right before and right after the part it
// times, and the CPU between the two marks is recorded under `key`.
async function timed(key, fn) {
  let c0 = 0;
  let c1 = 0;
  const out = await fn(() => {
    if (c0 === 0) c0 = busySecs();
    else c1 = busySecs();
  });
  cpu[key].push(c1 - c0);
  return out;
}

async function floor(method, slice, mark) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(srv.url('/floor/'));
  await page.setInputFiles('#files', shards);
  mark();
  const r = await page.evaluate(([m, s]) => window.readFloor(m, 2, s), [method, slice]);
  mark();
  await ctx.close();
  if (r.bytes !== bytes) throw new Error(`read floor ${method}: read ${r.bytes} of ${bytes} bytes`);
  return r.secs;
}

async function pageRun(mark) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(srv.url('/app/'));
  await page.waitForFunction(() => window.__quantlens !== undefined);
  // The page warms its workers (wasm compile) on load; let that finish.
  await new Promise((r) => setTimeout(r, 1000));
  mark();
  const st = await analyse(page, 'pick-dir', model, 10 * 60000);
  mark();
  if (st !== 'done') throw new Error(`page run ended in state ${st}`);
  const run = await page.evaluate(() => window.__quantlens.lastRun);
  await ctx.close();
  return { secs: run.ms / 1000, workers: run.workers };
}

let workers = 0;
for (let r = 0; r < runs; r++) {
  await timed('native', (mark) => {
    mark();
    const t0 = process.hrtime.bigint();
    execFileSync(bin, ['inspect', model, '--json'], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
    times.native.push(Number(process.hrtime.bigint() - t0) / 1e9);
    mark();
  });
  for (const [m, s] of FLOORS) times[`floor-${m}`].push(await timed(`floor-${m}`, (mark) => floor(m, s, mark)));
  const p = await timed('page', pageRun);
  workers = p.workers;
  times.page.push(p.secs);
  process.stderr.write(`round ${r + 1}/${runs}: native ${times.native.at(-1).toFixed(2)} s, page ${p.secs.toFixed(2)} s\n`);
}
await browser.close();
await srv.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (s) => bytes / s / 1e6;
const native = median(times.native);
const rows = [
  ['native `quantlens inspect --json` (all cores)', 'native'],
  [`page: drop to all rows (${workers} workers)`, 'page'],
  ['browser read floor: FileReaderSync, 32 MiB slices, 2 workers', 'floor-sync'],
  ['browser read floor: Blob.slice().arrayBuffer(), 2 in flight, 2 workers', 'floor-async2'],
  ['browser read floor: Blob.stream() BYOB 8 MiB, 2 workers', 'floor-byob'],
  ['browser read floor: BYOB 4 MiB, each piece copied on (the page\'s reads), 2 workers', 'floor-byob-copy'],
].map(([w, k]) => [w, median(times[k]), median(cpu[k])]);
const out = [
  `Model: ${model} (${(bytes / 1e9).toFixed(2)} GB, ${shards.length} shards), median of ${runs} interleaved rounds, ${new Date().toISOString()}`,
  '',
  '| what | time | throughput | vs native | CPU s (all processes) |',
  '| --- | --- | --- | --- | --- |',
  ...rows.map(([w, s, c]) => `| ${w} | ${s.toFixed(2)} s | ${mbps(s).toFixed(0)} MB/s | ${(native / s).toFixed(2)}× | ${c.toFixed(2)} |`),
].join('\n');
console.log(out);
fs.writeFileSync(path.join(artifacts, 'bench-browser.md'), `${out}\n`);
writeJson({ model, bytes, runs, workers, median: Object.fromEntries(Object.keys(times).map((k) => [k, { secs: median(times[k]), cpu: median(cpu[k]) }])) });
