// docs/architecture.md, "Layering": no file imports itself around a cycle (type-only and
// lazy imports included), and every import of every product file stays inside what the
// layering table lets its folder import. The table is read from the document, so the
// document and the check cannot drift apart. test/, bench/, scripts/ and examples/ may
// import anything and are not checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, areaOf, findCycles, importGraph, type ImportEdge } from '../helpers/import-graph.ts';

/** Folder → what its files may import: folders (`common/`) or single files (`server/grpc/index.ts`). */
type Layering = Map<string, string[]>;

/** The "Layering" table of docs/architecture.md: `| \`folder/\` | \`a/\`, \`b/x.ts\` | why |`. */
function layeringOf(markdown: string): Layering {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Layering'));
  assert.ok(section, 'docs/architecture.md has a "## Layering" section');
  const rules: Layering = new Map();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const folder = /^`([a-z-]+)\/`$/.exec(cells[1] ?? '')?.[1];
    if (!line.startsWith('|') || !folder) continue;
    rules.set(folder, [...(cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  }
  return rules;
}

/** Every import that leaves its folder for one the table does not allow, as `file:line → target`. */
function layeringViolations(graph: Map<string, ImportEdge[]>, rules: Layering): string[] {
  const out: string[] = [];
  for (const [file, edges] of graph) {
    const own = areaOf(file);
    const allowed = rules.get(own);
    if (!allowed) {
      out.push(`${file}: its folder ${own}/ has no row in the layering table`);
      continue;
    }
    for (const e of edges) {
      if (areaOf(e.to) === own) continue;
      const ok = allowed.some((a) => (a.endsWith('/') ? e.to.startsWith(a) : e.to === a));
      if (!ok) out.push(`${file}:${e.line} → ${e.to} (${own}/ may import ${allowed.length ? allowed.join(', ') : 'nothing of ours'})`);
    }
  }
  return out;
}

const DOC = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');

test('no product file imports itself around a cycle, not even through a type-only or lazy import', () => {
  const cycles = findCycles(importGraph()).map((c) => `${[...c, c[0]].join(' → ')}`);
  assert.deepEqual(cycles, [], 'move the types the files share into a file both can import (as slo/status.ts, server/runtime/types.ts)');
});

test('every import follows the layering table of docs/architecture.md', () => {
  const rules = layeringOf(DOC);
  const violations = layeringViolations(importGraph(), rules);
  assert.deepEqual(violations, [], 'move what is shared down (into common/), or change the table in docs/architecture.md and say why');
});

test('the layering table has a row for every product folder, and common/ imports nothing of ours', () => {
  const rules = layeringOf(DOC);
  const folders = [...new Set([...importGraph().keys()].map(areaOf))].sort();
  assert.deepEqual([...rules.keys()].filter((f) => folders.includes(f)).sort(), folders);
  assert.deepEqual(rules.get('common'), []);
  assert.deepEqual(rules.get('server'), ['common/']);
  assert.deepEqual(rules.get('proxy'), ['common/']);
});

// The checks themselves, on a small tree in a temporary directory: they must see what they
// are meant to catch, or the two tests above would pass on anything.
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-imports-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test('the cycle check reports each cycle with its files, type-only, re-export and lazy imports included', (t) => {
  const dir = tree({
    'slo/engine.ts': "import type { Status } from './fleet-status.ts';\nexport class Engine {}\n",
    'slo/fleet-status.ts': "import type { Engine } from './engine.ts';\nexport type Status = 1;\n",
    'server/a.ts': "export { b } from './b.ts';\n",
    'server/b.ts': "export const b = async () => (await import('./c.js')).c;\n",
    'server/c.ts': "// import { a } from './a.ts'; is a comment, not an import\nimport './a.ts';\nexport const c = 1;\n",
    'server/d.ts': "import { a } from './a.ts';\nconst s = \"import { d } from './d.ts'\";\n",
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(findCycles(importGraph(dir)), [
    ['server/a.ts', 'server/b.ts', 'server/c.ts'],
    ['slo/engine.ts', 'slo/fleet-status.ts'],
  ]);
});

test('the layering check names the file, the line and the import the table does not allow', (t) => {
  const dir = tree({
    'common/clock.ts': "import type { X } from '../server/x.ts';\n",
    'server/x.ts': "import { clock } from '../common/clock.ts';\n\nimport type { Proxy } from '../proxy/proxy.ts';\nexport type X = 1;\n",
    'proxy/proxy.ts': "export type Proxy = 1;\n",
    'drift/grpc-bodies.ts': "import { decode } from '../server/grpc/index.ts';\nimport { run } from '../server/core/infer.ts';\n",
    'server/grpc/index.ts': 'export const decode = 1;\n',
    'server/core/infer.ts': 'export const run = 1;\n',
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rules = layeringOf(DOC);
  assert.deepEqual(layeringViolations(importGraph(dir), rules), [
    'common/clock.ts:1 → server/x.ts (common/ may import nothing of ours)',
    'drift/grpc-bodies.ts:2 → server/core/infer.ts (drift/ may import common/, server/grpc/index.ts)',
    'server/x.ts:3 → proxy/proxy.ts (server/ may import common/)',
  ]);
});
