// DOM helpers of both pages. Every file-derived string goes in as text
// (textContent, text nodes), never as HTML.

export const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

/**
 * An element with attributes (class, dataset: {...}, others as attributes;
 * null values left out) and children (Nodes, or anything else as text).
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
/** An SVG element with attributes and optional text. */
export function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = String(text);
  return e;
}
/** Removes every child of node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** Sets the status line (#status) and its data-state (idle, running, done, error). */
export function setStatus(stateName, text) {
  const s = $('status');
  s.dataset.state = stateName;
  s.textContent = text;
}
/** Shows text in the error box (#error); an empty text hides it. */
export function showError(text) {
  const e = $('error');
  e.hidden = !text;
  e.textContent = text || '';
}

/** Saves a Blob as a download named filename. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
