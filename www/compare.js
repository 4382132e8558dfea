// "Compare two folders": the wiring of compare.html. A converted model is
// checked against its original, and SHA-256 of every file. All verification
// and hashing happen in quantlens (Rust, in workers/compare.js); the modules
// of compare/ pick files, move messages and render. File-derived text is
// untrusted: textContent only.
import { $ } from './shared/dom.js';
import { cmp } from './compare/state.js';
import { ready } from './compare/worker-rpc.js';
import { pick } from './compare/pick.js';
import { compare, exportJson } from './compare/run.js';
import { readExpected, renderShaRows, computeSha } from './compare/sha.js';
import { openByLink } from './compare/link.js';
import { mountOutputs } from './outputs/compare.js';

window.addEventListener('hashchange', () => location.reload());

$('pick-original').addEventListener('change', (e) => {
  cmp.digests.clear();
  pick('original', e.target, $('orig-files'));
});
$('pick-converted').addEventListener('change', (e) => {
  cmp.digests.clear();
  pick('converted', e.target, $('conv-files'));
});
$('compare').addEventListener('click', compare);
$('export-json').addEventListener('click', exportJson);
$('sha-run').addEventListener('click', computeSha);
$('sha-expected').addEventListener('input', async () => {
  await readExpected();
  renderShaRows();
});

window.__quantlens = { ready, report: () => cmp.lastReport, net: cmp.net, lastRun: null };
mountOutputs();
openByLink();
