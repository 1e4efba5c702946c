// `npm test`: runs every test file with `node --test`, one file at a time, each bounded in
// time, and then checks that the suite left the working tree as it found it
// (test/zz-clean-tree.test.ts, always last).
//
//   npm test                                    every test/**/*.test.ts
//   npm test -- test/config test/slo/x.test.ts  only these files or folders
//   npm test -- --test-reporter=tap             options go to `node --test`
//   MODELGATE_TEST_FILE_TIMEOUT=300 npm test    seconds one file may take (default 600)
//
// One `node --test` per file: a file that hangs (a server left open after a failed test)
// is killed with its process group when its time is up and reported, and the files after
// it still run. Before the first file, `git status` (and a hash of every untracked or ignored
// file) is written to a temporary file named by MODELGATE_TREE_SNAPSHOT; the last test
// compares.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotTree } from '../test/helpers/tree-snapshot.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAST = 'test/zz-clean-tree.test.ts';
const FILE_TIMEOUT_S = Number(process.env['MODELGATE_TEST_FILE_TIMEOUT'] ?? 600);

function testFiles(path: string): string[] {
  const abs = join(ROOT, path);
  if (!statSync(abs).isDirectory()) return [path];
  const out: string[] = [];
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const options = args.filter((a) => a.startsWith('-'));
const chosen = args.filter((a) => !a.startsWith('-')).map((a) => relative(ROOT, join(process.cwd(), a)));
const files = [...new Set((chosen.length ? chosen : ['test']).flatMap(testFiles))].filter((f) => f !== LAST).sort();
files.push(LAST);

const dir = mkdtempSync(join(tmpdir(), 'modelgate-test-run-'));
const env: NodeJS.ProcessEnv = { ...process.env };
try {
  const snapshot = join(dir, 'tree.json');
  writeFileSync(snapshot, JSON.stringify(snapshotTree(ROOT)));
  env['MODELGATE_TREE_SNAPSHOT'] = snapshot;
} catch (err) {
  console.warn(`npm test: not checking the working tree afterwards (git status failed: ${(err as Error).message.split('\n')[0]})`);
}

let current: ReturnType<typeof spawn> | undefined;
let stopping = false;
/** Signals the file's whole process group: `node --test` runs each file in a child of its own. */
const signalGroup = (signal: NodeJS.Signals) => {
  if (current?.pid === undefined) return;
  try {
    process.kill(-current.pid, signal);
  } catch {
    // already gone
  }
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    signalGroup(signal);
  });
}

function runFile(file: string): Promise<{ code: number | null; timedOut: boolean; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...options, file], { cwd: ROOT, env, stdio: 'inherit', detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGKILL');
    }, FILE_TIMEOUT_S * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code, timedOut, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const failed: string[] = [];
const timings: Array<[string, number]> = [];
try {
  for (const file of files) {
    if (stopping) break;
    const r = await runFile(file);
    timings.push([file, r.seconds]);
    if (r.timedOut) {
      failed.push(`${file} (killed after ${FILE_TIMEOUT_S} s)`);
      console.log(`npm test: ${file} did not finish within ${FILE_TIMEOUT_S} s; killed it and its processes`);
    } else if (r.code !== 0) {
      failed.push(`${file} (exit ${r.code ?? 'by signal'})`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const slowest = [...timings].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([f, s]) => `${f} ${s.toFixed(1)} s`);
const total = timings.reduce((sum, [, s]) => sum + s, 0);
console.log(`npm test: ${timings.length} files in ${total.toFixed(0)} s; slowest: ${slowest.join(', ')}`);
if (stopping) {
  console.log('npm test: interrupted');
  process.exitCode = 130;
} else if (failed.length > 0) {
  console.log(`npm test: ${failed.length} of ${timings.length} files failed:\n  ${failed.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log(`npm test: all ${timings.length} files passed`);
}
