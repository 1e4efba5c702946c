import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../rollout/index.ts';
import { checkDrift, checkErrorRatio, checkLatency, checkSloBurn, checkTraffic, combine } from '../../rollout/analysis.ts';
import type { Check, CheckVerdict, TrafficStats } from '../../rollout/index.ts';
import { ANALYSIS } from './helpers.ts';

const traffic = (version: string, requests: number, errors: number, latencies: number[] = []): TrafficStats => ({ version, requests, errors, latencies });
/** n evenly spread latencies around `center` seconds (±20%), deterministic. */
const spread = (n: number, center: number): number[] => Array.from({ length: n }, (_, i) => center * (0.8 + (0.4 * i) / Math.max(1, n - 1)));

test('traffic: a canary with fewer than minRequests requests is inconclusive, never a pass', () => {
  const table: Array<[number, CheckVerdict]> = [[0, 'inconclusive'], [19, 'inconclusive'], [20, 'pass'], [500, 'pass']];
  for (const [requests, want] of table) assert.equal(checkTraffic(traffic('2', requests, 0), 20).verdict, want, `${requests} requests`);
});

test('slo burn: fails above the threshold, passes at or below it, inconclusive below minEvents', () => {
  const table: Array<[string, Array<{ burnRate: number | null; total: number }>, CheckVerdict]> = [
    ['burning SLO', [{ burnRate: 20, total: 100 }], 'fail'],
    ['exactly at the threshold', [{ burnRate: 14.4, total: 100 }], 'pass'],
    ['healthy', [{ burnRate: 0.5, total: 100 }], 'pass'],
    ['burning but too few events', [{ burnRate: 100, total: 3 }], 'inconclusive'],
    ['no traffic', [{ burnRate: null, total: 0 }], 'inconclusive'],
    ['one of two SLOs burning', [{ burnRate: 0, total: 100 }, { burnRate: 50, total: 100 }], 'fail'],
  ];
  for (const [name, readings, want] of table) {
    const c = checkSloBurn(readings.map((r, i) => ({ slo: `s${i}`, windowMs: 60_000, bad: 0, ...r })), 14.4, 10);
    assert.equal(c.verdict, want, name);
  }
});

test('slo burn: the failing reason names the SLO and its burn rate', () => {
  const c = checkSloBurn([{ slo: 'fraud-availability', windowMs: 60_000, bad: 30, total: 100, burnRate: 300 }], 14.4, 10);
  assert.match(c.reason, /fraud-availability burns at 300x/);
  assert.equal(c.values['fraud-availability.burnRate'], 300);
});

test('error ratio: canary against stable, with the allowed increase in percentage points', () => {
  const table: Array<[string, TrafficStats, TrafficStats, CheckVerdict]> = [
    ['same ratio', traffic('2', 1000, 5), traffic('1', 1000, 5), 'pass'],
    ['one point worse: allowed', traffic('2', 1000, 15), traffic('1', 1000, 5), 'pass'],
    ['two points worse', traffic('2', 1000, 25), traffic('1', 1000, 5), 'fail'],
    ['30% errors', traffic('2', 100, 30), traffic('1', 100, 0), 'fail'],
    ['canary better', traffic('2', 100, 0), traffic('1', 100, 10), 'pass'],
    ['too few canary requests', traffic('2', 5, 5), traffic('1', 100, 0), 'inconclusive'],
    ['stable silent', traffic('2', 100, 0), traffic('1', 0, 0), 'inconclusive'],
  ];
  for (const [name, c, s, want] of table) assert.equal(checkErrorRatio(c, s, 0.01, 20).verdict, want, name);
});

test('error ratio: the numbers are in the check', () => {
  const c = checkErrorRatio(traffic('2', 100, 30), traffic('1', 200, 2), 0.01, 20);
  assert.deepEqual(
    { cr: c.values['canaryErrorRatio'], sr: c.values['stableErrorRatio'], d: c.values['difference'] },
    { cr: 0.3, sr: 0.01, d: 0.29 },
  );
});

test('latency: a canary five times slower fails, with the p99 ratio and p-value reported', () => {
  const c = checkLatency(traffic('2', 100, 0, spread(100, 0.025)), traffic('1', 100, 0, spread(100, 0.005)), ANALYSIS.latency);
  assert.equal(c.verdict, 'fail');
  assert.ok((c.values['p99Ratio'] as number) > 4.5);
  assert.ok((c.values['pValue'] as number) < 1e-10);
  assert.match(c.reason, /p99/);
  assert.match(c.reason, /Mann-Whitney/);
});

