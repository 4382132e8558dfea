// The inspector's runs: the analysis of the input with the chosen scheme
// (and the compared one), from the first header to the last row, and their
// cancellation.
import { $, showError } from '../shared/dom.js';
import { nf, fmtBytes } from '../shared/format.js';
import { SCHEMES, DEFAULT_SCHEME } from '../shared/settings.js';
import { state } from './state.js';
import { pool, resetPool } from './pool.js';
import { analyse } from './scheduler.js';
import { progressUpdater, finishedLine, setPhase, setRunState, clearError } from './progress.js';
import { renderFiles } from './files.js';
import { renderOverview } from './summary.js';
import { buildTable, markRowDirty, refreshAllRows } from './table.js';
import { drawRelPlot, plotRow } from './plot.js';
import { selectLayer } from './detail.js';
import { setExportsEnabled } from './exports.js';
import { resetShare } from './share.js';
import { runShaCheck } from './sha-check.js';
import { explainRemote, hideLinkButtons } from './link-view.js';
import { runCompare } from './compare-run.js';

/** The analysis options of a scheme menu value, with the policy and the link's expected digests. */
export function optionsFor(value) {
  const s = SCHEMES[value] ?? SCHEMES[DEFAULT_SCHEME];
  const sha256 = (state.input?.remote && state.link?.sha256?.map((x) => [x.file, x.hex])) || [];
  return { scheme: s.scheme, bits: s.bits ?? 8, groupSize: s.groupSize ?? 64, policy: $('policy').value || 'default', include: [], exclude: [], sha256 };
}

/** Shows why a run failed (a cancelled run says nothing). */
export function failRun(e) {
  if (e.cancelled) return;
  setRunState('error', 'Could not analyse this input.');
  setPhase('');
  showError(e.message || String(e));
  $('progress').value = 0;
  setExportsEnabled(false);
}

/** Replaces the input and analyses it. */
export async function startInput(input) {
  state.input = input;
  state.primary = null;
  state.compare = null;
  state.selected = -1;
  resetShare();
  renderFiles(input);
  await runPrimary();
}

