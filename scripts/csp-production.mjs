#!/usr/bin/env node
// The production CSP: rewrites the Content-Security-Policy of every .html
// file in DIR so that connect-src allows only 'self' and https: (the pages in
// www/ also allow loopback over http, for the tests and `npm start`).
// Fails when a page has no such policy. Used by scripts/build-dist.
//   node scripts/csp-production.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The html text with connect-src reduced to 'self' https:; throws when it has no CSP with connect-src. */
export function productionCsp(html, file = 'page') {
  let found = 0;
  const out = html.replace(/(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")/g, (m, a, csp, z) => {
    const parts = csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
      if (!/^connect-src\s/.test(d)) return d;
      found += 1;
      const kept = d.split(/\s+/).slice(1).filter((s) => s === "'self'" || s === 'https:');
      return `connect-src ${kept.join(' ')}`;
    });
    return `${a}${parts.join('; ')}${z}`;
  });
  if (!found) throw new Error(`${file}: no Content-Security-Policy with connect-src`);
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node scripts/csp-production.mjs DIR');
    process.exit(2);
  }
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.html'))) {
    const p = path.join(dir, f);
    try {
      fs.writeFileSync(p, productionCsp(fs.readFileSync(p, 'utf8'), f));
    } catch (e) {
      console.error(`csp-production: ${e.message}`);
      process.exit(1);
    }
  }
}
