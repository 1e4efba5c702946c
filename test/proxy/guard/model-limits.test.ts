import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { Issues, PROXY_METRIC } from '../../../common/index.ts';
import type { RequestOutcome } from '../../../common/index.ts';
import { readProxyConfig } from '../../../proxy/index.ts';
import type { Proxy } from '../../../proxy/index.ts';
import { parseMetrics, sample, startProxy, startUpstream, tfServingLike } from '../helpers.ts';
import type { Upstream } from '../helpers.ts';

const root = protobuf.Root.fromJSON({
  nested: {
    Int64Value: { fields: { value: { type: 'int64', id: 1 } } },
    ModelSpec: { fields: { name: { type: 'string', id: 1 }, version: { type: 'Int64Value', id: 2 } } },
    PredictRequest: { fields: { modelSpec: { type: 'ModelSpec', id: 1 } } },
    PredictResponse: { fields: { modelSpec: { type: 'ModelSpec', id: 2 } } },
  },
});
const PredictRequest = root.lookupType('PredictRequest');
const PredictResponse = root.lookupType('PredictResponse');
const id = (b: Buffer) => b;
const predictService: grpc.ServiceDefinition = {
  Predict: { path: '/tensorflow.serving.PredictionService/Predict', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};

// A bucket that refills far slower than the test runs: only its burst is admitted.
const SLOW = 0.01;

describe('per-model rate limits, all callers together, without auth', () => {
  let rest: Upstream;
  let grpcUpstream: grpc.Server;
  let proxy: Proxy;
  let metricsText: () => Promise<string>;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  const outcomes: RequestOutcome[] = [];

  before(async () => {
    rest = await startUpstream(tfServingLike({ fraud: ['1'], mnist: ['1'], iris: ['1'] }));
    grpcUpstream = new grpc.Server();
    grpcUpstream.addService(predictService, {
      Predict: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const spec = (PredictRequest.toObject(PredictRequest.decode(call.request)) as { modelSpec: { name: string } }).modelSpec;
        cb(null, Buffer.from(PredictResponse.encode({ modelSpec: { name: spec.name, version: { value: 1 } } }).finish()));
      },
    });
    const port = await new Promise<number>((resolve, reject) => grpcUpstream.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    let registry;
    ({ proxy, registry } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: rest.url },
      grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` },
      rateLimits: { model: { rps: SLOW, burst: 2 }, models: { fraud: { rps: SLOW, burst: 3 }, mnist: { rps: 1000, burst: 1000 } } },
    }));
    proxy.onOutcome((o) => outcomes.push(o));
    metricsText = () => registry.metrics();
    client = new (grpc.makeGenericClientConstructor(predictService, 'Predict'))(proxy.grpcAddress!, grpc.credentials.createInsecure()) as never;
  });

  after(async () => {
    client.close();
    await proxy.close();
    await rest.close();
    grpcUpstream.forceShutdown();
  });

  const post = async (model: string) => {
    const r = await fetch(`${proxy.restUrl}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1,2]]}' });
    return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { error?: string } };
  };
  const predict = (model: string) =>
    new Promise<{ code: number; retryAfter: string | undefined }>((resolve) => {
      const req = Buffer.from(PredictRequest.encode({ modelSpec: { name: model } }).finish());
      (client['Predict'] as (r: Buffer, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void)(req, new grpc.Metadata(), (err) =>
        resolve({ code: err?.code ?? 0, retryAfter: err?.metadata?.get('retry-after')[0]?.toString() }));
    });

  test('a model past its burst answers 429 with Retry-After and a JSON error; the upstream never sees the refused requests', async () => {
    const predicts = () => rest.seen.filter((r) => r.url.endsWith(':predict')).length;
    const seen = predicts();
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await post('fraud'));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429, 429, 429, 429, 429]);
    const refused = answers[3]!;
    assert.ok(Number(refused.retryAfter) >= 1, `retry-after ${refused.retryAfter}`);
    assert.match(refused.body.error ?? '', /rate limit/);
    assert.equal(predicts() - seen, 3);
  });

  test('the same model over gRPC shares the bucket: RESOURCE_EXHAUSTED with retry-after', async () => {
    const r = await predict('fraud');
    assert.equal(r.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.ok(Number(r.retryAfter) >= 1);
  });

  test('another model keeps its own bucket; a model not listed gets the default bucket', async () => {
    const mnist = [];
    for (let i = 0; i < 6; i++) mnist.push((await post('mnist')).status);
    assert.deepEqual(mnist, [200, 200, 200, 200, 200, 200]);
    assert.equal((await predict('mnist')).code, grpc.status.OK);
    assert.equal((await predict('iris')).code, grpc.status.OK);
    assert.equal((await post('iris')).status, 200);
    assert.equal((await predict('iris')).code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal((await post('iris')).status, 429);
  });

  test('refusals are counted as rate_limited per model and carry the reason on the outcome', async () => {
    const m = parseMetrics(await metricsText());
    assert.equal(sample(m, PROXY_METRIC.rejected, { model: 'fraud', reason: 'rate_limited' }), 6);
    assert.equal(sample(m, PROXY_METRIC.rejected, { model: 'iris', reason: 'rate_limited' }), 2);
    assert.equal(sample(m, PROXY_METRIC.rejected, { model: 'mnist', reason: 'rate_limited' }) ?? 0, 0);
    assert.equal(outcomes.filter((o) => o.rejected === 'rate_limited').length, 8);
  });
});

