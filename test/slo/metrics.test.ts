import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock, latencyBuckets } from '../../common/index.ts';
import { SloEngine } from '../../slo/engine.ts';
import { registerSloMetrics, sloLatencyThresholds } from '../../slo/metrics.ts';
import { availabilitySlo, MINUTE, outcome } from './helpers.ts';

test('the gauges show burn rate per window, budget left and alert state of the last evaluation', async () => {
  const clock = new ManualClock(10 * MINUTE);
  const engine = new SloEngine([availabilitySlo({ version: '2' })], { clock });
  const registry = new Registry();
  registerSloMetrics(registry, engine);
  for (let i = 0; i < 100; i++) engine.record(outcome(10 * MINUTE - i, i < 50 ? '503' : '200'));
  assert.doesNotMatch(await registry.metrics(), /modelgate_slo_burn_rate\{/, 'nothing before the first evaluation');
  engine.evaluate();
  const text = await registry.metrics();
  assert.match(text, /modelgate_slo_burn_rate\{slo="fraud-availability",model="fraud",version="2",window="5m"\} (500|499\.9999\d*)\n/);
  assert.match(text, /modelgate_slo_error_budget_remaining\{slo="fraud-availability",model="fraud",version="2"\} -(499|498\.9999\d*)\n/);
  assert.match(text, /modelgate_slo_alert\{slo="fraud-availability",model="fraud",version="2",severity="page"\} 1\b/);
  assert.match(text, /modelgate_slo_objective_ratio\{slo="fraud-availability"\} 0.999\b/);
});

test('series without data are left out, not exported as NaN', async () => {
  const engine = new SloEngine([availabilitySlo({ version: '2' })], { clock: new ManualClock(0) });
  const registry = new Registry();
  registerSloMetrics(registry, engine);
  engine.evaluate();
  const text = await registry.metrics();
  assert.doesNotMatch(text, /NaN/);
  assert.doesNotMatch(text, /modelgate_slo_burn_rate\{/);
  assert.match(text, /modelgate_slo_alert\{[^}]*severity="ticket"\} 0/);
});

test('latency thresholds are listed once, in seconds, ready to merge into the histogram buckets', () => {
  const slos = [
    availabilitySlo({ name: 'a', sli: { kind: 'latency', thresholdSeconds: 0.05 } }),
    availabilitySlo({ name: 'b', sli: { kind: 'latency', thresholdSeconds: 0.3 } }),
    availabilitySlo({ name: 'c', sli: { kind: 'latency', thresholdSeconds: 0.05 } }),
    availabilitySlo({ name: 'd' }),
  ];
  assert.deepEqual(sloLatencyThresholds(slos), [0.05, 0.3]);
  assert.ok(latencyBuckets(sloLatencyThresholds(slos)).includes(0.3));
});
