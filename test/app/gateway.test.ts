import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { loadConfig } from '../../config/index.ts';
import { startServer, type RunningServer } from '../../server/index.ts';
import { startGateway, type Gateway } from '../../app/gateway.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { EXAMPLES } from '../helpers/repo.ts';

const ROOT = join(EXAMPLES, '..', '..');

describe('the gateway: proxy, SLO engine and drift recorder together, in front of the real server', () => {
  let server: RunningServer;
  let gw: Gateway;
  let agent: Agent;
  let stateDir: string;
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'modelgate-gateway-state-'));
    server = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0,
      models: [
        { name: 'fraud', basePath: join(EXAMPLES, 'fraud'), policy: { kind: 'all' }, labels: { stable: 1, canary: 2 } },
        { name: 'half_plus_two', basePath: join(EXAMPLES, 'half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
      ],
    });
    const config = loadConfig(join(ROOT, 'examples', 'modelgate.yaml'));
    const baselineDir = join(ROOT, 'examples', 'baselines');
    gw = await startGateway({
      config: { ...config, drift: config.drift && { ...config.drift, baselineDir } } as typeof config,
      tickMs: 60_000,
      stateDir,
      proxyOverride: (p) => ({ ...p, bodies: { ...p.bodies, sampleRate: 1 }, rest: { host: '127.0.0.1', port: 0, upstream: server.restUrl }, grpc: undefined, admin: { ...p.admin, port: 0 } }),
    });
    agent = new Agent({ connections: 4 });
  });
  after(async () => {
    await agent.close();
    await gw.close();
    await server.close();
    await rm(stateDir, { recursive: true, force: true });
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
    const server = await startServer({ host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0, models: [{ name: 'half_plus_two', basePath: join(EXAMPLES, 'half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
    const config = loadConfig(join(ROOT, 'examples', 'modelgate.yaml'));
    const stateDir = await mkdtemp(join(tmpdir(), 'modelgate-gateway-state-'));
    const gw = await startGateway({ config: { ...config, drift: undefined } as unknown as typeof config, tickMs: 60_000, stateDir, proxyOverride: (p) => ({ ...p, rest: { host: '127.0.0.1', port: 0, upstream: server.restUrl }, grpc: undefined, admin: { ...p.admin, port: 0 } }) });
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
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
