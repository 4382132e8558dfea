// The layers table, virtualised: rows are sorted and filtered as data
// (index arrays), and only the rows in the scroll container's view, plus a
// small overscan, are in the DOM, between two spacer rows that keep the
// scroll height. Rows have a fixed height (style.css) and the columns fixed
// widths (columns.js), so a redraw lays out a few dozen rows whatever the
// model's size. Redraws while rows stream in are batched (redraw.js).
import { $, el, clear } from '../shared/dom.js';
import { state } from './state.js';
import { COLS, colValue, relClass } from './columns.js';
import { redrawer } from './redraw.js';

const OVERSCAN = 8; // rows drawn above and below the view
let rowH = 24; // style.css's; measured from the first drawn row
let measured = false;
// The first drawn row's height, measured by a ResizeObserver after the
// browser's own layout: measuring in a redraw would force one.
const rowSize = new ResizeObserver(([e]) => {
  rowSize.disconnect();
  const h = e.borderBoxSize?.[0]?.blockSize ?? e.contentRect.height;
  if (!(h > 0)) {
    measured = false; // not laid out (hidden, or gone): the next redraw observes again
    return;
  }
  if (Math.abs(h - rowH) > 0.5) {
    rowH = h;
    shownKey = '';
    redraw.soon();
  }
});
// The scroller's offset and height, kept by its scroll event and a
// ResizeObserver: reading them in a redraw would force a layout.
let scrollTop = 0;
let viewHeight = 0;
let order = []; // row indices in sort order
let view = []; // order, filtered by name
const drawn = new Map(); // row index -> its <tr>, for the rows in the DOM
const dirtyRows = new Set();
let viewDirty = false; // the sort or the filter must be applied again
let shownKey = ''; // the view and the window now in the DOM
let viewVersion = 0;
const wrap = () => $('layers').parentElement;
const spacer = (where) => {
  const tr = el('tr', { class: `spacer ${where}`, 'aria-hidden': 'true' });
  tr.append(el('td', { colspan: String(COLS.length) }));
  return tr;
};
const top = spacer('top');
const bottom = spacer('bottom');

/** Builds the table's header and its (empty) body for these layers. */
export function buildTable(layers) {
  const head = $('layers-head');
  clear(head);
  for (const c of COLS) {
    const th = el('th', { scope: 'col', class: `${c.num ? 'num ' : ''}${c.cls ?? ''}`, dataset: { key: c.key } });
    th.style.width = `${c.w}em`;
    const b = el('button', { type: 'button', class: 'sort' }, c.label);
    b.addEventListener('click', () => sortBy(c.key));
    th.append(b);
    head.append(th);
  }
  drawn.clear();
  dirtyRows.clear();
  rowSize.disconnect(); // a row of the replaced table may still be observed
  measured = false;
  order = layers.map((_, i) => i);
  state.sort = { key: 'index', dir: 1 };
  markSort();
  if (scrollTop !== 0) {
    // setting it forces a layout: only when a scrolled table is replaced
    wrap().scrollTop = 0;
    scrollTop = 0;
  }
  applyFilter();
}

function makeRow(i) {
  const r = state.primary.rows[i];
  const tr = el('tr', { tabindex: '0', dataset: { testid: 'layer-row', name: r.name, index: String(i) } });
  for (const c of COLS) tr.append(el('td', { class: `${c.num ? 'num ' : ''}${c.cls ?? ''}` }));
  fillRow(tr, i);
  return tr;
}

function fillRow(tr, i) {
  const r = state.primary?.rows?.[i];
  if (!r) return;
  const tds = tr.children;
  COLS.forEach((c, k) => {
    const v = colValue(c, r, i);
    const text = c.fmt ? c.fmt(v) : v == null ? '–' : String(v);
    if (tds[k].textContent !== text) tds[k].textContent = text;
  });
  tr.className = relClass(r) + (i === state.selected ? ' selected' : '');
  const cmp = state.compare?.rows?.[i];
  if (cmp?.rel_error != null) tds[COLS.findIndex((c) => c.key === 'cmp_rel_error')].className = `num col-cmp ${relClass(cmp)}`;
  tr.title = r.name;
}

/** Redraws row i from state, if it is drawn. */
export function updateRow(i) {
  const tr = drawn.get(i);
  if (tr) fillRow(tr, i);
}

