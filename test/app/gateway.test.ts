import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import type { RunningServer } from '../../server/index.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { ALL_VERSIONS, exampleModel, startTestServer } from '../helpers/server.ts';
import { exampleConfig, startTestGateway, withoutDrift, type TestGateway } from '../helpers/gateway.ts';

describe('the gateway: proxy, SLO engine and drift recorder together, in front of the real server', () => {
  let server: RunningServer;
  let gw: TestGateway;
  let agent: Agent;
  before(async () => {
    server = await startTestServer([exampleModel('fraud', { policy: ALL_VERSIONS, labels: { stable: 1, canary: 2 } }), exampleModel('half_plus_two')]);
    gw = await startTestGateway(server.restUrl, { proxy: (p) => ({ ...p, bodies: { ...p.bodies, sampleRate: 1 } }) });
    agent = new Agent({ connections: 4 });
  });
  after(async () => {
    await agent.close();
    await gw.close();
    await server.close();
  });

  async function predict(version: number, rows: object[]): Promise<number> {
    const r = await request(`${gw.proxy.restUrl}/v1/models/fraud/versions/${version}:predict`, { method: 'POST', body: JSON.stringify({ instances: rows }), dispatcher: agent });
    await r.body.text();
    return r.statusCode;
  }

  test('requests through the proxy are recorded per version by the SLO engine and shown at /api/v1/slos', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await predict(2, fraudRows(4, i)), 200);
    gw.tick();
    const res = await fetch(`${gw.proxy.adminUrl}/api/v1/slos`);
    assert.equal(res.status, 200);
    const snap = (await res.json()) as { slos: { name: string; series: { version: string; windows: { total: number }[] }[] }[] };
    const avail = snap.slos.find((s) => s.name === 'fraud-availability')!;
    const v2 = avail.series.find((s) => s.version === '2')!;
    assert.equal(v2.windows[0]!.total, 5);
    const metrics = await (await fetch(`${gw.proxy.adminUrl}/metrics`)).text();
    assert.match(metrics, /modelgate_requests_total\{[^}]*model="fraud"[^}]*version="2"[^}]*\} 5/);
    assert.match(metrics, /modelgate_slo_burn_rate\{slo="fraud-availability",model="fraud",version="2",window="5m"\} 0/);
  });

  test('a shifted feature sent through the proxy fires that feature\'s drift gauge and no other', async () => {
    // Version 1 gets traffic with amounts tripled; everything else as in the baseline.
    for (let i = 0; i < 30; i++) assert.equal(await predict(1, fraudRows(20, 1000 + i, { amountScale: 3 })), 200);
    await gw.drift!.flush();
    gw.tick();
    const metrics = await (await fetch(`${gw.proxy.adminUrl}/metrics`)).text();
    const detected = /modelgate_drift_detected\{model="fraud",version="1"\} (\d)/.exec(metrics);
    assert.equal(detected?.[1], '1', 'model-level drift for version 1');
    const snap = (await (await fetch(`${gw.proxy.adminUrl}/api/v1/drift`)).json()) as any;
    const v1 = snap.models.find((m: any) => m.model === 'fraud').versions.find((v: any) => v.version === '1').last;
    assert.equal(v1.verdict, 'drift');
    const drifted: string[] = v1.driftedFeatures;
    assert.ok(drifted.includes('amount'), `amount drifted (got ${drifted})`);
    for (const f of ['account_age_days', 'tx_last_hour', 'distance_km', 'merchant_risk', 'hour_of_day', 'device_age_days', 'failed_logins']) {
      assert.ok(!drifted.includes(f), `${f} must not drift`);
    }
  });
});

describe('the gateway status page', () => {
  test('is served on the admin port without a token and shows the SLOs the JSON API lists', async () => {
    const server = await startTestServer([exampleModel('half_plus_two')]);
    const gw = await startTestGateway(server.restUrl, { config: withoutDrift(exampleConfig()) });
    try {
      await fetch(`${gw.proxy.restUrl}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances":[1]}' });
      gw.tick();
      const html = await (await fetch(`${gw.proxy.adminUrl}/status`)).text();
      assert.match(html, /half-plus-two-availability/);
      const json = (await (await fetch(`${gw.proxy.adminUrl}/status.json`)).json()) as { slos: unknown[] };
      assert.ok(json.slos.length >= 1);
    } finally {
      await gw.close();
      await server.close();
    }
  });
});
