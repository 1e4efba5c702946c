// DriftRecorder driven the way the proxy will drive it: real TF Serving / KServe JSON bodies
// for the fraud model, against the committed example baseline (examples/baselines).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { ManualClock, DRIFT_METRIC, OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION } from '../../common/index.ts';
import { DriftRecorder, loadBaselines, registerDriftMetrics, saveBaseline, DriftErrors } from '../../drift/index.ts';
import type { BaselineProfile, BodyOffer, DriftRecorderOptions, DriftWindow, TensorOffer } from '../../drift/index.ts';
import { seededRandom } from '../../drift/random.ts';
import { FRAUD_INPUTS, fraudPredict, fraudRows } from '../../examples/data/fraud-reference.ts';
import type { FraudRow, FraudShift } from '../../examples/data/fraud-reference.ts';
import { fraudDriftConfig, kserveBodies, tfServingColumnarBodies, tfServingRowBodies } from './helpers.ts';

let baselines: BaselineProfile[] = [];
before(async () => {
  const loaded = await loadBaselines(fileURLToPath(new URL('../../examples/baselines', import.meta.url)));
  assert.deepEqual(loaded.problems, []);
  baselines = loaded.profiles;
  assert.equal(baselines.length, 1, 'the committed fraud/1 baseline is there');
});

const MINUTE = 60_000;

function recorder(extra: Record<string, unknown> = {}, options: DriftRecorderOptions = {}) {
  const clock = new ManualClock(0);
  const rec = new DriftRecorder(fraudDriftConfig(extra), { clock, baselines, ...options });
  return { rec, clock };
}

/** Sends `rows` as TF Serving row-format predicts of 10 instances each. */
function send(rec: DriftRecorder, rows: readonly FraudRow[], version = '1', bodies = tfServingRowBodies): void {
  for (let i = 0; i < rows.length; i += 10) {
    rec.offer({ model: 'fraud', version, api: 'predict', protocol: 'rest', ...bodies(rows.slice(i, i + 10)), contentType: 'application/json' });
  }
}

async function gauges(rec: DriftRecorder) {
  const registry = new Registry();
  registerDriftMetrics(registry, rec);
  const metrics = await registry.getMetricsAsJSON();
  const values = (name: string) => (metrics.find((m) => m.name === name)?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
  return {
    js: new Map(values(DRIFT_METRIC.score).filter((v) => v.labels['method'] === 'js').map((v) => [v.labels['feature'], v.value])),
    detected: values(DRIFT_METRIC.detected),
    samples: values(DRIFT_METRIC.samples),
    unparsable: values(DRIFT_METRIC.unparsable),
  };
}

/** Features whose JS gauge is at or above the 0.1 threshold (every feature's deciding method here: 5000 reference rows). */
function firing(js: Map<unknown, number>): string[] {
  return [...js].filter(([, v]) => v >= 0.1).map(([k]) => String(k)).sort();
}

test('traffic like the reference passes: no feature gauge fires, detected is 0', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(1000, 1));
  await rec.flush();
  const [v] = rec.evaluate();
  assert.equal(v!.verdict, 'pass', v!.reason);
  assert.ok(v!.features.every((f) => f.method === 'js'), 'a 5000-row reference means distances (Evidently rule)');
  const g = await gauges(rec);
  assert.deepEqual(firing(g.js), []);
  assert.equal(g.js.size, 10);
  assert.deepEqual(g.detected.map((d) => [d.labels, d.value]), [[{ model: 'fraud', version: '1' }, 0]]);
  assert.deepEqual(g.samples.map((d) => d.value), [1000]);
});

test('a bot running round the clock: only hour_of_day\'s gauge fires, and the version is flagged', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(1000, 2, { flatHours: true }));
  await rec.flush();
  const [v] = rec.evaluate();
  assert.equal(v!.verdict, 'drift');
  assert.deepEqual(v!.driftedFeatures, ['hour_of_day']);
  const g = await gauges(rec);
  assert.deepEqual(firing(g.js), ['hour_of_day']);
  assert.deepEqual(g.detected.map((d) => d.value), [1]);
});

test('prices tripled: amount drifts, and so do the predictions (prediction drift)', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(1000, 3, { amountScale: 3 }));
  await rec.flush();
  const [v] = rec.evaluate();
  assert.deepEqual(v!.driftedFeatures.sort(), ['amount', 'fraud_probability', 'label']);
});

