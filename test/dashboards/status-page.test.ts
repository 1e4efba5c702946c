import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../common/index.ts';
import { buildStatusModel, formatBurn, formatPercent, RecentAlerts, renderStatusPage, StatusHistory } from '../../proxy/status-page/index.ts';
import type { SloSnapshotLike } from '../../proxy/status-page/index.ts';

const snapshot = (model: string, remaining: number | null, burn: number | null): SloSnapshotLike => ({
  slos: [{ name: 'avail', sli: 'availability', objective: 0.999, series: [{ model, version: '1', windows: [{ window: '5m', burnRate: burn }], budget: { remaining }, alerts: { page: { firing: false }, ticket: { firing: false } }, verdict: 'pass', reason: 'ok' }] }],
});

test('numbers are formatted for reading at a glance', () => {
  const cases: Array<[string, string]> = [
    [formatPercent(1), '100.0%'],
    [formatPercent(0.8734), '87.3%'],
    [formatPercent(-19), '-1900.0%'],
    [formatPercent(null), '–'],
    [formatBurn(14.4), '14.40×'],
    [formatBurn(0), '0.00×'],
    [formatBurn(null), '–'],
    [formatBurn(Number.NaN), '–'],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
});

test('a model name with HTML in it is shown as text, not markup', () => {
  const clock = new ManualClock(Date.parse('2026-11-25T12:00:00Z'));
  const html = renderStatusPage(buildStatusModel({ slos: () => snapshot('<img src=x onerror=alert(1)>', 1, 0) }, new StatusHistory(), clock), 3_600_000);
  assert.doesNotMatch(html, /<img/);
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
});

test('a source that throws is listed as failed and the rest of the page still renders', () => {
  const clock = new ManualClock(0);
  const m = buildStatusModel({ slos: () => snapshot('fraud', 0.5, 2), drift: () => { throw new Error('recorder closed'); } }, new StatusHistory(), clock);
  assert.deepEqual(m.errors, ['drift: recorder closed']);
  assert.equal(m.slos.length, 1);
  const html = renderStatusPage(m, 3_600_000);
  assert.match(html, /recorder closed/);
  assert.match(html, /50\.0%/);
});

test('the history keeps one point per step and only the last hour', () => {
  const h = new StatusHistory(60_000, 10_000);
  for (let t = 0; t <= 120_000; t += 1_000) h.add('burn\u0000a', 'a', t, t / 1000);
  const [s] = h.series('burn\u0000', 120_000);
  assert.ok(s);
  assert.deepEqual(s.points.map((p) => p[0]), [60_000, 70_000, 80_000, 90_000, 100_000, 110_000, 120_000]);
});

test('the history ignores missing values instead of charting them as zero', () => {
  const h = new StatusHistory();
  h.add('budget\u0000a', 'a', 0, null);
  h.add('budget\u0000a', 'a', 20_000, Number.NaN);
  assert.deepEqual(h.series('budget\u0000', 20_000), []);
});

test('each page view adds a point to the burn-rate and budget charts', () => {
  const clock = new ManualClock(0);
  const history = new StatusHistory();
  for (let i = 0; i < 3; i++) {
    buildStatusModel({ slos: () => snapshot('fraud', 1 - i * 0.1, i) }, history, clock);
    clock.advance(10_000);
  }
  const m = buildStatusModel({ slos: () => snapshot('fraud', 0.7, 3) }, history, clock);
  assert.deepEqual(m.charts.burnRate[0]?.points.map((p) => p[1]), [0, 1, 2, 3]);
  assert.deepEqual(m.charts.budget[0]?.points.map((p) => p[1]), [1, 0.9, 0.8, 0.7]);
});

test('recent alerts are listed newest first and bounded', () => {
  const a = new RecentAlerts(2);
  for (let i = 0; i < 3; i++) a.record({ status: 'firing', slo: { name: 's' }, model: 'm', version: String(i), severity: 'page', startsAt: i * 1000 });
  assert.deepEqual(a.list().map((r) => r.version), ['2', '1']);
  assert.equal(a.list()[0]?.startsAt, '1970-01-01T00:00:02.000Z');
});

test('without a transition feed, alerts are derived from successive SLO snapshots: fired, then resolved', () => {
  const firingSnapshot = (firing: boolean): SloSnapshotLike => ({
    slos: [{ name: 'avail', sli: 'availability', objective: 0.99, series: [{ model: 'fraud', version: '2', windows: [], budget: { remaining: 0.5 }, alerts: { page: { firing, since: firing ? '2026-11-25T12:00:00.000Z' : null }, ticket: { firing: false, since: null } }, verdict: firing ? 'fail' : 'pass', reason: '' }] }],
  });
  const a = new RecentAlerts();
  a.observe(firingSnapshot(false), Date.parse('2026-11-25T11:59:00Z'));
  assert.deepEqual(a.list(), []);
  a.observe(firingSnapshot(true), Date.parse('2026-11-25T12:00:05Z'));
  a.observe(firingSnapshot(true), Date.parse('2026-11-25T12:00:10Z'));
  assert.deepEqual(a.list().map((r) => [r.status, r.severity, r.startsAt]), [['firing', 'page', '2026-11-25T12:00:00.000Z']]);
  a.observe(firingSnapshot(false), Date.parse('2026-11-25T12:10:00Z'));
  assert.deepEqual(a.list().map((r) => [r.status, r.startsAt, r.endsAt]), [
    ['resolved', '2026-11-25T12:00:00.000Z', '2026-11-25T12:10:00.000Z'],
    ['firing', '2026-11-25T12:00:00.000Z', null],
  ]);
});

test('a shadow step shows its candidate, how much was compared, the agreement and the column that differs most', () => {
  const clock = new ManualClock(0);
  const view = {
    model: 'fraud', candidate: '2', share: 0.2, dropped: 3,
    summary: { pairs: 480, rows: 480, agreement: 0.904, candidateErrors: 1, mismatched: 0, columns: [{ key: 'label', agreement: 0.904, rows: 480 }, { key: 'probabilities[1]', agreement: 0.95, rows: 480 }] },
  };
  const m = buildStatusModel({ shadow: () => [view] }, new StatusHistory(), clock);
  assert.deepEqual(m.shadow, [{ model: 'fraud', candidate: '2', share: 0.2, pairs: 480, rows: 480, agreement: 0.904, candidateErrors: 1, mismatched: 0, dropped: 3, worst: 'label (9.6%)' }]);
  const html = renderStatusPage(m, 3_600_000);
  assert.match(html, /data-field="shadow-agreement" data-model="fraud" data-version="2">90\.4%/);
  assert.match(html, /label \(9\.6%\)/);
  assert.match(renderStatusPage(buildStatusModel({}, new StatusHistory(), clock), 3_600_000), /No rollout is in a shadow step/);
});

test('labelled accuracy is listed per model version, classifiers by accuracy and regressions by MAE and RMSE', () => {
  const clock = new ManualClock(0);
  const scores = [
    { model: 'fraud', version: '2', task: 'classification', labelled: 500, labelledShare: 0.5, accuracy: 0.95, labelDelaySeconds: { mean: 12.5 } },
    { model: 'fraud', version: '1', task: 'classification', labelled: 500, labelledShare: 1, accuracy: 1, labelDelaySeconds: { mean: null } },
    { model: 'eta', version: '1', task: 'regression', labelled: 40, labelledShare: 0.1, mae: 0.5, rmse: 0.75, labelDelaySeconds: { mean: 3 } },
  ];
  const m = buildStatusModel({ accuracy: () => scores }, new StatusHistory(), clock);
  assert.deepEqual(m.accuracy.map((r) => [r.model, r.version, r.accuracy, r.mae]), [['eta', '1', null, 0.5], ['fraud', '1', 1, null], ['fraud', '2', 0.95, null]]);
  const html = renderStatusPage(m, 3_600_000);
  assert.match(html, /data-field="accuracy" data-model="fraud" data-version="2">95\.0%/);
  assert.match(html, /12\.5 s/);
});

test('the prediction store line shows its size, each kind of eviction and unmatched feedback; none without truth', () => {
  const clock = new ManualClock(0);
  const snapshot = { settings: { maxEntries: 100_000 }, store: { entries: 4_200, evictions: { ttl: 7, capacity: 3, conflict: 1 } }, counters: { feedbackBatches: 5, unmatched: 12, labelledRows: 900 } };
  const m = buildStatusModel({ predictionStore: () => snapshot }, new StatusHistory(), clock);
  assert.deepEqual(m.predictionStore, { entries: 4_200, maxEntries: 100_000, evictions: { ttl: 7, capacity: 3, conflict: 1 }, feedbackBatches: 5, unmatched: 12, labelledRows: 900 });
  const html = renderStatusPage(m, 3_600_000);
  assert.match(html, /<span data-field="store-entries">4200<\/span> of 100000 predictions held; evicted 7 expired, 3 for capacity, 1 for a repeated request id/);
  assert.match(html, /900 labelled rows, <span data-field="unmatched">12<\/span> unmatched ids/);
  const without = buildStatusModel({ predictionStore: () => undefined }, new StatusHistory(), clock);
  assert.equal(without.predictionStore, null);
  assert.doesNotMatch(renderStatusPage(without, 3_600_000), /Prediction store:/);
});
