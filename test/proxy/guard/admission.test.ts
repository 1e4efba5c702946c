import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { PROXY_METRIC } from '../../../common/index.ts';
import type { RequestOutcome } from '../../../common/index.ts';
import type { Proxy } from '../../../proxy/index.ts';
import { sha256KeyHash } from '../../../proxy/guard/index.ts';
import { parseMetrics, sample, startProxy, startUpstream, tfServingLike, until } from '../helpers.ts';
import type { Upstream } from '../helpers.ts';

const root = protobuf.Root.fromJSON({
  nested: {
    Int64Value: { fields: { value: { type: 'int64', id: 1 } } },
    ModelSpec: { fields: { name: { type: 'string', id: 1 }, version: { type: 'Int64Value', id: 2 }, versionLabel: { type: 'string', id: 4 } } },
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
const inferService: grpc.ServiceDefinition = {
  ModelInfer: { path: '/inference.GRPCInferenceService/ModelInfer', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};
const ModelInferRequest = protobuf.Root.fromJSON({ nested: { ModelInferRequest: { fields: { modelName: { type: 'string', id: 1 }, modelVersion: { type: 'string', id: 2 } } } } }).lookupType('ModelInferRequest');
const healthService: grpc.ServiceDefinition = {
  ServerLive: { path: '/inference.GRPCInferenceService/ServerLive', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};

const ISSUER = 'https://issuer.test';

describe('admission in front of REST and gRPC upstreams', () => {
  let rest: Upstream;
  let grpcUpstream: grpc.Server;
  let jwks: Server;
  let proxy: Proxy;
  let metricsText: () => Promise<string>;
  let predictClient: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let healthClient: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let inferClient: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let signToken: (claims: Record<string, unknown>) => Promise<string>;
  const outcomes: RequestOutcome[] = [];
  const grpcSeen: grpc.Metadata[] = [];

  before(async () => {
    rest = await startUpstream(tfServingLike({ fraud: ['1', '2'], mnist: ['1'] }));
    grpcUpstream = new grpc.Server();
    grpcUpstream.addService(predictService, {
      Predict: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        grpcSeen.push(call.metadata);
        const spec = (PredictRequest.toObject(PredictRequest.decode(call.request)) as { modelSpec: { name: string } }).modelSpec;
        if (spec.name !== 'fraud' && spec.name !== 'mnist') return cb({ code: grpc.status.NOT_FOUND, details: 'Servable not found' });
        cb(null, Buffer.from(PredictResponse.encode({ modelSpec: { name: spec.name, version: { value: 1 } } }).finish()));
      },
    });
    grpcUpstream.addService(inferService, {
      ModelInfer: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        grpcSeen.push(call.metadata);
        cb(null, Buffer.from(ModelInferRequest.encode({ modelName: 'fraud', modelVersion: '1' }).finish()));
      },
    });
    grpcUpstream.addService(healthService, { ServerLive: (_c: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.alloc(0)) });
    const grpcPort = await new Promise<number>((resolve, reject) => grpcUpstream.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));

    // A JWKS on 127.0.0.1 with a key made here.
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    jwks = createServer((_q, r) => r.end(JSON.stringify({ keys: [jwk] })));
    jwks.listen(0, '127.0.0.1');
    await once(jwks, 'listening');
    signToken = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setAudience('modelgate').setExpirationTime('5m').sign(privateKey);

    let registry;
    ({ proxy, registry } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: rest.url },
      grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${grpcPort}` },
      auth: {
        apiKeys: [
          { name: 'fraud-app', hash: sha256KeyHash('key-fraud'), groups: ['fraud-team'] },
          { name: 'noisy', env: 'NOISY_KEY' },
          { name: 'quiet', env: 'QUIET_KEY' },
        ],
        jwt: { issuer: ISSUER, audience: 'modelgate', jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json` },
        rules: [
          { identities: ['group:fraud-team'], models: ['fraud'], apis: ['predict', 'metadata'] },
          { identities: ['noisy', 'quiet', 'svc-mnist'], models: ['*'] },
        ],
      },
      rateLimits: { identity: { rps: 5, burst: 5 } },
    }, { env: { NOISY_KEY: 'key-noisy', QUIET_KEY: 'key-quiet' } }));
    proxy.onOutcome((o) => outcomes.push(o));
    metricsText = () => registry.metrics();
    const Predict = grpc.makeGenericClientConstructor(predictService, 'Predict');
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    predictClient = new Predict(proxy.grpcAddress!, grpc.credentials.createInsecure()) as never;
    healthClient = new Health(proxy.grpcAddress!, grpc.credentials.createInsecure()) as never;
    inferClient = new (grpc.makeGenericClientConstructor(inferService, 'Infer'))(proxy.grpcAddress!, grpc.credentials.createInsecure()) as never;
  });

  after(async () => {
    predictClient.close();
    healthClient.close();
    inferClient.close();
    await proxy.close();
    await rest.close();
    grpcUpstream.forceShutdown();
    await new Promise<void>((resolve) => jwks.close(() => resolve()));
  });

  const post = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${proxy.restUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"instances":[[1,2]]}' });
    return { status: r.status, headers: r.headers, body: (await r.json()) as { error?: string } };
  };
  const predict = (model: string, md: Record<string, string> = {}) =>
    new Promise<{ code: number; details: string; trailers: grpc.Metadata | undefined }>((resolve) => {
      const m = new grpc.Metadata();
      for (const [k, v] of Object.entries(md)) m.set(k, v);
      const req = Buffer.from(PredictRequest.encode({ modelSpec: { name: model } }).finish());
      (predictClient['Predict'] as (r: Buffer, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void)(req, m, (err) =>
        resolve({ code: err?.code ?? 0, details: err?.details ?? '', trailers: err?.metadata }));
    });

  test('REST without a credential: 401, a Bearer challenge, a JSON error, nothing sent upstream', async () => {
    const before = rest.seen.length;
    const r = await post('/v1/models/fraud:predict');
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="modelgate"');
    assert.match(r.body.error!, /needs a credential/);
    assert.equal(rest.seen.length, before);
    const o = await until(() => outcomes.find((x) => x.protocol === 'rest' && x.rejected === 'unauthenticated'));
    assert.equal(o.httpStatus, 401);
    assert.equal(o.identity, undefined);
  });

  test('REST with a key: forwarded without the credential, identity on the outcome', async () => {
    const r = await post('/v1/models/fraud:predict', { 'x-api-key': 'key-fraud' });
    assert.equal(r.status, 200);
    const seen = rest.seen[rest.seen.length - 1]!;
    assert.equal(seen.headers['x-api-key'], undefined, 'the key is not passed on');
    assert.equal(seen.headers['authorization'], undefined);
    const o = await until(() => outcomes.find((x) => x.protocol === 'rest' && x.identity === 'fraud-app' && x.code === '200'));
    assert.equal(o.rejected, undefined);
  });

  test('REST: a forbidden model and a model that does not exist get the same 403 answer', async () => {
    const forbidden = await post('/v1/models/mnist:predict', { authorization: 'Bearer key-fraud' });
    const unknown = await post('/v1/models/nosuch:predict', { authorization: 'Bearer key-fraud' });
    assert.equal(forbidden.status, 403);
    assert.equal(unknown.status, 403);
    assert.equal(forbidden.body.error!.replace('mnist', 'M'), unknown.body.error!.replace('nosuch', 'M'));
    // Status is not in fraud-app's APIs.
    const status = await fetch(`${proxy.restUrl}/v1/models/fraud`, { headers: { 'x-api-key': 'key-fraud' } });
    assert.equal(status.status, 403);
  });

  test('REST with a JWT: its subject is the identity', async () => {
    const token = await signToken({ sub: 'svc-mnist' });
    const r = await post('/v1/models/mnist:predict', { authorization: `Bearer ${token}` });
    assert.equal(r.status, 200);
    await until(() => outcomes.find((x) => x.identity === 'svc-mnist'));
    const bad = await post('/v1/models/mnist:predict', { authorization: `Bearer ${token.slice(0, -4)}AAAA` });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate')!, /error="invalid_token"/);
  });

  test('gRPC: UNAUTHENTICATED without metadata, PERMISSION_DENIED for another model, OK with a key; the key is not passed on', async () => {
    assert.equal((await predict('fraud')).code, grpc.status.UNAUTHENTICATED);
    assert.equal((await predict('mnist', { 'x-api-key': 'key-fraud' })).code, grpc.status.PERMISSION_DENIED);
    assert.equal((await predict('nosuch', { 'x-api-key': 'key-fraud' })).code, grpc.status.PERMISSION_DENIED);
    const seenBefore = grpcSeen.length;
    assert.equal((await predict('fraud', { authorization: 'Bearer key-fraud' })).code, grpc.status.OK);
    assert.equal(grpcSeen.length, seenBefore + 1, 'only the admitted call reached the upstream');
    assert.deepEqual(grpcSeen[grpcSeen.length - 1]!.get('authorization'), []);
    const token = await signToken({ sub: 'svc-mnist' });
    assert.equal((await predict('mnist', { authorization: `Bearer ${token}` })).code, grpc.status.OK);
    const o = await until(() => outcomes.find((x) => x.protocol === 'grpc' && x.rejected === 'forbidden'));
    assert.equal(o.identity, 'fraud-app');
    assert.equal(o.code, 'PERMISSION_DENIED');
  });

  test('KServe v2: REST infer and gRPC ModelInfer are admitted by the same rules', async () => {
    const rest401 = await post('/v2/models/fraud/infer');
    assert.equal(rest401.status, 401);
    assert.equal((await post('/v2/models/mnist/versions/1/infer', { 'x-api-key': 'key-fraud' })).status, 403);
    const infer = (model: string, version: string, md: Record<string, string>) => new Promise<number>((resolve) => {
      const m = new grpc.Metadata();
      for (const [k, v] of Object.entries(md)) m.set(k, v);
      const req = Buffer.from(ModelInferRequest.encode({ modelName: model, modelVersion: version }).finish());
      (inferClient['ModelInfer'] as (r: Buffer, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void)(req, m, (e) => resolve(e?.code ?? 0));
    });
    assert.equal(await infer('fraud', '', {}), grpc.status.UNAUTHENTICATED);
    assert.equal(await infer('mnist', '1', { 'x-api-key': 'key-fraud' }), grpc.status.PERMISSION_DENIED);
    assert.equal(await infer('fraud', '', { 'x-api-key': 'key-fraud' }), grpc.status.OK);
    assert.equal(await infer('mnist', '1', { authorization: `Bearer ${await signToken({ sub: 'svc-mnist' })}` }), grpc.status.OK);
  });

  test('gRPC health checks pass without a credential', async () => {
    const code = await new Promise<number>((resolve) =>
      (healthClient['ServerLive'] as (r: Buffer, cb: (e: grpc.ServiceError | null) => void) => void)(Buffer.alloc(0), (e) => resolve(e?.code ?? 0)));
    assert.equal(code, grpc.status.OK);
  });

  test('a noisy identity is rate limited (429 + Retry-After, RESOURCE_EXHAUSTED) while another is not', async () => {
    const noisy = await Promise.all(Array.from({ length: 30 }, () => post('/v1/models/fraud:predict', { 'x-api-key': 'key-noisy' })));
    const limited = noisy.filter((r) => r.status === 429);
    assert.ok(limited.length >= 20, `${limited.length} of 30 limited`);
    assert.ok(noisy.filter((r) => r.status === 200).length >= 5);
    assert.ok(Number(limited[0]!.headers.get('retry-after')) >= 1);
    const grpcNoisy = await predict('fraud', { 'x-api-key': 'key-noisy' });
    assert.equal(grpcNoisy.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.ok(Number(grpcNoisy.trailers?.get('retry-after')[0]) >= 1);
    const quiet = await Promise.all(Array.from({ length: 4 }, () => post('/v1/models/fraud:predict', { 'x-api-key': 'key-quiet' })));
    assert.deepEqual(quiet.map((r) => r.status), [200, 200, 200, 200]);
    assert.equal((await predict('fraud', { 'x-api-key': 'key-quiet' })).code, grpc.status.OK);
  });

  test('refusals are counted by reason; secrets appear nowhere in the metrics', async () => {
    const m = parseMetrics(await metricsText());
    assert.ok((sample(m, PROXY_METRIC.authFailures, { reason: 'missing_credential' }) ?? 0) >= 2);
    assert.ok((sample(m, PROXY_METRIC.authFailures, { reason: 'forbidden' }) ?? 0) >= 4);
    assert.ok((sample(m, PROXY_METRIC.authFailures, { reason: 'invalid_token' }) ?? 0) >= 1);
    assert.ok((sample(m, PROXY_METRIC.rejected, { model: 'fraud', reason: 'rate_limited' }) ?? 0) >= 20);
    assert.ok((sample(m, PROXY_METRIC.rejected, { model: '__other__', reason: 'forbidden' }) ?? 0) >= 2, 'an unknown model name is not a label value');
    const text = await metricsText();
    assert.doesNotMatch(text, /key-fraud|key-noisy|nosuch/);
  });
});