describe('per identity and model rate limits (identityModel)', () => {
  let rest: Upstream;
  let grpcUpstream: grpc.Server;
  let proxy: Proxy;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  before(async () => {
    rest = await startUpstream(tfServingLike({ fraud: ['1'], mnist: ['1'] }));
    grpcUpstream = new grpc.Server();
    grpcUpstream.addService(predictService, {
      Predict: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        cb(null, Buffer.from(PredictResponse.encode({ modelSpec: { name: 'fraud', version: { value: 1 } } }).finish())),
    });
    const port = await new Promise<number>((resolve, reject) => grpcUpstream.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    ({ proxy } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: rest.url },
      grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` },
      auth: { apiKeys: [{ name: 'alice', env: 'ALICE_KEY' }, { name: 'bob', env: 'BOB_KEY' }], rules: [{ identities: ['*'], models: ['*'] }] },
      rateLimits: { identityModel: { rps: SLOW, burst: 2 }, models: { fraud: { rps: 1000, burst: 1000 } } },
    }, { env: { ALICE_KEY: 'key-alice', BOB_KEY: 'key-bob' } }));
    client = new (grpc.makeGenericClientConstructor(predictService, 'Predict'))(proxy.grpcAddress!, grpc.credentials.createInsecure()) as never;
  });

  after(async () => {
    client.close();
    await proxy.close();
    await rest.close();
    grpcUpstream.forceShutdown();
  });

  const post = async (model: string, key: string) =>
    (await fetch(`${proxy.restUrl}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: '{"instances":[[1,2]]}' })).status;
  const predict = (model: string, key: string) =>
    new Promise<number>((resolve) => {
      const m = new grpc.Metadata();
      m.set('x-api-key', key);
      const req = Buffer.from(PredictRequest.encode({ modelSpec: { name: model } }).finish());
      (client['Predict'] as (r: Buffer, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void)(req, m, (err) => resolve(err?.code ?? 0));
    });

  test('one caller past its share of a model is limited on that model only; another caller of the same model is not', async () => {
    assert.deepEqual([await post('fraud', 'key-alice'), await post('fraud', 'key-alice'), await post('fraud', 'key-alice')], [200, 200, 429]);
    assert.equal(await predict('fraud', 'key-alice'), grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(await post('mnist', 'key-alice'), 200);
    assert.equal(await post('fraud', 'key-bob'), 200);
    assert.equal(await predict('fraud', 'key-bob'), grpc.status.OK);
    assert.equal(await predict('fraud', 'key-bob'), grpc.status.RESOURCE_EXHAUSTED);
  });

  test('identityModel without auth is refused at start, saying why', () => {
    const issues = new Issues();
    readProxyConfig({ admin: { port: 0 }, rest: { port: 0, upstream: 'http://127.0.0.1:1' }, rateLimits: { identityModel: { rps: 5 } } }, 'proxy', issues);
    assert.equal(issues.ok, false);
    assert.match(JSON.stringify(issues.errors), /need auth/);
  });
});
