// Delayed labels end to end: fraud predictions through the gateway's proxy in front of a
// real model server, labels posted to POST /api/v1/feedback, accuracy per version from
// GET /api/v1/accuracy and /metrics, and the accuracy SLI burning (or not) in the SLO engine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { Issues, REQUEST_ID_HEADER, TRUTH_METRIC } from '../../common/index.ts';
import type { Config } from '../../config/index.ts';
import { validateSlo } from '../../slo/index.ts';
import type { Slo } from '../../slo/index.ts';
import { validateTruthSection } from '../../truth/index.ts';
import type { TruthConfig } from '../../truth/index.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { eventually } from '../helpers/repo.ts';
import { ALL_VERSIONS, serveExampleCopies } from '../helpers/server.ts';
import type { ServerWithRepo } from '../helpers/server.ts';
import { exampleConfig, startTestGateway, withoutDrift } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';

const TOKEN = 'feedback-test-token';
const N = 500;

function accuracySlo(): Slo {
  const issues = new Issues();
  const slo = validateSlo({ name: 'fraud-accuracy', model: 'fraud', version: 'each', sli: { accuracy: { minLabels: 200 } }, objective: 99, period: '30d' }, 'slos[0]', issues);
  assert.deepEqual(issues.errors, []);
  return slo!;
}

function truthSection(): TruthConfig {
  const issues = new Issues();
  const t = validateTruthSection({ maxBatch: 300, models: { fraud: { task: 'classification', predicted: 'label', probabilities: 'probabilities', classes: ['legit', 'fraud'] } } }, 'truth', issues);
  assert.deepEqual(issues.errors, []);
  return t!;
}

interface Answer {
  id: string;
  label: number;
  probabilities: [number, number];
}

