// The comparison of the two chosen models, batch by batch in the worker,
// and its JSON export.
import { $, setStatus, showError, download } from '../shared/dom.js';
import { fmtBytes } from '../shared/format.js';
import { cmp, isRemote } from './state.js';
import { rpc } from './worker-rpc.js';
import { renderSummary } from './summary.js';
import { renderRow } from './rows.js';
import { withOutputs } from '../outputs/sources.js';

const BATCH_BYTES = 16 << 20;

/** Compares the two sides, batch by batch, drawing rows as they arrive. */
export async function compare() {
  if (cmp.running || !cmp.sides.original || !cmp.sides.converted) return;
  cmp.running = true;
  $('compare').disabled = true;
  $('export-json').disabled = true;
  showError('');
  cmp.lastReport = null;
  $('rows').replaceChildren();
  $('table-section').hidden = true;
  $('summary-section').hidden = true;
  setStatus('running', 'Opening both models…');
  const t0 = performance.now();
  try {
    const strip = (s) => ({ files: s.files, index: s.index, config: s.config });
    const opened = await rpc.call({ type: 'open', original: strip(cmp.sides.original), converted: strip(cmp.sides.converted) });
    const n = opened.count;
    const work = opened.overview.workBytes;
    const total = work.reduce((a, b) => a + b, 0) || 1;
    renderSummary(opened.overview.report, 0);
    $('table-section').hidden = false;
    const rows = [];
    let done = 0;
    let i = 0;
    while (i < n) {
      const batch = [];
      let bytes = 0;
      while (i < n && (batch.length === 0 || bytes + work[i] <= BATCH_BYTES)) {
        bytes += work[i];
        batch.push(i++);
      }
      const out = await rpc.call({ type: 'rows', indices: batch });
      for (const r of out.rows) {
        rows.push({ row: r.row, findings: r.findings });
        $('rows').append(renderRow(r.row, r.findings));
        done += work[r.index];
      }
      $('progress').value = done / total;
      $('progress-text').textContent = isRemote()
        ? `${rows.length} / ${n} tensors · ${fmtBytes(cmp.net.fetched)} fetched of ${fmtBytes(cmp.net.total)}`
        : `${rows.length} / ${n} tensors · ${fmtBytes(done)} of ${fmtBytes(total)} read`;
      setStatus('running', `Comparing… ${rows.length} / ${n} tensors`);
    }
    const { report } = await rpc.call({ type: 'report', rows });
    cmp.lastReport = report;
    renderSummary(report);
    $('shown').textContent = `${report.layers.length} tensors`;
    $('progress').value = 1;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    $('progress-text').textContent = isRemote()
      ? `${n} tensors · ${fmtBytes(cmp.net.fetched)} fetched of ${fmtBytes(cmp.net.total)} in ${secs} s`
      : `${n} tensors · ${fmtBytes(total)} read in ${secs} s`;
    window.__quantlens.lastRun = { ms: performance.now() - (cmp.linkT0 ?? t0), fetched: cmp.net.fetched, total: cmp.net.total };
    const errs = report.summary.findings.filter((f) => f.severity === 'error').length;
    setStatus('done', `Done: ${n} tensors compared, ${report.summary.findings.length} finding(s)${errs ? `, ${errs} error(s)` : ''}.`);
    $('export-json').disabled = false;
  } catch (e) {
    setStatus('error', 'Comparison failed.');
    showError(e.message);
  } finally {
    cmp.running = false;
    $('compare').disabled = !(cmp.sides.original && cmp.sides.converted);
  }
}

/** Downloads the last report as JSON. */
export function exportJson() {
  if (!cmp.lastReport) return;
  download(new Blob([withOutputs(JSON.stringify(cmp.lastReport, null, 2), 'json', cmp.outputs)], { type: 'application/json' }), 'quantlens-verify.json');
}
