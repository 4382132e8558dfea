// Number formatting of both pages (pure functions, no DOM). Byte sizes are
// SI with "kB", as the CLI's text output writes them.

export const nf = new Intl.NumberFormat('en-US');

/** Bytes in SI units: "512 B", "1.50 kB", "90.9 MB"; '–' for null. */
export function fmtBytes(b) {
  if (b == null) return '–';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = b;
  while (x >= 1000 && i < u.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : x < 10 ? 2 : 1)} ${u[i]}`;
}
/** An integer with thousands separators; '–' for null. */
export function fmtInt(n) {
  return n == null ? '–' : nf.format(Number(n));
}
/** A parameter count: "22.71 M", "1.10 B"; '–' for null. */
export function fmtParams(n) {
  if (n == null) return '–';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}
/** A fraction as a percentage with two significant figures or more: "0.42 %", "12.3 %". */
export function fmtPct(x) {
  if (x == null) return '–';
  const p = x * 100;
  return `${p >= 10 ? p.toFixed(1) : p >= 1 ? p.toFixed(2) : p.toPrecision(2)} %`;
}
/** A fraction as a percentage with fixed decimals (3, or 4 under 0.1 %), for the compare page's columns. */
export function fmtPctFixed(x) {
  return x == null ? '–' : `${(x * 100).toFixed(x < 0.001 ? 4 : 3)} %`;
}
/** Four significant figures, or exponent notation outside [0.01, 1000). */
export function fmtSci(x) {
  if (x == null) return '–';
  if (x === 0) return '0';
  return Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toPrecision(4) : x.toExponential(2);
}
/** A formatter with d decimals. */
export function fmtFixed(d) {
  return (x) => (x == null ? '–' : x.toFixed(d));
}
/** d significant figures. */
export function fmtPrecision(x, d = 4) {
  return x == null ? '–' : Number(x).toPrecision(d);
}
