// The rel. error thresholds of the row colours, read from their inputs.
import { $ } from '../shared/dom.js';
import { DEFAULT_THRESHOLDS_PCT } from '../shared/settings.js';
import { state } from './state.js';
import { relClass } from './columns.js';
import { refreshAllRows } from './table.js';
import { drawRelPlot } from './plot.js';

/** Reads the threshold inputs into state.thr (fractions) and state.thrPct (percent). */
export function thresholdsFromInputs() {
  const w = Number($('thr-warn').value);
  const b = Number($('thr-bad').value);
  const warn = Number.isFinite(w) && w >= 0 ? w : DEFAULT_THRESHOLDS_PCT.warn;
  const bad = Number.isFinite(b) && b >= warn ? b : Math.max(warn, DEFAULT_THRESHOLDS_PCT.bad);
  state.thrPct = { warn, bad };
  state.thr = { warn: warn / 100, bad: bad / 100 };
  $('thr-bad-echo').textContent = String(bad);
}

/** A threshold input changed: reads it and recolours rows, plot and card. */
export function applyThresholds() {
  thresholdsFromInputs();
  refreshAllRows();
  drawRelPlot();
  if (state.primary?.report) {
    const m = state.primary.report.summary.max_rel_error;
    $('max-rel').className = `value ${m == null ? '' : relClass({ rel_error: m })}`;
  }
}
