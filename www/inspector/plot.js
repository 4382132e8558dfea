// The relative error plot: one bar per layer in model order (two with a
// compared scheme), the thresholds; a click selects the layer. Painted on a
// canvas from typed arrays of the errors, a few times a second while rows stream in, so a
// streaming run costs the page thread no DOM node per bar.
import { $, el, clear } from '../shared/dom.js';
import { fmtPct } from '../shared/format.js';
import { SCHEMES, errorBand } from '../shared/settings.js';
import { state } from './state.js';
import { actionText } from './row-text.js';
import { selectLayer } from './detail.js';
import { redrawer } from './redraw.js';

const W = 900;
const H = 240;
const M = { l: 52, r: 12, t: 10, b: 26 };
let rel = new Float32Array(0); // rel. error per layer, NaN while pending or not quantized
let cmp = null; // the compared scheme's, when there is one
let hover = -1;
const fresh = new Set(); // rows whose bars arrived since the last paint
let full = true; // the next paint draws everything
let paintedMax = 0; // the scale of the last full paint
// Its colours and font, read from the page's style when the plot is drawn
// anew or the colour scheme changes: reading them forces a style update,
// and a streaming run repaints in full whenever its scale grows.
let palette = null;
let font = '';
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  palette = null;
  schedule();
});
let canvas = null;
let cssWidth = W; // the canvas's width on the page, kept by a ResizeObserver (reading it would force a layout per paint)

function niceMax(x) {
  if (!(x > 0)) return 0.01;
  const e = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= x) return m * e;
  return 10 * e;
}

const value = (r) => (r?.rel_error == null ? NaN : r.rel_error);

/** Row i of the primary (or, with compared, the compared) run has its result: painted soon, with other rows. */
export function plotRow(i, compared = false) {
  const a = compared ? cmp : rel;
  const rows = compared ? state.compare?.rows : state.primary?.rows;
  if (a && i < a.length) a[i] = value(rows?.[i]);
  fresh.add(i);
  redraw.later();
}

const redraw = redrawer(() => paint());
/** Repaints everything with the next frame (the selection moved). */
export function schedule() {
  full = true;
  redraw.soon();
}

function fill() {
  const rows = state.primary?.rows ?? [];
  if (rel.length !== rows.length) rel = new Float32Array(rows.length);
  rows.forEach((r, i) => { rel[i] = value(r); });
  const crows = state.compare?.rows;
  cmp = crows ? Float32Array.from({ length: rows.length }, (_, i) => value(crows[i])) : null;
}

/** Draws the relative error plot and its legend now. */
export function drawRelPlot() {
  const host = $('plot-rel');
  const legend = $('legend');
  clear(legend);
  fill();
  if (!rel.length) {
    clear(host);
    canvas = null;
    return;
  }
  if (!canvas || !canvas.isConnected) {
    clear(host);
    canvas = el('canvas', { class: 'chart', role: 'img', 'aria-label': 'Relative error per layer in model order' });
    canvas.addEventListener('mousemove', (ev) => setHover(indexAt(ev)));
    canvas.addEventListener('mouseleave', () => setHover(-1));
    canvas.addEventListener('click', (ev) => {
      const i = indexAt(ev);
      if (i >= 0) selectLayer(i, true);
    });
    host.append(canvas);
    new ResizeObserver(([e]) => {
      if (e.contentRect.width > 0 && e.contentRect.width !== cssWidth) {
        cssWidth = e.contentRect.width;
        schedule();
      }
    }).observe(canvas);
  }
  full = true;
  palette = null;
  paint();
  const item = (cls, text) => {
    const s = el('span', { class: 'item' });
    s.append(el('span', { class: `swatch ${cls}` }), document.createTextNode(text));
    return s;
  };
  legend.append(item('primary', state.primary ? SCHEMES[state.primary.scheme].label : ''));
  if (state.compare) legend.append(item('cmp', SCHEMES[state.compare.scheme].label));
  legend.append(item('thr-warn-sw', fmtPct(state.thr.warn)), item('thr-bad-sw', fmtPct(state.thr.bad)));
}

function indexAt(ev) {
  const box = canvas.getBoundingClientRect();
  const x = ((ev.clientX - box.left) / box.width) * W;
  const i = Math.floor(((x - M.l) / (W - M.l - M.r)) * rel.length);
  return i >= 0 && i < rel.length ? i : -1;
}

