#!/usr/bin/env node
// The page thread's share of a run, and the time from input to all rows,
// for one or two builds of the page (before/after a change) and for Netron
// displaying the same file, interleaved round by round in one run.
//   node scripts/bench-browser/page-thread.mjs [--model DIR]... [--runs N]
//        [--before WWW_DIR|GIT_REF] [--netron PATH_TO_NETRON] [--json FILE]
// Every --model in turn (default: ../shared's all-MiniLM-L6-v2). --before:
// a www/ folder, or a commit whose www/ is taken with the current www/pkg
// (the same wasm: only the page differs). Netron (pip install netron) is
// timed on the models of a single .safetensors file.
// Per page run: the page thread's CPU (CDP Performance.getMetrics of the
// page target: TaskDuration, ScriptDuration, LayoutDuration,
// RecalcStyleDuration, differences across the run), the page's own clock
// (lastRun.ms: its input event to data-state=done), the outside clock
// (setInputFiles called to data-state=done, seen by a MutationObserver in
// the page, in wall time) and the gap between the two, split into before
// the page's input event and after it. Netron: setInputFiles on its file
// input to its body's class becoming "default" (the model shown).
// --json FILE also writes every run: { runs, models: { MODEL_PATH: { before?,
// after: [{ outside, inside, toInput, afterInput, cpu, tensors }], netron:
// [{ outside }] } } } (seconds; netron empty when not run).
import { spawn, execFileSync } from 'node:child_process';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { startRangeServer } from '../../tests/e2e/range-server.mjs';
import { repoRoot, opt, opts, writeJson } from './args.mjs';
import { launch } from '../../tests/e2e/helpers.mjs';

const models = opts('--model').map((m) => path.resolve(m));
if (!models.length) models.push(path.join(repoRoot, '../shared/models/all-MiniLM-L6-v2'));
const runs = Number(opt('--runs', 3));
let before = opt('--before', null);
if (before && !fs.existsSync(before)) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-before-'));
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" www | tar -x -C "$3" && mkdir -p "$3"/www/pkg && cp "$1"/www/pkg/* "$3"/www/pkg/`, 'sh', repoRoot, before, dir]);
  before = path.join(dir, 'www');
}
const netronBin = opt('--netron', null);
const mounts = { '/after/': { dir: path.join(repoRoot, 'www'), index: true } };
if (before) mounts['/before/'] = { dir: path.resolve(before), index: true };
const srv = await startRangeServer({ mounts });
const browser = await launch();

async function startNetron() {
  const child = spawn(netronBin, ['--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const seen = (d) => {
      buf += d;
      const m = buf.match(/http:\/\/[\w.]+:\d+/);
      if (m) resolve(`${m[0]}/`);
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (c) => reject(new Error(`netron exited with ${c}: ${buf}`)));
    setTimeout(() => reject(new Error(`netron did not start: ${buf}`)), 20000);
  });
  return { url, close: () => child.kill('SIGTERM') };
}
const netron = netronBin ? await startNetron() : null;

const METRICS = ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'];
async function metrics(cdp) {
  const { metrics: m } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(m.filter((x) => METRICS.includes(x.name)).map((x) => [x.name, x.value]));
}

// A model of one .safetensors file is picked as that file (what Netron is
// given); a sharded one as its folder.
async function pageRun(which, single) {
  const [picker, files] = single ? ['pick-files', file] : ['pick-dir', path.dirname(file)];
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await ctx.newPage();
  await page.goto(srv.url(`/${which}/`));
  await page.waitForFunction(() => window.__quantlens !== undefined);
  await new Promise((r) => setTimeout(r, 1000)); // the page's workers start on load; a user picks a file later
  await page.evaluate((picker) => {
    window.__bench = {};
    document.querySelector(`[data-testid=${picker}]`).addEventListener('change', () => { window.__bench.input = performance.timeOrigin + performance.now(); }, { capture: true });
    window.__bench.done = new Promise((resolve) => {
      new MutationObserver(() => {
        if (document.body.dataset.state === 'done' || document.body.dataset.state === 'error') resolve(performance.timeOrigin + performance.now());
      }).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
    });
  }, picker);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  const m0 = await metrics(cdp);
  const t0 = Date.now();
  await page.setInputFiles(`[data-testid=${picker}]`, files);
  const done = await page.evaluate(() => window.__bench.done);
  const m1 = await metrics(cdp);
  const inputAt = await page.evaluate(() => window.__bench.input);
  const run = await page.evaluate(() => window.__quantlens.lastRun);
  const state = await page.getAttribute('[data-testid=status]', 'data-state');
  await ctx.close();
  if (state !== 'done') throw new Error(`${which}: run ended in state ${state}`);
  const cpu = Object.fromEntries(METRICS.map((k) => [k, m1[k] - m0[k]]));
  return { outside: (done - t0) / 1000, inside: run.ms / 1000, toInput: (inputAt - t0) / 1000, afterInput: (done - inputAt) / 1000 - run.ms / 1000, cpu, tensors: run.tensors };
}

