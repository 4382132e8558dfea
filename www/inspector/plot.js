// The relative error plot: one bar per layer in model order (two with a
// compared scheme), the thresholds, a click selects the layer.
import { $, el, svgEl, clear } from '../shared/dom.js';
import { fmtPct } from '../shared/format.js';
import { SCHEMES } from '../shared/settings.js';
import { state } from './state.js';
import { relClass } from './columns.js';
import { actionText } from './row-text.js';
import { selectLayer } from './detail.js';

let relPlotScheduled = false;

/** Redraws the plot soon, once for many rows. */
export function scheduleRelPlot() {
  if (relPlotScheduled) return;
  relPlotScheduled = true;
  setTimeout(() => {
    relPlotScheduled = false;
    drawRelPlot();
  }, 300);
}

function niceMax(x) {
  if (!(x > 0)) return 0.01;
  const e = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= x) return m * e;
  return 10 * e;
}

/** Draws the relative error plot and its legend. */
export function drawRelPlot() {
  const host = $('plot-rel');
  clear(host);
  const rows = state.primary?.rows ?? [];
  const cmpRows = state.compare?.rows ?? [];
  const legend = $('legend');
  clear(legend);
  if (!rows.length) return;
  const W = 900;
  const H = 240;
  const m = { l: 52, r: 12, t: 10, b: 26 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  let maxV = 0;
  for (const r of rows) if (r?.rel_error > maxV) maxV = r.rel_error;
  for (const r of cmpRows) if (r?.rel_error > maxV) maxV = r.rel_error;
  const ymax = niceMax(maxV);
  const n = rows.length;
  const bw = pw / n;
  const y = (v) => m.t + ph - (Math.min(v, ymax) / ymax) * ph;
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': 'Relative error per layer in model order' });
  // grid + y ticks
  for (let k = 0; k <= 4; k++) {
    const v = (ymax * k) / 4;
    svg.append(svgEl('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(svgEl('text', { x: m.l - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, fmtPct(v).replace(' ', '')));
  }
  for (const [thr, cls] of [[state.thr.warn, 'thr-warn'], [state.thr.bad, 'thr-bad']]) {
    if (thr < ymax) svg.append(svgEl('line', { x1: m.l, x2: W - m.r, y1: y(thr), y2: y(thr), class: cls }));
  }
  const cmp = state.compare ? cmpRows : null;
  const barW = cmp ? bw / 2 : bw;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const x = m.l + i * bw;
    const g = svgEl('g', { class: `bar${i === state.selected ? ' selected' : ''}`, 'data-index': i });
    // a full-height hit target so thin bars are easy to click
    g.append(svgEl('rect', { x, y: m.t, width: Math.max(bw, 1), height: ph, class: 'hit' }));
    if (r?.rel_error != null) {
      g.append(svgEl('rect', { x: x + (bw > 3 ? 0.5 : 0), y: y(r.rel_error), width: Math.max(barW - (bw > 3 ? 1 : 0), 0.6), height: Math.max(m.t + ph - y(r.rel_error), 0.5), class: `v ${relClass(r)}` }));
    }
    const c = cmp?.[i];
    if (c?.rel_error != null) {
      g.append(svgEl('rect', { x: x + barW, y: y(c.rel_error), width: Math.max(barW - (bw > 3 ? 1 : 0), 0.6), height: Math.max(m.t + ph - y(c.rel_error), 0.5), class: 'v cmp' }));
    }
    const tip = `${r?.name ?? ''}\n${r ? actionText(r, `rel. error ${fmtPct(r.rel_error)}`) : ''}${c?.rel_error != null ? ` · ${SCHEMES[state.compare.scheme].label}: ${fmtPct(c.rel_error)}` : ''}`;
    g.append(svgEl('title', {}, tip));
    g.addEventListener('click', () => selectLayer(i, true));
    svg.append(g);
  }
  svg.append(svgEl('line', { x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph, class: 'axis' }));
  svg.append(svgEl('text', { x: m.l, y: H - 6, class: 'tick' }, 'first tensor'));
  svg.append(svgEl('text', { x: W - m.r, y: H - 6, class: 'tick', 'text-anchor': 'end' }, `tensor ${n}`));
  host.append(svg);
  const item = (cls, text) => {
    const s = el('span', { class: 'item' });
    s.append(el('span', { class: `swatch ${cls}` }), document.createTextNode(text));
    return s;
  };
  legend.append(item('primary', state.primary ? SCHEMES[state.primary.scheme].label : ''));
  if (state.compare) legend.append(item('cmp', SCHEMES[state.compare.scheme].label));
  legend.append(item('thr-warn-sw', fmtPct(state.thr.warn)), item('thr-bad-sw', fmtPct(state.thr.bad)));
}
