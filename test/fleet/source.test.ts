// PrometheusSloSource against a stand-in Prometheus on loopback: which queries it sends,
// at which instant, how it turns answers into statuses, and that every way the source can
// fail makes the verdict inconclusive with the reason (never pass, never fail).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../common/index.ts';
import { PrometheusSloSource, errorRatioExpr, requestsExpr } from '../../slo/index.ts';
import type { AlertTransition, Slo } from '../../slo/index.ts';
import { availabilitySlo } from '../slo/helpers.ts';
import { closedUrl, startFakePrometheus } from './fake-prometheus.ts';
import type { FakeData, FakePrometheus } from './fake-prometheus.ts';

const T0 = 1_700_000_000_000;
const SLO: Slo = availabilitySlo({
  name: 'fraud-availability',
  objective: 0.99,
  periodMs: 3_600_000,
  alerting: {
    minEvents: 5,
    labels: {},
    windows: [
      { severity: 'page', longMs: 20_000, shortMs: 5_000, factor: 14.4 },
      { severity: 'ticket', longMs: 40_000, shortMs: 10_000, factor: 3 },
    ],
  },
});
const WINDOWS = ['5s', '10s', '20s', '40s', '1h'];

/** The same numbers in every window: version 1 healthy, version 2 failing 30%. */
function uniform(rows: Record<string, { total: number; ratio: number | string }>): FakeData {
  return Object.fromEntries(WINDOWS.map((w) => [w, rows]));
}
/** 30% errors against a 99% objective, computed the way the engine does (ratio / (1 - objective)). */
const BURN_30 = 0.3 / (1 - 0.99);
const HEALTHY_AND_BROKEN = uniform({ '1': { total: 200, ratio: 0 }, '2': { total: 100, ratio: 0.3 } });