// Netron forbids window.eval, so nothing is evaluated in its page: an init
// script watches its body and calls back through a binding. Its cookie
// consent prompt is pre-answered (a cookie), as a returning user's would be.
async function netronRun() {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  await ctx.addCookies([{ name: 'consent', value: String(Date.now()), url: netron.url }]);
  const page = await ctx.newPage();
  let welcome;
  let shown;
  const welcomed = new Promise((r) => { welcome = r; });
  const shownAt = new Promise((r) => { shown = r; });
  await page.exposeBinding('__benchClass', (_, cls, at) => {
    if (/\bwelcome\b/.test(cls) && !/\bspinner\b/.test(cls)) welcome();
    if (/\bdefault\b/.test(cls)) shown(at);
  });
  await page.addInitScript(() => {
    document.addEventListener('DOMContentLoaded', () => {
      const report = () => window.__benchClass(document.body.className, performance.timeOrigin + performance.now());
      new MutationObserver(report).observe(document.body, { attributes: true, attributeFilter: ['class'] });
      report();
    });
  });
  await page.goto(netron.url);
  await welcomed;
  const t0 = Date.now();
  await page.setInputFiles('#open-file-dialog', file);
  const at = await shownAt;
  await ctx.close();
  return { outside: (at - t0) / 1000 };
}

let file = null;
const all = {};
for (const model of models) {
  file = fs.statSync(model).isDirectory() ? path.join(model, fs.readdirSync(model).filter((f) => f.endsWith('.safetensors')).sort()[0]) : model;
  const single = fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.safetensors')).length === 1;
  all[model] = await benchModel(model, single, single && netron);
}
await browser.close();
await srv.close();
netron?.close();
writeJson({ runs, models: all });

async function benchModel(model, single, withNetron) {
  const builds = before ? ['before', 'after'] : ['after'];
  const results = Object.fromEntries([...builds, 'netron'].map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    for (const b of builds) results[b].push(await pageRun(b, single));
    if (withNetron) results.netron.push(await netronRun());
    process.stderr.write(`round ${r + 1}/${runs}: ${builds.map((b) => `${b} ${results[b].at(-1).outside.toFixed(2)} s outside, ${results[b].at(-1).cpu.TaskDuration.toFixed(2)} CPU-s page`).join('; ')}${withNetron ? `; netron ${results.netron.at(-1).outside.toFixed(2)} s` : ''}\n`);
  }

  const fmt = (xs, d = 2) => {
    const s = [...xs].sort((a, b) => a - b);
    return `${s[0].toFixed(d)} (${s[0].toFixed(d)}–${s.at(-1).toFixed(d)})`;
  };
  const lines = [
    `${path.basename(model)}: ${path.dirname(file)} (${(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.safetensors')).reduce((t, f) => t + fs.statSync(path.join(path.dirname(file), f)).size, 0) / 1e6).toFixed(0)} MB of .safetensors), ${runs} interleaved rounds, ${new Date().toISOString()}; best (range)`,
    '',
    '| build | page thread TaskDuration CPU-s | ScriptDuration | Layout | RecalcStyle | input→done, page clock s | input→done, outside s | outside − page: before the input event | after it |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...builds.map((b) => {
      const xs = results[b];
      const c = (k) => fmt(xs.map((x) => x.cpu[k]));
      return `| ${b} | ${c('TaskDuration')} | ${c('ScriptDuration')} | ${c('LayoutDuration')} | ${c('RecalcStyleDuration')} | ${fmt(xs.map((x) => x.inside))} | ${fmt(xs.map((x) => x.outside))} | ${fmt(xs.map((x) => x.toInput), 3)} | ${fmt(xs.map((x) => x.afterInput), 3)} |`;
    }),
    ...(withNetron ? [`| Netron (same file, shown) | | | | | | ${fmt(results.netron.map((x) => x.outside))} | | |`] : []),
  ];
  console.log(lines.join('\n'));
  return results;
}
