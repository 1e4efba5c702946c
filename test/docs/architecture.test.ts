// docs/architecture.md, "Where the areas meet": app/gateway.ts is the only runtime module
// that imports more than one other area; the commands in cli/, config/sections.ts and
// dashboards/thresholds.ts are the documented exceptions. This keeps the statement true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const AREAS = ['server', 'proxy', 'slo', 'drift', 'rollout', 'config', 'dashboards', 'app', 'cli'];
/** Folders that are not product code (tests, benchmarks, scripts, examples, build output). */
const SKIP = new Set(['node_modules', 'test', 'bench', 'scripts', 'examples', 'dist', 'deploy', 'alerts', 'docs', 'bin']);
const DOCUMENTED = [/^app\/gateway\.ts$/, /^cli\//, /^config\/sections\.ts$/, /^dashboards\/thresholds\.ts$/];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || (dir === '.' && SKIP.has(name))) continue;
    const p = dir === '.' ? name : join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The other areas a file imports from (relative imports only). */
function importedAreas(file: string): string[] {
  const own = file.split('/')[0];
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'((?:\.\.\/)+)([a-z-]+)\//g)) {
    const depth = m[1]!.length / 3;
    // Only paths that climb to the repository root name an area.
    if (depth !== file.split('/').length - 1) continue;
    if (AREAS.includes(m[2]!) && m[2] !== own) found.add(m[2]!);
  }
  return [...found].sort();
}

test('only app/gateway.ts and the documented places import more than one other area', () => {
  const offenders = sources('.')
    .filter((f) => AREAS.includes(f.split('/')[0]!))
    .map((f) => [f, importedAreas(f)] as const)
    .filter(([f, areas]) => areas.length > 1 && !DOCUMENTED.some((re) => re.test(f)))
    .map(([f, areas]) => `${f}: ${areas.join(', ')}`);
  assert.deepEqual(offenders, [], 'update docs/architecture.md ("Where the areas meet") or move the wiring into app/');
});

test('the check sees cross-area imports (app/gateway.ts imports several areas)', () => {
  assert.ok(importedAreas('app/gateway.ts').length >= 3, importedAreas('app/gateway.ts').join(', '));
});
