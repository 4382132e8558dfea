// node scripts/check-relative-urls.mjs DIR: every relative URL that a page
// or module of DIR loads names a file in DIR. Checked: src= and href= in
// the html, and in the js static imports (`from '…'`, `import '…'`),
// dynamic `import('…')` and `new URL('…', import.meta.url)` (the workers'
// and the wasm's addresses), each resolved from its own file. Comment lines
// are skipped. Prints each broken reference; exits 1 if there is one.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? '.');

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

const PATTERNS = {
  '.html': [/\b(?:src|href)\s*=\s*"([^"]*)"/g],
  '.js': [
    /^\s*(?:import|export|\})[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bnew\s+URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
  ],
};

let bad = 0;
let checked = 0;
for (const file of walk(root)) {
  const patterns = PATTERNS[path.extname(file)];
  if (!patterns) continue;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, k) => {
    if (/^\s*(\/\/|\/?\*|<!--)/.test(line)) return;
    for (const re of patterns) {
      for (const m of line.matchAll(re)) {
        const ref = m[1];
        if (!ref || /^(?:[a-z][a-z0-9+.-]*:|#|\/\/)/i.test(ref)) continue; // another scheme, a fragment
        const target = path.resolve(path.dirname(file), ref.split(/[?#]/)[0]);
        checked++;
        if (!target.startsWith(root + path.sep) || !fs.existsSync(target) || !fs.statSync(target).isFile()) {
          console.error(`check-relative-urls: ${path.relative(root, file)}:${k + 1}: ${ref} <- no such file in ${path.basename(root)}/`);
          bad = 1;
        }
      }
    }
  });
}
if (bad) process.exit(1);
console.log(`check-relative-urls: ${checked} relative URLs in ${path.basename(root)}/ resolve`);
