// The Outputs panel on the compare page: the original against the
// converted folder (or link), both as chosen in the page.
import { $ } from '../shared/dom.js';
import { cmp } from '../compare/state.js';
import { confirmedHosts } from '../link/confirm.js';
import { OutputsPanel } from './panel.js';
import { modelOf, sideOf } from './sources.js';

/** Builds the panel in #outputs-section. */
export function mountOutputs() {
  const panel = new OutputsPanel($('outputs-section'), {
    what: 'the converted model',
    source: () => {
      const { original, converted } = cmp.sides;
      if (!original || !converted) throw new Error('Choose the original and the converted model first.');
      return {
        original: modelOf(original),
        converted: modelOf(converted),
        options: null,
        side: sideOf(original),
        allowHosts: [...confirmedHosts()],
      };
    },
    onDone: (result) => { cmp.outputs = result; },
  });
  window.__quantlens.outputs = panel;
}
