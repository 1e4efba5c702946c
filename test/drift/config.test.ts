import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues } from '../../common/index.ts';
import { DRIFT_DEFAULTS, validateDriftSection } from '../../drift/index.ts';

function check(raw: unknown) {
  const issues = new Issues();
  const config = validateDriftSection(raw, 'drift', issues);
  return { config, errors: issues.errors.map((i) => `${i.path}: ${i.message}`), warnings: issues.warnings.map((i) => `${i.path}: ${i.message}`) };
}

test('a minimal section gets the documented defaults', () => {
  const { config, errors } = check({ models: { fraud: { inputs: ['amount'] } } });
  assert.deepEqual(errors, []);
  assert.equal(config.sampleRate, 1);
  assert.equal(config.window, 5 * 60_000);
  assert.deepEqual(config.thresholds, { psi: 0.2, pValue: 0.05, js: 0.1, wasserstein: 0.1 });
  assert.deepEqual(config.verdict, { rule: 'bonferroni' });
  assert.equal(config.minSamples, DRIFT_DEFAULTS.minSamples);
  assert.deepEqual(config.models[0], {
    model: 'fraud',
    features: [{ name: 'amount', source: 'input', tensor: 'amount', kind: 'numeric', method: 'auto' }],
    baseline: { from: 'file' },
  });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.models[0]!.features[0]));
});

test('an absent section is valid and disabled', () => {
  const { config, errors } = check(undefined);
  assert.deepEqual(errors, []);
  assert.equal(config.enabled, false);
});

test('outputs: a label is categorical, a probability column is numeric', () => {
  const { config } = check({ models: { fraud: { outputs: ['label', { name: 'p', output: 'probabilities', column: 1 }] } } });
  assert.deepEqual(config.models[0]!.features.map((f) => [f.name, f.tensor, f.column, f.kind]), [
    ['label', 'label', undefined, 'categorical'],
    ['p', 'probabilities', 1, 'numeric'],
  ]);
});

test('a live baseline reads its window and version', () => {
  const { config, errors } = check({ models: { fraud: { inputs: ['amount'], baseline: { from: 'live', version: 1, window: '30m', minSamples: 500 } } } });
  assert.deepEqual(errors, []);
  assert.deepEqual(config.models[0]!.baseline, { from: 'live', version: '1', window: 30 * 60_000, minSamples: 500 });
});

const problems: [string, unknown, string][] = [
  ['a snake_case key, with a did-you-mean,', { sample_rate: 1, models: {} }, 'drift.sample_rate: unknown field "sample_rate"; did you mean "sampleRate"?'],
  ['a sample rate given as a percentage', { sampleRate: 50, models: {} }, 'drift.sampleRate: must be <= 1, got 50'],
  ['a window without a unit', { window: 300, models: {} }, 'drift.window: needs a unit: write "300s" or "300ms", not 300'],
  ['a method that does not exist', { models: { m: { inputs: [{ name: 'a', method: 'energy' }] } } }, 'drift.models.m.inputs[0].method: must be one of auto, ks, chisquare, psi, js, wasserstein, got "energy"'],
  ['KS on a category', { models: { m: { outputs: [{ name: 'label', method: 'ks' }] } } }, 'drift.models.m.outputs[0].method: ks needs a numeric feature; use chisquare or js for categories'],
  ['the same feature twice', { models: { m: { inputs: ['a'], outputs: ['a'] } } }, 'drift.models.m: feature "a" is listed twice; give one of them another `name:`'],
  ['a model with no features', { models: { m: {} } }, 'drift.models.m: lists no features: add `inputs:` (e.g. [amount, merchant_risk]) and/or `outputs:`'],
  ['a share of 0', { verdict: { share: 0 }, models: {} }, "drift.verdict.share: must be above 0 (0.5 = half the features drifted, as Evidently's drift_share)"],
  ['an input named with output:', { models: { m: { inputs: [{ name: 'a', output: 'y' }] } } }, 'drift.models.m.inputs[0].output: an entry under inputs names its tensor with `input:`, not `output:`'],
];
for (const [what, raw, message] of problems) {
  test(`${what} is reported with its path`, () => {
    assert.ok(check(raw).errors.includes(message), `expected "${message}" in ${JSON.stringify(check(raw).errors)}`);
  });
}

test('every problem is reported at once', () => {
  const issues = new Issues();
  validateDriftSection({ sampleRate: 2, window: 5, thresholds: { pValue: -1 }, models: { m: { inputs: [7] } } }, 'drift', issues);
  assert.deepEqual(issues.errors.map((i) => i.path), ['drift.sampleRate', 'drift.window', 'drift.thresholds.pValue', 'drift.models.m.inputs[0]', 'drift.models.m']);
});

test('a pValue that looks like a percentage is a warning with the fix', () => {
  const { warnings } = check({ thresholds: { pValue: 0.9 }, models: {} });
  assert.deepEqual(warnings, ['drift.thresholds.pValue: is 0.9: a test level is usually 0.01–0.1; it is a probability, not a percentage']);
});
