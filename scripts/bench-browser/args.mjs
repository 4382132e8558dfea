// The command line and the repository root of the bench-browser scripts.
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
/** Every value given after option `name`. */
export const opts = (name) => args.flatMap((a, i) => (a === name && i + 1 < args.length ? [args[i + 1]] : []));
