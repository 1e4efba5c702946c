import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { Issues } from '../../common/index.ts';
import { validateRollouts, ROLLOUT_DEFAULTS } from '../../rollout/index.ts';

function read(yaml: string) {
  const issues = new Issues();
  const specs = validateRollouts((parse(yaml) as { rollouts: unknown }).rollouts, 'rollouts', issues);
  return { specs, issues };
}

test('a minimal rollout gets every default, each one documented in ROLLOUT_DEFAULTS', () => {
  const { specs, issues } = read('rollouts:\n  - model: fraud\n');
  assert.deepEqual(issues.list, []);
  const s = specs[0]!;
  assert.deepEqual(s.canary, { kind: 'newest' });
  assert.deepEqual(s.weights, [5, 25, 50, 100]);
  assert.equal(s.intervalMs, ROLLOUT_DEFAULTS.intervalMs);
  assert.equal(s.failureThreshold, 2);
  assert.equal(s.analysis.latency.alpha.toFixed(4), '0.0200');
  assert.equal(s.analysis.latency.tolerance, 0.25);
  assert.equal(s.analysis.errors.maxIncrease, 0.01);
  assert.equal(s.analysis.latency.minDeltaSeconds, 0.005);
});

test('the full example reads into the internal model', () => {
  const { specs, issues } = read(`
rollouts:
  - model: fraud
    canary: 2
    stable: 1
    stepWeight: 20
    maxWeight: 50
    interval: 30s
    minRequests: 100
    failureThreshold: 3
    analysis:
      slo: { maxBurnRate: 6, window: 5m, minEvents: 20 }
      errors: { maxIncrease: 0.5 }
      latency: { maxP99Ratio: 1.5, confidence: 95, tolerance: 10, minDelta: 2ms, minSamples: 30 }
      drift: { enabled: false }
    webhooks:
      - { name: smoke, type: pre-rollout, url: "http://127.0.0.1:9/smoke", timeout: 2s, metadata: { suite: fast } }
      - { name: chat, type: rollback, url: "https://hooks.example/x" }
`);
  assert.deepEqual(issues.list, []);
  const s = specs[0]!;
  assert.deepEqual(s.canary, { kind: 'version', version: '2' });
  assert.equal(s.stable, '1');
  assert.deepEqual(s.weights, [20, 40, 50]);
  assert.equal(s.intervalMs, 30_000);
  assert.deepEqual(s.analysis.slo, { enabled: true, maxBurnRate: 6, windowMs: 300_000, minEvents: 20 });
  assert.equal(s.analysis.errors.maxIncrease, 0.005);
  assert.equal(s.analysis.latency.alpha.toFixed(4), '0.0500');
  assert.equal(s.analysis.latency.minDeltaSeconds, 0.002);
  assert.equal(s.analysis.drift.enabled, false);
  assert.deepEqual(s.webhooks.map((w) => `${w.name}:${w.type}:${w.timeoutMs}`), ['smoke:pre-rollout:2000', 'chat:rollback:5000']);
  assert.deepEqual(s.webhooks[0]!.metadata, { suite: 'fast' });
});

test('every mistake is reported with its path and a fix (table)', () => {
  const table: Array<[string, string, RegExp]> = [
    ['  - model: fraud\n    weights: [5, 50, 25]', 'rollouts[0].weights[2]', /must increase/],
    ['  - model: fraud\n    weights: [0, 50]', 'rollouts[0].weights[0]', /above 0/],
    ['  - model: fraud\n    weights: [5]\n    stepWeight: 5', 'rollouts[0].weights', /not both/],
    ['  - model: fraud\n    stepWeight: 60\n    maxWeight: 50', 'rollouts[0].stepWeight', /above maxWeight/],
    ['  - model: fraud\n    stepWeight: 10', 'rollouts[0].maxWeight', /required/],
    ['  - model: fraud\n    interval: 30', 'rollouts[0].interval', /needs a unit/],
    ['  - model: fraud\n    failureThreshold: 0', 'rollouts[0].failureThreshold', />= 1/],
    ['  - model: fraud\n    canary: 1\n    stable: 1', 'rollouts[0].canary', /both "1"/],
    ['  - model: fraud\n    analysis: { latency: { confidence: 0.98 } }', 'rollouts[0].analysis.latency.confidence', /write 98, not 0.98/],
    ['  - model: fraud\n    analysis: { latncy: {} }', 'rollouts[0].analysis.latncy', /did you mean|known fields/],
    ['  - model: fraud\n    webhooks: [{ name: a, type: pre-promote, url: "http://x" }]', 'rollouts[0].webhooks[0].type', /pre-rollout, promote, rollback/],
    ['  - model: fraud\n    webhooks: [{ name: a, type: promote, url: "ftp://x" }]', 'rollouts[0].webhooks[0].url', /http:\/\/ or https:\/\//],
    ['  - model: fraud\n  - model: fraud', 'rollouts[1].model', /one rollout per model/],
    ['  - canary: 2', 'rollouts[0].model', /required/],
    ['  - model: fraud\n    failureThreshhold: 2', 'rollouts[0].failureThreshhold', /did you mean "failureThreshold"/],
  ];
  for (const [body, path, message] of table) {
    const { issues } = read(`rollouts:\n${body}\n`);
    const hit = issues.errors.find((i) => i.path === path);
    assert.ok(hit, `${JSON.stringify(body)}: expected an error at ${path}, got ${JSON.stringify(issues.list)}`);
    assert.match(hit.message, message);
  }
});

test('failureThreshold 1 is allowed with a warning that one blip rolls back', () => {
  const { issues } = read('rollouts:\n  - model: fraud\n    failureThreshold: 1\n');
  assert.equal(issues.errors.length, 0);
  assert.match(issues.warnings[0]!.message, /single failed check/);
});

test('weights written as fractions get a percentage hint', () => {
  const { issues } = read('rollouts:\n  - model: fraud\n    weights: [0.1, 0.5, 1]\n');
  assert.match(issues.warnings[0]!.message, /did you mean \[10, 50, 100\]/);
});

test('no rollouts section is no rollouts', () => {
  const issues = new Issues();
  assert.deepEqual(validateRollouts(undefined, 'rollouts', issues), []);
  assert.equal(issues.list.length, 0);
});
