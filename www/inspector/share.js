// "Copy link": the address that reproduces the current view of a model
// opened by link (local files cannot be linked to).
import { $ } from '../shared/dom.js';
import { DEFAULT_THRESHOLDS_PCT } from '../shared/settings.js';
import { buildFragment } from '../link/fragment.js';
import { state } from './state.js';

export function resetShare() {
  $('share-url').hidden = true;
  $('share-url').value = '';
  $('share-local-note').hidden = true;
  $('share-status').textContent = '';
  $('copy-link').disabled = true;
}

export function currentLink() {
  const input = state.input;
  if (!input?.remote) return null;
  const src = input.remote.source;
  const sel = state.primary?.rows?.[state.selected]?.name ?? null;
  const frag = buildFragment({
    url: src.kind === 'url' ? src.url : null,
    hf: src.kind === 'hf' ? src.id : null,
    hub: src.kind === 'hf' ? src.hub : null,
    scheme: $('scheme').value,
    compare: $('compare').value || null,
    policy: $('policy').value,
    filter: $('filter').value || null,
    layer: sel,
    warn: state.thrPct?.warn ?? DEFAULT_THRESHOLDS_PCT.warn,
    bad: state.thrPct?.bad ?? DEFAULT_THRESHOLDS_PCT.bad,
    sha256: state.link?.sha256 ?? [],
    view: input.headerOnly ? 'header' : null, // tensors not analysed yet: the link does not fetch them either
    outputs: Boolean(state.outputs),
  });
  return `${location.href.split('#')[0]}#${frag}`;
}

/** Copy link: puts currentLink() in the field and the clipboard, or explains that local files cannot be linked. */
export async function copyLink() {
  if (!state.input) return;
  const note = $('share-local-note');
  const field = $('share-url');
  if (!state.input.remote) {
    field.hidden = true;
    note.hidden = false;
    $('share-status').textContent = '';
    return;
  }
  note.hidden = true;
  const url = currentLink();
  field.value = url;
  field.hidden = false;
  field.focus();
  field.select();
  try {
    await navigator.clipboard.writeText(url);
    $('share-status').textContent = 'Link copied.';
  } catch {
    $('share-status').textContent = 'Copy the selected link.';
  }
}
