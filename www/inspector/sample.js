// "Try a sample model": all-MiniLM-L6-v2 as served with the page
// (sample/, scripts/serve.mjs or a dist built with --sample), or, where this
// server has no copy (a clone without ../shared, a site built without one),
// the same model by link from the Hugging Face Hub, through the link flow
// and its confirmation rules, with a note saying why.
import { $, el } from '../shared/dom.js';
import { buildFragment, parseFragment } from '../link/fragment.js';
import { state } from './state.js';
import { setRunState, clearError } from './progress.js';
import { failRun, beforeNewInput } from './run.js';
import { acceptEntries } from './input.js';
import { openLink } from './link-view.js';

/** The Hub id of the sample model. */
export const SAMPLE_HUB_ID = 'sentence-transformers/all-MiniLM-L6-v2';

function note() {
  let p = $('sample-note');
  if (!p) {
    p = el('p', { id: 'sample-note', class: 'muted small sample-note', 'data-testid': 'sample-note', role: 'status' });
    $('sample').closest('.pickers').after(p);
  }
  return p;
}

function openFromHub() {
  note().textContent = `This server has no copy of the sample model, so the button opens the same model from the Hugging Face Hub: ${SAMPLE_HUB_ID} (91 MB, read by range requests).`;
  $('sample').textContent = 'Try a sample model (from the Hub)';
  setRunState('idle', 'The sample model is not on this server: opening it from the Hugging Face Hub instead…');
  const frag = buildFragment({ hf: SAMPLE_HUB_ID });
  if (`#${frag}` === location.hash) openLink(parseFragment(frag));
  else location.hash = frag;
}

/** Analyses the sample served with the page, or opens it from the Hub. */
export async function trySample() {
  beforeNewInput();
  clearError();
  const t0 = performance.now();
  setRunState('running', 'Fetching the sample model (all-MiniLM-L6-v2, 91 MB)…');
  const myRun = ++state.runId;
  try {
    const [m, c] = await Promise.all([fetch('sample/model.safetensors'), fetch('sample/config.json')]);
    if (myRun !== state.runId) return;
    if (m.status === 404) {
      openFromHub();
      return;
    }
    if (!m.ok) throw new Error(`The sample model could not be fetched from this server (HTTP ${m.status}).`);
    const blob = await m.blob();
    const config = c.ok ? await c.text() : null;
    if (myRun !== state.runId) return;
    const entries = [{ file: new File([blob], 'model.safetensors'), path: 'all-MiniLM-L6-v2/model.safetensors' }];
    if (config != null) entries.push({ file: new File([config], 'config.json'), path: 'all-MiniLM-L6-v2/config.json' });
    await acceptEntries(entries, 'sample');
    if (window.__quantlens.lastRun) window.__quantlens.lastRun.withFetchMs = performance.now() - t0;
  } catch (e) {
    if (myRun === state.runId) failRun(e);
  }
}
