// The output check's per-layer plot: the accumulated relative error of the
// hidden states (both models run from the same input) and each layer's own
// ("alone": the quantized layer fed the original's input), on one SVG.
import { clear, svgEl } from '../shared/dom.js';
import { fmtPct } from '../shared/format.js';

const W = 640;
const H = 220;
const PAD = { l: 56, r: 12, t: 12, b: 30 };

function niceMax(x) {
  if (!(x > 0)) return 1e-6;
  const e = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((m) => m * e).find((v) => v >= x);
}

/** Draws `layers` ([{layer, rel_error, alone_rel_error}]) of `total` into host. */
export function drawLayerPlot(host, layers, total) {
  clear(host);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Relative error per layer, accumulated and alone' });
  const top = niceMax(Math.max(...layers.map((l) => Math.max(l.rel_error, l.alone_rel_error ?? 0)), 0));
  const n = Math.max(total - 1, 1);
  const x = (i) => PAD.l + (i / n) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  for (const f of [0, 0.5, 1]) {
    svg.append(svgEl('line', { x1: PAD.l, x2: W - PAD.r, y1: y(top * f), y2: y(top * f), class: 'grid' }));
    svg.append(svgEl('text', { x: PAD.l - 6, y: y(top * f) + 4, 'text-anchor': 'end', class: 'axis' }, fmtPct(top * f)));
  }
  const step = Math.max(1, Math.ceil(n / 12));
  for (let i = 0; i <= n; i += step) {
    svg.append(svgEl('text', { x: x(i), y: H - PAD.b + 16, 'text-anchor': 'middle', class: 'axis' }, i === 0 ? 'emb' : String(i)));
  }
  const line = (pts, cls) => {
    if (pts.length > 1) svg.append(svgEl('polyline', { points: pts.map(([i, v]) => `${x(i)},${y(v)}`).join(' '), class: cls }));
    for (const [i, v] of pts) svg.append(svgEl('circle', { cx: x(i), cy: y(v), r: 3, class: cls }));
  };
  line(layers.map((l) => [l.layer, l.rel_error]), 'acc');
  line(layers.filter((l) => l.alone_rel_error != null).map((l) => [l.layer, l.alone_rel_error]), 'alone');
  const legend = [['acc', 'accumulated'], ['alone', 'alone']];
  legend.forEach(([cls, label], k) => {
    const lx = W - PAD.r - 190 + k * 100;
    svg.append(svgEl('line', { x1: lx, x2: lx + 18, y1: PAD.t + 6, y2: PAD.t + 6, class: cls }));
    svg.append(svgEl('text', { x: lx + 22, y: PAD.t + 10, class: 'axis' }, label));
  });
  host.append(svg);
}
