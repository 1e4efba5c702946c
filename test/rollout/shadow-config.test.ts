// rollouts[].shadow: the shadow step's settings, read into fractions, with messages that say how to fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { Issues } from '../../common/index.ts';
import { validateRollouts } from '../../rollout/index.ts';

function read(yaml: string) {
  const issues = new Issues();
  const specs = validateRollouts((parse(yaml) as { rollouts: unknown }).rollouts, 'rollouts', issues);
  return { specs, issues };
}

test('a shadow step reads percentages into fractions and keeps each output rule', () => {
  const { specs, issues } = read(`
rollouts:
  - model: fraud
    shadow:
      share: 20
      duration: 10m
      minRequests: 500
      compare:
        outputs: [label, { output: probabilities, column: 1, kind: score, absTolerance: 0.01 }]
        maxDisagreement: 1
        maxCandidateErrors: 2
`);
  assert.deepEqual(issues.list, []);
  const s = specs[0]!.shadow!;
  assert.equal(s.share, 0.2);
  assert.equal(s.durationMs, 600_000);
  assert.equal(s.minRequests, 500);
  assert.equal(s.maxDisagreement, 0.01);
  assert.equal(s.maxCandidateErrors, 0.02);
  assert.deepEqual(s.compare.outputs, [{ output: 'label' }, { output: 'probabilities', column: 1, kind: 'score', absTolerance: 0.01 }]);
});

test('a rollout without shadow has no shadow step', () => {
  const { specs, issues } = read('rollouts:\n  - model: fraud\n');
  assert.deepEqual(issues.list, []);
  assert.equal(specs[0]!.shadow, undefined);
});

test('mistakes in the shadow step are reported at their path with a fix', () => {
  const table: Array<[string, string, RegExp]> = [
    ['shadow: { shar: 20 }', 'rollouts[0].shadow.shar', /did you mean "share"/],
    ['shadow: { share: 120 }', 'rollouts[0].shadow.share', /100/],
    ['shadow: { minRequests: 0 }', 'rollouts[0].shadow.minRequests', /1/],
    ['shadow: { duration: 10 }', 'rollouts[0].shadow.duration', /unit/],
    ['shadow: { compare: { maxDisagrement: 1 } }', 'rollouts[0].shadow.compare.maxDisagrement', /did you mean "maxDisagreement"/],
    ['shadow: { compare: { outputs: [{ output: label, kind: label }] } }', 'rollouts[0].shadow.compare.outputs[0].kind', /class or score/],
    ['shadow: { compare: { outputs: label } }', 'rollouts[0].shadow.compare.outputs', /must be a list/],
    ['shadow: 20', 'rollouts[0].shadow', /must be a mapping/],
  ];
  for (const [body, path, message] of table) {
    const { issues } = read(`rollouts:\n  - model: fraud\n    ${body}\n`);
    const hit = issues.errors.find((i) => i.path === path);
    assert.ok(hit, `${body}: expected an error at ${path}, got ${JSON.stringify(issues.list)}`);
    assert.match(hit.message, message);
  }
});

test('a share written as a fraction gets a percentage hint', () => {
  const { issues } = read('rollouts:\n  - model: fraud\n    shadow: { share: 0.2 }\n');
  assert.equal(issues.errors.length, 0);
  assert.match(issues.warnings[0]!.message, /did you mean 20/);
});
