// Finds promtool for tests that need it. In CI (CI=true) a missing promtool fails the
// test; locally the test is skipped with a loud warning (CONVENTIONS: external binaries).
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';

export function havePromtool(t: TestContext): boolean {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  if (process.env['CI'] === 'true') assert.fail('promtool is required in CI (apt-get install prometheus)');
  console.warn(`\n!!! promtool not found: skipping "${t.name}". Install it with: apt-get install -y prometheus\n`);
  t.skip('promtool not installed');
  return false;
}

export function promtool(args: string[], cwd?: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd, timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
