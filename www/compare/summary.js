// The compare page's summary: the findings and the cards.
import { $, el } from '../shared/dom.js';
import { fmtBytes, fmtInt, fmtPctFixed as fmtPct } from '../shared/format.js';

function findingItem(f) {
  return el('li', { class: `finding ${f.severity}`, 'data-testid': 'finding', 'data-code': f.code, 'data-tensor': f.tensor ?? null },
    el('span', { class: 'sev' }, f.severity),
    el('span', { class: 'code' }, f.code),
    el('span', { class: 'msg' }, f.message));
}

/** Draws a report's findings and cards; rowsDone counts the rows while they stream in. */
export function renderSummary(report, rowsDone) {
  $('summary-section').hidden = false;
  const s = report.summary;
  const list = $('findings-list');
  list.replaceChildren(...s.findings.map(findingItem));
  $('findings').hidden = s.findings.length === 0;
  const bySev = {};
  for (const f of s.findings) bySev[f.severity] = (bySev[f.severity] ?? 0) + 1;
  $('count-findings').textContent = fmtInt(s.findings.length);
  $('count-findings').className = `value ${bySev.error ? 'bad' : bySev.warning ? 'warn' : 'good'}`;
  $('findings-by-sev').textContent = Object.entries(bySev).map(([k, v]) => `${v} ${k}`).join(', ');
  $('count-rows').textContent = fmtInt(rowsDone ?? report.layers.length);
  $('format').textContent = report.scheme;
  $('size').textContent = `${fmtBytes(s.bytes_before)} → ${fmtBytes(s.bytes_after)}`;
  $('size-exact').textContent = `${fmtInt(s.bytes_before)} → ${fmtInt(s.bytes_after)} bytes`;
  $('ratio').textContent = `${s.compression_ratio.toFixed(3)}×`;
  $('ratio').className = `value ${s.compression_ratio > 1.05 ? 'good' : 'warn'}`;
  $('max-rel').textContent = fmtPct(s.max_rel_error);
  $('worst-name').textContent = s.worst_layers?.[0]?.name ?? '';
}
