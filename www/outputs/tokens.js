// A decoder's next-token figures drawn per position: the KLD histogram over
// every position (log-spaced bins, and the positions at 0 apart), and per
// input a strip of its tokens coloured by their KLD. Tokens come from the
// model's tokenizer and the user's text: drawn as text, never HTML.
import { clear, el, svgEl } from '../shared/dom.js';
import { fmtSci } from '../shared/format.js';

const BINS = 24;

// A token's colour band: which quarter of the run's p99 its KLD reaches
// (the CSS draws bands 3 and 4, ¾ of p99 and above, alike).
const BANDS_PER_P99 = 4;

/** The colour band of one position's KLD against the run's p99. */
function band(kld, p99) {
  if (!(kld > 0) || !(p99 > 0)) return 0;
  return Math.min(BANDS_PER_P99, Math.floor((kld / p99) * BANDS_PER_P99));
}

/**
 * Draws the histogram of every position's KLD (`perInput[i].kld`) into
 * host: log-spaced bins, and a bar of its own for positions with a KLD of
 * 0 (a log scale has no place for them). Its title counts every position,
 * as the cards do; the bars' counts sum to it.
 */
export function drawKldHistogram(host, perInput) {
  clear(host);
  const every = perInput.flatMap((p) => p.kld);
  const all = every.filter((k) => k > 0);
  const zeros = every.length - all.length;
  const title = { 'data-testid': 'outputs-kld-hist-count', 'data-value': String(every.length) };
  if (!all.length) {
    host.append(el('p', { class: 'muted small', ...title }, `All ${every.length} positions have a KLD of 0.`));
    return;
  }
  const lo = Math.log10(Math.min(...all));
  const hi = Math.log10(Math.max(...all));
  const span = Math.max(hi - lo, 1e-9);
  const counts = new Array(BINS).fill(0);
  for (const k of all) counts[Math.min(BINS - 1, Math.floor(((Math.log10(k) - lo) / span) * BINS))] += 1;
  const bars = counts.map((c, i) => [c, `KLD ${fmtSci(10 ** (lo + (i / BINS) * span))} – ${fmtSci(10 ** (lo + ((i + 1) / BINS) * span))}`]);
  if (zeros) bars.unshift([zeros, 'KLD 0']);
  const [w, h, pad] = [640, 160, 28];
  const top = Math.max(...bars.map(([c]) => c));
  const svg = svgEl('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': `Histogram of the next-token KL divergence over ${every.length} positions` });
  const bw = (w - 2 * pad) / bars.length;
  bars.forEach(([c, what], i) => {
    const bh = (c / top) * (h - 2 * pad);
    const r = svgEl('rect', { x: pad + i * bw + 1, y: h - pad - bh, width: bw - 2, height: bh, class: 'bar', 'data-count': String(c) });
    r.append(svgEl('title', {}, `${c} positions, ${what}`));
    svg.append(r);
  });
  const x0 = pad + (zeros ? bw : 0);
  if (zeros) svg.append(svgEl('text', { x: pad + bw / 2, y: h - 8, 'text-anchor': 'middle', class: 'axis' }, '0'));
  svg.append(svgEl('text', { x: x0, y: h - 8, class: 'axis' }, fmtSci(10 ** lo)));
  svg.append(svgEl('text', { x: w - pad, y: h - 8, 'text-anchor': 'end', class: 'axis' }, `${fmtSci(10 ** hi)} nats (log scale)`));
  const zeroNote = zeros ? `, ${zeros} of them with KLD 0` : '';
  svg.append(svgEl('text', { x: pad, y: 14, class: 'axis', ...title }, `${every.length} positions${zeroNote}; tallest bar ${top}`));
  host.append(svg);
}

/**
 * The key to the token strips' colours: each band's share of the run's
 * p99 and the KLD range that makes, drawn with the strips' own classes.
 */
export function kldLegend(p99) {
  // the KLD where band k starts
  const at = (k) => fmtSci((k / BANDS_PER_P99) * p99);
  const rows = [
    ['b0', 'below ¼ of p99', `KLD < ${at(1)}`],
    ['b1', '¼ to ½ of p99', `${at(1)} – ${at(2)}`],
    ['b2', '½ to ¾ of p99', `${at(2)} – ${at(3)}`],
    ['b3', '¾ of p99 and above', `KLD ≥ ${at(3)}`],
  ];
  return el('figure', { 'data-testid': 'outputs-kld-legend' },
    el('figcaption', {}, 'Token colours in the inputs below: each token\'s next-token KLD'),
    el('table', { class: 'kld-legend' }, el('tbody', {}, ...rows.map(([b, share, range]) =>
      el('tr', {}, el('td', {}, el('span', { class: 'token-strip' }, el('span', { class: `tok ${b}` }, 'token'))), el('td', {}, share), el('td', {}, range))))));
}

/** A strip of one input's tokens, each coloured by its position's KLD. */
export function tokenStrip(input, p99) {
  const strip = el('div', { class: 'token-strip', 'data-testid': 'outputs-tokens' });
  const tokens = input.token_strings ?? [];
  input.kld.forEach((k, i) => {
    const t = el('span', { class: `tok b${band(k, p99)}`, title: `position ${i}: KLD ${fmtSci(k)}` }, tokens[i] ?? '');
    strip.append(t);
  });
  return strip;
}
