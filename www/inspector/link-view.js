// A model opened by link on the inspector page: the fragment read into the
// view settings and a run, the header-first open, and its errors.
import { $ } from '../shared/dom.js';
import { nf, fmtBytes } from '../shared/format.js';
import { SCHEMES, DEFAULT_SCHEME, DEFAULT_THRESHOLDS_PCT, FULL_BODY_LIMIT } from '../shared/settings.js';
import { parseFragment, sourceOf } from '../link/fragment.js';
import { RemoteError } from '../link/errors.js';
import { resolveSource, sourceLabel } from '../link/resolve.js';
import { confirmedHosts, offerConfirm, withdrawConfirm } from '../link/confirm.js';
import { state } from './state.js';
import { setPhase, setRunState, clearError, scheduleNetDraw } from './progress.js';
import { runPrimary, startInput, failRun, busy, beforeNewInput } from './run.js';
import { thresholdsFromInputs } from './thresholds.js';
import { applyFilter, refreshAllRows } from './table.js';
import { drawRelPlot } from './plot.js';
import { selectLayer } from './detail.js';
import { runShaCheck, drawSha } from './sha-check.js';

/** Hides the buttons a link source may offer (analyse the tensors, download whole). */
export function hideLinkButtons() {
  $('fetch-tensors').hidden = true;
  $('continue-full').hidden = true;
}

// A local input replaces a link: the address bar must not keep claiming it.
export function forgetLink() {
  state.link = null;
  state.pendingLayer = null;
  state.net = { fetched: 0, total: 0 };
  state.sha = null;
  drawSha();
  if (location.hash) history.replaceState(null, '', location.href.split('#')[0]);
}

// Structural errors of a link source (a truncated file, a header past the
// end) are measured against the size the server gave: say so.
export function explainRemote(e, input) {
  const msg = e.message || String(e);
  const f = input.files.find((x) => msg.includes(x.name));
  if (!f || !f.url || f.blob || e instanceof RemoteError) return e;
  if (!/truncated|data section|past the end|too short|shorter/i.test(msg)) return e;
  return new Error(`${msg}\nThe file size used, ${nf.format(f.size)} bytes, is the total the server gave in its Content-Range for ${f.url}: `
    + 'the Content-Range disagrees with the file\'s header, or the file on the server is incomplete.');
}

let linkSeq = 0;

/** Opens the model of a link's params: headers first, then the run; offers the click or the whole download an error asks for. */
export async function openLink(params, { allowFull = false } = {}) {
  const src = sourceOf(params);
  if (!src) return;
  beforeNewInput();
  const my = ++linkSeq;
  const runAt = ++state.runId;
  clearError();
  hideLinkButtons();
  withdrawConfirm();
  applyViewParams(params);
  state.link = params;
  state.net = { fetched: 0, total: 0 };
  state.sha = null;
  drawSha();
  $('link-input').value = src.kind === 'url' ? src.url : src.id;
  const t0 = performance.now();
  setRunState('running', `Reading the headers of ${sourceLabel(src)}…`);
  setPhase('headers');
  $('progress').value = 0;
  $('progress-text').textContent = 'Reading headers by range requests…';
  try {
    const r = await resolveSource(src, {
      allowFull,
      allowHosts: confirmedHosts(),
      onFetched: (n) => {
        if (my !== linkSeq) return;
        state.net.fetched = n;
        scheduleNetDraw();
      },
    });
    if (my !== linkSeq || runAt !== state.runId) return;
    state.net = { fetched: r.fetched, total: r.total };
    const input = {
      files: r.files, index: r.index, config: r.config, configName: r.configName, indexName: r.indexName,
      ignored: [], label: 'link', remote: r, t0, linkT0: t0, headerOnly: params.view === 'header',
    };
    await startInput(input);
  } catch (e) {
    if (e.cancelled || my !== linkSeq || runAt !== state.runId) return;
    failRun(e);
    setPhase('');
    $('progress-text').textContent = `${fmtBytes(state.net.fetched)} fetched before the error`;
    if (e.kind === 'confirm') offerConfirm($('error'), e.hosts, () => openLink(params, { allowFull }));
    if (e.kind === 'norange' && e.size != null && e.size < FULL_BODY_LIMIT && !allowFull) {
      const b = $('continue-full');
      b.textContent = `Download ${e.file} whole (${fmtBytes(e.size)}) and continue`;
      b.hidden = false;
      b.onclick = () => {
        b.hidden = true;
        openLink(params, { allowFull: true });
      };
    }
  }
}

// Puts a link's view settings into the controls (before a run reads them).
export function applyViewParams(p) {
  $('scheme').value = SCHEMES[p.scheme] ? p.scheme : DEFAULT_SCHEME;
  $('compare').value = SCHEMES[p.compare] ? p.compare : '';
  $('policy').value = p.policy === 'mlx' ? 'mlx' : 'default';
  $('filter').value = p.filter ?? '';
  $('thr-warn').value = String(p.warn ?? DEFAULT_THRESHOLDS_PCT.warn);
  $('thr-bad').value = String(p.bad ?? DEFAULT_THRESHOLDS_PCT.bad);
  thresholdsFromInputs();
  state.pendingLayer = p.layer ?? null;
}

function sameSource(a, b) {
  if (!a || !b || a.kind !== b.kind) return false;
  return a.kind === 'url' ? a.url === b.url : a.id === b.id && a.hub === b.hub;
}

// The address bar's fragment changed (or the page was opened with one).
export function fromFragment() {
  const params = parseFragment(location.hash);
  if (params.against || params.againstHf) {
    location.replace(`compare.html${location.hash}`);
    return;
  }
  const src = sourceOf(params);
  if (!src) return;
  const cur = state.input?.remote?.source;
  if (cur && sameSource(cur, src) && state.primary?.report && !busy()) {
    // Same model: apply the view; re-run only when the analysis differs.
    const rerun = (SCHEMES[params.scheme] ? params.scheme : DEFAULT_SCHEME) !== $('scheme').value
      || (params.policy === 'mlx' ? 'mlx' : 'default') !== $('policy').value;
    const recompare = (SCHEMES[params.compare] ? params.compare : '') !== $('compare').value;
    const shaChanged = JSON.stringify(params.sha256) !== JSON.stringify(state.link?.sha256 ?? []);
    applyViewParams(params);
    state.link = params;
    if (rerun) {
      state.compare = null;
      runPrimary();
      return;
    }
    applyFilter();
    refreshAllRows();
    drawRelPlot();
    if (recompare) $('compare').dispatchEvent(new Event('change'));
    const want = state.pendingLayer;
    state.pendingLayer = null;
    const i = want != null ? state.primary.rows.findIndex((r) => r.name === want) : -1;
    if (i >= 0) selectLayer(i, true);
    if (shaChanged && params.sha256.length) runShaCheck(state.input);
    return;
  }
  openLink(params);
}