// Draws the rows in view: reuses the drawn ones, makes the new ones, drops
// the rest. A focused row that stays in view keeps its focus.
function render() {
  const height = viewHeight || window.innerHeight * 0.7;
  const first = Math.max(0, Math.floor(scrollTop / rowH) - OVERSCAN);
  const last = Math.min(view.length, Math.ceil((scrollTop + height) / rowH) + OVERSCAN);
  const key = `${viewVersion} ${first} ${last} ${rowH}`;
  if (key === shownKey && $('layers-body').firstChild === top) return;
  shownKey = key;
  const focused = document.activeElement;
  const keep = new Map();
  const trs = [];
  for (let p = first; p < last; p++) {
    const i = view[p];
    const tr = drawn.get(i) ?? makeRow(i);
    keep.set(i, tr);
    trs.push(tr);
  }
  drawn.clear();
  for (const [i, tr] of keep) drawn.set(i, tr);
  top.firstChild.style.height = `${first * rowH}px`;
  bottom.firstChild.style.height = `${(view.length - last) * rowH}px`;
  top.hidden = first === 0;
  bottom.hidden = last === view.length;
  $('layers-body').replaceChildren(top, ...trs, bottom);
  if (focused?.dataset?.testid === 'layer-row' && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
  if (!measured && trs.length) {
    measured = true;
    rowSize.observe(trs[0]);
  }
  $('layers').dataset.rows = String(order.length);
  $('layers').dataset.shown = String(view.length);
}

function flush() {
  if (!state.primary) {
    // a cancelled run without a report: nothing to draw
    dirtyRows.clear();
    return;
  }
  if (viewDirty) {
    viewDirty = false;
    computeView();
  }
  render();
  for (const i of dirtyRows) updateRow(i);
  dirtyRows.clear();
}

const redraw = redrawer(flush);

/** Row i changed: redrawn soon, with other rows (re-sorted if the sort is by a value). */
export function markRowDirty(i) {
  dirtyRows.add(i);
  if (state.sort.key !== 'index') viewDirty = true;
  redraw.later();
}

/** Redraws the drawn rows now, and re-sorts. */
export function refreshAllRows() {
  dirtyRows.clear();
  for (const i of drawn.keys()) updateRow(i);
  if (state.sort.key !== 'index') applySort();
}

function sortBy(key) {
  state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: key !== 'index' && COLS.find((c) => c.key === key)?.num ? -1 : 1 };
  applySort();
}

function sortOrder() {
  const c = COLS.find((x) => x.key === state.sort.key);
  const rows = state.primary?.rows ?? [];
  const vals = rows.map((r, i) => (c.sortBy ? c.sortBy(r) : colValue(c, r, i)));
  order = rows.map((_, i) => i).sort((a, b) => {
    const va = vals[a];
    const vb = vals[b];
    if (va == null && vb == null) return a - b;
    if (va == null) return 1; // missing values last in both directions
    if (vb == null) return -1;
    const d = typeof va === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return d * state.sort.dir || a - b;
  });
}

function computeView() {
  if (state.sort.key !== 'index') sortOrder();
  else if (order.length !== (state.primary?.rows?.length ?? 0) || state.sort.dir < 0) sortOrder();
  const q = $('filter').value.trim().toLowerCase();
  const rows = state.primary?.rows ?? [];
  viewVersion++;
  view = q ? order.filter((i) => (rows[i]?.name ?? '').toLowerCase().includes(q)) : order;
  $('shown').textContent = q ? `${view.length} of ${order.length} shown` : `${order.length} tensors`;
}

/** Orders the rows by state.sort. */
export function applySort() {
  sortOrder();
  markSort();
  applyFilter();
}

function markSort() {
  for (const th of $('layers-head').children) {
    const on = th.dataset.key === state.sort.key;
    th.setAttribute('aria-sort', on ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
  }
}

/** Shows only the rows whose name contains the filter text. */
export function applyFilter() {
  viewDirty = false;
  computeView();
  render();
}

/** Scrolls the table (and the page, if needed) to row i and draws it; returns its <tr>. */
export function revealRow(i) {
  const p = view.indexOf(i);
  if (p < 0) return null;
  const w = wrap();
  const head = $('layers-head').getBoundingClientRect().height;
  // y: the row's top below the header; from its position when it is drawn
  // (exact), else from its place in the view (to draw it first)
  const scrollTo = (y) => {
    if (y < w.scrollTop) w.scrollTop = y;
    else if (y + rowH + head > w.scrollTop + w.clientHeight) w.scrollTop = y + rowH + head - w.clientHeight;
    scrollTop = w.scrollTop;
    viewHeight = w.clientHeight;
    render();
  };
  if (!drawn.has(i)) scrollTo(p * rowH);
  const tr = drawn.get(i);
  if (tr) scrollTo(tr.offsetTop - head);
  drawn.get(i)?.scrollIntoView({ block: 'nearest' });
  return drawn.get(i);
}

/** Moves the keyboard focus from row i to the next (dir 1) or previous (dir -1) shown row. */
export function focusNext(i, dir) {
  const p = view.indexOf(i) + dir;
  if (p < 0 || p >= view.length) return;
  revealRow(view[p])?.focus({ preventScroll: true });
}

/** Starts drawing the rows scrolled into view. */
export function watchScroll() {
  const w = wrap();
  w.addEventListener('scroll', () => {
    scrollTop = w.scrollTop;
    redraw.soon();
  }, { passive: true });
  new ResizeObserver(([e]) => {
    viewHeight = e.contentRect.height;
    redraw.soon();
  }).observe(w);
}
