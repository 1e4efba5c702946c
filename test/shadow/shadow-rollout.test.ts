// A rollout that starts with a shadow step, end to end: TF Serving REST, KServe v2 REST and
// TF Serving gRPC clients through the gateway's proxy in front of the real server, stable 1
// answering every client while a share of its requests is mirrored to the candidate and the
// answers compared. A candidate wrong on 10% of rows (examples/models.ts fraudFlipping) is rolled back in the shadow step
// with the divergence reason before any client gets an answer from it; an identical one
// passes and is promoted.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { Issues, SERVER_METRIC, SHADOW_METRIC } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import type { Config } from '../../config/index.ts';
import { managerLabels } from '../../rollout/index.ts';
import { readShadowStep } from '../../shadow/index.ts';
import { servingServices } from '../../server/grpc/protos.ts';
import { fraud, fraudFlipping } from '../../examples/models.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { TempRepo, eventually } from '../helpers/repo.ts';
import { ALL_VERSIONS, servedModel, startTestServer } from '../helpers/server.ts';
import { exampleConfig, startTestGateway, withoutDrift } from '../helpers/gateway.ts';
import { parseMetrics, sample } from '../proxy/helpers.ts';
import { fraudPredictRequest } from './fraud-grpc.ts';

function config(canary: string): Config {
  const base = exampleConfig();
  const issues = new Issues();
  const shadow = readShadowStep({ share: 50, duration: '1500ms', minRequests: 150, compare: { maxDisagreement: 1, maxCandidateErrors: 1 } }, 'rollouts[0].shadow', issues);
  assert.deepEqual(issues.errors, []);
  const rollouts = base.rollouts.map((r) => ({
    ...r,
    canary: { kind: 'version' as const, version: canary },
    weights: [50, 100],
    intervalMs: 1000,
    minRequests: 10,
    analysis: { ...r.analysis, slo: { ...r.analysis.slo, enabled: false }, latency: { ...r.analysis.latency, enabled: false } },
    shadow: shadow!,
  }));
  return { ...withoutDrift(base), slos: [], rollouts };
}

interface Result {
  phase: string;
  reason: string;
  /** Versions that answered clients, with how many requests each. */
  served: Map<string, number>;
  /** Splits the proxy had while the rollout ran. */
  weights: Set<number>;
  shadowSeen: { compared: number; pairs: number };
  serverGrpcToCandidate: number;
  serverKserveToCandidate: number;
}

