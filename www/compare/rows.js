// A row of the compare page's table: one matched tensor and its findings.
import { el } from '../shared/dom.js';
import { fmtInt, fmtPctFixed as fmtPct, fmtPrecision } from '../shared/format.js';
import { errorBand } from '../shared/settings.js';

function rowClass(r) {
  if (r.rel_error == null) return 'kept';
  return errorBand(r.rel_error);
}

/** The table row of one matched tensor and its findings. */
export function renderRow(r, findings) {
  const codes = el('td', { class: 'codes' });
  for (const f of findings) codes.append(el('span', { class: f.severity, title: f.message }, f.code), ' ');
  return el('tr', { class: rowClass(r), 'data-testid': 'verify-row', 'data-name': r.name, 'data-action': r.action },
    el('td', { class: 'name mono', title: r.name }, r.name),
    el('td', {}, r.reason ? `${r.dtype} (${r.reason})` : `${r.dtype} ${r.scheme ?? ''}`.trim()),
    el('td', { class: 'mono' }, `[${r.shape.join(', ')}]`),
    el('td', { class: 'num' }, fmtInt(r.bytes_before)),
    el('td', { class: 'num' }, fmtInt(r.bytes_after)),
    el('td', { class: 'num strong' }, fmtPct(r.rel_error)),
    el('td', { class: 'num' }, fmtPrecision(r.max_abs_error)),
    el('td', { class: 'num' }, r.sqnr_db == null ? '–' : r.sqnr_db.toFixed(1)),
    el('td', { class: 'num' }, r.cosine == null ? '–' : r.cosine.toFixed(6)),
    codes);
}
