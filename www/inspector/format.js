// Number and row formatting of the inspector page (pure functions).

export const nf = new Intl.NumberFormat('en-US');
export function fmtBytes(b) {
  if (b == null) return '–';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = b;
  while (x >= 1000 && i < u.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : x < 10 ? 2 : 1)} ${u[i]}`;
}
export function fmtParams(n) {
  if (n == null) return '–';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}
export function fmtPct(x) {
  if (x == null) return '–';
  const p = x * 100;
  return `${p >= 10 ? p.toFixed(1) : p >= 1 ? p.toFixed(2) : p.toPrecision(2)} %`;
}
export function fmtSci(x) {
  if (x == null) return '–';
  if (x === 0) return '0';
  return Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toPrecision(4) : x.toExponential(2);
}
export function fmtFixed(d) {
  return (x) => (x == null ? '–' : x.toFixed(d));
}

// A row stored quantized in the file (format recognised by the core): its
// format, mode, bits, group and effective bits per weight, e.g.
// "mlx affine 4-bit g64 · 5.00 bits/weight".
export function storedLabel(r) {
  const s = r?.stored;
  if (!s) return 'stored';
  const parts = [s.format, s.mode && s.mode !== s.format ? s.mode : null, s.bits != null ? `${s.bits}-bit` : null, s.group_size ? `g${s.group_size}` : null].filter(Boolean);
  const bpw = s.bits_per_weight != null ? ` · ${s.bits_per_weight.toFixed(2)} bits/weight` : '';
  return `${parts.join(' ')}${bpw}`;
}

// The stored-layers card's line: bits per weight of the stored layers
// themselves (their scales and biases included), then of the whole model
// (mlx-lm's figure), so the two are never mistaken for each other.
export function storedBitsLine(report) {
  const s = report.summary;
  const whole = s.bits_per_weight != null ? `whole model ${s.bits_per_weight.toFixed(2)}` : '';
  let params = 0, bits = 0;
  for (const r of report.layers ?? []) {
    if (r.stored?.bits_per_weight == null) continue;
    params += r.params;
    bits += r.stored.bits_per_weight * r.params;
  }
  if (!params) return whole ? `${whole} bits/weight` : '';
  return `${(bits / params).toFixed(2)} bits/weight in these layers${whole ? `; ${whole}` : ''}`;
}

// What happens to a row, in words: "kept (norm)", "stored as …", or the
// quantization figures.
export function actionText(r, detail) {
  if (r.action === 'keep') return `kept (${r.reason})`;
  if (r.action === 'stored') return `stored quantized: ${storedLabel(r)}`;
  return detail;
}
