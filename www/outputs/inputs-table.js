// The output check's per-input table, sortable by any column: the input
// (drawn as text; a pair's two texts joined by ⇥), then its cosine, its
// labels and KLD, or its next-token figures and token strip.
import { clear, el } from '../shared/dom.js';
import { fmtSci } from '../shared/format.js';
import { tokenStrip } from './tokens.js';

const shown = (text) => text.split('\t').join(' ⇥ ');

/** The columns and rows of a report's per-input figures. */
function columns(r) {
  if (r.embedding) {
    return {
      rows: r.embedding.per_input,
      cols: [
        { key: 'text', label: 'Input', get: (p) => p.text, show: (p) => shown(p.text), cls: 'text' },
        { key: 'tokens', label: 'Tokens', get: (p) => p.tokens, cls: 'num' },
        { key: 'cosine', label: 'Cosine', get: (p) => p.cosine, show: (p) => p.cosine.toFixed(6), cls: 'num' },
      ],
    };
  }
  if (r.classification) {
    return {
      rows: r.classification.per_input,
      cols: [
        { key: 'text', label: 'Input', get: (p) => p.text, show: (p) => shown(p.text), cls: 'text' },
        { key: 'label', label: 'Label', get: (p) => p.label, cls: 'label' },
        { key: 'label_quantized', label: 'Quantized', get: (p) => p.label_quantized, flag: (p) => p.label !== p.label_quantized, cls: 'label' },
        { key: 'kld', label: 'KLD', get: (p) => p.kld, show: (p) => fmtSci(p.kld), cls: 'num' },
      ],
    };
  }
  const p99 = r.next_token?.kld_p99 ?? 0;
  return {
    rows: r.per_input ?? [],
    cols: [
      { key: 'text', label: 'Input', get: (p) => p.text, show: (p) => tokenStrip(p, p99), cls: 'text' },
      { key: 'tokens', label: 'Tokens', get: (p) => p.tokens, cls: 'num' },
      { key: 'kld_mean', label: 'Mean KLD', get: (p) => p.kld_mean, show: (p) => fmtSci(p.kld_mean), cls: 'num' },
      { key: 'same_top', label: 'Same top', get: (p) => p.same_top, show: (p) => `${(p.same_top * 100).toFixed(1)} %`, cls: 'num' },
    ],
  };
}

/** Fills `table` with the report's per-input rows; a header click sorts. */
export function drawInputsTable(table, r) {
  const { rows, cols } = columns(r);
  const order = { key: null, dir: 1 };
  const head = el('tr');
  const body = el('tbody');
  const fill = () => {
    const idx = rows.map((_, i) => i);
    const c = cols.find((x) => x.key === order.key);
    if (c) {
      idx.sort((a, b) => {
        const [x, y] = [c.get(rows[a]), c.get(rows[b])];
        return (typeof x === 'string' ? x.localeCompare(y) : x - y) * order.dir || a - b;
      });
    }
    clear(body);
    for (const i of idx) {
      const p = rows[i];
      body.append(el('tr', { 'data-testid': 'outputs-input', 'data-index': String(i) },
        ...cols.map((col) => el('td', { class: [col.cls, col.flag?.(p) ? 'changed' : null].filter(Boolean).join(' ') || null },
          col.show ? col.show(p) : String(col.get(p))))));
    }
    for (const th of head.children) {
      th.setAttribute('aria-sort', th.dataset.key === order.key ? (order.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  };
  for (const col of cols) {
    const th = el('th', { scope: 'col', class: col.cls ?? null, 'data-key': col.key, 'data-testid': `outputs-sort-${col.key}` },
      el('button', { type: 'button', class: 'sort' }, col.label));
    th.firstChild.addEventListener('click', () => {
      order.dir = order.key === col.key ? -order.dir : 1;
      order.key = col.key;
      fill();
    });
    head.append(th);
  }
  clear(table);
  table.append(el('thead', {}, head), body);
  fill();
}