/** Analyses the input with the chosen scheme (then the compared one), drawing as rows arrive. */
export async function runPrimary() {
  const runId = ++state.runId;
  const input = state.input;
  const schemeValue = $('scheme').value;
  const options = optionsFor(schemeValue);
  const t0 = input.t0 ?? performance.now();
  input.t0 = null;
  let tStart = performance.now();
  setRunState('running', 'Opening the model…');
  setPhase(input.remote ? 'opening' : '');
  hideLinkButtons();
  setExportsEnabled(false);
  clearError();
  let prog = null;
  let modelBytes = 0;
  // A link source's structure view: drawn from the headers alone. With
  // view=header the run waits here until "Analyse the tensors" is pressed.
  const gate = input.remote ? async () => {
    state.net.headerView = { fetched: state.net.fetched, ms: performance.now() - (input.linkT0 ?? t0) };
    window.__quantlens.headerView = { ...state.net.headerView, files: input.files.length };
    setPhase('header');
    if (input.headerOnly) {
      await new Promise((resolve) => {
        const b = $('fetch-tensors');
        setRunState('idle', `Structure of ${nf.format(state.primary.rows.length)} tensors read from the headers (${fmtBytes(state.net.fetched)} fetched of ${fmtBytes(state.net.total)}).`);
        $('progress-text').textContent = `${fmtBytes(state.net.fetched)} fetched of ${fmtBytes(state.net.total)} · no tensor data read yet`;
        b.textContent = `Analyse the tensors (fetches up to ${fmtBytes(state.net.total - state.net.fetched)})`;
        b.hidden = false;
        b.onclick = () => {
          b.hidden = true;
          b.onclick = null;
          input.headerOnly = false;
          setRunState('running', 'Analysing…');
          resolve();
        };
      });
      tStart = performance.now();
      prog?.restart();
    }
    if (runId === state.runId) setPhase('tensors');
  } : null;
  try {
    const result = await analyse('a', options, (planned, workBytes) => {
      state.primary = { planned, rows: planned.layers.slice(), workBytes, options, scheme: schemeValue };
      const total = workBytes.reduce((a, b) => a + b, 0);
      modelBytes = planned.layers.reduce((a, r) => a + (r.bytes_before ?? 0), 0);
      prog = progressUpdater(total, modelBytes, planned.layers.length, tStart, `Analysing (${SCHEMES[schemeValue].label})`);
      prog.draw();
      renderOverview(planned);
      buildTable(planned.layers);
      drawRelPlot();
      $('copy-link').disabled = false;
    }, (i, row, bytes) => {
      state.primary.rows[i] = row;
      markRowDirty(i);
      prog.add(bytes);
      plotRow(i);
    }, gate);
    prog?.stop();
    if (runId !== state.runId) return;
    Object.assign(state.primary, result);
    const ms = performance.now() - t0;
    const secs = (performance.now() - tStart) / 1000;
    const total = prog.bytes;
    window.__quantlens.lastRun = {
      ms,
      analyseMs: secs * 1000,
      bytes: total,
      modelBytes,
      modelBytesPerSec: modelBytes / Math.max(secs, 1e-6),
      tensors: result.rows.length,
      bytesPerSec: total / Math.max(secs, 1e-6),
      workers: pool.size,
      maxWasmBytes: state.stats.maxWasmBytes,
      recycledWorkers: state.stats.recycled ?? 0,
      stalledReads: state.stats.stalledReads ?? 0,
      syncBytes: state.stats.syncBytes ?? 0,
      workerBusyMs: state.stats.busyMs ?? 0,
      source: input.remote ? 'link' : input.label,
      fetched: input.remote ? state.net.fetched : 0,
      fileBytes: input.remote ? state.net.total : input.files.reduce((a, f) => a + (f.size ?? f.blob.size), 0),
      headerView: input.remote ? state.net.headerView : null,
    };
    state.stats.busyMs = 0;
    state.stats.recycled = 0;
    state.stats.stalledReads = 0;
    state.stats.syncBytes = 0;
    renderOverview(result.report);
    refreshAllRows();
    drawRelPlot();
    $('progress').value = $('progress').max;
    $('progress-text').textContent = input.remote
      ? `${fmtBytes(modelBytes)} analysed in ${secs.toFixed(2)} s · ${fmtBytes(state.net.fetched)} fetched of ${fmtBytes(state.net.total)}${state.net.fetched > state.net.total && $('scheme').value === 'int8-tensor' ? ' (int8 per tensor reads a second time what a worker could not keep of a tensor over its read budget)' : ''} · ${pool.size} worker${pool.size === 1 ? '' : 's'}`
      : finishedLine('analysed', modelBytes, secs);
    setExportsEnabled(true);
    const $status = $('status');
    $status.dataset.ms = String(Math.round(ms));
    if ($('compare').value) await runCompare();
    if (runId !== state.runId) return;
    setPhase(input.remote ? 'done' : '');
    setRunState('done', `Done: ${nf.format(result.rows.length)} tensors in ${(ms / 1000).toFixed(2)} s${state.compare ? ` (compared with ${SCHEMES[state.compare.scheme].label})` : ''}.`);
    if (result.structural) {
      // As the CLI (exit 2): part of the model could not be read; what
      // could be read is reported, and exported with that finding.
      const e = input.remote ? explainRemote(new Error(result.structural.message), input) : null;
      showError(e?.message ?? result.structural.message);
      setRunState('error', 'Part of the model could not be read; the rest was analysed.');
    }
    const want = state.pendingLayer;
    state.pendingLayer = null;
    const wanted = want != null ? result.rows.findIndex((r) => r.name === want) : -1;
    if (wanted >= 0) selectLayer(wanted, true);
    else if (state.selected < 0) {
      const worst = result.report.summary.worst_layers?.[0]?.name;
      const wi = worst ? result.rows.findIndex((r) => r.name === worst) : -1;
      if (wi >= 0) selectLayer(wi, false);
    } else selectLayer(state.selected, false);
    if (input.remote && state.link?.sha256?.length && state.sha?.input !== input) runShaCheck(input);
  } catch (e) {
    prog?.stop();
    if (e.cancelled || runId !== state.runId) return;
    failRun(input.remote ? explainRemote(e, input) : e);
  }
}

/** Cancels a running analysis: its workers are replaced, the last finished report stays. */
export function cancelRun() {
  if ($('status').dataset.state !== 'running') return;
  state.runId++;
  resetPool();
  hideLinkButtons();
  setPhase('');
  state.primary = state.primary?.report ? state.primary : null;
  state.compare = null;
  setExportsEnabled(Boolean(state.primary?.report));
  $('progress').value = 0;
  $('progress-text').textContent = 'Cancelled. Choose a model to analyse again.';
  setRunState('idle', 'Cancelled. Ready for another model.');
}

/** Whether a run is in progress. */
export function busy() {
  return $('status').dataset.state === 'running';
}

/** Cancels a running analysis before a new input replaces it. */
export function beforeNewInput() {
  if (busy()) cancelRun();
}
