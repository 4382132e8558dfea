// Local input: the files of a drop (folders walked) or a picker, classified
// into a model and run.
import { classify } from '../shared/classify.js';
import { failRun, startInput } from './run.js';
import { clearError } from './progress.js';
import { forgetLink } from './link-view.js';

async function walkEntry(entry, prefix, out) {
  if (entry.isFile) {
    const file = await new Promise((res, rej) => entry.file(res, rej));
    out.push({ file, path: prefix + entry.name });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
      if (batch.length === 0) break;
      for (const child of batch) await walkEntry(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/** The files of a drop as [{file, path}], folders walked. */
export async function entriesFromDrop(dt) {
  const out = [];
  const items = [...(dt.items ?? [])];
  const roots = items.map((it) => (it.kind === 'file' && it.webkitGetAsEntry ? it.webkitGetAsEntry() : null));
  if (roots.some(Boolean)) {
    for (const r of roots) if (r) await walkEntry(r, '', out);
  } else {
    for (const f of dt.files ?? []) out.push({ file: f, path: f.name });
  }
  return out;
}

/** Classifies local files into a model and analyses it. */
export async function acceptEntries(entries, label) {
  const t0 = performance.now();
  clearError();
  forgetLink();
  try {
    const input = await classify(entries);
    input.label = label;
    input.t0 = t0;
    await startInput(input);
  } catch (e) {
    if (e.cancelled) return;
    failRun(e);
  }
}
