#!/usr/bin/env node
// Entry point. Runs the compiled build in dist/ (`npm ci` builds it through the `prepare`
// script; `npm run build` rebuilds it). In a source checkout whose sources differ from the
// ones dist/ was built from (or with no dist/ yet), it runs the TypeScript sources through
// tsx instead, so what runs is always what is checked out.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
let entry = new URL('dist/cli/main.js', root);
if (existsSync(new URL('cli/main.ts', root))) {
  const { buildIsCurrent } = await import('../scripts/build-stamp.js');
  if (!buildIsCurrent(fileURLToPath(root), fileURLToPath(new URL('dist', root)))) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      entry = new URL('cli/main.ts', root);
    } catch {
      console.error('modelgate: dist/ is missing or older than the sources and tsx is not installed: run `npm run build`');
    }
  }
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
