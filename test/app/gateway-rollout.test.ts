import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { managerLabels } from '../../rollout/index.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { eventually } from '../helpers/repo.ts';
import { ALL_VERSIONS, serveExampleCopies } from '../helpers/server.ts';
import { exampleConfig, startTestGateway, withoutDrift } from '../helpers/gateway.ts';

test('modelgate start wiring: a healthy newest fraud version is rolled out step by step and promoted, moving the server label', async () => {
  const server = await serveExampleCopies({ fraud: { policy: ALL_VERSIONS, labels: { stable: 1 } } });
  const base = exampleConfig();
  // The example's rollout, with its interval compressed from 1m to 300ms and fewer requests per step.
  const rollouts = base.rollouts.map((r) => ({ ...r, intervalMs: 300, minRequests: 10, analysis: { ...r.analysis, latency: { ...r.analysis.latency, enabled: false } } }));
  const gw = await startTestGateway(server.restUrl, {
    config: withoutDrift({ ...base, rollouts }),
    tickMs: 100,
    serverLabels: managerLabels(server.manager),
    proxy: (p) => ({ ...p, splits: { fraud: { stable: '1', weight: 0 } } }),
  });
  const agent = new Agent({ connections: 4 });
  let stop = false;
  const load = (async () => {
    let seed = 0;
    while (!stop) {
      const r = await request(`${gw.proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: JSON.stringify({ instances: fraudRows(2, seed++) }), dispatcher: agent });
      await r.body.text();
    }
  })();
  try {
    const weights = new Set<number>();
    await eventually(() => {
      const split = gw.proxy.getSplit('fraud');
      if (split?.canary === '2') weights.add(split.weight);
      return gw.rollouts()?.view('fraud').phase === 'Succeeded';
    }, 30_000, 20);
    assert.ok(weights.size >= 2, `the canary went through several weights (${[...weights]})`);
    assert.deepEqual(server.manager.labels('fraud'), { stable: 2 });
    const res = await fetch(`${gw.proxy.adminUrl}/api/v1/rollouts`);
    assert.equal(res.status, 200);
    const status = await (await fetch(`${gw.proxy.adminUrl}/status.json`)).json() as { rollouts: unknown[] };
    assert.equal(status.rollouts.length, 1);
  } finally {
    stop = true;
    await load;
    await agent.close();
    await gw.close();
    await server.close();
  }
});
