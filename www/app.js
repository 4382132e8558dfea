// quantlens browser inspector: the wiring of index.html. The page thread
// only draws (inspector/); module workers (workers/inspector.js) own the
// wasm instances and do every read and computation. All file-derived text
// enters the DOM through textContent, never as HTML. Models opened by link
// (#url=, #hf=; see link/): the page fetches the headers, the workers read
// tensor data by Range requests.
import { $, showError } from './shared/dom.js';
import { parseFragment, buildFragment, sourceOf } from './link/fragment.js';
import { confirmTyped } from './link/confirm.js';
import { state } from './inspector/state.js';
import { startPool } from './inspector/pool.js';
import { setRunState, addFetched } from './inspector/progress.js';
import { failRun, cancelRun, runPrimary, busy, beforeNewInput } from './inspector/run.js';
import { compareChanged } from './inspector/compare-run.js';
import { entriesFromDrop, acceptEntries } from './inspector/input.js';
import { openLink, fromFragment } from './inspector/link-view.js';
import { thresholdsFromInputs, applyThresholds } from './inspector/thresholds.js';
import { currentLink, copyLink } from './inspector/share.js';
import { applyFilter, focusNext, watchScroll } from './inspector/table.js';
import { selectLayer } from './inspector/detail.js';
import { doExport } from './inspector/exports.js';
import { trySample } from './inspector/sample.js';
import { mountOutputs } from './outputs/inspector.js';

// Compare by link (#url=A&against=B) is the compare page's job.
{
  const f = parseFragment(location.hash);
  if (f.against || f.againstHf) location.replace(`compare.html${location.hash}`);
}

// Exposed for the end-to-end tests and for curious users (read-only use).
window.__quantlens = { state, lastRun: null, headerView: null, link: () => currentLink() };
mountOutputs();

startPool(addFetched, (e) => showError(e.message));

for (const id of ['pick-files', 'pick-dir']) {
  $(id).addEventListener('change', (ev) => {
    const input = ev.target;
    const entries = [...input.files].map((f) => ({ file: f, path: f.webkitRelativePath || f.name }));
    input.value = '';
    if (!entries.length) return;
    beforeNewInput();
    acceptEntries(entries, id === 'pick-dir' ? 'folder' : 'files');
  });
}

const drop = $('drop');
for (const t of ['dragenter', 'dragover']) {
  drop.addEventListener(t, (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
}
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (ev) => {
  ev.preventDefault();
  drop.classList.remove('over');
  beforeNewInput();
  const t0 = performance.now();
  try {
    const entries = await entriesFromDrop(ev.dataTransfer);
    await acceptEntries(entries, 'drop');
    if (state.input) state.input.t0 ??= t0;
  } catch (e) {
    failRun(e);
  }
});
// Keep a stray drop outside the zone from navigating away from the page.
window.addEventListener('dragover', (ev) => ev.preventDefault());
window.addEventListener('drop', (ev) => ev.preventDefault());
drop.addEventListener('keydown', (ev) => {
  if ((ev.key === 'Enter' || ev.key === ' ') && ev.target === drop) {
    ev.preventDefault();
    $('pick-files').click();
  }
});

$('sample').addEventListener('click', trySample);
$('cancel').addEventListener('click', cancelRun);
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && busy()) cancelRun();
});
$('filter').addEventListener('input', applyFilter);
$('layers-body').addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr[data-index]');
  if (tr) selectLayer(Number(tr.dataset.index), false);
});
$('layers-body').addEventListener('keydown', (ev) => {
  const tr = ev.target.closest('tr[data-index]');
  if (!tr) return;
  if (ev.key === 'Enter' || ev.key === ' ') {
    ev.preventDefault();
    selectLayer(Number(tr.dataset.index), false);
  } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    focusNext(Number(tr.dataset.index), ev.key === 'ArrowDown' ? 1 : -1);
  }
});
watchScroll();
for (const id of ['scheme', 'policy']) {
  $(id).addEventListener('change', () => {
    if (!state.input) return;
    beforeNewInput();
    state.compare = null;
    runPrimary();
  });
}
for (const id of ['thr-warn', 'thr-bad']) $(id).addEventListener('input', applyThresholds);
$('copy-link').addEventListener('click', copyLink);
$('share-json').addEventListener('click', () => doExport('json', 'json', 'application/json'));
$('share-md').addEventListener('click', () => doExport('markdown', 'md', 'text/markdown'));
$('share-url').addEventListener('focus', (ev) => ev.target.select());
$('link-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = $('link-input').value.trim();
  if (!v) return;
  const hubPage = /^https:\/\/huggingface\.co\/([\w.-]+\/[\w.-]+)\/?$/.exec(v);
  // A typed Hub id goes to the Hugging Face Hub: a hub= of an earlier link is not carried over.
  const params = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) && !hubPage ? { url: v } : { hf: hubPage ? hubPage[1] : v };
  if (params.url) confirmTyped(params.url);
  const frag = buildFragment(params);
  if (`#${frag}` === location.hash) openLink(parseFragment(frag));
  else location.hash = frag;
});
window.addEventListener('hashchange', fromFragment);
$('compare').addEventListener('change', compareChanged);
$('export-json').addEventListener('click', () => doExport('json', 'json', 'application/json'));
$('export-csv').addEventListener('click', () => doExport('csv', 'csv', 'text/csv'));
$('export-md').addEventListener('click', () => doExport('markdown', 'md', 'text/markdown'));

setRunState('idle', 'Ready. Choose a model to begin.');
thresholdsFromInputs();
if (sourceOf(parseFragment(location.hash))) fromFragment();
