// The command line and the repository root of the bench-browser scripts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This folder, and the repository's root. */
export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');

const args = process.argv.slice(2);
/** The value after option `name` on the command line, or dflt. */
export const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
/** Whether the bare option `name` (e.g. --quick) is on the command line. */
export const flag = (name) => args.includes(name);
/** Every value given after option `name`. */
export const opts = (name) => args.flatMap((a, i) => (a === name && i + 1 < args.length ? [args[i + 1]] : []));
/**
 * With `--json FILE` on the command line, writes `data` there as JSON (for
 * scripts/bench-browser/targets.mjs); without it, does nothing.
 */
export const writeJson = (data) => {
  const file = opt('--json', null);
  if (file) fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
};
