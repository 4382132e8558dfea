// The second scheme of the inspector's "Compare with": its run over the
// same model, and the columns and plot that show it.
import { $ } from '../shared/dom.js';
import { nf } from '../shared/format.js';
import { SCHEMES } from '../shared/settings.js';
import { state } from './state.js';
import { Cancelled } from './pool.js';
import { analyse } from './scheduler.js';
import { finishedLine, progressUpdater, setRunState } from './progress.js';
import { markRowDirty, refreshAllRows } from './table.js';
import { drawRelPlot, plotRow } from './plot.js';
import { selectLayer } from './detail.js';
import { optionsFor, busy, failRun } from './run.js';

/** The "Compare with" menu changed: runs the compared scheme on the analysed model. */
export async function compareChanged() {
  if (!state.primary?.report || busy()) {
    if (!$('compare').value) {
      state.compare = null;
      refreshCompare();
    }
    return;
  }
  const runId = ++state.runId;
  setRunState('running', 'Comparing…');
  try {
    await runCompare();
    if (runId !== state.runId) return;
    const n = state.primary.rows.length;
    setRunState('done', state.compare ? `Done: ${nf.format(n)} tensors, compared with ${SCHEMES[state.compare.scheme].label}.` : `Done: ${nf.format(n)} tensors.`);
    if (state.selected >= 0) selectLayer(state.selected, false);
  } catch (e) {
    if (e.cancelled || runId !== state.runId) return;
    failRun(e);
  }
}

/** Analyses the model again with the "Compare with" scheme, into state.compare. */
export async function runCompare() {
  const value = $('compare').value;
  if (!value || !state.primary?.report) {
    state.compare = null;
    refreshCompare();
    return;
  }
  const runId = state.runId;
  const options = optionsFor(value);
  const tStart = performance.now();
  let prog = null;
  let modelBytes = 0;
  state.compare = { scheme: value, rows: [] };
  refreshCompare();
  const result = await analyse('b', options, (planned, workBytes) => {
    modelBytes = planned.layers.reduce((a, r) => a + (r.bytes_before ?? 0), 0);
    prog = progressUpdater(workBytes.reduce((a, b) => a + b, 0), modelBytes, planned.layers.length, tStart, `Comparing with ${SCHEMES[value].label}`);
    prog.draw();
  }, (i, row, bytes) => {
    state.compare.rows[i] = row;
    markRowDirty(i);
    prog.add(bytes);
    plotRow(i, true);
  });
  // The rows' redraws wait for the page's tick, which a short run ends before.
  prog?.draw();
  prog?.stop();
  if (runId !== state.runId) throw new Cancelled();
  if (!state.input?.remote) $('progress-text').textContent = finishedLine(`compared with ${SCHEMES[value].label}`, modelBytes, (performance.now() - tStart) / 1000);
  state.compare = { scheme: value, rows: result.rows, report: result.report };
  refreshCompare();
}

/** Redraws the compared column, its header and the plot. */
export function refreshCompare() {
  $('layers').classList.toggle('no-compare', !state.compare);
  const th = document.querySelector('th[data-key="cmp_rel_error"] button');
  if (th) th.textContent = state.compare ? `Rel. error (${SCHEMES[state.compare.scheme].label})` : 'Rel. error (B)';
  const tha = document.querySelector('th[data-key="rel_error"] button');
  if (tha && state.primary) tha.textContent = state.compare ? `Rel. error (${SCHEMES[state.primary.scheme].label})` : 'Rel. error';
  refreshAllRows();
  drawRelPlot();
}
