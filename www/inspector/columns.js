// The columns of the layers table: label, value and format of each, and the
// colour class of a row.
import { errorBand } from '../shared/settings.js';
import { fmtParams, fmtPct, fmtSci, fmtFixed } from '../shared/format.js';
import { storedLabel } from './row-text.js';
import { state } from './state.js';

/** The colour class of a row: its error band under the current thresholds, or kept, stored, pending. */
export function relClass(r) {
  if (r.rel_error == null) return r.action === 'keep' ? 'kept' : r.action === 'stored' ? 'stored' : 'pending';
  return errorBand(r.rel_error, state.thr);
}

/** The table's columns: key, label, value (get), format (fmt), sort key (sortBy). */
export const COLS = [
  { key: 'index', label: '#', num: true, get: (r, i) => i, fmt: (x) => String(x) },
  { key: 'name', label: 'Tensor', cls: 'mono name' },
  { key: 'dtype', label: 'dtype' },
  { key: 'shape', label: 'Shape', get: (r) => r.shape, fmt: (s) => (s && s.length ? s.join(' × ') : 'scalar'), sortBy: (r) => r.params },
  { key: 'params', label: 'Params', num: true, fmt: fmtParams },
  { key: 'action', label: 'Action' },
  { key: 'reason', label: 'Reason', get: (r) => (r.action === 'stored' ? storedLabel(r) : r.reason), fmt: (x) => x ?? '' },
  { key: 'rel_error', label: 'Rel. error', num: true, fmt: fmtPct, cls: 'strong' },
  { key: 'cmp_rel_error', label: 'Rel. error (B)', num: true, fmt: fmtPct, cls: 'col-cmp', get: (r, i) => state.compare?.rows?.[i]?.rel_error ?? null },
  { key: 'mse', label: 'MSE', num: true, fmt: fmtSci },
  { key: 'max_abs_error', label: 'Max |err|', num: true, fmt: fmtSci },
  { key: 'sqnr_db', label: 'SQNR dB', num: true, fmt: fmtFixed(1) },
  { key: 'cosine', label: 'Cosine', num: true, fmt: fmtFixed(6) },
  { key: 'clip_frac', label: 'Clip', num: true, fmt: fmtPct },
  { key: 'outlier_ratio', label: 'Outlier ratio', num: true, fmt: fmtFixed(1) },
  { key: 'err_p99', label: 'err p99', num: true, fmt: fmtSci },
  { key: 'zero_frac', label: 'Zeros', num: true, fmt: fmtPct },
  { key: 'min', label: 'Min', num: true, fmt: fmtSci },
  { key: 'max', label: 'Max', num: true, fmt: fmtSci },
  { key: 'std', label: 'Std', num: true, fmt: fmtSci },
  { key: 'nan_count', label: 'NaN/Inf', num: true, get: (r) => (r.nan_count == null ? null : r.nan_count + (r.inf_count ?? 0)), fmt: (x) => (x == null ? '–' : String(x)) },
];

/** The value of column c for row r at index i. */
export const colValue = (c, r, i) => (c.get ? c.get(r, i) : r[c.key]);
