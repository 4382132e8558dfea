// The report exports (JSON, CSV, Markdown), written by a worker.
import { $, download, showError } from '../shared/dom.js';
import { state } from './state.js';
import { pool } from './pool.js';
import { withOutputs } from '../outputs/sources.js';

/** Enables or disables the export buttons. */
export function setExportsEnabled(on) {
  for (const id of ['export-json', 'export-csv', 'export-md']) $(id).disabled = !on;
}

/** Downloads the report in format (json, csv, markdown), written by a worker. */
export async function doExport(format, ext, mime) {
  const report = state.primary?.report;
  if (!report) return;
  try {
    const { text } = await pool.call(0, { type: 'export', report, format });
    download(new Blob([withOutputs(text, format, state.outputs)], { type: mime }), `quantlens-report.${ext}`);
  } catch (e) {
    if (!e.cancelled) showError(`Export failed: ${e.message}`);
  }
}
