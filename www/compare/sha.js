// SHA-256 of every file of both sides, computed in the worker, checked
// against pasted sha256sum lines.
import { $, el } from '../shared/dom.js';
import { fmtBytes, fmtInt } from '../shared/format.js';
import { cmp } from './state.js';
import { rpc } from './worker-rpc.js';

const fileSize = (f) => f.size ?? f.blob.size;

/** Parses the pasted sha256sum lines (in the worker) into cmp.expected. */
export async function readExpected() {
  const { digests: list, badLines } = await rpc.call({ type: 'parse-sums', text: $('sha-expected').value })
    .catch(() => ({ digests: [], badLines: [] }));
  cmp.expected = new Map(list);
  $('sha-status').textContent = badLines.length ? `Lines not understood: ${badLines.join(', ')}` : '';
}

function shaState(name, hex) {
  if (hex == null || !cmp.expected.has(name)) return 'unknown';
  return cmp.expected.get(name) === hex ? 'ok' : 'mismatch';
}

/** Draws one row per file of both sides, with its digest and check. */
export function renderShaRows() {
  const body = $('sha-rows');
  body.replaceChildren();
  for (const side of ['original', 'converted']) {
    const s = cmp.sides[side];
    if (!s) continue;
    for (const f of s.all) {
      const hex = cmp.digests.get(`${side}/${f.name}`);
      const state = shaState(f.name, hex);
      const check = hex == null ? 'not computed' : state === 'ok' ? 'matches' : state === 'mismatch' ? `MISMATCH: expected ${cmp.expected.get(f.name).slice(0, 16)}…` : 'no expected digest';
      body.append(el('tr', { 'data-testid': 'sha-row', 'data-side': side, 'data-file': f.name, 'data-state': state },
        el('td', {}, side),
        el('td', { class: 'mono' }, f.name),
        el('td', { class: 'num' }, fmtInt(fileSize(f))),
        el('td', { class: 'digest', 'data-testid': 'sha-digest' }, hex ?? '…'),
        el('td', { class: 'check', title: state === 'mismatch' ? `expected ${cmp.expected.get(f.name)}` : null }, check)));
    }
  }
}

/** Hashes every file of both sides not hashed yet. */
export async function computeSha() {
  if (cmp.shaRunning) return;
  cmp.shaRunning = true;
  $('sha-run').disabled = true;
  try {
    for (const side of ['original', 'converted']) {
      const s = cmp.sides[side];
      if (!s) continue;
      for (const f of s.all) {
        const key = `${side}/${f.name}`;
        if (cmp.digests.has(key)) continue;
        $('sha-status').textContent = `Hashing ${side}/${f.name}…`;
        const out = await rpc.call({ type: 'sha', file: f }, ({ done }) => {
          $('sha-status').textContent = `Hashing ${side}/${f.name}: ${fmtBytes(done)} of ${fmtBytes(fileSize(f))}${s.remote ? ' (fetched by range requests)' : ''}`;
        });
        cmp.digests.set(key, out.digest);
        renderShaRows();
      }
    }
    $('sha-status').textContent = 'SHA-256 computed for every file.';
    $('sha-status').dataset.state = 'done';
  } catch (e) {
    $('sha-status').textContent = `Hashing failed: ${e.message}`;
    $('sha-status').dataset.state = 'error';
  } finally {
    cmp.shaRunning = false;
    $('sha-run').disabled = !(cmp.sides.original || cmp.sides.converted);
  }
}
