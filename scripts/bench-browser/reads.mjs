#!/usr/bin/env node
// What the page reads of a model, and what it costs: for each page build
// given (e.g. this one and an older checkout's www/), in interleaved
// rounds, the model opened by link (every byte counted at the server) and
// dropped as local files: time to all rows, model bytes fetched, bytes read
// synchronously by the workers, and the browser's peak anonymous RSS.
//   node scripts/bench-browser/reads.mjs [--model DIR] [--runs N] [--www LABEL=DIR]... [--frag '&scheme=int8-channel']
//     [--modes link,local] [--json FILE]
// Default model: DIR/model.safetensors with eight 400 MB f32 tensors
// (3.2 GB), generated in /tmp/quantlens-reads if absent (delete it after).
// --json FILE also writes { file, size, runs, results: [{ label, mode, secs,
// served, sync, peak }] } (bytes).
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, opt, writeJson } from './args.mjs';
import { startRangeServer } from '../../tests/e2e/range-server.mjs';
import { launch, analyse, confirmLink, artifacts, browserRss } from '../../tests/e2e/helpers.mjs';

const model = path.resolve(opt('--model', '/tmp/quantlens-reads'));
const runs = Number(opt('--runs', 1));
const frag = opt('--frag', ''); // more fragment parameters, e.g. &scheme=int8-channel
const modes = opt('--modes', 'link,local').split(',');
const args = process.argv.slice(2);
const builds = args.flatMap((a, i) => (args[i - 1] === '--www' ? [a.split('=')] : []));
if (!builds.length) builds.push(['this', path.join(repoRoot, 'www')]);

const file = path.join(model, 'model.safetensors');
if (!fs.existsSync(file)) {
  // Eight [10000, 10000] f32 matrices of a cheap, varied pattern: the
  // analysis's cost does not depend on the values.
  fs.mkdirSync(model, { recursive: true });
  const n = 10000 * 10000;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.001) * 0.02;
  const names = Array.from({ length: 8 }, (_, k) => `layers.${k}.weight`);
  // The header, then the same data for each tensor, written as it goes.
  const json = {};
  names.forEach((name, k) => { json[name] = { dtype: 'F32', shape: [10000, 10000], data_offsets: [k * n * 4, (k + 1) * n * 4] }; });
  let text = Buffer.from(JSON.stringify(json));
  text = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, Buffer.concat([len, text]));
  const bytes = Buffer.from(data.buffer);
  for (let k = 0; k < 8; k++) fs.writeSync(fd, bytes);
  fs.closeSync(fd);
}
const size = fs.statSync(file).size;

const mounts = { '/m/': model };
for (const [label, dir] of builds) mounts[`/${label}/`] = { dir: path.resolve(dir), index: true };
const srv = await startRangeServer({ mounts });
const browser = await launch();

async function run(label, mode) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  let peak = 0;
  const poll = setInterval(() => { peak = Math.max(peak, browserRss()); }, 100);
  srv.reset();
  try {
    if (mode === 'link') {
      await page.goto(`${srv.origin}/${label}/#url=${srv.url('/m/model.safetensors')}${frag}`);
      await page.waitForFunction(() => window.__quantlens !== undefined);
      const st = await confirmLink(page, { timeout: 30 * 60000 });
      if (st !== 'done') throw new Error(`${label} by link ended in state ${st}`);
    } else {
      await page.goto(`${srv.origin}/${label}/#${frag.replace(/^&/, '')}`);
      await page.waitForFunction(() => window.__quantlens !== undefined);
      await new Promise((r) => setTimeout(r, 1000)); // the workers' wasm compile
      const st = await analyse(page, 'pick-dir', model, 30 * 60000);
      if (st !== 'done') throw new Error(`${label} local ended in state ${st}`);
    }
    const r = await page.evaluate(() => window.__quantlens.lastRun);
    const served = srv.bytesSent((e) => e.path.endsWith('/model.safetensors'));
    return { secs: r.ms / 1000, served, sync: r.syncBytes ?? null, peak };
  } finally {
    clearInterval(poll);
    await ctx.close();
  }
}

const results = [];
for (let round = 0; round < runs; round++) {
  for (const mode of modes) {
    for (const [label] of builds) {
      const r = await run(label, mode);
      results.push({ label, mode, ...r });
      process.stderr.write(`${label} ${mode}: ${r.secs.toFixed(1)} s, ${(r.served / 1e9).toFixed(2)} GB served, peak RSS ${(r.peak / 2 ** 20).toFixed(0)} MiB\n`);
    }
  }
}
await browser.close();
await srv.close();

const gb = (x) => (x == null ? '–' : `${(x / 1e9).toFixed(2)} GB`);
const out = [
  `Model: ${file} (${(size / 1e9).toFixed(2)} GB), ${runs} round(s)${frag ? `, ${frag}` : ''}, ${new Date().toISOString()}`,
  '',
  '| page | source | time to all rows | model bytes fetched | read synchronously | browser peak anon. RSS |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...results.map((r) => `| ${r.label} | ${r.mode} | ${r.secs.toFixed(1)} s | ${r.mode === 'link' ? gb(r.served) : '–'} | ${gb(r.sync)} | ${(r.peak / 2 ** 20).toFixed(0)} MiB |`),
].join('\n');
console.log(out);
fs.writeFileSync(path.join(artifacts, 'bench-reads.md'), `${out}\n`);
writeJson({ file, size, runs, results });
