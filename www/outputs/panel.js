// The Outputs panel: runs the output check (the original and the quantized
// model on the same inputs, layer by layer) in its own worker, which loads
// the forward wasm only when asked. Shows progress per layer, the
// accumulated and alone error per layer, summary cards, the per-input
// table and, for a decoder, the KLD histogram and token strips. Cancel
// terminates the worker.
import { clear, el } from '../shared/dom.js';
import { WorkerRpc } from '../shared/rpc.js';
import { drawLayerPlot } from './plot.js';
import { summaryCards } from './cards.js';
import { drawInputsTable } from './inputs-table.js';
import { drawKldHistogram, kldLegend } from './tokens.js';

const pct = (x) => (x == null ? '–' : `${(x * 100).toFixed(4)} %`);

export class OutputsPanel {
  /**
   * host: the (empty) section to build the panel in. source(): the
   * model(s) to check, as the worker takes them: {original: {files, index,
   * config}, converted: {…} | null, options, side: {files: {path: Blob}} |
   * {base: url}, allowHosts}; it throws a readable Error when there is
   * nothing to check. onDone(result) hears each finished run.
   */
  constructor(host, { source, onDone, what = 'the selected scheme' }) {
    this.source = source;
    this.onDone = onDone;
    this.result = null;
    this.rpc = null;
    this.text = el('textarea', { 'data-testid': 'outputs-text', rows: '4', spellcheck: 'false', placeholder: 'Empty: the built-in inputs (24 sentences, sentence pairs for a classifier, prompts for a decoder)' });
    this.runButton = el('button', { type: 'button', class: 'primary', 'data-testid': 'outputs-run' }, 'Run output check');
    this.cancelButton = el('button', { type: 'button', 'data-testid': 'outputs-cancel', hidden: '' }, 'Cancel');
    this.status = el('span', { 'data-testid': 'outputs-status', 'data-state': 'idle', role: 'status', 'aria-live': 'polite' }, 'Not run yet.');
    this.progress = el('progress', { max: '1', value: '0', 'aria-label': 'Layers run', hidden: '' });
    this.cards = el('div', { class: 'cards', 'data-testid': 'outputs-cards' });
    this.plot = el('div', { class: 'plot', 'data-testid': 'outputs-plot' });
    this.layers = el('tbody');
    this.hist = el('div', { class: 'plot', 'data-testid': 'outputs-kld-hist' });
    // Shown from the first layer's figures on: no empty axes before a run.
    this.layerFigures = el('div', { class: 'outputs-plots', hidden: '' },
      el('figure', {}, el('figcaption', {}, 'Relative error per layer: accumulated, and each layer alone'), this.plot),
      el('table', { class: 'layers outputs-layers', 'data-testid': 'outputs-layers' },
        el('thead', {}, el('tr', {}, ...['Layer', 'Rel. error', 'Cosine', 'Alone'].map((h) => el('th', { scope: 'col' }, h)))), this.layers));
    this.legend = el('div');
    // The histogram and the strips' key share the per-layer plot's grid, so
    // its text is drawn at the same scale.
    this.histFigure = el('div', { class: 'outputs-plots', hidden: '' },
      el('figure', {}, el('figcaption', {}, 'Next-token KLD per position'), this.hist), this.legend);
    this.inputs = el('table', { class: 'layers outputs-inputs', 'data-testid': 'outputs-inputs' });
    clear(host);
    host.append(
      el('h2', {}, 'Outputs'),
      el('p', { class: 'muted small' }, `Runs the original and the quantized model (${what}) on the same inputs, one layer at a time, and compares what they compute. `
        + 'One input per line; a TAB between the two texts of a pair.'),
      this.text,
      el('div', { class: 'outputs-controls' }, this.runButton, this.cancelButton, this.status),
      this.progress,
      this.cards,
      this.layerFigures,
      this.histFigure,
      this.inputs,
    );
    this.runButton.addEventListener('click', () => this.run());
    this.cancelButton.addEventListener('click', () => this.cancel());
  }

  setState(state, text) {
    this.status.dataset.state = state;
    this.status.textContent = text;
    const running = state === 'running';
    this.runButton.disabled = running;
    this.cancelButton.hidden = !running;
    this.progress.hidden = state === 'idle';
  }

  /** Forgets the last result (a new model was opened). */
  reset() {
    this.cancel(true);
    this.result = null;
    for (const n of [this.cards, this.plot, this.layers, this.hist, this.inputs]) clear(n);
    this.histFigure.hidden = true;
    this.layerFigures.hidden = true;
    this.progress.value = 0;
    this.setState('idle', 'Not run yet.');
  }

  /** Runs the check; resolves with the result, or null if it failed or was cancelled. */
  async run() {
    const t0 = performance.now();
    this.reset();
    this.setState('running', 'Loading the forward code…');
    const rpc = new WorkerRpc(new URL('../workers/outputs.js', import.meta.url));
    this.rpc = rpc;
    const layers = [];
    try {
      const req = await this.source();
      const done = await rpc.call({ type: 'run', ...req, text: this.text.value }, (m) => {
        if (this.rpc !== rpc) return;
        this.progress.max = m.total;
        this.progress.value = m.done;
        if (m.layer) {
          layers.push(m.layer);
          this.layerFigures.hidden = false;
          this.addLayer(m.layer);
          drawLayerPlot(this.plot, layers, m.total - 1);
        }
        const what = m.done === 0 ? 'embeddings' : m.done < m.total - 1 ? `layer ${m.done}` : 'the head';
        this.setState('running', `Running ${what} (${m.done}/${m.total} steps done)…`);
      });
      if (this.rpc !== rpc) return null;
      this.show(done.report);
      const ms = performance.now() - t0;
      this.result = { report: done.report, csv: done.csv, markdown: done.markdown, ms, wasmHighWater: done.wasmHighWater };
      this.setState('done', `Done in ${(ms / 1000).toFixed(1)} s: ${done.report.inputs} inputs, ${done.report.tokens} tokens, against ${done.report.quantized}.`);
      this.onDone?.(this.result);
      return this.result;
    } catch (e) {
      if (this.rpc !== rpc) return null;
      this.setState('error', `Output check failed: ${e.message}`);
      return null;
    } finally {
      if (this.rpc === rpc) {
        rpc.terminate(new Error('finished'));
        this.rpc = null;
      }
    }
  }

  /** Stops a running check (terminates its worker). */
  cancel(quiet = false) {
    const rpc = this.rpc;
    if (!rpc) return;
    this.rpc = null;
    rpc.terminate(new Error('cancelled'));
    if (!quiet) this.setState('idle', 'Cancelled.');
  }

  addLayer(l) {
    this.layers.append(el('tr', { 'data-testid': 'outputs-layer-row', 'data-layer': String(l.layer) },
      el('td', {}, l.layer === 0 ? '0 (embeddings)' : String(l.layer)),
      el('td', {}, pct(l.rel_error)), el('td', {}, l.cosine.toFixed(6)), el('td', {}, pct(l.alone_rel_error))));
  }

  show(r) {
    clear(this.cards);
    this.cards.append(...summaryCards(r));
    this.layerFigures.hidden = false;
    drawLayerPlot(this.plot, r.layers, r.layers.length);
    if (r.per_input) {
      this.histFigure.hidden = false;
      drawKldHistogram(this.hist, r.per_input);
      clear(this.legend);
      if (r.next_token?.kld_p99 > 0) this.legend.append(kldLegend(r.next_token.kld_p99));
    }
    drawInputsTable(this.inputs, r);
  }
}
