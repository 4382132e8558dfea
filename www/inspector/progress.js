// The inspector's status area: the status line and its run state, the
// progress bar and line while a run streams rows in, the network bytes of a
// link source, and the error box.
import { $, setStatus, showError } from '../shared/dom.js';
import { nf, fmtBytes } from '../shared/format.js';
import { withdrawConfirm } from '../link/confirm.js';
import { state } from './state.js';
import { pool } from './pool.js';
import { redrawer } from './redraw.js';
import { drawSha } from './sha-check.js';

/** The status line and the page's run state (idle, running, done, error); Cancel is live while running. */
export function setRunState(stateName, text) {
  if ($('status').dataset.state !== stateName || $('status').textContent !== text) setStatus(stateName, text);
  // setting an attribute to its value still restyles the element
  const idle = stateName !== 'running';
  if ($('cancel').disabled !== idle) $('cancel').disabled = idle;
  if (document.body.dataset.state !== stateName) document.body.dataset.state = stateName;
}

// Progress is counted in the analysis's work bytes (what the workers read,
// passes included) and shown scaled to the model's own size.
export function progressUpdater(total, modelBytes, n, t0, what) {
  let bytes = 0;
  let count = 0;
  let stopped = false;
  const runAt = state.runId;
  const scale = total > 0 ? modelBytes / total : 1;
  const max = Math.max(total, 1);
  const draw = () => {
    if (stopped || runAt !== state.runId) return;
    const secs = Math.max((performance.now() - t0) / 1000, 1e-3);
    if ($('progress').max !== max) $('progress').max = max;
    $('progress').value = bytes;
    $('progress-text').textContent = state.input?.remote
      ? `${fmtBytes(state.net.fetched)} fetched of ${fmtBytes(state.net.total)} · ${fmtBytes((state.net.fetched - net0) / secs)}/s · ${nf.format(count)} of ${nf.format(n)} tensors`
      : `${fmtBytes(bytes * scale)} of ${fmtBytes(modelBytes)} · ${fmtBytes((bytes * scale) / secs)}/s · ${nf.format(count)} of ${nf.format(n)} tensors`;
    setRunState('running', `${what}: ${nf.format(count)} of ${nf.format(n)} tensors…`);
  };
  let net0 = state.net.fetched;
  const redraw = redrawer(draw);
  const prog = {
    add(b) {
      bytes += b;
      count += 1;
      prog.schedule();
    },
    schedule() {
      redraw.later();
    },
    draw,
    stop() {
      stopped = true;
      if (activeProg === prog) activeProg = null;
    },
    restart() {
      t0 = performance.now();
      net0 = state.net.fetched;
    },
    get bytes() {
      return bytes;
    },
  };
  activeProg = prog;
  return prog;
}

/** The progress line of a finished local run: `90.9 MB analysed in 0.36 s · 255.8 MB/s · 3 workers`. */
export function finishedLine(verb, modelBytes, secs) {
  const n = pool?.size ?? 0;
  return `${fmtBytes(modelBytes)} ${verb} in ${secs.toFixed(2)} s · ${fmtBytes(modelBytes / Math.max(secs, 1e-6))}/s · ${n} worker${n === 1 ? '' : 's'}`;
}

// Redraws the progress line when workers report network bytes.
let activeProg = null;

let netDrawScheduled = false;

/** Redraws the progress line soon after the workers report network bytes. */
export function scheduleNetDraw() {
  if (activeProg) {
    activeProg.schedule();
    return;
  }
  if (netDrawScheduled) return;
  netDrawScheduled = true;
  requestAnimationFrame(() => {
    netDrawScheduled = false;
    if ($('status').dataset.phase === 'headers') {
      $('progress-text').textContent = `${fmtBytes(state.net.fetched)} fetched (headers)`;
    } else if (state.sha?.running) {
      drawSha();
    }
  });
}

// Network bytes reported by the workers (link sources).
export function addFetched(n) {
  if (!n) return;
  state.net.fetched += n;
  scheduleNetDraw();
}

/** The phase of a link source's run (headers, header, tensors, done), as #status data-phase. */
export function setPhase(phase) {
  $('status').dataset.phase = phase;
}

/** Hides the error box and any pending link confirmation. */
export function clearError() {
  withdrawConfirm();
  showError('');
}
