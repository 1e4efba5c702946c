// `npm test`: runs the suite with node:test, one file at a time, and then checks that the
// suite left the working tree as it found it (test/zz-clean-tree.test.ts, always last).
//
//   npm test                                  every test/**/*.test.ts
//   npm test -- test/config test/slo/x.test.ts  only these files or folders
//   npm test -- --test-reporter=tap           options go to `node --test`
//
// Before the suite starts, `git status` (and a hash of every untracked or ignored file) is
// written to a temporary file named by MODELGATE_TREE_SNAPSHOT; the last test compares.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotTree } from '../test/helpers/tree-snapshot.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAST = 'test/zz-clean-tree.test.ts';

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

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...options, ...files], { cwd: ROOT, env, stdio: 'inherit' });
const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
process.on('SIGINT', forward('SIGINT'));
process.on('SIGTERM', forward('SIGTERM'));
child.on('exit', (code, signal) => {
  rmSync(dir, { recursive: true, force: true });
  process.exitCode = code ?? (signal ? 1 : 0);
});
