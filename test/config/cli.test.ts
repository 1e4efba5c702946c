import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const modelgate = (...args: string[]) => spawnSync(process.execPath, ['bin/modelgate.js', ...args], { encoding: 'utf8', timeout: 30_000 });

test('modelgate check exits 0 on the example config and 2 with every error listed as file:line', () => {
  const ok = modelgate('check', 'examples/modelgate.yaml');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /ok \(modelgate\/v1, 5 SLOs/);
  const bad = modelgate('check', 'test/config/fixtures/broken.yaml');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /broken\.yaml:5: error: slos\[0\]\.objective: /);
  assert.match(bad.stderr, /broken\.yaml:7: error: slos\[0\]\.period: /);
});

test('modelgate rules writes the rules file and --check fails when it is stale', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'rules.yaml');
  assert.equal(modelgate('rules', 'examples/modelgate.yaml', '-o', out).status, 0);
  assert.match(readFileSync(out, 'utf8'), /alert: ModelgateSLOErrorBudgetBurn/);
  assert.equal(modelgate('rules', 'examples/modelgate.yaml', '-o', out, '--check').status, 0);
  writeFileSync(out, 'groups: []\n');
  const stale = modelgate('rules', 'examples/modelgate.yaml', '-o', out, '--check');
  assert.equal(stale.status, 1);
  assert.match(stale.stderr, /out of date/);
});
