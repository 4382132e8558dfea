// The layers table: its rows, redrawn at a bounded pace while rows stream
// in, sorting and the name filter.
import { $, el, clear } from '../shared/dom.js';
import { state, UI_TICK_MS } from './state.js';
import { COLS, colValue, relClass } from './columns.js';

/** The table row of layer i. */
export function rowElement(i) {
  return rowEls[i];
}

let rowEls = [];

/** Builds the table's header and one row per layer. */
export function buildTable(layers) {
  const head = $('layers-head');
  clear(head);
  for (const c of COLS) {
    const th = el('th', { scope: 'col', class: `${c.num ? 'num ' : ''}${c.cls ?? ''}`, dataset: { key: c.key } });
    const b = el('button', { type: 'button', class: 'sort' }, c.label);
    b.addEventListener('click', () => sortBy(c.key));
    th.append(b);
    head.append(th);
  }
  const body = $('layers-body');
  clear(body);
  rowEls = layers.map((r, i) => {
    const tr = el('tr', { tabindex: '0', dataset: { testid: 'layer-row', name: r.name, index: String(i) } });
    tr.setAttribute('data-testid', 'layer-row');
    for (const c of COLS) tr.append(el('td', { class: `${c.num ? 'num ' : ''}${c.cls ?? ''}` }));
    body.append(tr);
    return tr;
  });
  for (let i = 0; i < layers.length; i++) updateRow(i);
  state.sort = { key: 'index', dir: 1 };
  markSort();
  applyFilter();
}

/** Redraws row i from state. */
export function updateRow(i) {
  const tr = rowEls[i];
  const r = state.primary?.rows?.[i];
  if (!tr || !r) return;
  const tds = tr.children;
  COLS.forEach((c, k) => {
    const v = colValue(c, r, i);
    tds[k].textContent = c.fmt ? c.fmt(v) : v == null ? '–' : String(v);
  });
  tr.className = relClass(r) + (i === state.selected ? ' selected' : '');
  const cmp = state.compare?.rows?.[i];
  if (cmp?.rel_error != null) tds[COLS.findIndex((c) => c.key === 'cmp_rel_error')].className = `num col-cmp ${relClass(cmp)}`;
  tr.title = r.name;
}

// While a run streams rows in, the table and the progress line are redrawn
// at most every UI_TICK_MS: each redraw makes the browser lay out the table
// again (its column widths follow the content), on the same cores as the
// analysis workers. Redrawing on every animation frame cost the page thread
// about 2.6 s of CPU during a 5 s run of bert-large; this, with the table's
// content-visibility, about 1.2 s.
const dirtyRows = new Set();

let rowsFlushScheduled = false;

export function markRowDirty(i) {
  dirtyRows.add(i);
  if (rowsFlushScheduled) return;
  rowsFlushScheduled = true;
  setTimeout(flushDirtyRows, UI_TICK_MS);
}

function flushDirtyRows() {
  rowsFlushScheduled = false;
  for (const i of dirtyRows) updateRow(i);
  dirtyRows.clear();
}

/** Redraws every row now, and re-sorts. */
export function refreshAllRows() {
  dirtyRows.clear();
  for (let i = 0; i < rowEls.length; i++) updateRow(i);
  if (state.sort.key !== 'index') applySort();
}

function sortBy(key) {
  state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: key !== 'index' && COLS.find((c) => c.key === key)?.num ? -1 : 1 };
  applySort();
}

/** Orders the rows by state.sort. */
export function applySort() {
  const c = COLS.find((x) => x.key === state.sort.key);
  const rows = state.primary?.rows ?? [];
  const val = (i) => (c.sortBy ? c.sortBy(rows[i]) : colValue(c, rows[i], i));
  const order = rows.map((_, i) => i).sort((a, b) => {
    const va = val(a);
    const vb = val(b);
    if (va == null && vb == null) return a - b;
    if (va == null) return 1; // missing values last in both directions
    if (vb == null) return -1;
    const d = typeof va === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return d * state.sort.dir || a - b;
  });
  const body = $('layers-body');
  const frag = document.createDocumentFragment();
  for (const i of order) frag.append(rowEls[i]);
  body.append(frag);
  markSort();
}

function markSort() {
  for (const th of $('layers-head').children) {
    const on = th.dataset.key === state.sort.key;
    th.setAttribute('aria-sort', on ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
  }
}

/** Hides the rows whose name does not contain the filter text. */
export function applyFilter() {
  const q = $('filter').value.trim().toLowerCase();
  let shown = 0;
  rowEls.forEach((tr, i) => {
    const name = state.primary?.rows?.[i]?.name ?? '';
    const hide = q !== '' && !name.toLowerCase().includes(q);
    tr.hidden = hide;
    if (!hide) shown++;
  });
  $('shown').textContent = q ? `${shown} of ${rowEls.length} shown` : `${rowEls.length} tensors`;
}
