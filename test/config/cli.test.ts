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

test('modelgate check names unsupported SLO formats and warns about windows too short to scrape', () => {
  const windows = modelgate('check', 'test/config/fixtures/sloth-windows-7d.yaml');
  assert.equal(windows.status, 2);
  assert.match(windows.stderr, /sloth-windows-7d\.yaml:2: error: \(top\): format Sloth AlertWindows is not supported .*convert it with: period: 7d and alerting: \{ windows: \[/);
  assert.doesNotMatch(windows.stderr, /unknown top-level section/);
  const openslo = modelgate('check', 'test/config/fixtures/openslo.yaml');
  assert.equal(openslo.status, 0, openslo.stderr);
  assert.match(openslo.stderr, /openslo\.yaml:37: warning: docs\[3\]\.spec\.timeWindow\[0\]\.duration \(as slos\[1\]\.period\): the shortest alert window is 1m10s.*use period: 24d or longer/);
});

test('modelgate rules on a Sloth file with both alerts of an SLO disabled writes its recording rules and no alert for it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'rules.yaml');
  const r = modelgate('rules', 'test/config/fixtures/sloth-multifile.yaml', '-o', out);
  assert.equal(r.status, 0, r.stderr);
  const groups = readFileSync(out, 'utf8').split(/\n *- name: /);
  const ranker = groups.find((g) => g.startsWith('modelgate-slo-ranker-requests-latency'))!;
  const fraud = groups.find((g) => g.startsWith('modelgate-slo-fraud-requests-availability'))!;
  assert.ok(ranker && fraud, groups.map((g) => g.slice(0, 60)).join('\n'));
  assert.doesNotMatch(ranker, /alert: /);
  assert.match(ranker, /record: modelgate:slo_errors:ratio_rate5m/);
  assert.match(ranker, /record: modelgate:slo_errors:ratio_rate3d/);
  assert.match(fraud, /alert: ModelgateSLOErrorBudgetBurn/);
  assert.match(fraud, /category: availability/);
});
