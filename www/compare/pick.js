// The compare page's folder pickers: each chosen folder classified into a model.
import { $, showError } from '../shared/dom.js';
import { classify } from '../shared/classify.js';
import { cmp } from './state.js';
import { renderShaRows } from './sha.js';

/** A folder was chosen for side (original, converted): classifies it and says what it holds. */
export async function pick(side, input, label) {
  cmp.sides[side] = null;
  showError('');
  try {
    cmp.sides[side] = await classify([...input.files].map((f) => ({ file: f, path: f.webkitRelativePath || f.name })), { sideFilesInModelDir: true });
    const s = cmp.sides[side];
    label.textContent = `${s.dir || '(folder)'}: ${s.files.length} safetensors file(s)${s.index ? ', index' : ''}${s.config != null ? ', config.json' : ''}; ${s.all.length} file(s) in all`;
  } catch (e) {
    label.textContent = 'No usable folder chosen.';
    showError(`${side}: ${e.message}`);
  }
  $('compare').disabled = !(cmp.sides.original && cmp.sides.converted);
  $('sha-run').disabled = !(cmp.sides.original || cmp.sides.converted);
  renderShaRows();
}