// The bar under the pointer: highlighted, and named in the canvas's tooltip.
function setHover(i) {
  if (i === hover) return;
  hover = i;
  if (!canvas) return;
  const r = state.primary?.rows?.[i];
  const c = state.compare?.rows?.[i];
  canvas.title = r ? `${r.name}\n${actionText(r, `rel. error ${fmtPct(r.rel_error)}`)}${c?.rel_error != null ? ` · ${SCHEMES[state.compare.scheme].label}: ${fmtPct(c.rel_error)}` : ''}` : '';
  schedule();
}

// A full paint draws everything; while rows stream in, a paint with the
// same scale draws only the bars of the rows that arrived (clipped to their
// columns, the threshold lines over them), so it costs little per row.
function paint() {
  if (!canvas) return;
  const scale = (cssWidth / W) * (window.devicePixelRatio || 1);
  if (canvas.width !== Math.round(W * scale)) {
    canvas.width = Math.round(W * scale);
    canvas.height = Math.round(H * scale);
    full = true;
  }
  let maxV = 0;
  for (const v of rel) if (v > maxV) maxV = v;
  if (cmp) for (const v of cmp) if (v > maxV) maxV = v;
  const ymax = niceMax(maxV);
  if (ymax !== paintedMax || !palette) full = true;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const n = rel.length;
  const bw = pw / n;
  const barW = cmp ? bw / 2 : bw;
  const gap = bw > 3 ? 1 : 0;
  const y = (v) => M.t + ph - (Math.min(v, ymax) / ymax) * ph;
  const line = (v, stroke, dash) => {
    ctx.strokeStyle = stroke;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(M.l, Math.round(y(v)) + 0.5);
    ctx.lineTo(W - M.r, Math.round(y(v)) + 0.5);
    ctx.stroke();
  };
  const bar = (i) => {
    const v = rel[i];
    if (!Number.isNaN(v)) {
      ctx.fillStyle = palette[errorBand(v, state.thr)];
      ctx.fillRect(M.l + i * bw + gap / 2, y(v), Math.max(barW - gap, 0.6), Math.max(M.t + ph - y(v), 0.5));
    }
    const c = cmp?.[i];
    if (c != null && !Number.isNaN(c)) {
      ctx.fillStyle = palette.cmp;
      ctx.fillRect(M.l + i * bw + barW + gap / 2, y(c), Math.max(barW - gap, 0.6), Math.max(M.t + ph - y(c), 0.5));
    }
  };
  const thresholds = () => {
    if (state.thr.warn < ymax) line(state.thr.warn, palette.warn, [4, 4]);
    if (state.thr.bad < ymax) line(state.thr.bad, palette.bad, [4, 4]);
    ctx.setLineDash([]);
  };
  if (!full) {
    for (const i of fresh) {
      ctx.save();
      ctx.beginPath();
      ctx.rect(M.l + i * bw, M.t, bw, ph);
      ctx.clip();
      bar(i);
      thresholds();
      ctx.restore();
    }
    fresh.clear();
    return;
  }
  full = false;
  fresh.clear();
  paintedMax = ymax;
  if (!palette) {
    const css = getComputedStyle(canvas);
    palette = Object.fromEntries(['muted', 'grid', 'sel-bg', 'good', 'warn', 'bad', 'cmp'].map((k) => [k, css.getPropertyValue(`--${k}`).trim()]));
    font = `11px ${css.fontFamily}`;
  }
  ctx.clearRect(0, 0, W, H);
  ctx.font = font;
  ctx.fillStyle = palette.muted;
  ctx.textAlign = 'end';
  for (let k = 0; k <= 4; k++) {
    const v = (ymax * k) / 4;
    line(v, palette.grid, []);
    ctx.fillText(fmtPct(v).replace(' ', ''), M.l - 6, y(v) + 4);
  }
  for (const [i, fill] of [[state.selected, palette['sel-bg']], [hover, palette.grid]]) {
    if (i >= 0 && i < n) {
      ctx.fillStyle = fill;
      ctx.fillRect(M.l + i * bw, M.t, Math.max(bw, 1), ph);
    }
  }
  for (let i = 0; i < n; i++) bar(i);
  thresholds();
  ctx.strokeStyle = palette.muted;
  ctx.beginPath();
  ctx.moveTo(M.l, M.t + ph + 0.5);
  ctx.lineTo(W - M.r, M.t + ph + 0.5);
  ctx.stroke();
  ctx.fillStyle = palette.muted;
  ctx.textAlign = 'start';
  ctx.fillText('first tensor', M.l, H - 6);
  ctx.textAlign = 'end';
  ctx.fillText(`tensor ${n}`, W - M.r, H - 6);
}
