// `npm run build` (scripts/build-dist) gives a dist/ that works unchanged
// when served from a sub-path, as GitHub Pages serves it
// (https://<owner>.github.io/<repo>/): the inspector and the compare page
// load their scripts, workers and wasm relatively, the MiniLM folder, the
// sample button and README's hosted link give the full analysis, the footers
// name the commit, and no request leaves /quantlens/ or fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  launch, openPage, analyse, waitSettled, confirmLink, miniLM, text, repoRoot, tmpDir, goodModel, rowCount,
} from './helpers.mjs';
import { startRangeServer } from './range-server.mjs';

const PREFIX = '/quantlens/'; // /<repo>/, as on GitHub Pages
const distDir = path.join(repoRoot, 'dist');
let server;
let browser;
const pages = [];

before(async () => {
  // incremental when www/pkg is up to date; prints the file summary
  execFileSync('bash', [path.join(repoRoot, 'scripts/build-dist'), '--sample', miniLM], {
    cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'],
  });
  server = await startRangeServer({ mounts: { [PREFIX]: { dir: distDir, index: true } } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(file = '') {
  const page = await openPage(browser, `${server.origin}${PREFIX}${file}`);
  pages.push(page);
  return page;
}

test('dist/ holds the site, the wasm package and the sample, nothing else', () => {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(path.relative(distDir, p));
    }
  };
  walk(distDir);
  const www = fs.readdirSync(path.join(repoRoot, 'www')).filter((f) => /\.(html|js|css)$/.test(f));
  // page modules in folders (www/inspector/...), the wasm packages apart
  const modules = fs.readdirSync(path.join(repoRoot, 'www'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'pkg' && e.name !== 'pkg-outputs')
    .flatMap((e) => fs.readdirSync(path.join(repoRoot, 'www', e.name)).filter((f) => f.endsWith('.js')).map((f) => `${e.name}/${f}`));
  const expected = [...www, ...modules, 'pkg/quantlens.js', 'pkg/quantlens_bg.wasm',
    'pkg-outputs/quantlens_outputs.js', 'pkg-outputs/quantlens_outputs_bg.wasm', 'sample/model.safetensors', 'sample/config.json'];
  assert.deepEqual(files.sort(), expected.sort());
  assert.ok(www.includes('index.html') && www.includes('compare.html'));
  assert.equal(fs.statSync(path.join(distDir, 'sample/model.safetensors')).size,
    fs.statSync(path.join(miniLM, 'model.safetensors')).size);
  assert.deepEqual(fs.readdirSync(repoRoot).filter((f) => f.startsWith('dist.')), [], 'no temporary build folder left');
  for (const f of ['index.html', 'compare.html']) {
    const csp = /connect-src ([^;"]*)/.exec(fs.readFileSync(path.join(distDir, f), 'utf8'))[1].trim();
    assert.equal(csp, "'self' https:", `${f}: production pages connect to https only`);
  }
});

test('the URL check fails on absolute paths and foreign origins, and passes dist/', () => {
  const bad = tmpDir('dist-check');
  try {
    fs.writeFileSync(path.join(bad, 'index.html'), [
      '<!-- https://example.com in a comment is fine -->',
      '<script type="module" src="/app.js"></script>',
      '<link rel="stylesheet" href="https://cdn.example.net/x.css">',
    ].join('\n'));
    fs.writeFileSync(path.join(bad, 'app.js'), [
      "const HUB = 'https://huggingface.co';",
      "const SVG = 'http://www.w3.org/2000/svg';",
      "const w = new Worker('/worker.js', { type: 'module' });",
      "fetch('pkg/fine.wasm');",
      "throw new Error('only https:// addresses, or http://127.0.0.1 on this computer');",
    ].join('\n'));
    const r = spawnSync('bash', [path.join(repoRoot, 'scripts/build-dist'), '--check', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.includes(' <- '));
    assert.equal(lines.length, 3, r.stderr);
    assert.match(r.stderr, /index\.html:2:.*src="\/app\.js".*absolute URL path/);
    assert.match(r.stderr, /index\.html:3:.*cdn\.example\.net.*another origin/);
    assert.match(r.stderr, /app\.js:3:.*new Worker\('\/worker\.js'.*absolute URL path/);
  } finally {
    fs.rmSync(bad, { recursive: true, force: true });
  }
  const ok = spawnSync('bash', [path.join(repoRoot, 'scripts/build-dist'), '--check', distDir], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});

test('from a sub-path: the MiniLM folder via pick-dir gives 104 rows, 37 quantized, 67 kept', async () => {
  const page = await open();
  const st = await analyse(page, 'pick-dir', miniLM);
  assert.equal(st, 'done', await text(page, 'error'));
  assert.equal(await rowCount(page), 104);
  assert.equal(await text(page, 'count-quantized'), '37');
  assert.equal(await text(page, 'count-kept'), '67');
  const paths = server.log.map((e) => e.path);
  for (const f of ['app.js', 'style.css', 'workers/inspector.js', 'pkg/quantlens.js', 'pkg/quantlens_bg.wasm']) {
    assert.ok(paths.includes(`${PREFIX}${f}`), `${f} was loaded from the sub-path`);
  }
});

test('from a sub-path: "Try a sample model" fetches sample/ relatively and gives the same counts', async () => {
  const page = await open('index.html');
  await page.click('#sample');
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state !== 'idle', null, { polling: 10 });
  assert.equal(await waitSettled(page), 'done', await text(page, 'error'));
  assert.equal(await rowCount(page), 104);
  assert.equal(await text(page, 'count-quantized'), '37');
  assert.equal(await text(page, 'count-kept'), '67');
  const sample = server.log.filter((e) => e.path === `${PREFIX}sample/model.safetensors`);
  assert.equal(sample.length, 1);
  assert.equal(sample[0].bytes, fs.statSync(path.join(miniLM, 'model.safetensors')).size);
  assert.ok(server.log.some((e) => e.path === `${PREFIX}sample/config.json` && e.status === 200));
});

test('from a sub-path: the compare page runs its worker and wasm', async () => {
  const tmp = tmpDir('dist-compare');
  try {
    for (const d of ['a', 'b']) {
      fs.mkdirSync(path.join(tmp, d));
      fs.writeFileSync(path.join(tmp, d, 'model.safetensors'), goodModel());
    }
    const page = await open('compare.html');
    await page.setInputFiles('[data-testid=pick-original]', path.join(tmp, 'a'));
    await page.setInputFiles('[data-testid=pick-converted]', path.join(tmp, 'b'));
    await page.waitForFunction(() => !document.querySelector('[data-testid=compare]').disabled);
    await page.click('[data-testid=compare]');
    await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state !== 'idle');
    assert.equal(await waitSettled(page), 'done', await page.textContent('[data-testid=error]'));
    assert.equal(await page.locator('[data-testid=verify-row]').count(), 4);
    assert.ok(server.log.some((e) => e.path === `${PREFIX}workers/compare.js` && e.status === 200));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// What build-dist stamps: the commit, "+modified" when tracked files differ.
function checkoutCommit(env = process.env) {
  const git = (...a) => execFileSync('git', ['-C', repoRoot, ...a], { encoding: 'utf8', env }).trim();
  return git('rev-parse', '--short=12', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+modified' : '');
}

test('from a sub-path: both footers name the commit dist/ was built from', async () => {
  const commit = checkoutCommit();
  assert.match(commit, /^[0-9a-f]{12}(\+modified)?$/);
  for (const file of ['index.html', 'compare.html']) {
    const page = await open(file);
    assert.equal(await page.textContent('footer [data-testid=build-commit]'), commit, file);
    assert.match(await page.textContent('footer'), new RegExp(`Build: ${commit.replace('+', '\\+')}\\.`));
  }
  // www/ itself, served by `npm start`, says "dev"
  for (const f of ['index.html', 'compare.html']) {
    assert.match(fs.readFileSync(path.join(repoRoot, 'www', f), 'utf8'), /data-testid="build-commit"[^>]*>dev</, f);
  }
});

test("README's hosted link, with the Hub replaced by a local one, opens MiniLM from the sub-path", async () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const m = readme.match(/https:\/\/<owner>\.github\.io\/<repo>\/(#hf=[^\s`)]+)/);
  assert.ok(m, 'README gives a link https://<owner>.github.io/<repo>/#hf=...');
  assert.equal(m[1], '#hf=sentence-transformers/all-MiniLM-L6-v2');
  // dist/'s CSP connects to 'self' and https: only, so the Hub stand-in
  // (plain http on this computer) shares the site's origin here.
  const site = await startRangeServer({
    mounts: { [PREFIX]: { dir: distDir, index: true } },
    hub: { 'sentence-transformers/all-MiniLM-L6-v2': miniLM },
  });
  const page = await openPage(browser, `${site.origin}${PREFIX}${m[1]}&hub=${encodeURIComponent(site.hubBase())}`);
  try {
    // The stand-in Hub is on this computer, so the link waits for the click a visitor would give.
    assert.equal(await confirmLink(page), 'done', await text(page, 'error'));
    assert.equal(await rowCount(page), 104);
    assert.equal(await text(page, 'count-quantized'), '37');
    assert.equal(await text(page, 'count-kept'), '67');
    assert.ok(site.log.some((e) => e.path === '/sentence-transformers/all-MiniLM-L6-v2/resolve/main/model.safetensors'), 'resolved on the Hub stand-in');
    assert.ok(site.log.some((e) => e.file === 'model.safetensors' && e.status === 206), 'tensors read by range');
    // the page asks for the index first: the one 404 there is expected
    const missing = site.log.filter((e) => e.status === 404).map((e) => e.path);
    assert.deepEqual(missing, ['/sentence-transformers/all-MiniLM-L6-v2/resolve/main/model.safetensors.index.json']);
    assert.deepEqual(page.errors.filter((e) => !/Failed to load resource: .* 404/.test(e)), [], 'page errors');
    assert.deepEqual(page.foreign, [], 'requests beyond the site and its Hub stand-in');
  } finally {
    await page.context().close();
    await site.close();
  }
});

test('every request stayed under the sub-path and succeeded; no page errors', () => {
  assert.ok(server.log.length > 10, `${server.log.length} requests`);
  const outside = server.log.filter((e) => !e.path.startsWith(PREFIX)).map((e) => e.path);
  assert.deepEqual(outside, [], 'requests outside the sub-path');
  const failed = server.log.filter((e) => e.status >= 400).map((e) => `${e.status} ${e.path}`);
  assert.deepEqual(failed, [], 'failed requests');
  for (const page of pages) {
    assert.deepEqual(page.foreign, [], 'requests to another origin');
    assert.deepEqual(page.errors, [], 'page errors');
  }
});

test('a build outside a git checkout says "dev" in the footers', () => {
  const env = { ...process.env, GIT_DIR: path.join(tmpDir('not-git'), 'none') };
  // the wasm packages are before()'s: the footer, not the build, is tested here
  const r = spawnSync('bash', [path.join(repoRoot, 'scripts/build-dist'), '--prebuilt'], { cwd: repoRoot, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /not a git checkout; the footer says "dev"/);
  for (const f of ['index.html', 'compare.html']) {
    assert.match(fs.readFileSync(path.join(distDir, f), 'utf8'), /data-testid="build-commit"[^>]*>dev</, f);
  }
});
