// A configured model that has no version ready is an outage (503 UNAVAILABLE with
// Retry-After, gRPC UNAVAILABLE), which the SLOs count; only a model that is not in the
// config is 404 / NOT_FOUND.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadConfig } from '../../config/index.ts';
import { startGateway } from '../../app/gateway.ts';
import { systemClock } from '../../common/clock.ts';
import { halfPlusTwo } from '../../examples/models.ts';
import { buildModel } from '../../examples/lib/onnx-builder.ts';
import { ServerMetrics } from '../../server/metrics.ts';
import { ModelManager } from '../../server/models/manager.ts';
import { startServer, type RunningServer } from '../../server/index.ts';
import { Registry } from 'prom-client';
import { eventually, postJson, TempRepo } from '../helpers/repo.ts';
import { call, connect, expectCode, floatTensor, grpc, type Clients } from './grpc-helpers.ts';

const policy = { kind: 'latest', numVersions: 1 } as const;

describe('predicts for a configured model with no version ready', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let c: Clients;
  before(async () => {
    repo = await TempRepo.create();
    await mkdir(repo.path('later'), { recursive: true });
    await repo.writeVersion('broken', 1, new Uint8Array([1, 2, 3, 4]));
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 100, retryBaseMs: 60_000,
      models: [
        { name: 'later', basePath: repo.path('later'), policy, labels: { stable: 1 } },
        { name: 'broken', basePath: repo.path('broken'), policy, labels: {} },
      ],
    });
    c = connect(srv.grpcAddress!);
  });
  after(async () => {
    c.close();
    await srv.close();
    await repo.remove();
  });

  test('REST answers 503 with Retry-After on the TF Serving and KServe paths, naming what the model waits for', async () => {
    for (const [path, body] of [
      ['/v1/models/later:predict', { instances: [1] }],
      ['/v1/models/later/labels/stable:predict', { instances: [1] }],
      ['/v2/models/later/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }],
    ] as const) {
      const r = await postJson(`${srv.restUrl}${path}`, body);
      assert.equal(r.status, 503, `${path}: ${r.text}`);
      assert.ok(Number(r.headers.get('retry-after')) >= 1, `${path}: Retry-After`);
    }
    const r = await postJson(`${srv.restUrl}/v1/models/later:predict`, { instances: [1] });
    assert.match(r.json.error, /Model later has no version ready to serve \(no version found under .*later yet\)/);
  });

  test('a model whose only version fails to load is 503 too, with the load error', async () => {
    const r = await postJson(`${srv.restUrl}/v1/models/broken:predict`, { instances: [1] });
    assert.equal(r.status, 503, r.text);
    assert.match(r.json.error, /version 1 failed to load/);
  });

  test('gRPC Predict and ModelInfer answer UNAVAILABLE', async () => {
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'later' }, inputs: { x: floatTensor([1], [1]) } }), grpc.status.UNAVAILABLE, /no version ready/);
    await expectCode(call(c.kserve, 'ModelInfer', { model_name: 'later', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }] }), grpc.status.UNAVAILABLE);
  });

  test('a model that is not in the config is still 404 / NOT_FOUND', async () => {
    assert.equal((await postJson(`${srv.restUrl}/v1/models/nope:predict`, { instances: [1] })).status, 404);
    assert.equal((await postJson(`${srv.restUrl}/v2/models/nope/infer`, { inputs: [] })).status, 404);
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'nope' }, inputs: { x: floatTensor([1], [1]) } }), grpc.status.NOT_FOUND);
  });

  test('once a version loads, the same requests are answered', async () => {
    await repo.writeVersion('later', 1, halfPlusTwo());
    const r = await eventually(async () => {
      const x = await postJson(`${srv.restUrl}/v1/models/later:predict`, { instances: [1] });
      return x.status === 200 && x;
    });
    assert.equal(r.text, '{"predictions":[2.5]}');
    assert.equal((await postJson(`${srv.restUrl}/v1/models/later/labels/stable:predict`, { instances: [1] })).status, 200);
  });
});

