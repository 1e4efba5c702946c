// The attack on a canary analysis: a client, without any token, pins failing and malformed
// requests to the canary's version (`/v1/models/fraud/versions/2:predict`) at a high rate
// next to normal traffic. Through the whole gateway (`modelgate start` wiring: proxy, SLO
// engine, rollout controller, real server on loopback), the healthy canary must still be
// promoted, while the SLOs and metrics count the pinned failures as they always did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { managerLabels } from '../../rollout/index.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { eventually } from '../helpers/repo.ts';
import { ALL_VERSIONS, serveExampleCopies } from '../helpers/server.ts';
import { exampleConfig, startTestGateway, withoutDrift } from '../helpers/gateway.ts';

/** Requests carrying this header are answered 500 by the fault fixture: a failure the client chose to aim. */
const FAIL_HEADER = 'x-test-fail';

/** Loopback forwarder to the real server that answers 500 to requests with FAIL_HEADER. */
async function faultFixture(upstream: string): Promise<{ url: string; failed: () => number; close(): Promise<void> }> {
  const target = new URL(upstream);
  let failed = 0;
  const server = createServer((req, res) => {
    if (req.headers[FAIL_HEADER] !== undefined) {
      failed++;
      req.resume();
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"injected"}');
      return;
    }
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failed: () => failed,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

test('failing and malformed requests pinned to the canary at twice the normal rate leave a healthy canary progressing and finally promoted; the SLOs still count them', async () => {
  const server = await serveExampleCopies({ fraud: { policy: ALL_VERSIONS, labels: { stable: 1 } } });
  const fault = await faultFixture(server.restUrl);
  const base = exampleConfig();
  // The example's rollout (SLO burn and error-ratio checks on) with 500 ms intervals and three steps. Latency
  // (the check and the 50 ms SLO) is judged in the rollout unit tests: on a shared 2-core
  // machine a tenth of any version's requests can take longer, end to end.
  const rollouts = base.rollouts.map((r) => ({ ...r, weights: [25, 50, 100], intervalMs: 500, minRequests: 10, analysis: { ...r.analysis, latency: { ...r.analysis.latency, enabled: false } } }));
  const slos = base.slos.filter((s) => s.name === 'fraud-availability');
  const gw = await startTestGateway(fault.url, {
    config: withoutDrift({ ...base, slos, rollouts }),
    tickMs: 100,
    serverLabels: managerLabels(server.manager),
    proxy: (p) => ({ ...p, splits: { fraud: { stable: '1', weight: 0 } } }),
  });
  const agent = new Agent({ connections: 8 });
  let stop = false;
  const statuses = new Map<string, number>();
  const loop = async (kind: string, path: string, body: (i: number) => unknown, headers: Record<string, string> = {}) => {
    let i = 0;
    while (!stop) {
      try {
        const r = await request(`${gw.proxy.restUrl}${path}`, { method: 'POST', body: JSON.stringify(body(i++)), headers: { 'content-type': 'application/json', ...headers }, dispatcher: agent });
        await r.body.text();
        statuses.set(`${kind}:${r.statusCode}`, (statuses.get(`${kind}:${r.statusCode}`) ?? 0) + 1);
      } catch {
        statuses.set(`${kind}:error`, (statuses.get(`${kind}:error`) ?? 0) + 1);
      }
    }
  };
  const pinned = '/v1/models/fraud/versions/2:predict';
  const loops = [
    loop('normal', '/v1/models/fraud:predict', (i) => ({ instances: fraudRows(2, i) })),
    loop('normal', '/v1/models/fraud:predict', (i) => ({ instances: fraudRows(2, i + 1_000_000) })),
    // The attack: failures aimed at version 2, and malformed columnar inputs whose batch sizes disagree.
    loop('failing', pinned, (i) => ({ instances: fraudRows(2, i) }), { [FAIL_HEADER]: '1' }),
    loop('failing', pinned, (i) => ({ instances: fraudRows(2, i) }), { [FAIL_HEADER]: '1' }),
    loop('failing', pinned, (i) => ({ instances: fraudRows(2, i) }), { [FAIL_HEADER]: '1' }),
    loop('malformed', pinned, () => ({ inputs: { amount: [1, 2, 3], hour_of_day: [4] } })),
  ];
  try {
    await eventually(() => ['Succeeded', 'RolledBack', 'Failed'].includes(gw.rollouts()?.view('fraud').phase ?? ''), 60_000, 20).catch((e) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(gw.rollouts()?.view('fraud'))} ${JSON.stringify([...statuses])}`);
    });
    const v = gw.rollouts()!.view('fraud');
    assert.equal(v.phase, 'Succeeded', v.reason);
    assert.deepEqual(server.manager.labels('fraud'), { stable: 2 });
    assert.deepEqual(gw.proxy.getSplit('fraud'), { stable: '2', weight: 0 });
    assert.ok(fault.failed() > 0 && (statuses.get('failing:500') ?? 0) > (statuses.get('normal:200') ?? 0), `the attack ran: ${JSON.stringify([...statuses])}`);
    // The SLO (not the rollout analysis) counted the pinned failures of version 2.
    const slo = gw.slo.burnRate('fraud-availability', 'fraud', '2', 3_600_000);
    assert.ok(slo.bad >= (statuses.get('failing:500') ?? 0) / 2, `the SLO counts pinned failures: ${JSON.stringify(slo)}`);
    // Every analysis reported the pinned traffic beside its verdict.
    // The audit line of a decision is written after its effects (rollout/effects.ts), so the
    // promotion's may land just after the phase reads Succeeded.
    const analyses = await eventually(async () => {
      const lines = (await readFile(join(gw.stateDir, 'rollouts-audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const found = lines.filter((l) => l['input'] === 'analysis');
      return found.length >= 3 && found;
    }, 5_000, 20, 'an audit line for each of the three analyses');
    assert.ok(analyses.every((a) => (a['notes'] as string[]).some((n) => n.startsWith('pinned requests'))), JSON.stringify(analyses.map((a) => a['notes'])));
  } finally {
    stop = true;
    await Promise.all(loops);
    await agent.close();
    await gw.close();
    await fault.close();
    await server.close();
  }
});
