// Requests the proxy refused before forwarding (shed, rate limited, unauthenticated,
// forbidden) never reached the model: the SLOs skip them unless an availability SLI says
// `countRejected: true`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, ManualClock } from '../../common/index.ts';
import { SloEngine } from '../../slo/engine.ts';
import { validateSlos } from '../../slo/config.ts';
import { availabilitySlo, HOUR, outcome } from './helpers.ts';

const T = 1_700_000_000_000;

function budget(countRejected: boolean | undefined, latency = false) {
  const slo = latency
    ? availabilitySlo({ name: 'fraud-latency', sli: { kind: 'latency', thresholdSeconds: 0.1 } })
    : availabilitySlo({ sli: { kind: 'availability', badCodes: ['5..'], ...(countRejected === undefined ? {} : { countRejected }) } });
  const engine = new SloEngine([slo], { clock: new ManualClock(T + HOUR) });
  for (let i = 0; i < 10; i++) engine.record(outcome(T + i, '200'));
  for (let i = 0; i < 5; i++) engine.record(outcome(T + 100 + i, '503', { rejected: 'shed', durationSeconds: 0 }));
  engine.record(outcome(T + 200, '429', { rejected: 'rate_limited', durationSeconds: 0 }));
  engine.record(outcome(T + 300, '503')); // the upstream's own 503: always counted
  return engine.evaluate()[0]!.budget;
}

test('an availability SLO skips refused requests by default: shed 503s spend no budget', () => {
  const b = budget(undefined);
  assert.equal(b.total, 11);
  assert.equal(b.bad, 1);
});

test('with countRejected they count by their code: shed 503s are bad, 429s good', () => {
  const b = budget(true);
  assert.equal(b.total, 17);
  assert.equal(b.bad, 6);
});

test('a latency SLO never counts refused requests (their zero duration would flatter it)', () => {
  assert.equal(budget(undefined, true).total, 11);
});

test('countRejected is validated and warns that Prometheus rules count forwarded requests only', () => {
  const issues = new Issues();
  const slos = validateSlos([
    { name: 'a', model: 'fraud', objective: 0.99, sli: { availability: { countRejected: true } } },
    { name: 'b', model: 'fraud', objective: 0.99, sli: { availability: { countRejected: 'yes' } } },
  ], 'slos', issues);
  assert.equal(slos[0]!.sli.kind === 'availability' && slos[0]!.sli.countRejected, true);
  assert.match(issues.errors.map((i) => i.path + ': ' + i.message).join('\n'), /slos\[1\]\.sli\.availability\.countRejected: must be true or false/);
  assert.match(issues.warnings.map((i) => i.message).join('\n'), /in-process evaluation only/);
});