describe('the Prometheus SLO source', () => {
  let prom: FakePrometheus;
  before(async () => {
    prom = await startFakePrometheus({ kind: 'data', model: 'fraud', data: HEALTHY_AND_BROKEN });
  });
  after(() => prom.close());

  test('asks Prometheus exactly the rule generator\'s queries, for every window and the period', async () => {
    prom.mode = { kind: 'data', model: 'fraud', data: HEALTHY_AND_BROKEN };
    prom.queries.length = 0;
    await new PrometheusSloSource([SLO], { url: prom.url, clock: new ManualClock(T0) }).evaluate();
    const expected = [5_000, 10_000, 20_000, 40_000, 3_600_000].flatMap((w) => [errorRatioExpr(SLO, w), requestsExpr(SLO, w)]);
    assert.deepEqual(prom.queries.map((q) => q.query).sort(), expected.sort());
  });

  test('turns the fleet\'s counts into one status per version with the engine\'s verdicts', async () => {
    prom.mode = { kind: 'data', model: 'fraud', data: HEALTHY_AND_BROKEN };
    const statuses = await new PrometheusSloSource([SLO], { url: prom.url, clock: new ManualClock(T0) }).evaluate();
    const v = Object.fromEntries(statuses.map((s) => [s.version, s]));
    assert.deepEqual(Object.keys(v).sort(), ['1', '2']);
    assert.equal(v['1']!.verdict, 'pass');
    assert.equal(v['2']!.verdict, 'fail');
    assert.equal(v['2']!.reason, 'burn-rate alert firing: page, ticket');
    assert.deepEqual(v['2']!.windows.map((w) => [w.window, w.total, w.bad, w.burnRate]), [
      ['5s', 100, 30, BURN_30],
      ['10s', 100, 30, BURN_30],
      ['20s', 100, 30, BURN_30],
      ['40s', 100, 30, BURN_30],
    ]);
    assert.equal(v['2']!.budget.total, 100);
  });

  test('replicas evaluating within the same second query the same instant', async () => {
    prom.mode = { kind: 'data', model: 'fraud', data: HEALTHY_AND_BROKEN };
    prom.queries.length = 0;
    const a = new PrometheusSloSource([SLO], { url: prom.url, clock: new ManualClock(T0 + 12_300) });
    const b = new PrometheusSloSource([SLO], { url: prom.url, clock: new ManualClock(T0 + 12_900) });
    const [sa, sb] = await Promise.all([a.evaluate(), b.evaluate()]);
    assert.deepEqual(new Set(prom.queries.map((q) => q.time)), new Set([(T0 + 12_000) / 1000]));
    assert.deepEqual(sa, sb);
  });

  test('an offset moves the instant back, still aligned', () => {
    const s = new PrometheusSloSource([SLO], { url: prom.url, clock: new ManualClock(T0 + 12_300), offsetMs: 2_000, alignMs: 5_000 });
    assert.equal(s.instant(), T0 + 10_000);
  });

  test('no requests in a window (Prometheus\' 0/0 = NaN) is no data, not a source problem', async () => {
    prom.mode = { kind: 'data', model: 'fraud', data: uniform({ '2': { total: 0, ratio: 'NaN' } }) };
    const source = new PrometheusSloSource([SLO], { url: prom.url, clock: new ManualClock(T0) });
    const [s] = await source.evaluate();
    assert.equal(s!.verdict, 'inconclusive');
    assert.equal(s!.reason, '0 events in the last 20s, fewer than minEvents 5');
    assert.equal(source.health().ok, true);
  });

  test('alerts fire once and resolve once across evaluations', async () => {
    const transitions: AlertTransition[] = [];
    const clock = new ManualClock(T0);
    const source = new PrometheusSloSource([SLO], { url: prom.url, clock, onTransition: (t) => transitions.push(t) });
    prom.mode = { kind: 'data', model: 'fraud', data: uniform({ '2': { total: 100, ratio: 0.3 } }) };
    await source.evaluate();
    clock.advance(1000);
    await source.evaluate();
    prom.mode = { kind: 'data', model: 'fraud', data: uniform({ '2': { total: 100, ratio: 0 } }) };
    clock.advance(1000);
    await source.evaluate();
    assert.deepEqual(transitions.map((t) => `${t.status} ${t.severity} ${t.version}`), ['firing page 2', 'firing ticket 2', 'resolved page 2', 'resolved ticket 2']);
  });

  test('rollout analysis: a new window is read from the next evaluation, then answered until it is stale', async () => {
    prom.mode = { kind: 'data', model: 'fraud', data: { ...HEALTHY_AND_BROKEN, '2m': { '2': { total: 50, ratio: 0.1 } } } };
    const clock = new ManualClock(T0);
    const source = new PrometheusSloSource([SLO], { url: prom.url, clock, maxReadingAgeMs: 15_000 });
    await source.evaluate();
    assert.equal(source.burnRate('fraud-availability', 'fraud', '2', 20_000).burnRate, BURN_30);
    assert.throws(() => source.burnRate('fraud-availability', 'fraud', '2', 120_000), { code: 'SLO_ERR_SOURCE_UNAVAILABLE' });
    await source.evaluate();
    const r = source.burnRate('fraud-availability', 'fraud', '2', 120_000);
    assert.deepEqual([r.total, r.bad, r.burnRate], [50, 5, 0.1 / (1 - 0.99)]);
    assert.equal(source.burnRate('fraud-availability', 'fraud', '7', 120_000).burnRate, null, 'an unseen version is no data');
    clock.advance(16_000);
    assert.throws(() => source.burnRate('fraud-availability', 'fraud', '2', 120_000), { code: 'SLO_ERR_SOURCE_UNAVAILABLE', message: /old/ });
    assert.throws(() => source.burnRate('nope', 'fraud', '2', 120_000), { code: 'SLO_ERR_UNKNOWN_SLO' });
    assert.throws(() => source.burnRate('fraud-availability', 'fraud', '2', 7_200_000), { code: 'SLO_ERR_BAD_WINDOW' });
  });

  // Only the hang case is about the timeout; the others get one a busy machine cannot miss.
  const FAILURES: Array<{ name: string; mode: FakePrometheus['mode']; reason: RegExp; timeoutMs?: number }> = [
    { name: 'a query error', mode: { kind: 'status', status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }) }, reason: /query failed \(HTTP 400, bad_data\): parse error at char 3/ },
    { name: 'Prometheus overloaded (503 with a JSON error)', mode: { kind: 'status', status: 503, body: JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'too many queries' }) }, reason: /HTTP 503, unavailable/ },
    { name: 'a proxy in front answering HTML', mode: { kind: 'status', status: 502, body: '<html>Bad Gateway</html>' }, reason: /HTTP 502 with a body that is not JSON/ },
    { name: 'a NaN error ratio with requests', mode: { kind: 'data', model: 'fraud', data: uniform({ '2': { total: 100, ratio: 'NaN' } }) }, reason: /error ratio of NaN for fraud version 2/ },
    { name: 'an infinite request count', mode: { kind: 'data', model: 'fraud', data: uniform({ '2': { total: Infinity, ratio: 0 } }) }, reason: /Infinity requests/ },
    { name: 'no answer within the timeout', mode: { kind: 'hang' }, reason: /did not answer within 1000 ms/, timeoutMs: 1000 },
  ];
  for (const f of FAILURES) {
    test(`${f.name} makes the verdict inconclusive with the reason, and an open page neither resolves nor re-fires`, async () => {
      // First a good evaluation that opens the page for version 2, then the failure.
      prom.mode = { kind: 'data', model: 'fraud', data: uniform({ '2': { total: 100, ratio: 0.3 } }) };
      const transitions: AlertTransition[] = [];
      const clock = new ManualClock(T0);
      const source = new PrometheusSloSource([SLO], { url: prom.url, clock, timeoutMs: f.timeoutMs ?? 10_000, onTransition: (t) => transitions.push(t) });
      await source.evaluate();
      const opened = transitions.length;
      prom.mode = f.mode;
      clock.advance(1000);
      const statuses = await source.evaluate();
      const health = source.health();
      assert.equal(health.ok, false);
      assert.match(health.problems['fraud-availability']!, f.reason);
      assert.equal(statuses.length, 1);
      assert.equal(statuses[0]!.verdict, 'inconclusive');
      assert.match(statuses[0]!.reason, f.reason);
      assert.equal(statuses[0]!.alerts.page.firing, true, 'no resolve while blind');
      assert.equal(transitions.length, opened, 'no transition while blind');
      assert.throws(() => source.burnRate('fraud-availability', 'fraud', '2', 20_000), { code: 'SLO_ERR_SOURCE_UNAVAILABLE' });
    });
  }

  test('Prometheus down: a pinned version is listed as inconclusive, with the connection error', async () => {
    const source = new PrometheusSloSource([{ ...SLO, version: '2' }], { url: await closedUrl(), clock: new ManualClock(T0), timeoutMs: 500 });
    const statuses = await source.evaluate();
    assert.deepEqual(statuses.map((s) => [s.version, s.verdict]), [['2', 'inconclusive']]);
    assert.match(statuses[0]!.reason, /unreachable: ECONNREFUSED/);
  });
});