test('latency: the same distribution passes', () => {
  const c = checkLatency(traffic('2', 100, 0, spread(100, 0.005)), traffic('1', 200, 0, spread(200, 0.005)), ANALYSIS.latency);
  assert.equal(c.verdict, 'pass', c.reason);
});

test('latency: a faster canary passes (the test is one-sided)', () => {
  const c = checkLatency(traffic('2', 100, 0, spread(100, 0.002)), traffic('1', 100, 0, spread(100, 0.01)), ANALYSIS.latency);
  assert.equal(c.verdict, 'pass', c.reason);
});

test('latency: a significant but tiny shift (under tolerance) passes, as Kayenta bands it', () => {
  // 10% slower, very many samples: significant, but below the 25% tolerance and 2x p99.
  const c = checkLatency(traffic('2', 2000, 0, spread(2000, 0.011)), traffic('1', 2000, 0, spread(2000, 0.01)), ANALYSIS.latency);
  assert.ok((c.values['pValue'] as number) < 0.02, 'the shift is significant');
  assert.equal(c.verdict, 'pass', c.reason);
});

test('latency: differences under minDelta never fail, however large the ratio', () => {
  const c = checkLatency(traffic('2', 100, 0, spread(100, 0.0004)), traffic('1', 100, 0, spread(100, 0.0001)), ANALYSIS.latency);
  assert.equal(c.verdict, 'pass', c.reason);
});

test('latency: too few samples on either side is inconclusive', () => {
  assert.equal(checkLatency(traffic('2', 5, 0, spread(5, 0.1)), traffic('1', 100, 0, spread(100, 0.001)), ANALYSIS.latency).verdict, 'inconclusive');
  assert.equal(checkLatency(traffic('2', 100, 0, spread(100, 0.1)), traffic('1', 0, 0, []), ANALYSIS.latency).verdict, 'inconclusive');
});

test('drift: drift fails, pass passes, inconclusive and a failing source are inconclusive', () => {
  const table: Array<[Parameters<typeof checkDrift>[0], CheckVerdict]> = [
    [{ verdict: 'drift', reason: 'label PSI 0.4' }, 'fail'],
    [{ verdict: 'pass', reason: 'no feature drifted' }, 'pass'],
    [{ verdict: 'inconclusive', reason: 'too few samples' }, 'inconclusive'],
    [{ error: 'recorder not ready' }, 'inconclusive'],
  ];
  for (const [input, want] of table) assert.equal(checkDrift(input).verdict, want);
});

test('combine: any fail fails; otherwise any inconclusive is inconclusive; nothing checked is inconclusive', () => {
  const c = (verdict: CheckVerdict): Check => ({ name: verdict, verdict, reason: '', values: {} });
  const table: Array<[CheckVerdict[], CheckVerdict]> = [
    [['pass', 'pass'], 'pass'],
    [['pass', 'inconclusive'], 'inconclusive'],
    [['inconclusive', 'fail'], 'fail'],
    [['pass', 'fail'], 'fail'],
    [[], 'inconclusive'],
  ];
  for (const [verdicts, want] of table) assert.equal(combine(verdicts.map(c)), want, verdicts.join(','));
});

test('analyze: no traffic at all is inconclusive, not a pass', () => {
  const a = analyze(ANALYSIS, 20, { atMs: 0, windowMs: 60_000, canary: traffic('2', 0, 0), stable: traffic('1', 0, 0), burn: [] });
  assert.equal(a.verdict, 'inconclusive');
  assert.deepEqual(a.notes, ['slo-burn: no SLO covers this model']);
});

test('analyze: a burning SLO fails the analysis even when the comparison has too few stable requests', () => {
  const a = analyze(ANALYSIS, 20, {
    atMs: 0,
    windowMs: 60_000,
    canary: traffic('2', 100, 40, spread(100, 0.005)),
    stable: traffic('1', 3, 0, spread(3, 0.005)),
    burn: [{ slo: 'avail', windowMs: 60_000, bad: 40, total: 100, burnRate: 400 }],
  });
  assert.equal(a.verdict, 'fail');
  assert.deepEqual(a.checks.map((c) => `${c.name}:${c.verdict}`), ['traffic:pass', 'slo-burn:fail', 'error-ratio:inconclusive', 'latency:inconclusive']);
});

test('latency: one stray slow request in a small sample does not fail (a p99 of 30 values is their maximum)', () => {
  const canary = spread(30, 0.005);
  canary[29] = 0.2; // one GC pause
  const c = checkLatency(traffic('2', 30, 0, canary), traffic('1', 30, 0, spread(30, 0.005)), ANALYSIS.latency);
  assert.equal(c.values['p99Judged'], false);
  assert.equal(c.verdict, 'pass', c.reason);
});
