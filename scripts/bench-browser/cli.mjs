// Command-line options of the browser benchmarks (run.mjs, reads.mjs).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This folder, and the repository's root. */
export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');

/** The value after `--name` on the command line, or `dflt`. */
export function opt(name, dflt) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
