// @ts-check
// Which sources a build was made from. `scripts/build.js` writes dist/build-stamp.json: the
// path, size and modification time of every file the build reads (tsconfig.build.json's
// `include`, the protos, the tsconfigs). bin/modelgate.js compares it with the checkout on
// each start (a directory walk and a stat per file, ~1 ms) and runs the sources through tsx
// when they differ, so an edited checkout never runs an older build.
//
// Plain JavaScript: it runs before anything is compiled and must not need tsx.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP_FILE = 'build-stamp.json';
export const BUILD_TSCONFIG = 'tsconfig.build.json';

/** Every source file of the build, relative to root, sorted. */
export function sourceFiles(root) {
  const { include } = JSON.parse(readFileSync(join(root, BUILD_TSCONFIG), 'utf8'));
  const out = ['tsconfig.json', BUILD_TSCONFIG];
  const walk = (rel) => {
    let st;
    try { st = statSync(join(root, rel)); } catch { return; }
    if (!st.isDirectory()) { out.push(rel); return; }
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (isSource(child)) out.push(child);
    }
  };
  for (const entry of include) walk(entry);
  return [...new Set(out)].sort();
}

/** TypeScript sources and the files copied next to the output (see ASSETS in build.js). */
export function isSource(rel) {
  return (rel.endsWith('.ts') && !rel.endsWith('.d.ts')) || rel.endsWith('.proto') || rel === 'server/runtime/worker-entry.js';
}

/** path -> "size:mtimeMs" for the given files. */
export function fingerprint(root, files) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const f of files) {
    const st = statSync(join(root, f));
    out[f] = `${st.size}:${st.mtimeMs}`;
  }
  return out;
}

/**
 * True when `distDir` holds a build of exactly the sources now in `root`: same files, same
 * sizes, same modification times. Any difference (a file edited, added, removed, or
 * touched by a checkout) makes it false.
 */
export function buildIsCurrent(root, distDir) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(distDir, STAMP_FILE), 'utf8'));
  } catch {
    return false;
  }
  const files = sourceFiles(root);
  const recorded = stamp?.sources ?? {};
  if (Object.keys(recorded).length !== files.length) return false;
  for (const f of files) {
    const want = recorded[f];
    if (want === undefined) return false;
    let st;
    try { st = statSync(join(root, f)); } catch { return false; }
    if (want !== `${st.size}:${st.mtimeMs}`) return false;
  }
  return true;
}
