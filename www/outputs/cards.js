// The output check's summary cards: embedding cosines and nearest
// neighbours, a classifier's label agreement and KLD, a decoder's
// next-token KLD and same-top-token count. Each value card carries the
// exact figure in data-value.
import { el } from '../shared/dom.js';
import { fmtSci } from '../shared/format.js';

function card(label, value, sub, testid, exact) {
  return el('div', { class: 'card' },
    el('span', { class: 'label' }, label),
    el('span', { class: 'value', 'data-testid': testid, 'data-value': exact == null ? null : String(exact) }, value),
    el('span', { class: 'sub' }, sub));
}

/** The cards of an `outputs` report. */
export function summaryCards(r) {
  const out = [];
  const e = r.embedding;
  if (e) {
    out.push(card('Mean embedding cosine', e.cosine_mean.toFixed(4), `min ${e.cosine_min.toFixed(4)} · ${e.pooling} pooling${e.normalized ? ', normalised' : ''}`,
      'outputs-cosine-mean', e.cosine_mean));
    out.push(card('Nearest neighbours unchanged', `${e.neighbours_same}/${r.inputs}`, 'same nearest input by cosine', 'outputs-neighbours', e.neighbours_same));
  }
  const c = r.classification;
  if (c) {
    out.push(card('Labels agree', `${c.agreement}/${r.inputs}`, `mean KLD ${fmtSci(c.kld_mean)}, max ${fmtSci(c.kld_max)}`, 'outputs-agreement', c.agreement));
    out.push(card('Mean KLD', fmtSci(c.kld_mean), `median ${fmtSci(c.kld_median)}, p99 ${fmtSci(c.kld_p99)}`, 'outputs-kld-mean', c.kld_mean));
  }
  const n = r.next_token;
  if (n) {
    out.push(card('Same top token', `${n.same_top}/${r.tokens}`, 'positions whose most likely next token is unchanged', 'outputs-same-top', n.same_top));
    out.push(card('Mean next-token KLD', fmtSci(n.kld_mean), `median ${fmtSci(n.kld_median)}, p99 ${fmtSci(n.kld_p99)}, max ${fmtSci(n.kld_max)}`, 'outputs-kld-mean', n.kld_mean));
    out.push(card('RMS Δp', `${(n.rms_delta_p * 100).toFixed(3)} %`, 'of the actual next token', 'outputs-rms-dp', n.rms_delta_p));
  }
  const last = r.layers[r.layers.length - 1];
  if (last) out.push(card('Last layer', `${(last.rel_error * 100).toFixed(2)} %`, `relative error, token cosine ${last.cosine.toFixed(4)}`, 'outputs-last-layer', last.rel_error));
  return out;
}
