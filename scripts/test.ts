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
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
/** Unless the caller chose reporters, each file also writes TAP to a file of its own, whose
 * closing counts are summed into one closing summary for the whole suite. */
const tally = !options.some((o) => o.startsWith('--test-reporter'));
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

const COUNTS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'] as const;
type Counts = Record<(typeof COUNTS)[number], number>;
const totals: Counts = { tests: 0, suites: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };

/** The closing `# tests N` ... lines of one file's TAP output; undefined when it has none. */
function readCounts(tapFile: string): Counts | undefined {
  if (!existsSync(tapFile)) return undefined;
  const counts: Partial<Counts> = {};
  for (const line of readFileSync(tapFile, 'utf8').split('\n')) {
    const m = /^# (\w+) (\d+)$/.exec(line);
    if (m && (COUNTS as readonly string[]).includes(m[1]!)) counts[m[1] as keyof Counts] = Number(m[2]);
  }
  return counts.tests === undefined ? undefined : (Object.fromEntries(COUNTS.map((k) => [k, counts[k] ?? 0])) as Counts);
}

let fileNo = 0;
function runFile(file: string): Promise<{ code: number | null; timedOut: boolean; seconds: number; tap?: string }> {
  const started = Date.now();
  const tap = tally ? join(dir, `file-${++fileNo}.tap`) : undefined;
  const reporters = tap
    ? ['--test-reporter', process.stdout.isTTY ? 'spec' : 'tap', '--test-reporter-destination', 'stdout', '--test-reporter', 'tap', '--test-reporter-destination', tap]
    : [];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...reporters, ...options, file], { cwd: ROOT, env, stdio: 'inherit', detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGKILL');
    }, FILE_TIMEOUT_S * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code, timedOut, seconds: (Date.now() - started) / 1000, ...(tap ? { tap } : {}) });
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
    if (r.tap) {
      const counts = readCounts(r.tap);
      if (counts) for (const k of COUNTS) totals[k] += counts[k];
      // A file killed or crashed before its summary still counts as one failed test.
      if (!counts || r.timedOut) {
        totals.tests += 1;
        totals.fail += 1;
      }
    }
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
const suiteMs = timings.reduce((sum, [, sec]) => sum + sec * 1000, 0);

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
if (tally) {
  // The whole suite's closing summary, in node --test's own form (summed over every file).
  console.log(`# all ${timings.length} files`);
  for (const k of COUNTS) console.log(`# ${k} ${totals[k]}`);
  console.log(`# duration_ms ${suiteMs.toFixed(3)}`);
}
