// The rollout's accuracy check, end to end: fraud traffic through the gateway's proxy in
// front of the real server, split between stable 1 and a canary; every answer is labelled
// later (POST /api/v1/feedback) with the truth, which is what version 1 answers. A canary
// wrong on 10% of rows (examples/models.ts fraudFlipping) is rolled back on the accuracy
// check; an identical canary is promoted.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { Issues, REQUEST_ID_HEADER } from '../../common/index.ts';
import type { Config } from '../../config/index.ts';
import { managerLabels } from '../../rollout/index.ts';
import { validateTruthSection } from '../../truth/index.ts';
import { fraud, fraudFlipping } from '../../examples/models.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { TempRepo, eventually } from '../helpers/repo.ts';
import { ALL_VERSIONS, servedModel, startTestServer } from '../helpers/server.ts';
import { exampleConfig, startTestGateway, withoutDrift } from '../helpers/gateway.ts';

const TOKEN = 'accuracy-rollout-token';

function config(canary: string): Config {
  const base = exampleConfig();
  const issues = new Issues();
  const truth = validateTruthSection({ maxBatch: 1000, models: { fraud: { task: 'classification', predicted: 'label' } } }, 'truth', issues);
  assert.deepEqual(issues.errors, []);
  const rollouts = base.rollouts.map((r) => ({
    ...r,
    canary: { kind: 'version' as const, version: canary },
    weights: [50, 100],
    intervalMs: 1500,
    minRequests: 10,
    failureThreshold: 1,
    analysis: {
      ...r.analysis,
      slo: { ...r.analysis.slo, enabled: false },
      latency: { ...r.analysis.latency, enabled: false },
      // At 200 labels a side a 10-point loss is far past significance (z ≈ 4.6), so the
      // verdict does not hang on how fast a busy machine labels rows.
      accuracy: { enabled: true, minLabels: 200, alpha: 0.05, maxDecrease: 0 },
    },
  }));
  return { ...withoutDrift(base), slos: [], rollouts, truth: truth! };
}

async function rollOut(canary: string): Promise<{ phase: string; reason: string; checks: unknown }> {
  const repo = await TempRepo.create();
  await repo.writeVersion('fraud', 1, fraud(1));
  await repo.writeVersion('fraud', 2, fraudFlipping(0.1));
  await repo.writeVersion('fraud', 3, fraud(1));
  const server = await startTestServer([servedModel('fraud', repo.path('fraud'), { policy: ALL_VERSIONS, labels: { stable: 1 } })]);
  const gw = await startTestGateway(server.restUrl, {
    config: config(canary),
    tickMs: 100,
    serverLabels: managerLabels(server.manager),
    proxy: (p) => ({ ...p, bodies: { ...p.bodies, sampleRate: 1 }, admin: { ...p.admin, token: TOKEN }, splits: { fraud: { stable: '1', weight: 0 } } }),
  });
  const agent = new Agent({ connections: 8 });
  let stop = false;
  // Clients send rows; a labelling job later sends the truth for each id (what version 1 says).
  const load = (async () => {
    let seed = 0;
    while (!stop) {
      const rows = fraudRows(20, seed++);
      const labels = await Promise.all(rows.map(async (row, i) => {
        const id = `tx-${seed}-${i}`;
        const r = await request(`${gw.proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: JSON.stringify({ instances: [row] }), headers: { [REQUEST_ID_HEADER]: id }, dispatcher: agent });
        await r.body.text();
        const truth = await request(`${server.restUrl}/v1/models/fraud/versions/1:predict`, { method: 'POST', body: JSON.stringify({ instances: [row] }), dispatcher: agent });
        const label = ((await truth.body.json()) as { predictions: Array<{ label: number }> }).predictions[0]!.label;
        return { id, label };
      }));
      const fb = await request(`${gw.proxy.adminUrl}/api/v1/feedback`, { method: 'POST', body: JSON.stringify(labels), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, dispatcher: agent });
      assert.equal(fb.statusCode, 200, await fb.body.text());
      if (fb.statusCode === 200) await fb.body.dump();
    }
  })();
  try {
    await eventually(() => ['Succeeded', 'RolledBack', 'Failed'].includes(gw.rollouts()?.view('fraud').phase ?? ''), 60_000, 50, 'a finished rollout');
    const v = gw.rollouts()!.view('fraud');
    return { phase: v.phase, reason: v.reason, checks: v.lastAnalysis?.checks };
  } finally {
    stop = true;
    await load;
    await agent.close();
    await gw.close();
    await server.close();
    await repo.remove();
  }
}

describe('the rollout accuracy check against labels that arrive later', () => {
  test('a canary wrong on 10% of labelled rows while stable is right is rolled back on accuracy', async () => {
    const r = await rollOut('2');
    assert.equal(r.phase, 'RolledBack', `${r.reason} ${JSON.stringify(r.checks)}`);
    assert.match(r.reason, /accuracy: canary accuracy \d+(\.\d+)?% is below stable's 100%/);
  });

  test('an identical canary passes the accuracy check and is promoted', async () => {
    const r = await rollOut('3');
    assert.equal(r.phase, 'Succeeded', `${r.reason} ${JSON.stringify(r.checks)}`);
  });
});
