// docs/architecture.md, "Where the areas meet": app/gateway.ts is the only runtime module
// that imports more than one other area; the commands in cli/, config/sections.ts and
// dashboards/thresholds.ts are the documented exceptions. This keeps the statement true.
// (Cycles and the layering table: test/architecture/imports.test.ts, same import graph.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { areaOf, importGraph, importsOf } from '../helpers/import-graph.ts';

const AREAS = ['server', 'proxy', 'slo', 'drift', 'rollout', 'truth', 'config', 'dashboards', 'app', 'cli'];
const DOCUMENTED = [/^app\/gateway\.ts$/, /^cli\//, /^config\/sections\.ts$/, /^dashboards\/thresholds\.ts$/];

/** The other areas a file imports from (common/ is not an area: everything may use it). */
function importedAreas(file: string): string[] {
  const own = areaOf(file);
  return [...new Set(importsOf(file).map((e) => areaOf(e.to)))].filter((a) => AREAS.includes(a) && a !== own).sort();
}

test('only app/gateway.ts and the documented places import more than one other area', () => {
  const offenders = [...importGraph().keys()]
    .filter((f) => AREAS.includes(areaOf(f)))
    .map((f) => [f, importedAreas(f)] as const)
    .filter(([f, areas]) => areas.length > 1 && !DOCUMENTED.some((re) => re.test(f)))
    .map(([f, areas]) => `${f}: ${areas.join(', ')}`);
  assert.deepEqual(offenders, [], 'update docs/architecture.md ("Where the areas meet") or move the wiring into app/');
});

test('the check sees cross-area imports (app/gateway.ts imports several areas)', () => {
  assert.ok(importedAreas('app/gateway.ts').length >= 3, importedAreas('app/gateway.ts').join(', '));
});