for (const [format, bodies] of [['TF Serving columnar', tfServingColumnarBodies], ['KServe v2', kserveBodies]] as const) {
  test(`${format} bodies give the same verdict as row-format ones`, async () => {
    const a = recorder().rec;
    const b = recorder().rec;
    const rows = fraudRows(600, 4, { flatHours: true });
    send(a, rows);
    send(b, rows, '1', bodies);
    await Promise.all([a.flush(), b.flush()]);
    const [va] = a.evaluate();
    const [vb] = b.evaluate();
    assert.deepEqual(vb!.features.map((f) => [f.feature, f.score]), va!.features.map((f) => [f.feature, f.score]));
    assert.deepEqual(vb!.driftedFeatures, ['hour_of_day']);
  });
}

test('decoded gRPC tensors are recorded like JSON bodies', async () => {
  const { rec } = recorder();
  const rows = fraudRows(400, 5, { flatHours: true });
  for (let i = 0; i < rows.length; i += 20) {
    const batch = rows.slice(i, i + 20);
    const { probabilities, label } = fraudPredict(batch);
    rec.offerTensors({
      model: 'fraud',
      version: '1',
      inputs: FRAUD_INPUTS.map((name) => ({ name, shape: [batch.length], values: new Float32Array(batch.map((r) => r[name])) })),
      outputs: [
        { name: 'probabilities', shape: [batch.length, 2], values: new Float32Array(probabilities.flat()) },
        { name: 'label', shape: [batch.length], values: label.map((l) => BigInt(l)) },
      ],
    });
  }
  await rec.flush();
  const [v] = rec.evaluate();
  assert.equal(v!.samples, 400);
  assert.deepEqual(v!.driftedFeatures, ['hour_of_day']);
});

test('fewer rows than minSamples is inconclusive, and the detected gauge is absent', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(100, 6, { amountScale: 3 }));
  await rec.flush();
  const [v] = rec.evaluate();
  assert.equal(v!.verdict, 'inconclusive');
  assert.match(v!.reason, /minSamples/);
  assert.deepEqual((await gauges(rec)).detected, []);
});

test('a canary without its own baseline is held to the newest one, marked inherited', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(300, 7), '2');
  await rec.flush();
  const [v] = rec.evaluate();
  assert.equal(v!.version, '2');
  assert.deepEqual(v!.baseline && { kind: v!.baseline.kind, version: v!.baseline.version, inherited: v!.baseline.kind === 'profile' && v!.baseline.inherited }, { kind: 'profile', version: '1', inherited: true });
  assert.equal(v!.verdict, 'pass');
});

test('with no baseline the verdict is inconclusive and says how to build one', async () => {
  const { rec } = recorder({}, { baselines: [] });
  send(rec, fraudRows(300, 8));
  await rec.flush();
  const [v] = rec.evaluate();
  assert.equal(v!.verdict, 'inconclusive');
  assert.equal(v!.reason, 'no baseline: run `modelgate baseline --model fraud --version 1 --from <file>`');
});

test('bodies that cannot be parsed are counted and skipped, unknown versions ignored; offer never throws', async () => {
  const { rec } = recorder();
  rec.offer({ model: 'fraud', version: '1', requestBody: '{"instances": [', responseBody: '{}', contentType: 'application/json' });
  rec.offer({ model: 'fraud', version: '1', requestBody: Buffer.from([0xff, 0x00]), responseBody: Buffer.alloc(0), contentType: 'application/octet-stream' });
  rec.offer({ model: 'fraud', version: '1', requestBody: '{"instances": [{"amount": 1}]}', responseBody: '{"error": "overloaded"}' });
  rec.offer({ model: 'fraud', version: '1', requestBody: undefined as unknown as string, responseBody: null as unknown as string });
  rec.offer({ model: 'not-configured', version: '1', requestBody: '{}', responseBody: '{}' });
  rec.offer({ model: 'fraud', version: UNKNOWN_VERSION, requestBody: '{}', responseBody: '{}' });
  rec.offer({ model: 'fraud', version: OVERFLOW_LABEL_VALUE, requestBody: '{}', responseBody: '{}' });
  rec.offer(null as unknown as BodyOffer);
  rec.offerTensors(undefined as unknown as TensorOffer);
  await rec.flush();
  // A "body" that is not bytes at all fails in the background and is counted like bad JSON.
  assert.equal(rec.stats.unparsable, 3);
  assert.equal(rec.stats.skipped, 1);
  assert.equal(rec.stats.errors, 2, 'no offer at all is counted, not thrown');
  assert.equal(rec.stats.ignored, 3, 'an unconfigured model, an unknown and an overflow version');
  assert.deepEqual((await gauges(rec)).unparsable.map((u) => [u.labels, u.value]), [[{ model: 'fraud' }, 3]]);
});

