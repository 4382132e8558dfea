// Which of the files given (a folder, a selection, a drop) make up the
// model: its safetensors files, index and config.json; every other file is
// listed as ignored, with the reason. No DOM: the Node tests import it.
// The command line's src/cli/folder.rs names the same three kinds of file,
// but it is not the same job, so the two are not one code: it reads one
// folder on disk through its link rule, while this sorts a flat list of
// dropped paths at any depth (the shallowest folder with safetensors files
// is the model, copies elsewhere are ignored, names match in any case), and
// caps JSON side files at MAX_JSON_BYTES, a browser's memory, not the
// header cap the command line uses.
import { fmtBytes } from './format.js';
import { MAX_JSON_BYTES } from './settings.js';

function splitPath(p) {
  const parts = p.split('/').filter(Boolean);
  return { dir: parts.slice(0, -1).join('/'), base: parts[parts.length - 1] ?? p };
}

/**
 * entries: [{file, path}] (file a File or Blob with a name, path relative,
 * "/"-separated) -> {dir, files: [{name, blob}], index: {name, text} | null,
 * config, configName, indexName, ignored: [{path, why}], all: [{name, blob}],
 * below: {path: blob}}, or throws a readable Error.
 * The model folder is the shallowest folder holding safetensors files; its
 * index and config.json are used, else (unless sideFilesInModelDir) the
 * shallowest elsewhere. `all` is every file of the model folder.
 */
export async function classify(entries, { sideFilesInModelDir = false } = {}) {
  const st = [];
  const indexes = [];
  const configs = [];
  const ignored = [];
  const items = [];
  for (const e of entries) {
    const path = e.path || e.file.name;
    const { dir, base } = splitPath(path);
    const lower = base.toLowerCase();
    const item = { ...e, path, dir, base, depth: dir ? dir.split('/').length : 0 };
    items.push(item);
    if (lower.endsWith('.safetensors')) st.push(item);
    else if (lower.endsWith('.safetensors.index.json')) indexes.push(item);
    else if (lower === 'config.json') configs.push(item);
    else ignored.push({ path, why: 'not a model file' });
  }
  if (st.length === 0) {
    const n = entries.length;
    throw new Error(n === 0
      ? 'No files were given. Choose a model folder or .safetensors files.'
      : `No .safetensors file found among the ${n} file${n === 1 ? '' : 's'} given. quantlens reads safetensors models (a folder with model.safetensors or model-0000k-of-0000N.safetensors shards).`);
  }
  const minDepth = Math.min(...st.map((s) => s.depth));
  const modelDir = st.filter((s) => s.depth === minDepth).map((s) => s.dir).sort()[0];
  const files = [];
  const seen = new Set();
  for (const s of st.sort((a, b) => a.base.localeCompare(b.base))) {
    if (s.dir !== modelDir) ignored.push({ path: s.path, why: 'outside the model folder' });
    else if (seen.has(s.base)) ignored.push({ path: s.path, why: 'duplicate name' });
    else {
      seen.add(s.base);
      files.push({ name: s.base, blob: s.file });
    }
  }
  const pick = (list) => {
    const same = list.filter((x) => x.dir === modelDir);
    const chosen = same[0] ?? (sideFilesInModelDir ? null : list.sort((a, b) => a.depth - b.depth)[0]) ?? null;
    for (const x of list) if (x !== chosen) ignored.push({ path: x.path, why: 'another copy is used' });
    return chosen;
  };
  const readText = async (x) => {
    if (x.file.size > MAX_JSON_BYTES) throw new Error(`${x.base} is ${fmtBytes(x.file.size)}; JSON side files over ${fmtBytes(MAX_JSON_BYTES)} are not read`);
    return x.file.text();
  };
  const idx = pick(indexes);
  const cfg = pick(configs);
  return {
    dir: modelDir,
    files,
    index: idx ? { name: idx.base, text: await readText(idx) } : null,
    config: cfg ? await readText(cfg) : null,
    configName: cfg ? cfg.path : null,
    indexName: idx ? idx.path : null,
    ignored,
    all: items.filter((x) => x.dir === modelDir).sort((a, b) => a.base.localeCompare(b.base)).map((x) => ({ name: x.base, blob: x.file })),
    // every file in or below the model folder by its path there
    // (`1_Pooling/config.json`): the output check's side files
    below: Object.fromEntries(items.filter((x) => x.path.startsWith(modelDir ? `${modelDir}/` : ''))
      .map((x) => [x.path.slice(modelDir ? modelDir.length + 1 : 0), x.file])),
  };
}
