#!/usr/bin/env node
// @ts-check
// `npm run build` (and `prepare`, which `npm ci` runs): compiles the TypeScript sources to
// dist/ with tsc (tsconfig.build.json: .ts imports rewritten to .js, source maps), copies
// the files the compiled code reads at run time (the gRPC protos), writes the worker-thread
// entry, and stamps the build with its sources (scripts/build-stamp.js).
//
//   node scripts/build.js              build into dist/ (replaced as a whole at the end)
//   node scripts/build.js --out DIR    build into DIR instead (tests)
//
// Plain JavaScript so it runs with no compiled code and no tsx.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_TSCONFIG, STAMP_FILE, fingerprint, sourceFiles } from './build-stamp.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Directories copied as they are, next to the compiled code that reads them. */
const ASSETS = ['server/grpc/protos'];

/** The worker thread's entry in the build: no tsx, the compiled worker directly. */
const WORKER_ENTRY = `// Entry point of an inference worker thread in the compiled build (written by scripts/build.js).
import './onnx-worker.js';
`;

export function build(outDir) {
  const out = resolve(outDir);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  // The stamp describes the sources as they were when the compile started: an edit made
  // during the build leaves a stamp that no longer matches, so the build counts as stale.
  const sources = fingerprint(ROOT, sourceFiles(ROOT));
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('the TypeScript compiler is not installed: the build needs the dev dependencies (npm ci without --omit=dev); deploy/Dockerfile shows how to build and then prune them');
  }
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, BUILD_TSCONFIG), '--outDir', tmp], { stdio: 'inherit' });
  // tsc exits 2 when it found type errors but wrote every output: the build is the same
  // JavaScript tsx would run, so it stands (`npm run typecheck` is the gate for types).
  if (r.status === 2) console.error('modelgate build: type errors above (run `npm run typecheck`); the JavaScript was written');
  else if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`tsc failed (exit ${r.status ?? r.signal}); nothing was written to ${out}`);
  }
  for (const dir of ASSETS) cpSync(join(ROOT, dir), join(tmp, dir), { recursive: true, filter: (src) => !src.endsWith('.md') });
  mkdirSync(join(tmp, 'server/runtime'), { recursive: true });
  writeFileSync(join(tmp, 'server/runtime/worker-entry.js'), WORKER_ENTRY);
  writeFileSync(join(tmp, STAMP_FILE), JSON.stringify({ sources }, null, 1) + '\n');
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const outDir = i > 0 ? process.argv[i + 1] : join(ROOT, 'dist');
  if (!outDir) {
    console.error('usage: node scripts/build.js [--out DIR]');
    process.exit(2);
  }
  try {
    const t0 = Date.now();
    const out = build(outDir);
    console.log(`modelgate: built ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`modelgate build: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