test('offer only enqueues: nothing is parsed until the event loop turns, and a full queue drops and counts', async () => {
  const { rec } = recorder({ maxQueue: 5 });
  const { requestBody, responseBody } = tfServingRowBodies(fraudRows(10, 9));
  for (let i = 0; i < 8; i++) rec.offer({ model: 'fraud', version: '1', requestBody, responseBody });
  assert.equal(rec.stats.processed, 0);
  assert.equal(rec.stats.dropped, 3);
  await rec.flush();
  assert.equal(rec.stats.processed, 5);
});

test('a sample rate of 0.25 records about a quarter of the requests', async () => {
  const { rec } = recorder({}, { sampleRate: 0.25, random: seededRandom(42) });
  const { requestBody, responseBody } = tfServingRowBodies(fraudRows(1, 10));
  for (let i = 0; i < 1000; i++) rec.offer({ model: 'fraud', version: '1', requestBody, responseBody });
  await rec.flush();
  assert.ok(rec.stats.processed > 200 && rec.stats.processed < 300, `${rec.stats.processed} of 1000`);
  assert.equal(rec.stats.processed + rec.stats.sampledOut, 1000);
});

test('the drift SLI: each closed window is good, bad or not counted, oldest first', async () => {
  const { rec, clock } = recorder();
  const closed: DriftWindow[] = [];
  rec.onWindowClosed((w) => closed.push(w));
  send(rec, fraudRows(500, 11));
  await rec.flush();
  clock.advance(5 * MINUTE);
  send(rec, fraudRows(500, 12, { flatHours: true }));
  await rec.flush();
  clock.advance(5 * MINUTE);
  send(rec, fraudRows(50, 13));
  await rec.flush();
  clock.advance(5 * MINUTE);
  const windows = rec.windows('fraud', '1');
  assert.deepEqual(windows.map((w) => [w.startMs / MINUTE, w.verdict, w.drifted, w.samples]), [
    [0, 'pass', false, 500],
    [5, 'drift', true, 500],
    [10, 'inconclusive', null, 50],
  ]);
  assert.equal(rec.lastWindowDrifted('fraud', '1'), null);
  assert.deepEqual(closed, windows);
});

test('evaluate uses the last closed window while the new one is still filling', async () => {
  const { rec, clock } = recorder();
  send(rec, fraudRows(500, 14, { flatHours: true }));
  await rec.flush();
  clock.advance(5 * MINUTE);
  send(rec, fraudRows(20, 15));
  await rec.flush();
  const [v] = rec.evaluate();
  assert.equal(v!.verdict, 'drift');
  assert.deepEqual(v!.window, { startMs: 0, endMs: 5 * MINUTE, closed: true });
});

test('canary against stable: same distribution passes, a shifted canary drifts on that feature', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(800, 16), '1');
  send(rec, fraudRows(400, 17), '2');
  send(rec, fraudRows(400, 18, { flatHours: true }), '3');
  await rec.flush();
  const same = rec.compareVersions('fraud', '1', '2');
  assert.equal(same.verdict, 'pass', same.reason);
  assert.deepEqual(same.baseline, { kind: 'version', version: '1', samples: 800 });
  const shifted = rec.compareVersions('fraud', '1', '3');
  assert.equal(shifted.verdict, 'drift');
  assert.deepEqual(shifted.driftedFeatures, ['hour_of_day']);
  // 800 live reference rows ≤ 1000: tests, not distances, decide (Evidently's rule).
  assert.equal(shifted.features.find((f) => f.feature === 'hour_of_day')!.method, 'ks');
  assert.equal(rec.compareVersions('fraud', '1', '9').verdict, 'inconclusive');
  assert.throws(() => rec.compareVersions('nope', '1', '2'), { code: DriftErrors.DRIFT_ERR_UNKNOWN_MODEL.code });
});

