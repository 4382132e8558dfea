// The page and the CLI run one inspect pipeline: for every fixture, the
// JSON the page exports equals `quantlens inspect --json` of the same
// folder, key for key (the report has no timing fields). Floats may differ
// by the last bits between the native and the wasm build, no more.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, launch, openPage, analyse, miniLM, repoRoot, artifacts, tmpDir, genModels, safetensors, weights,
  mlxMissing, mlxQuantizeModel, revealRow,
} from './helpers.mjs';

let server;
let browser;
let page;
let tmp;
const bin = path.join(repoRoot, 'target/release/quantlens');

before(async () => {
  if (!fs.existsSync(bin)) execFileSync('cargo', ['build', '--release'], { cwd: repoRoot, stdio: 'inherit' });
  tmp = tmpDir('equality');
  server = await startServer();
  browser = await launch();
  page = await openPage(browser, server.url);
});
after(async () => {
  await browser?.close();
  server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The CLI's JSON report of DIR and its exit code (2 still prints a report). */
function cli(dir) {
  try {
    return { code: 0, report: JSON.parse(execFileSync(bin, ['inspect', dir, '--json', '--quiet'], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString()) };
  } catch (e) {
    return { code: e.status, report: JSON.parse(e.stdout.toString()) };
  }
}

async function exported() {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-json]')]);
  return JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
}

/**
 * Asserts that two JSON values are equal: same keys, same strings,
 * integers and nulls; other numbers within 1e-9 relative (native and wasm
 * builds may round a last bit differently). Returns the largest relative
 * difference seen.
 */
function same(a, b, where = '$') {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isInteger(a) && Number.isInteger(b) && Math.abs(a) < 2 ** 53) {
      assert.equal(a, b, where);
      return 0;
    }
    const scale = Math.max(Math.abs(a), Math.abs(b));
    const d = scale === 0 ? 0 : Math.abs(a - b) / scale;
    assert.ok(d <= 1e-9, `${where}: page ${a} vs CLI ${b}`);
    return d;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    assert.equal(a, b, where);
    return 0;
  }
  assert.equal(Array.isArray(a), Array.isArray(b), where);
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${where}: keys`);
  let worst = 0;
  for (const k of Object.keys(a)) worst = Math.max(worst, same(a[k], b[k], `${where}.${k}`));
  return worst;
}

// An FP8 checkpoint as DeepSeek-V3 and Qwen3-FP8 ship them: F8_E4M3
// weights with 128×128 block scales, float norms and one float matrix.
function writeFp8(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const codes = new Uint8Array(256 * 128);
  for (let i = 0; i < codes.length; i++) codes[i] = (i * 37 + (i >> 7)) % 0x7e; // finite e4m3 codes
  fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensors([
    { name: 'model.layers.0.mlp.up_proj.weight', dtype: 'F8_E4M3', shape: [256, 128], data: codes },
    { name: 'model.layers.0.mlp.up_proj.weight_scale_inv', dtype: 'F32', shape: [2, 1], data: new Float32Array([0.0125, 0.03]) },
    { name: 'model.layers.0.input_layernorm.weight', dtype: 'F32', shape: [128], data: new Float32Array(128).fill(1) },
    { name: 'model.layers.0.self_attn.o_proj.weight', dtype: 'F32', shape: [128, 128], data: weights(128 * 128, 11) },
  ], { format: 'pt' }));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 128,
    quantization_config: { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128] },
  }));
}

// bf16 shards with the second shard cut short.
function writeTruncated(dir) {
  genModels(['bf16-shards', miniLM, dir, '--shards', '3']);
  const shard = path.join(dir, 'model-00002-of-00003.safetensors');
  fs.truncateSync(shard, fs.statSync(shard).size - 1000);
}

function convertMlx(dir, bits) {
  execFileSync(bin, ['convert', miniLM, dir, '--format', 'mlx', '--bits', String(bits), '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

// Stored-quantized fixtures carry what the page must show for them:
// `stored` rows (and the count-stored card), `floats` other rows when
// given, every stored row's bits/weight when `bpw` is given; `skip` says
// why the fixture cannot be made here.
// convert --format mlx follows mlx-lm's policy: the 37 dense weights and the 3 embeddings.
const CONVERTED = { stored: 40 };
// Real MLX (mx.quantize, f32 scales and biases) on the seeds' rule: the 37
// dense weights; embeddings, norms and biases stay float. 4 bits + 2×32
// bits per group of 64 = 5.0 bits/weight.
const BY_MLX = { stored: 37, floats: 67, bpw: 5.0, skip: mlxMissing() };

// Other tools' formats (scripts/hub_formats_reference.py, which needs MLX
// and mlx-lm): every layer a stored row, read back on the page as natively.
const HUB = { skip: mlxMissing() };
let hubDir;
function hubKind(kind) {
  return (d) => {
    if (!hubDir) {
      hubDir = `${d}-all`;
      execFileSync('python3', ['scripts/hub_formats_reference.py', hubDir], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    }
    return path.join(hubDir, kind);
  };
}

const FIXTURES = [
  ['MiniLM', () => miniLM],
  ['bf16 shards', (d) => genModels(['bf16-shards', miniLM, d, '--shards', '3'])],
  ['int8 with __scale__ (seeds V2)', (d) => genModels(['seeds-v2', miniLM, d])],
  ['fake-quantized floats (seeds V1)', (d) => genModels(['seeds-v1', miniLM, d])],
  ['a truncated shard', writeTruncated],
  ['FP8 with block scales', writeFp8],
  ['MLX affine 4-bit', (d) => convertMlx(d, 4), CONVERTED],
  ['MLX affine 8-bit', (d) => convertMlx(d, 8), CONVERTED],
  ['MLX 4-bit quantized by real MLX', (d) => mlxQuantizeModel(miniLM, d, ['--bits', '4', '--group-size', '64', '--dtype', 'f32']), BY_MLX],
  ['gpt-oss MXFP4 experts', hubKind('gpt-oss'), HUB],
  ['ModelOpt NVFP4', hubKind('modelopt'), HUB],
  ['compressed-tensors nvfp4', hubKind('ct-nvfp4'), HUB],
  ['compressed-tensors mxfp4', hubKind('ct-mxfp4'), HUB],
  ['compressed-tensors W8A8 int8', hubKind('ct-int8'), HUB],
];

for (const [what, make, want] of FIXTURES) {
  if (want?.skip) console.log(`  ${what}: ${want.skip}`);
  test(`${what}: the page's JSON equals the CLI's`, { skip: want?.skip ?? false }, async () => {
    const fresh = path.join(tmp, what.replace(/\W+/g, '-'));
    const dir = make(fresh) ?? fresh;
    const ref = cli(dir);
    // A fresh page: the previous fixture's final state cannot be mistaken for this one's.
    await page.reload();
    await page.waitForFunction(() => window.__quantlens !== undefined);
    const st = await analyse(page, 'pick-dir', dir);
    // A structural finding is an error on both sides, with the report kept.
    assert.equal(st, ref.code === 2 ? 'error' : 'done', what);
    const web = await exported();
    const worst = same(web, ref.report);
    const codes = ref.report.summary.findings.map((f) => f.code);
    console.log(`  ${what}: ${web.layers.length} rows, CLI exit ${ref.code}, findings [${[...new Set(codes)].map((c) => `${c}×${codes.filter((x) => x === c).length}`).join(', ')}], largest float difference ${worst.toExponential(1)}`);
    if (what.startsWith('fake')) assert.equal(codes.filter((c) => c === 'fake_quantization').length, 37);
    if (what.startsWith('a truncated')) assert.ok(codes.includes('truncated'), codes.join());
    if (want === HUB) {
      const stored = web.layers.filter((r) => r.action === 'stored');
      assert.ok(stored.length > 0 && stored.every((r) => r.stored.dequantized && r.stored.rms > 0), what);
      assert.equal((await page.textContent('[data-testid=count-stored]')).trim(), String(stored.length));
      assert.ok(!web.layers.some((r) => /scale|_blocks$/.test(r.name)), 'no companion is a row');
      await page.screenshot({ path: path.join(artifacts, `equality-${what.replace(/\W+/g, '-')}.png`) });
    } else if (want) {
      // Layers stored quantized: one row each, named after the weight, no error figure.
      const stored = web.layers.filter((r) => r.action === 'stored');
      assert.equal(stored.length, want.stored);
      assert.equal(web.summary.stored_layers, want.stored);
      if (want.floats !== undefined) assert.equal(web.layers.length - stored.length, want.floats, 'other rows');
      assert.ok(stored.every((r) => r.rel_error === null && r.stored && r.name.endsWith('.weight')));
      if (want.bpw !== undefined) {
        const off = stored.filter((r) => r.stored.bits_per_weight !== want.bpw);
        assert.deepEqual(off.map((r) => `${r.name}: ${r.stored.bits_per_weight}`), [], `bits/weight ${want.bpw}`);
      }
      assert.ok(!web.layers.some((r) => /\.(scales|biases)$/.test(r.name)), 'no companion is a row');
      assert.equal((await page.textContent('[data-testid=count-stored]')).trim(), String(want.stored));
      await revealRow(page, 'encoder.layer.0.output.dense.weight');
      const row = page.locator('[data-testid=layer-row][data-name="encoder.layer.0.output.dense.weight"]');
      assert.match(await row.textContent(), /stored.*bits\/weight/);
      if (want.bpw !== undefined) {
        assert.match(await row.textContent(), new RegExp(`${want.bpw.toFixed(2)} bits/weight`));
        // The card names the stored layers' own figure first, the whole model's second.
        assert.match(await page.textContent('#stored-bpw'), new RegExp(`^${want.bpw.toFixed(2)} bits/weight in these layers; whole model \\d`));
      }
      await page.screenshot({ path: path.join(artifacts, `equality-${what.replace(/\W+/g, '-')}.png`) });
    }
  });
}
