// What a row of the inspector's report says in words: the stored format of
// a stored-quantized layer, the stored-layers card's line, an action.
// Pure functions.

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
