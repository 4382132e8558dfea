// The inspector page's state: the input, the runs' results, the view
// settings. Every inspector module reads and writes this one object.
import { DEFAULT_THRESHOLDS } from '../shared/settings.js';

export const state = {
  input: null, // {files:[{name, blob}], index, config, ignored, label, t0}
  runId: 0,
  primary: null, // {key, options, rows, report, overview, workBytes}
  compare: null,
  selected: -1,
  sort: { key: 'index', dir: 1 },
  stats: { maxWasmBytes: 0 },
  thr: { ...DEFAULT_THRESHOLDS }, // rel. error thresholds of the row colours
  link: null, // parsed fragment of the link being shown (link/fragment.js parseFragment)
  net: { fetched: 0, total: 0 }, // bytes fetched over the network for a link source
  sha: null, // {expected, results} of the link's sha256= check
  outputs: null, // the Outputs panel's last result for this model and scheme (outputs/panel.js)
};

/** Redraws wait this long while rows stream in (redraw.js, progress.js). */
export const UI_TICK_MS = 250;