test('a baseline captured from the stable version\'s live traffic is saved, reloaded, and used', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-drift-'));
  try {
    const saved: Promise<unknown>[] = [];
    const clock = new ManualClock(0);
    const config = fraudDriftConfig({}, { baseline: { from: 'live', window: '10m', minSamples: 500 } });
    const rec = new DriftRecorder(config, { clock, persistBaseline: (p) => { const s = saveBaseline(dir, p); saved.push(s); return s; } });
    rec.setStableVersion('fraud', '1');
    send(rec, fraudRows(600, 19), '1');
    await rec.flush();
    assert.match(rec.evaluate()[0]!.reason, /capturing a baseline from version 1: 600 rows/);
    clock.advance(10 * MINUTE);
    send(rec, fraudRows(100, 20), '1');
    await rec.flush();
    await Promise.all(saved);
    const reloaded = await loadBaselines(dir);
    assert.equal(reloaded.profiles.length, 1);
    assert.deepEqual(reloaded.profiles[0]!.source, { kind: 'live', version: '1', fromMs: 0, toMs: 10 * MINUTE });
    // Captured up to the first request after the window closed (600 + its 10 rows).
    assert.equal(reloaded.profiles[0]!.rows, 610);
    // A restarted recorder with the reloaded baseline judges a shifted canary against it.
    const restarted = new DriftRecorder(config, { clock, baselines: reloaded.profiles });
    send(restarted, fraudRows(600, 21, { flatHours: true }), '2');
    await restarted.flush();
    const [v] = restarted.evaluate();
    assert.equal(v!.verdict, 'drift');
    assert.ok(v!.driftedFeatures.includes('hour_of_day'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the snapshot for GET /api/v1/drift is plain JSON with scores, p-values, counts and baseline info', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(300, 22));
  await rec.flush();
  rec.evaluate();
  const snap = JSON.parse(JSON.stringify(rec.snapshot()));
  const m = snap.models[0];
  assert.equal(m.model, 'fraud');
  assert.deepEqual(m.baselines.map((b: { version: string; rows: number }) => [b.version, b.rows]), [['1', 5000]]);
  const v = m.versions[0];
  assert.equal(v.last.verdict, 'pass');
  assert.equal(v.currentWindow.rows, 300);
  const amount = v.last.features.find((f: { feature: string }) => f.feature === 'amount');
  assert.deepEqual(Object.keys(amount.scores).sort(), ['chisquare', 'chisquare_p', 'js', 'ks', 'ks_p', 'psi', 'wasserstein']);
  assert.ok(v.memoryBytes > 0 && v.memoryBytes < 2 * 10 * 9 * 1024, `${v.memoryBytes} bytes for 10 features × 2 windows`);
});

test('a forgotten version leaves the verdicts and the gauges', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(300, 23), '1');
  send(rec, fraudRows(300, 24), '2');
  await rec.flush();
  assert.deepEqual(rec.evaluate().map((v) => v.version), ['1', '2']);
  rec.forgetVersion('fraud', '2');
  assert.deepEqual(rec.evaluate().map((v) => v.version), ['1']);
  assert.deepEqual((await gauges(rec)).detected.map((d) => d.labels['version']), ['1']);
});

test('canary against stable judges split-routed rows only: shifted inputs pinned to the canary by a client do not make it drift, yet still count in its windows', async () => {
  const { rec } = recorder();
  send(rec, fraudRows(800, 16), '1');
  send(rec, fraudRows(200, 17), '2');
  // A client aiming shifted inputs at the canary's version (a /versions/2 path).
  const shifted = fraudRows(2000, 18, { flatHours: true });
  for (let i = 0; i < shifted.length; i += 10) {
    rec.offer({ model: 'fraud', version: '2', api: 'predict', protocol: 'rest', ...tfServingRowBodies(shifted.slice(i, i + 10)), contentType: 'application/json', pinned: true });
  }
  send(rec, fraudRows(200, 19), '2');
  await rec.flush();
  const v = rec.compareVersions('fraud', '1', '2');
  assert.equal(v.verdict, 'pass', v.reason);
  assert.equal(v.samples, 200, 'the split-routed rows after the first pinned one are compared');
  const own = rec.evaluate().find((e) => e.version === '2')!;
  assert.equal(own.samples, 2400, 'the version\'s own window (the drift SLI) still has every row');
});
