import { test } from 'node:test';
import assert from 'node:assert/strict';
import { responseTensors } from '../../drift/index.ts';
import { Comparison, judgeDivergence } from '../../shadow/index.ts';

const tf = (rows: { probabilities: number[]; label: number }[]) => JSON.stringify({ predictions: rows });
const decode = (body: string) => {
  const t = responseTensors(body);
  assert.ok(t, `decodes ${body}`);
  return t;
};

test('identical answers agree on every row and column', () => {
  const c = new Comparison();
  const body = tf([{ probabilities: [0.9, 0.1], label: 0 }, { probabilities: [0.2, 0.8], label: 1 }]);
  const r = c.add(decode(body), decode(body));
  assert.deepEqual(r, { rows: 2, disagreeingRows: 0 });
  const s = c.summary();
  assert.equal(s.agreement, 1);
  assert.deepEqual(s.columns.map((x) => [x.key, x.kind, x.agreement]), [
    ['probabilities[0]', 'score', 1],
    ['probabilities[1]', 'score', 1],
    ['label', 'class', 1],
  ]);
});

test('a flipped label is a disagreeing row and shows in the flip matrix', () => {
  const c = new Comparison();
  for (let i = 0; i < 10; i++) {
    const flip = i === 3;
    c.add(decode(tf([{ probabilities: [0.9, 0.1], label: 0 }])), decode(tf([{ probabilities: flip ? [0.1, 0.9] : [0.9, 0.1], label: flip ? 1 : 0 }])));
  }
  const s = c.summary();
  assert.equal(s.rows, 10);
  assert.equal(s.disagreeingRows, 1);
  assert.ok(Math.abs(s.agreement - 0.9) < 1e-12);
  const label = s.columns.find((x) => x.key === 'label')!;
  assert.deepEqual(label.flips, [{ from: '0', to: '1', count: 1 }]);
  const p1 = s.columns.find((x) => x.key === 'probabilities[1]')!;
  assert.ok(Math.abs(p1.absDiff!.max - 0.8) < 1e-12);
  assert.equal(judgeDivergence(s, { maxDisagreement: 0.01, maxCandidateErrors: 0, minPairs: 5 }).verdict, 'fail');
  assert.equal(judgeDivergence(s, { maxDisagreement: 0.2, maxCandidateErrors: 0, minPairs: 5 }).verdict, 'pass');
  assert.equal(judgeDivergence(s, { maxDisagreement: 0.01, maxCandidateErrors: 0, minPairs: 50 }).verdict, 'inconclusive', 'too few pairs never decide');
});

test('score differences within tolerance agree; outside it they disagree', () => {
  const c = new Comparison({ outputs: [{ output: 'y', kind: 'score', absTolerance: 0.01 }], absTolerance: 0, relTolerance: 0 });
  c.add(decode('{"predictions":[1.000,2.0]}'.replace('predictions', 'outputs')), decode('{"outputs":[1.005,2.5]}'));
  // Columnar single output is named "outputs"; the rule names "y", so it is missing.
  assert.equal(c.summary().mismatched, 1);
  const d = new Comparison({ outputs: [{ output: 'outputs', kind: 'score', absTolerance: 0.01 }], absTolerance: 0, relTolerance: 0 });
  const r = d.add(decode('{"outputs":[1.0,2.0]}'), decode('{"outputs":[1.005,2.5]}'));
  assert.deepEqual(r, { rows: 2, disagreeingRows: 1 });
});

test('KServe v2 outputs are compared by name, and a shape mismatch is reported, not compared', () => {
  const v2 = (data: number[], shape: number[]) => JSON.stringify({ model_name: 'm', outputs: [{ name: 'scores', datatype: 'FP32', shape, data }] });
  const c = new Comparison();
  assert.deepEqual(c.add(decode(v2([0.5, 0.25], [2, 1])), decode(v2([0.5, 0.25], [2, 1]))), { rows: 2, disagreeingRows: 0 });
  const r = c.add(decode(v2([0.5, 0.25], [2, 1])), decode(v2([0.5, 0.25], [1, 2])));
  assert.match(r.mismatch ?? '', /scores.*\[2, 1\].*\[1, 2\]/);
  assert.equal(c.summary().rows, 2, 'the mismatched pair adds no rows');
});

test('candidate errors count against the candidate', () => {
  const c = new Comparison();
  c.add(decode('{"predictions":[1]}'), decode('{"predictions":[1]}'));
  c.addCandidateError();
  const s = c.summary();
  assert.equal(s.candidateErrorRate, 0.5);
  const v = judgeDivergence(s, { maxDisagreement: 0.01, maxCandidateErrors: 0.1, minPairs: 1 });
  assert.equal(v.verdict, 'fail');
  assert.match(v.reasons.join(), /candidate failed 50%/);
});

test('an error body or a non-JSON body is not a response to compare', () => {
  assert.equal(responseTensors('{"error":"boom"}'), undefined);
  assert.equal(responseTensors('not json'), undefined);
});