async function rollOut(canary: string): Promise<Result> {
  const repo = await TempRepo.create();
  await repo.writeVersion('fraud', 1, fraud(1));
  await repo.writeVersion('fraud', 2, fraudFlipping(0.1));
  await repo.writeVersion('fraud', 3, fraud(1));
  const server = await startTestServer([servedModel('fraud', repo.path('fraud'), { policy: ALL_VERSIONS, labels: { stable: 1 } })], { grpcPort: 0 });
  const gw = await startTestGateway(server.restUrl, {
    config: config(canary),
    tickMs: 100,
    serverLabels: managerLabels(server.manager),
    proxy: (p) => ({ ...p, grpc: { host: '127.0.0.1', port: 0, upstream: server.grpcAddress! }, splits: { fraud: { stable: '1', weight: 0 } } }),
  });
  const served = new Map<string, number>();
  gw.proxy.onOutcome((o: RequestOutcome) => {
    if (o.model === 'fraud' && o.api === 'predict') served.set(o.version, (served.get(o.version) ?? 0) + 1);
  });
  const weights = new Set<number>();
  const shadowSeen = { compared: 0, pairs: 0 };
  const agent = new Agent({ connections: 4 });
  const svc = servingServices().predictionService;
  const Client = grpc.makeGenericClientConstructor(svc, 'PredictionService');
  const client = new Client(gw.proxy.grpcAddress!, grpc.credentials.createInsecure()) as unknown as Record<string, Function>;
  let stop = false;
  const restLoad = (async () => {
    for (let seed = 0; !stop; seed++) {
      const r = await request(`${gw.proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: JSON.stringify({ instances: fraudRows(2, seed) }), dispatcher: agent });
      assert.equal(r.statusCode, 200);
      await r.body.dump();
    }
  })();
  // KServe v2 REST clients of the same model.
  const kserveLoad = (async () => {
    for (let seed = 2_000_000; !stop; seed++) {
      const row = fraudRows(1, seed)[0]!;
      const inputs = Object.entries(row).map(([name, v]) => ({ name, datatype: 'FP32', shape: [1], data: [v] }));
      const r = await request(`${gw.proxy.restUrl}/v2/models/fraud/infer`, { method: 'POST', body: JSON.stringify({ inputs }), headers: { 'content-type': 'application/json' }, dispatcher: agent });
      assert.equal(r.statusCode, 200);
      await r.body.dump();
    }
  })();
  const grpcLoad = (async () => {
    for (let seed = 1_000_000; !stop; seed++) {
      const req = { ...fraudPredictRequest(fraudRows(1, seed)[0]!, '1'), model_spec: { name: 'fraud' } };
      await new Promise((resolve, reject) => client['Predict']!.call(client, req, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
    }
  })();
  try {
    await eventually(async () => {
      const split = gw.proxy.getSplit('fraud');
      if (split?.canary === canary) weights.add(split.weight);
      const sh = (await (await fetch(`${gw.proxy.adminUrl}/api/v1/shadow`)).json()) as { models: Array<{ summary: { pairs: number } }> };
      if (sh.models[0]) shadowSeen.pairs = Math.max(shadowSeen.pairs, sh.models[0].summary.pairs);
      return ['Succeeded', 'RolledBack', 'Failed'].includes(gw.rollouts()?.view('fraud').phase ?? '');
    }, 60_000, 50, 'a finished rollout');
    const v = gw.rollouts()!.view('fraud');
    const metrics = parseMetrics(await gw.registry.metrics());
    shadowSeen.compared = sample(metrics, SHADOW_METRIC.requests, { model: 'fraud', version: canary, outcome: 'compared' }) ?? 0;
    const serverMetrics = parseMetrics(await (await fetch(`${server.restUrl}/metrics`)).text());
    const toCandidate = (f: (l: Record<string, string>) => boolean) => serverMetrics.filter((m) => m.name === SERVER_METRIC.requests && m.labels['version'] === canary && f(m.labels)).reduce((a, m) => a + m.value, 0);
    const serverGrpcToCandidate = toCandidate((l) => l['entrypoint'] === 'grpc');
    const serverKserveToCandidate = toCandidate((l) => l['entrypoint'] === 'rest' && l['api'] === 'infer');
    return { phase: v.phase, reason: v.reason, served, weights, shadowSeen, serverGrpcToCandidate, serverKserveToCandidate };
  } finally {
    stop = true;
    await Promise.allSettled([restLoad, kserveLoad, grpcLoad]);
    (client as unknown as grpc.Client).close();
    await agent.close();
    await gw.close();
    await server.close();
    await repo.remove();
  }
}

describe('a rollout with a shadow step', () => {
  test('a candidate wrong on 10% of rows is rolled back in the shadow step for divergence, and no client ever got its answer', async () => {
    const r = await rollOut('2');
    assert.equal(r.phase, 'RolledBack', r.reason);
    assert.match(r.reason, /divergence: \d+(\.\d+)?% of rows disagree \(max 1%\)/);
    assert.equal(r.served.get('2'), undefined, `clients were answered by: ${JSON.stringify([...r.served])}`);
    assert.ok((r.served.get('1') ?? 0) > 0);
    assert.ok(r.shadowSeen.compared >= 150, `mirrored and compared: ${r.shadowSeen.compared}`);
    assert.ok(r.serverGrpcToCandidate > 0, 'gRPC requests were mirrored too (pinned to the candidate in their ModelSpec)');
    assert.ok(r.serverKserveToCandidate > 0, 'KServe v2 REST requests were mirrored too (pinned in the /v2 path)');
    assert.deepEqual([...r.weights].filter((w) => w > 0), [], 'the canary never took client traffic');
  });

  test('an identical candidate passes the shadow step, then takes traffic step by step and is promoted', async () => {
    const r = await rollOut('3');
    assert.equal(r.phase, 'Succeeded', r.reason);
    assert.ok(r.shadowSeen.pairs >= 150, `compared in the shadow step: ${r.shadowSeen.pairs}`);
    assert.ok((r.served.get('3') ?? 0) > 0, 'after the shadow step, clients were served by the candidate');
  });
});
