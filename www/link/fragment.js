// The URL fragment of a link (#url=..., #hf=..., the view settings): parsed
// into params and built back from them. Pure functions: the pages, the
// workers and the Node tests import it.
import { DEFAULT_SCHEME, DEFAULT_THRESHOLDS_PCT } from '../shared/settings.js';

export const DEFAULT_HUB = 'https://huggingface.co';

/**
 * Fragment parameters (values percent-encoded, `&`-separated, after `#`):
 *   url=ADDRESS          a .safetensors file, a *.safetensors.index.json, or a folder ending in /
 *   hf=ORG/NAME[@REV]    a Hugging Face Hub model (REV defaults to main)
 *   hub=BASE             the Hub's base address (default https://huggingface.co)
 *   against=ADDRESS      compare by link: the original model (url form) ...
 *   against-hf=ORG/NAME[@REV]  ... or as a Hub id; the model of url/hf is the converted one
 *   scheme=int8-tensor|int8-channel|affine8|affine4
 *   compare=SCHEME       a second scheme shown side by side
 *   policy=default|mlx
 *   filter=TEXT          the table's name filter
 *   layer=NAME           the selected layer
 *   warn=PCT, bad=PCT    rel. error thresholds of the row colours, in percent (1 and 5)
 *   sha256=FILE:HEX[,FILE:HEX...]  expected digests, checked after the analysis
 *   view=header          stop after the structure view (no tensor data fetched)
 *   budget=MIB           bytes of a row each worker reads ahead whole (default 256); larger rows are streamed, and per-tensor int8 keeps that much of one for its second pass
 *   outputs=1            run the output check (the Outputs panel) after the analysis
 */
export function parseFragment(hash) {
  const raw = String(hash ?? '').replace(/^#/, '');
  const p = new URLSearchParams(raw);
  const get = (k) => {
    const v = p.get(k);
    return v == null || v === '' ? null : v;
  };
  const num = (k) => {
    const v = get(k);
    if (v == null) return null;
    const x = Number(v);
    return Number.isFinite(x) && x >= 0 ? x : null;
  };
  const sha256 = [];
  const shaErrors = [];
  for (const part of (get('sha256') ?? '').split(',')) {
    if (!part.trim()) continue;
    const at = part.lastIndexOf(':');
    const file = at > 0 ? part.slice(0, at).trim() : '';
    const hex = at > 0 ? part.slice(at + 1).trim().toLowerCase() : '';
    if (!file || !/^[0-9a-f]{64}$/.test(hex)) shaErrors.push(part);
    else sha256.push({ file, hex });
  }
  return {
    url: get('url'),
    hf: get('hf'),
    hub: get('hub'),
    against: get('against'),
    againstHf: get('against-hf'),
    scheme: get('scheme'),
    compare: get('compare'),
    policy: get('policy'),
    filter: p.get('filter'),
    layer: get('layer'),
    warn: num('warn'),
    bad: num('bad'),
    sha256,
    shaErrors,
    view: get('view'),
    budget: num('budget'),
    outputs: get('outputs') === '1',
  };
}

/** The workers' read budget in bytes set by the fragment (budget=MIB), or null for their default. */
export function readBudget(hash) {
  const mib = parseFragment(hash).budget;
  return mib ? Math.round(mib * (1 << 20)) : null;
}

/** The fragment (without `#`) for params of the parseFragment shape; nulls and defaults left out. */
export function buildFragment(params) {
  const out = [];
  const add = (k, v) => {
    if (v == null || v === '') return;
    // encodeURIComponent keeps "/" and ":" readable only when we let them: the
    // value must survive URLSearchParams, so everything else is escaped.
    out.push(`${k}=${encodeURIComponent(String(v)).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@').replace(/%2C/g, ',')}`);
  };
  add('url', params.url);
  add('hf', params.hf);
  add('against', params.against);
  add('against-hf', params.againstHf);
  if (params.hub && params.hub !== DEFAULT_HUB) add('hub', params.hub);
  if (params.scheme && params.scheme !== DEFAULT_SCHEME) add('scheme', params.scheme);
  add('compare', params.compare);
  if (params.policy && params.policy !== 'default') add('policy', params.policy);
  add('filter', params.filter);
  add('layer', params.layer);
  if (params.warn != null && params.warn !== DEFAULT_THRESHOLDS_PCT.warn) add('warn', params.warn);
  if (params.bad != null && params.bad !== DEFAULT_THRESHOLDS_PCT.bad) add('bad', params.bad);
  if (params.sha256?.length) add('sha256', params.sha256.map((s) => `${s.file}:${s.hex}`).join(','));
  add('view', params.view);
  add('budget', params.budget);
  if (params.outputs) add('outputs', '1');
  return out.join('&');
}

/** The link source of parsed params ({kind:'url'|'hf', ...}), the `against` side with against=true. */
export function sourceOf(params, against = false) {
  const url = against ? params.against : params.url;
  const hf = against ? params.againstHf : params.hf;
  if (url) return { kind: 'url', url };
  if (hf) return { kind: 'hf', id: hf, hub: params.hub || DEFAULT_HUB };
  return null;
}
