// What the outputs worker is given for a model the page has opened: its
// safetensors files (Blobs, or link files with their headers), index and
// config, and where its side files (tokenizer.json, modules.json, …) are.
// Pure functions, no DOM.

/** {files, index, config} of a classified folder or a resolved link. */
export function modelOf(m) {
  return {
    files: m.files.map((f) => (f.blob ? { name: f.name, blob: f.blob, url: f.url, size: f.size } : { name: f.name, url: f.url, size: f.size, head: f.head })),
    index: m.index ?? null,
    config: m.config ?? null,
  };
}

/** The side files of a classified folder ({files: {path: Blob}}), or the folder address of a link ({base}). */
export function sideOf(m) {
  if (m.below) {
    const files = {};
    for (const [p, b] of Object.entries(m.below)) if (!p.toLowerCase().endsWith('.safetensors')) files[p] = b;
    return { files };
  }
  const url = m.files.find((f) => f.url)?.url;
  return { base: url ? new URL('./', url).href : null };
}

/** An export (`json`, `csv`, `markdown`) with the output check's result added as the CLI's inspect/verify --outputs do. */
export function withOutputs(text, format, result) {
  if (!result) return text;
  if (format === 'json') return `${JSON.stringify({ ...JSON.parse(text), outputs: result.report }, null, 2)}\n`;
  return `${text}\n${format === 'csv' ? result.csv : result.markdown}`;
}
