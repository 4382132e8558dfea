// The sha256= check of a link source: each file hashed in a worker, the
// result box, and the digest findings added to the report.
import { $, el, clear, showError } from '../shared/dom.js';
import { fmtBytes } from '../shared/format.js';
import { state } from './state.js';
import { pool } from './pool.js';
import { scheduleNetDraw } from './progress.js';
import { renderOverview } from './summary.js';

function shaTarget(input, name) {
  const f = input.files.find((x) => x.name === name);
  if (f) return { entry: f, size: f.size ?? f.blob.size };
  const side = input.remote?.side.get(name);
  if (side) return { entry: { name, blob: new Blob([side.bytes]) }, size: side.bytes.length };
  return null;
}

/** Hashes the files the link's sha256= names and adds the digest findings to the report. */
export async function runShaCheck(input) {
  const list = state.link?.sha256 ?? [];
  // cost: bytes fetched by the hashing alone (its worker reports them per message)
  const sha = { input, running: true, items: list.map((x) => ({ ...x, actual: null, state: 'pending', done: 0, size: null })), cost: 0, bad: state.link?.shaErrors ?? [] };
  state.sha = sha;
  drawSha();
  for (const item of sha.items) {
    if (state.sha !== sha) return;
    const t = shaTarget(input, item.file);
    if (!t) {
      item.state = 'missing';
      drawSha();
      continue;
    }
    item.size = t.size;
    item.state = 'running';
    drawSha();
    try {
      const { digest, fetched } = await pool.call(0, { type: 'sha', file: t.entry }, (m) => {
        item.done = m.done;
        sha.cost += m.fetched ?? 0;
        scheduleNetDraw();
      });
      sha.cost += fetched ?? 0;
      item.actual = digest;
      item.done = t.size;
      item.state = digest === item.hex ? 'ok' : 'mismatch';
    } catch (e) {
      if (state.sha !== sha) return;
      item.state = 'error';
      item.error = e.cancelled ? 'cancelled' : e.message;
    }
    drawSha();
  }
  if (state.sha === sha && state.primary?.results && state.input === input && !sha.items.some((x) => x.state === 'error')) {
    // The digest findings are the core's (as the CLI's inspect --sha256
    // words them): the report is built again with the digests.
    const digests = Object.fromEntries(sha.items.filter((x) => x.actual).map((x) => [x.file, x.actual]));
    try {
      const { report } = await pool.call(0, { type: 'report', key: 'a', rows: state.primary.results, digests });
      if (state.sha === sha && state.input === input) {
        state.primary.report = report;
        renderOverview(report);
      }
    } catch (e) {
      if (!e.cancelled) showError(`SHA-256 findings could not be added: ${e.message}`);
    }
  }
  sha.running = false;
  drawSha();
}

/** Draws the sha256= result box. */
export function drawSha() {
  const box = $('sha-result');
  const sha = state.sha;
  clear(box);
  if (!sha || (!sha.items.length && !sha.bad.length)) {
    box.hidden = true;
    delete box.dataset.state;
    return;
  }
  box.hidden = false;
  const states = sha.items.map((x) => x.state);
  const overall = sha.running ? 'running'
    : states.some((x) => x === 'mismatch' || x === 'missing') || sha.bad.length ? 'mismatch'
      : states.some((x) => x === 'error') ? 'error' : 'ok';
  box.dataset.state = overall;
  const cost = sha.cost;
  const title = {
    running: 'Checking SHA-256 digests from the link…',
    ok: `SHA-256: every file matches the digest in the link (${fmtBytes(cost)} fetched to hash ${sha.items.length} file${sha.items.length === 1 ? '' : 's'}).`,
    mismatch: 'SHA-256 MISMATCH: a file is not the one the link vouches for.',
    error: 'SHA-256 check could not finish.',
  }[overall];
  box.append(el('h2', {}, title));
  const ul = el('ul');
  for (const x of sha.items) {
    const li = el('li', { class: `sha-item ${x.state}`, 'data-file': x.file, 'data-state': x.state });
    li.append(el('span', { class: 'mono strong' }, x.file), document.createTextNode(' '));
    if (x.state === 'ok') li.append(el('span', {}, `matches ${x.hex}`));
    else if (x.state === 'mismatch') li.append(el('span', {}, `expected ${x.hex}, got ${x.actual}`));
    else if (x.state === 'missing') li.append(el('span', {}, `expected ${x.hex}, but this model has no file of that name`));
    else if (x.state === 'error') li.append(el('span', {}, `could not be hashed: ${x.error}`));
    else if (x.state === 'running') li.append(el('span', { class: 'muted' }, `hashing: ${fmtBytes(x.done)} of ${fmtBytes(x.size)} (read again by range requests)`));
    else li.append(el('span', { class: 'muted' }, 'waiting'));
    ul.append(li);
  }
  for (const b of sha.bad) ul.append(el('li', { class: 'sha-item missing', 'data-state': 'invalid' }, `not understood: "${b}" (expected FILE:64 hex digits)`));
  box.append(ul);
  if (overall !== 'running' && cost > 0 && overall !== 'ok') box.append(el('p', { class: 'muted small' }, `${fmtBytes(cost)} fetched for hashing.`));
}
