import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues } from '../../common/index.ts';
import { analyze, checkAccuracy } from '../../rollout/analysis.ts';
import { validateRollouts } from '../../rollout/config.ts';
import { ANALYSIS } from './helpers.ts';

const OPTS = { minLabels: 200, alpha: 0.05, maxDecrease: 0 };

test('a canary right on 90% of 400 labels against a stable right on 99% fails the accuracy check', () => {
  const c = checkAccuracy({ canary: { labelled: 400, correct: 360 }, stable: { labelled: 400, correct: 396 } }, OPTS);
  assert.equal(c.verdict, 'fail');
  // Pooled z by hand: p = 756/800, se = sqrt(p(1-p)(2/400)), z = 0.09/se.
  const p = 756 / 800;
  const z = 0.09 / Math.sqrt(p * (1 - p) * (2 / 400));
  assert.ok(Math.abs((c.values['z'] as number) - z) < 1e-4);
  assert.ok((c.values['pValue'] as number) < 1e-6);
});

test('the same accuracies below minLabels on either side are inconclusive, never a rollback', () => {
  const c = checkAccuracy({ canary: { labelled: 199, correct: 150 }, stable: { labelled: 400, correct: 396 } }, OPTS);
  assert.equal(c.verdict, 'inconclusive');
  assert.match(c.reason, /too few labelled predictions/);
});

test('a canary as accurate as stable, or more, passes; a small difference within maxDecrease passes', () => {
  assert.equal(checkAccuracy({ canary: { labelled: 300, correct: 297 }, stable: { labelled: 300, correct: 294 } }, OPTS).verdict, 'pass');
  assert.equal(checkAccuracy({ canary: { labelled: 300, correct: 300 }, stable: { labelled: 300, correct: 300 } }, OPTS).verdict, 'pass');
  assert.equal(checkAccuracy({ canary: { labelled: 5000, correct: 4900 }, stable: { labelled: 5000, correct: 4975 } }, { ...OPTS, maxDecrease: 0.02 }).verdict, 'pass');
  assert.equal(checkAccuracy({ canary: { labelled: 5000, correct: 4900 }, stable: { labelled: 5000, correct: 4975 } }, OPTS).verdict, 'fail');
});

test('analyze runs the check only when configured, and says when no label source is attached', () => {
  const inputs = { atMs: 0, windowMs: 60_000, canary: { version: '2', requests: 100, errors: 0, latencies: [] }, stable: { version: '1', requests: 100, errors: 0, latencies: [] } };
  const off = analyze({ ...ANALYSIS, latency: { ...ANALYSIS.latency, enabled: false } }, 10, { ...inputs, accuracy: { canary: { labelled: 400, correct: 300 }, stable: { labelled: 400, correct: 400 } } });
  assert.equal(off.checks.find((c) => c.name === 'accuracy'), undefined);
  const spec = { ...ANALYSIS, latency: { ...ANALYSIS.latency, enabled: false }, accuracy: { ...ANALYSIS.accuracy, enabled: true } };
  assert.equal(analyze(spec, 10, { ...inputs, accuracy: { canary: { labelled: 400, correct: 300 }, stable: { labelled: 400, correct: 400 } } }).verdict, 'fail');
  assert.ok(analyze(spec, 10, inputs).notes.some((n) => n.startsWith('accuracy: no labels source')));
});

test('rollouts[].analysis.accuracy: off unless present; confidence is a percentage', () => {
  const read = (analysis: unknown) => {
    const issues = new Issues();
    const specs = validateRollouts([{ model: 'fraud', canary: 2, analysis }], 'rollouts', issues);
    return { issues: issues.errors.map((i) => `${i.path}: ${i.message}`), accuracy: specs[0]?.analysis.accuracy };
  };
  assert.equal(read({}).accuracy?.enabled, false);
  assert.deepEqual(read({ accuracy: { minLabels: 300, confidence: 99 } }), { issues: [], accuracy: { enabled: true, minLabels: 300, alpha: 1 - 0.99, maxDecrease: 0 } });
  assert.match(read({ accuracy: { confidence: 0.95 } }).issues[0]!, /accuracy.confidence: is a percentage: write 95/);
  assert.match(read({ accuracy: { minLabel: 3 } }).issues[0]!, /unknown field "minLabel"/);
});