describe('a version still loading', () => {
  test('is UNAVAILABLE for latest, for any number and for a label that waits for it; once it serves, an unknown number is NOT_FOUND', async () => {
    const repo = await TempRepo.create();
    await repo.writeVersion('slow', 3, buildModel(halfPlusTwo()));
    let releaseWarmup!: () => void;
    const warmupGate = new Promise<void>((r) => (releaseWarmup = r));
    let warming!: () => void;
    const warmingStarted = new Promise<void>((r) => (warming = r));
    const manager = new ModelManager([{ name: 'slow', basePath: repo.path('slow'), policy, labels: { canary: 3 } }], {
      clock: systemClock,
      metrics: new ServerMetrics(new Registry()),
      pollMs: 0,
      warmup: async () => {
        warming();
        await warmupGate;
        return 0;
      },
    });
    const started = manager.start();
    try {
      await warmingStarted;
      const codeOf = (f: () => unknown) => {
        try {
          f();
          return 'OK';
        } catch (e) {
          return `${(e as { code: string }).code}: ${(e as Error).message}`;
        }
      };
      assert.match(codeOf(() => manager.acquire('slow')), /^SRV_ERR_UNAVAILABLE: .*version 3 is loading/);
      assert.match(codeOf(() => manager.acquire('slow', { version: 3 })), /^SRV_ERR_UNAVAILABLE: Version 3 of model slow is not ready: it is loading/);
      assert.match(codeOf(() => manager.acquire('slow', { label: 'canary' })), /^SRV_ERR_UNAVAILABLE/);
      // Nothing serves yet, so any version number is an outage rather than a wrong number.
      assert.match(codeOf(() => manager.acquire('slow', { version: 4 })), /^SRV_ERR_UNAVAILABLE/);
      assert.match(codeOf(() => manager.acquire('other')), /^SRV_ERR_NOT_FOUND/);
      releaseWarmup();
      await started;
      const h = manager.acquire('slow', { label: 'canary' });
      assert.equal(h.version, 3);
      h.release();
      assert.match(codeOf(() => manager.acquire('slow', { version: 4 })), /^SRV_ERR_NOT_FOUND/);
    } finally {
      releaseWarmup();
      await started;
      await manager.close();
      await repo.remove();
    }
  });
});

describe('through the gateway, a model with no version ready', () => {
  test('spends availability budget (503 is the server\'s failure), where a 404 would not', async () => {
    const repo = await TempRepo.create();
    await repo.writeVersion('hpt', 1, halfPlusTwo());
    await mkdir(repo.path('empty'), { recursive: true });
    const models = [{ name: 'hpt', basePath: repo.path('hpt'), policy, labels: {} }];
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0, models });
    const yaml = repo.path('modelgate.yaml');
    await writeFile(yaml, 'apiVersion: modelgate/v1\nslos:\n  - name: hpt-availability\n    model: hpt\n    version: each\n    sli: {availability: {}}\n    objective: 99.9\n    period: 30d\n');
    const gw = await startGateway({
      config: loadConfig(yaml),
      tickMs: 60_000,
      proxyOverride: (p) => ({ ...p, rest: { ...p.rest, host: '127.0.0.1', port: 0, upstream: srv.restUrl }, grpc: undefined, admin: { ...p.admin, host: '127.0.0.1', port: 0 } }),
    });
    const budget = () => gw.slo.evaluate().filter((s) => s.model === 'hpt').reduce((b, s) => ({ bad: b.bad + s.budget.bad, total: b.total + s.budget.total }), { bad: 0, total: 0 });
    try {
      assert.equal((await postJson(`${gw.proxy.restUrl}/v1/models/hpt:predict`, { instances: [1] })).status, 200);
      await eventually(() => budget().total === 1);
      // The model goes away and comes back with nothing loaded yet (as after a restart).
      await srv.manager.reconfigure([]);
      await srv.manager.reconfigure([{ ...models[0]!, basePath: repo.path('empty') }]);
      const r = await postJson(`${gw.proxy.restUrl}/v1/models/hpt:predict`, { instances: [1] });
      assert.equal(r.status, 503, r.text);
      assert.deepEqual(await eventually(() => budget().total === 2 && budget()), { bad: 1, total: 2 });
    } finally {
      await gw.close();
      await srv.close();
      await repo.remove();
    }
  });
});
