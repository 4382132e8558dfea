// The selected layer: its facts and its weight and error histograms
// (computed by a worker).
import { $, el, svgEl, clear } from '../shared/dom.js';
import { nf, fmtPct, fmtSci, fmtFixed } from '../shared/format.js';
import { SCHEMES } from '../shared/settings.js';
import { state } from './state.js';
import { pool } from './pool.js';
import { actionText } from './row-text.js';
import { updateRow, rowElement } from './table.js';

let histSeq = 0;

/** Selects layer i: highlights its row and bar, shows its facts and histograms; scroll brings its row into view. */
export async function selectLayer(i, scroll) {
  const rows = state.primary?.rows;
  if (!rows?.[i]) return;
  const prev = state.selected;
  state.selected = i;
  if (prev >= 0) updateRow(prev);
  updateRow(i);
  for (const g of $('plot-rel').querySelectorAll('g.bar.selected')) g.classList.remove('selected');
  $('plot-rel').querySelector(`g.bar[data-index="${i}"]`)?.classList.add('selected');
  if (scroll) rowElement(i)?.scrollIntoView({ block: 'nearest' });
  const r = rows[i];
  $('detail-name').textContent = r.name;
  const cmp = state.compare?.rows?.[i];
  $('detail-facts').textContent = [
    `${r.dtype} ${r.shape?.join(' × ') || 'scalar'}`,
    actionText(r, `quantized · rel. error ${fmtPct(r.rel_error)} · SQNR ${fmtFixed(1)(r.sqnr_db)} dB · cosine ${fmtFixed(6)(r.cosine)}`),
    cmp?.rel_error != null ? `${SCHEMES[state.compare.scheme].label}: ${fmtPct(cmp.rel_error)}` : null,
  ].filter(Boolean).join(' · ');
  const my = ++histSeq;
  const hw = $('hist-w');
  const he = $('hist-e');
  clear(hw);
  clear(he);
  hw.append(el('p', { class: 'muted small' }, 'computing…'));
  try {
    const { hist } = await pool.call(0, { type: 'histograms', key: 'a', index: i, bins: 64 });
    if (my !== histSeq) return;
    clear(hw);
    clear(he);
    if (!hist) {
      hw.append(el('p', { class: 'muted small' }, 'No histogram for this tensor (not a float tensor, or no finite values).'));
      return;
    }
    drawHist(hw, hist.weight_counts, hist.weight_min, hist.weight_max, 'w');
    if (hist.error_max > 0 && r.action === 'quantize') drawHist(he, hist.error_counts, -hist.error_max, hist.error_max, 'e');
    else he.append(el('p', { class: 'muted small' }, r.action === 'quantize' ? 'No quantization error.' : r.action === 'stored' ? 'Stored quantized: not quantized again.' : `Kept in ${r.dtype}: no quantization error.`));
  } catch (e) {
    if (e.cancelled || my !== histSeq) return;
    clear(hw);
    hw.append(el('p', { class: 'muted small' }, `Histogram failed: ${e.message}`));
  }
}

function drawHist(host, counts, lo, hi, cls) {
  const W = 300;
  const H = 130;
  const m = { l: 8, r: 8, t: 8, b: 22 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const max = Math.max(...counts, 1);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart hist', role: 'img', 'aria-label': `histogram from ${lo} to ${hi}` });
  const bw = pw / counts.length;
  counts.forEach((c, k) => {
    // square-root scale keeps the tails visible next to the peak
    const h = c > 0 ? Math.max(Math.sqrt(c / max) * ph, 1) : 0;
    const rect = svgEl('rect', { x: m.l + k * bw + 0.5, y: m.t + ph - h, width: Math.max(bw - 1, 0.5), height: h, class: `hbar ${cls}` });
    const a = lo + ((hi - lo) * k) / counts.length;
    const b = lo + ((hi - lo) * (k + 1)) / counts.length;
    rect.append(svgEl('title', {}, `[${fmtSci(a)}, ${fmtSci(b)}): ${nf.format(c)}`));
    svg.append(rect);
  });
  svg.append(svgEl('line', { x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph, class: 'axis' }));
  svg.append(svgEl('text', { x: m.l, y: H - 6, class: 'tick' }, fmtSci(lo)));
  svg.append(svgEl('text', { x: W - m.r, y: H - 6, class: 'tick', 'text-anchor': 'end' }, fmtSci(hi)));
  if (lo < 0 && hi > 0) {
    const x0 = m.l + ((0 - lo) / (hi - lo)) * pw;
    svg.append(svgEl('line', { x1: x0, x2: x0, y1: m.t, y2: m.t + ph, class: 'zero' }));
    if (x0 - m.l > 60 && W - m.r - x0 > 60) svg.append(svgEl('text', { x: x0, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, '0'));
  }
  host.append(svg);
  host.append(el('p', { class: 'muted small' }, `${nf.format(counts.reduce((a, b) => a + b, 0))} values · counts on a square-root scale`));
}