describe('feedback joins labels to the predictions the proxy saw', () => {
  let server: ServerWithRepo;
  let gw: TestGateway;
  const agent = new Agent({ connections: 8 });
  const answers: Record<'1' | '2', Answer[]> = { '1': [], '2': [] };

  const admin = (path: string, body?: unknown, token: string | null = TOKEN) =>
    request(`${gw.proxy.adminUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      dispatcher: agent,
    }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> }));

  before(async () => {
    server = await serveExampleCopies({ fraud: { policy: ALL_VERSIONS } });
    const base = exampleConfig();
    const config: Config = { ...withoutDrift(base), rollouts: [], slos: [accuracySlo()], notify: [], truth: truthSection() };
    gw = await startTestGateway(server.restUrl, { config, proxy: (p) => ({ ...p, bodies: { ...p.bodies, sampleRate: 1 }, admin: { ...p.admin, token: TOKEN } }) });
    // One row per request, ids chosen by the client, on both versions.
    for (const version of ['1', '2'] as const) {
      const rows = fraudRows(N, version === '1' ? 11 : 22);
      await Promise.all(rows.map(async (row, i) => {
        const id = `fraud-v${version}-${i}`;
        const r = await request(`${gw.proxy.restUrl}/v1/models/fraud/versions/${version}:predict`, {
          method: 'POST', body: JSON.stringify({ instances: [row] }), headers: { [REQUEST_ID_HEADER]: id }, dispatcher: agent,
        });
        const body = (await r.body.json()) as { predictions: Array<{ label: number; probabilities: [number, number] }> };
        assert.equal(r.statusCode, 200);
        assert.equal(r.headers[REQUEST_ID_HEADER], id);
        answers[version].push({ id, label: body.predictions[0]!.label, probabilities: body.predictions[0]!.probabilities });
      }));
    }
    await eventually(() => gw.truth!.counters.stored === 2 * N, 10_000, 20, 'every sampled prediction stored');
  });
  after(async () => {
    await agent.close();
    await gw?.close();
    await server?.close();
  });

  test('a feedback batch needs the admin token', async () => {
    const r = await admin('/api/v1/feedback', [{ id: 'fraud-v1-0', label: 1 }], null);
    assert.equal(r.status, 401);
  });

  test('an invalid entry answers 400 with its index and applies nothing; an oversized batch 413', async () => {
    const bad = await admin('/api/v1/feedback', [{ id: 'fraud-v1-0', label: 0 }, { id: 'fraud-v1-1', label: -1 }]);
    assert.equal(bad.status, 400);
    assert.equal(bad.body['index'], 1);
    assert.match(String(bad.body['error']), /^entry 1: "label" must be/);
    const both = await admin('/api/v1/feedback', [{ id: 'fraud-v1-0', label: 0, value: 1 }]);
    assert.equal(both.status, 400);
    assert.equal(both.body['index'], 0);
    const big = await admin('/api/v1/feedback', Array.from({ length: 301 }, (_, i) => ({ id: `x${i}`, label: 0 })));
    assert.equal(big.status, 413);
    assert.equal(gw.truth!.counters.labelledRows, 0, 'nothing was joined');
  });

  test('labels that agree on version 1 and disagree on 5% of version 2 give 100% and 95% accuracy; unknown ids are counted, not failed', async () => {
    const send = async (version: '1' | '2') => {
      const entries = answers[version].map((a, i) => ({ id: a.id, label: version === '2' && i % 20 === 0 ? ['legit', 'fraud'][1 - a.label]! : a.label }));
      for (let i = 0; i < entries.length; i += 250) {
        const r = await admin('/api/v1/feedback', entries.slice(i, i + 250));
        assert.equal(r.status, 200);
        assert.equal(r.body['matched'], 250);
      }
    };
    await send('1');
    await send('2');
    const mixed = await admin('/api/v1/feedback', [{ id: 'never-seen', label: 'fraud' }, { id: 'fraud-v1-3', label: 0 }, { id: 'fraud-v2-3', value: 1.5 }]);
    assert.equal(mixed.status, 200);
    assert.deepEqual({ matched: mixed.body['matched'], unmatched: mixed.body['unmatched'], duplicate: mixed.body['duplicate'], rejected: mixed.body['rejected'] }, { matched: 0, unmatched: 1, duplicate: 1, rejected: 1 });
    assert.deepEqual(mixed.body['unmatchedIds'], ['never-seen']);

    const acc = await admin('/api/v1/accuracy', undefined, null);
    assert.equal(acc.status, 200);
    const versions = acc.body['versions'] as Array<Record<string, unknown>>;
    const v1 = versions.find((v) => v['version'] === '1')!;
    const v2 = versions.find((v) => v['version'] === '2')!;
    assert.deepEqual([v1['labelled'], v1['accuracy'], v1['labelledShare']], [N, 1, 1]);
    assert.deepEqual([v2['labelled'], v2['accuracy']], [N, 0.95]);
    // Log loss from the probabilities the model gave the labelled class.
    const expected = answers['2'].reduce((s, a, i) => s - Math.log(Math.max(1e-15, a.probabilities[i % 20 === 0 ? 1 - a.label : a.label]!)), 0) / N;
    assert.ok(Math.abs((v2['logLoss'] as number) - expected) < 1e-4, `log loss ${v2['logLoss']} vs ${expected}`);
    const classes = v1['classes'] as Record<string, { precision: number; recall: number; support: number }>;
    assert.deepEqual(Object.keys(classes).sort(), answers['1'].some((a) => a.label === 1) ? ['fraud', 'legit'] : ['legit']);
    assert.equal(classes['legit']!.precision, 1);

    const metrics = await (await fetch(`${gw.proxy.adminUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`${TRUTH_METRIC.labelled}\\{model="fraud",version="2",correct="false"\\} 25\\b`));
    assert.match(metrics, new RegExp(`${TRUTH_METRIC.accuracy}\\{model="fraud",version="2"\\} 0.95\\b`));
  });

  test('a request id sent twice is never labelled: the label cannot be known to be for either answer', async () => {
    // Another client reuses a victim's id (order ids are guessable) with an input of its own.
    const [victim, attacker] = fraudRows(2, 99);
    for (const row of [victim, attacker]) {
      const r = await request(`${gw.proxy.restUrl}/v1/models/fraud/versions/1:predict`, { method: 'POST', body: JSON.stringify({ instances: [row] }), headers: { [REQUEST_ID_HEADER]: 'order-77' }, dispatcher: agent });
      assert.equal(r.statusCode, 200);
      await r.body.dump();
    }
    await eventually(() => gw.truth!.snapshot().store.evictions.conflict >= 1, 5_000, 20, 'the repeated id seen');
    const labelledBefore = gw.truth!.counters.labelledRows;
    const r = await admin('/api/v1/feedback', [{ id: 'order-77', label: 'fraud' }]);
    assert.equal(r.status, 200);
    assert.deepEqual([r.body['matched'], r.body['unmatched']], [0, 1]);
    assert.equal(gw.truth!.counters.labelledRows, labelledBefore, 'nothing was scored');
    const metrics = await (await fetch(`${gw.proxy.adminUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`${TRUTH_METRIC.storeEvictions}\\{reason="conflict"\\} 1\\b`));
  });

  test('the status page shows the prediction store: its size, the repeated id evicted, the unmatched ids', async () => {
    const json = (await (await fetch(`${gw.proxy.adminUrl}/status.json`)).json()) as { predictionStore: { entries: number; maxEntries: number; evictions: { conflict: number }; unmatched: number } };
    const snap = gw.truth!.snapshot();
    assert.equal(json.predictionStore.entries, snap.store.entries);
    assert.ok(json.predictionStore.entries >= 2 * N, `${json.predictionStore.entries} stored`);
    assert.equal(json.predictionStore.maxEntries, snap.settings.maxEntries);
    assert.equal(json.predictionStore.evictions.conflict, 1);
    assert.equal(json.predictionStore.unmatched, 2, 'never-seen and the repeated order-77');
    const html = await (await fetch(`${gw.proxy.adminUrl}/status`)).text();
    assert.match(html, /<span data-field="unmatched">2<\/span> unmatched ids/);
  });

  test('the accuracy SLI (99%) burns on version 2, 5x, and pages nobody on version 1', async () => {
    gw.tick();
    const slo = gw.slo.snapshot().slos.find((s) => s.name === 'fraud-accuracy')!;
    assert.equal(slo.sli, 'accuracy');
    const of = (v: string) => slo.series.find((s) => s.version === v)!;
    const w1 = of('1').windows[0]!;
    const w2 = of('2').windows[0]!;
    assert.deepEqual([w1.bad, w1.total, w1.burnRate], [0, N, 0]);
    assert.equal(w2.bad, N / 20);
    assert.equal(w2.total, N);
    assert.ok(Math.abs(w2.burnRate! - 5) < 1e-9, `burn rate ${w2.burnRate}`);
    assert.equal(of('2').alerts['ticket']!.firing, true);
    assert.equal(of('1').alerts['ticket']!.firing, false);
    assert.equal(of('1').alerts['page']!.firing, false);
  });
});
