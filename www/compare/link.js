// Compare by link: #url=CONVERTED&against=ORIGINAL (or hf= / against-hf=,
// hub=BASE) opens both models by range requests.
import { $, setStatus, showError } from '../shared/dom.js';
import { fmtBytes } from '../shared/format.js';
import { parseFragment, sourceOf } from '../link/fragment.js';
import { confirmError } from '../link/errors.js';
import { resolveSource, hostsOfSource } from '../link/resolve.js';
import { confirmedHosts, offerConfirm, withdrawConfirm } from '../link/confirm.js';
import { cmp } from './state.js';
import { ready } from './worker-rpc.js';
import { renderShaRows } from './sha.js';
import { compare } from './run.js';

/** Opens both models of the page's link fragment, then compares them. */
export async function openByLink() {
  const params = parseFragment(location.hash);
  const conv = sourceOf(params);
  const orig = sourceOf(params, true);
  if (!conv && !orig) return;
  await ready;
  showError('');
  withdrawConfirm();
  if (!conv || !orig) {
    setStatus('error', 'Incomplete link.');
    showError('Compare by link needs both models: url= (or hf=) for the converted model and against= (or against-hf=) for the original.');
    return;
  }
  cmp.linkT0 = performance.now();
  cmp.running = true;
  $('compare').disabled = true;
  setStatus('running', 'Reading the headers of both models…');
  $('progress-text').textContent = 'Reading headers by range requests…';
  cmp.net.fetched = 0;
  cmp.net.total = 0;
  cmp.digests.clear();
  try {
    const need = [...hostsOfSource(orig, confirmedHosts()), ...hostsOfSource(conv, confirmedHosts())]
      .filter((h, i, all) => all.findIndex((x) => x.host === h.host) === i);
    if (need.length) throw confirmError(need, 'This link reads its two models');
    const [o, c] = await Promise.all([
      resolveSource(orig, { allowHosts: confirmedHosts() }).catch((e) => { throw Object.assign(new Error(`original model: ${e.message}`), { kind: e.kind, hosts: e.hosts }); }),
      resolveSource(conv, { allowHosts: confirmedHosts() }).catch((e) => { throw Object.assign(new Error(`converted model: ${e.message}`), { kind: e.kind, hosts: e.hosts }); }),
    ]);
    cmp.net.fetched = o.fetched + c.fetched;
    cmp.net.total = o.total + c.total;
    const side = (r) => ({ dir: r.label, files: r.files, index: r.index, config: r.config, all: r.files, remote: r });
    cmp.sides.original = side(o);
    cmp.sides.converted = side(c);
    for (const [s, label] of [[cmp.sides.original, $('orig-files')], [cmp.sides.converted, $('conv-files')]]) {
      label.textContent = `by link: ${s.dir}: ${s.files.length} safetensors file(s)${s.index ? ', index' : ''}${s.config != null ? ', config.json' : ''}; header ${fmtBytes(s.remote.fetched)} fetched of ${fmtBytes(s.remote.total)}`;
    }
    renderShaRows();
    $('sha-run').disabled = false;
  } catch (e) {
    setStatus('error', 'Could not open the models of this link.');
    showError(e.message);
    if (e.kind === 'confirm') {
      offerConfirm($('error'), e.hosts, () => {
        setStatus('running', 'Reading the headers of both models…');
        openByLink();
      });
    }
    return;
  } finally {
    cmp.running = false;
  }
  await compare();
}
