// The Files panel: the model's files, its index and config, the ignored files.
import { $, el, clear } from '../shared/dom.js';
import { fmtBytes } from '../shared/format.js';

/** Draws the Files panel of an input (its source line for a link). */
export function renderFiles(input) {
  $('files-section').hidden = false;
  const ul = $('files');
  clear(ul);
  const src = $('source-line');
  src.hidden = !input.remote;
  clear(src);
  if (input.remote) {
    const r = input.remote;
    src.append(el('span', { class: 'muted' }, 'Opened by link from '), el('span', { class: 'mono', 'data-testid': 'source' }, r.label));
    src.append(el('span', { class: 'muted' }, ` · headers: ${fmtBytes(r.fetched)} fetched${r.notes.length ? ` · ${r.notes.join(' · ')}` : ''}`));
  }
  for (const f of input.files) {
    const li = el('li');
    li.append(el('span', { class: 'mono' }, f.name), el('span', { class: 'muted' }, fmtBytes(f.size ?? f.blob.size)));
    if (f.url) li.title = f.url;
    if (f.blob && f.url) li.append(el('span', { class: 'warn-text' }, 'downloaded whole (the server ignores Range)'));
    ul.append(li);
  }
  for (const [label, name] of [['index', input.indexName], ['config', input.configName]]) {
    if (!name) continue;
    const li = el('li');
    li.append(el('span', { class: 'mono' }, name), el('span', { class: 'muted' }, label));
    ul.append(li);
  }
  const ign = $('ignored');
  clear(ign);
  for (const x of input.ignored) {
    const li = el('li');
    li.append(el('span', { class: 'mono' }, x.path), el('span', {}, x.why));
    ign.append(li);
  }
  $('ignored-box').hidden = input.ignored.length === 0;
  $('ignored-summary').textContent = `${input.ignored.length} ignored file${input.ignored.length === 1 ? '' : 's'}`;
}
