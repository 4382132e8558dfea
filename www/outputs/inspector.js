// The Outputs panel on the inspector page: the model dropped or opened by
// link, against the selected scheme and policy. It follows the page's
// status: shown once the analysis is done, reset when the model or the
// scheme changes, and run right away for a link with `outputs=1`.
import { $ } from '../shared/dom.js';
import { state } from '../inspector/state.js';
import { optionsFor } from '../inspector/run.js';
import { confirmedHosts } from '../link/confirm.js';
import { OutputsPanel } from './panel.js';
import { modelOf, sideOf } from './sources.js';

/** Builds the panel in #outputs-section. */
export function mountOutputs() {
  const host = $('outputs-section');
  const panel = new OutputsPanel(host, {
    what: 'the selected scheme',
    source: () => {
      if (!state.input) throw new Error('Open a model first.');
      return {
        original: modelOf(state.input),
        converted: null,
        options: optionsFor($('scheme').value),
        side: sideOf(state.input),
        allowHosts: [...confirmedHosts()],
      };
    },
    onDone: (result) => { state.outputs = result; },
  });
  window.__quantlens.outputs = panel;
  let shownFor = null;
  let auto = false;
  new MutationObserver(() => {
    const key = state.input && `${$('scheme').value}/${$('policy').value}`;
    if (state.input !== shownFor?.input || key !== shownFor?.key) {
      if (state.input !== shownFor?.input) auto = Boolean(state.link?.outputs);
      shownFor = { input: state.input, key };
      state.outputs = null;
      panel.reset();
      host.hidden = true;
    }
    if ($('status').dataset.state === 'done' && state.primary?.report && !state.input?.headerOnly) {
      host.hidden = false;
      if (auto) {
        auto = false;
        panel.run();
      }
    }
  }).observe($('status'), { attributes: true, attributeFilter: ['data-state'] });
}
