// The summary of a report: the cards, the findings, config.json's
// essentials and each file's __metadata__.
import { $, el, clear } from '../shared/dom.js';
import { nf, fmtBytes, fmtParams, fmtPct } from '../shared/format.js';
import { storedBitsLine } from './row-text.js';
import { relClass } from './columns.js';

/** Draws a report's summary cards, findings, config essentials and __metadata__. */
export function renderOverview(report) {
  const s = report.summary;
  for (const id of ['summary-section', 'plots-section', 'table-section', 'meta-section']) $(id).hidden = false;
  $('count-tensors').textContent = String(s.tensors);
  $('count-quantized').textContent = String(s.quantized_layers);
  $('count-kept').textContent = String(s.kept_layers);
  $('count-stored').textContent = String(s.stored_layers ?? 0);
  $('stored-bpw').textContent = storedBitsLine(report);
  $('kept-by-dtype').textContent = Object.entries(s.kept_by_dtype ?? {}).map(([k, v]) => `${v} ${k}`).join(' · ');
  $('params').textContent = fmtParams(s.params);
  const [b0, b1] = [fmtBytes(s.bytes_before), fmtBytes(s.bytes_after)];
  const [n0, u0] = b0.split(' ');
  $('size').textContent = u0 === b1.split(' ')[1] ? `${n0} → ${b1}` : `${b0} → ${b1}`;
  $('ratio').textContent = s.compression_ratio ? `${s.compression_ratio.toFixed(2)}× smaller` : '';
  $('max-rel').textContent = s.max_rel_error == null ? '–' : fmtPct(s.max_rel_error);
  $('worst-name').textContent = s.worst_layers?.[0]?.name ?? '';
  $('worst-name').title = s.worst_layers?.[0]?.name ?? '';
  $('max-rel').className = `value ${s.max_rel_error == null ? '' : relClass({ rel_error: s.max_rel_error })}`;
  // Findings, most severe first.
  const box = $('findings');
  clear(box);
  const rank = { error: 0, warning: 1, info: 2 };
  const fs = [...(s.findings ?? [])].sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3));
  box.hidden = fs.length === 0;
  if (fs.length) {
    box.append(el('h2', {}, `Findings (${fs.length})`));
    const ul = el('ul');
    for (const f of fs.slice(0, 200)) {
      const li = el('li', { class: `finding ${f.severity}` });
      li.append(el('span', { class: 'sev' }, f.severity), el('span', {}, f.message));
      if (f.file) li.append(el('span', { class: 'muted mono small' }, f.file));
      ul.append(li);
    }
    if (fs.length > 200) ul.append(el('li', { class: 'muted' }, `… and ${fs.length - 200} more (see the JSON export)`));
    box.append(ul);
  }
  // config essentials and __metadata__
  const cfg = $('config');
  clear(cfg);
  const c = report.config;
  if (c) {
    for (const [k, v] of Object.entries(c)) {
      if (v == null) continue;
      cfg.append(el('dt', {}, k.replaceAll('_', ' ')), el('dd', { class: 'mono' }, typeof v === 'object' ? JSON.stringify(v) : v));
    }
  }
  if (!cfg.firstChild) cfg.append(el('dd', { class: 'muted' }, 'no config.json given'));
  const meta = $('metadata');
  clear(meta);
  for (const f of report.files ?? []) {
    const wrap = el('div', { class: 'meta-file' });
    wrap.append(el('h4', { class: 'mono' }, `${f.name} · ${nf.format(f.tensors)} tensors · ${fmtBytes(f.bytes)}`));
    const dl = el('dl', { class: 'kv' });
    const entries = Object.entries(f.metadata ?? {});
    for (const [k, v] of entries) dl.append(el('dt', { class: 'mono' }, k), el('dd', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v)));
    if (!entries.length) dl.append(el('dd', { class: 'muted' }, 'no __metadata__'));
    wrap.append(dl);
    meta.append(wrap);
  }
}
