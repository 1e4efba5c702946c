import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { Registry } from 'prom-client';
import { PROXY_METRIC } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import type { BodySample, Proxy } from '../../proxy/index.ts';
import { parseMetrics, sample, startProxy, until } from './helpers.ts';

// Messages as the TF Serving and KServe protos define them (only the fields used here),
// encoded by protobufjs: an encoder independent of the proxy's hand decoder.
const root = protobuf.Root.fromJSON({
  nested: {
    Int64Value: { fields: { value: { type: 'int64', id: 1 } } },
    ModelSpec: {
      oneofs: { versionChoice: { oneof: ['version', 'versionLabel'] } },
      fields: { name: { type: 'string', id: 1 }, version: { type: 'Int64Value', id: 2 }, signatureName: { type: 'string', id: 3 }, versionLabel: { type: 'string', id: 4 } },
    },
    PredictRequest: { fields: { modelSpec: { type: 'ModelSpec', id: 1 }, outputFilter: { rule: 'repeated', type: 'string', id: 3 } } },
    PredictResponse: { fields: { modelSpec: { type: 'ModelSpec', id: 2 } } },
  },
});
const PredictRequest = root.lookupType('PredictRequest');
const PredictResponse = root.lookupType('PredictResponse');

const id = (b: Buffer) => b;
const echoService: grpc.ServiceDefinition = {
  Echo: { path: '/test.Unknown/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
  Chat: { path: '/test.Unknown/Chat', requestStream: true, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
  Slow: { path: '/test.Unknown/Slow', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
  Fail: { path: '/test.Unknown/Fail', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};
const predictService: grpc.ServiceDefinition = {
  Predict: {
    path: '/tensorflow.serving.PredictionService/Predict', requestStream: false, responseStream: false,
    requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id,
  },
};

async function bind(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

describe('gRPC pass-through', () => {
  let upstream: grpc.Server;
  let proxy: Proxy;
  let registry: Registry;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let predictClient: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  const outcomes: RequestOutcome[] = [];
  const seenSpecs: Array<Record<string, unknown>> = [];
  const seenMetadata: grpc.Metadata[] = [];
  let slowCancelled = 0;

  before(async () => {
    upstream = new grpc.Server();
    upstream.addService(echoService, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        seenMetadata.push(call.metadata);
        const trailer = new grpc.Metadata();
        trailer.set('x-trailer', 'kept');
        cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), trailer);
      },
      Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', (b: Buffer) => call.write(Buffer.concat([Buffer.from('re:'), b])));
        call.on('end', () => call.end());
      },
      Slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => call.on('cancelled', () => slowCancelled++), // never answers
      Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.FAILED_PRECONDITION, details: 'not today' }),
    });
    upstream.addService(predictService, {
      Predict: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const req = PredictRequest.toObject(PredictRequest.decode(call.request), { longs: String, oneofs: true }) as { modelSpec: Record<string, unknown> & { version?: { value: string } } };
        seenSpecs.push(req.modelSpec);
        const version = req.modelSpec.version?.value ?? '3';
        cb(null, Buffer.from(PredictResponse.encode({ modelSpec: { name: req.modelSpec['name'], version: { value: version } } }).finish()));
      },
    });
    const port = await bind(upstream);
    ({ proxy, registry } = await startProxy({
      grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` },
      timeouts: { upstream: '2s' },
      bodies: { sampleRate: 1 },
      splits: { fraud: { stable: 1, canary: 2, weight: 50 } },
    }));
    proxy.onOutcome((o) => outcomes.push(o));
    const Echo = grpc.makeGenericClientConstructor(echoService, 'Unknown');
    const Predict = grpc.makeGenericClientConstructor(predictService, 'Predict');
    client = new Echo(proxy.grpcAddress!, grpc.credentials.createInsecure()) as never;
    predictClient = new Predict(proxy.grpcAddress!, grpc.credentials.createInsecure()) as never;
  });
  after(async () => {
    client.close();
    predictClient.close();
    await proxy.close();
    upstream.forceShutdown();
  });

  const unary = (c: typeof client, method: string, req: Buffer, md = new grpc.Metadata(), options: grpc.CallOptions = {}) =>
    new Promise<{ err: grpc.ServiceError | null; res?: Buffer; trailers?: grpc.Metadata }>((resolve) => {
      let trailers: grpc.Metadata | undefined;
      const call = (c[method] as (r: Buffer, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => grpc.ClientUnaryCall)(
        req, md, options, (err, res) => setImmediate(() => resolve({ err, res, trailers })),
      );
      call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
    });

  test('a unary call of a service the proxy does not know passes through with its metadata and trailers', async () => {
    const md = new grpc.Metadata();
    md.set('x-caller', 'test');
    const { err, res, trailers } = await unary(client, 'Echo', Buffer.from('hi'), md);
    assert.equal(err, null);
    assert.equal(res!.toString(), 'echo:hi');
    assert.deepEqual(seenMetadata[seenMetadata.length - 1]!.get('x-caller'), ['test']);
    assert.match(String(seenMetadata[seenMetadata.length - 1]!.get('traceparent')[0]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.deepEqual(trailers!.get('x-trailer'), ['kept']);
    const o = await until(() => outcomes.find((x) => x.code === 'OK' && x.api === 'other'));
    assert.equal(o.protocol, 'grpc');
  });

  test('a bidirectional stream passes message by message', async () => {
    const call = (client['Chat'] as () => grpc.ClientDuplexStream<Buffer, Buffer>)();
    const got: string[] = [];
    call.on('data', (b: Buffer) => got.push(b.toString()));
    const ended = new Promise((r) => call.on('status', r));
    call.write(Buffer.from('a'));
    call.write(Buffer.from('b'));
    call.end();
    await ended;
    assert.deepEqual(got, ['re:a', 're:b']);
  });

  test('an upstream error status and its message reach the client unchanged', async () => {
    const { err } = await unary(client, 'Fail', Buffer.from('x'));
    assert.equal(err?.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(err?.details, 'not today');
    await until(() => outcomes.find((o) => o.code === 'FAILED_PRECONDITION'));
  });

  test('a client deadline shorter than the upstream gives DEADLINE_EXCEEDED', async () => {
    const { err } = await unary(client, 'Slow', Buffer.from('x'), new grpc.Metadata(), { deadline: Date.now() + 200 });
    assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
  });

  test('a Predict call is labelled from its model spec and pinned to the split version', async () => {
    outcomes.length = 0;
    const seenBefore = seenSpecs.length;
    for (let i = 0; i < 20; i++) {
      const req = Buffer.from(PredictRequest.encode({ modelSpec: { name: 'fraud', signatureName: 'serving_default' }, outputFilter: ['label'] }).finish());
      const { err, res } = await unary(predictClient, 'Predict', req);
      assert.equal(err, null);
      const decoded = PredictResponse.toObject(PredictResponse.decode(res!), { longs: String }) as { modelSpec: { version: { value: string } } };
      assert.ok(['1', '2'].includes(decoded.modelSpec.version.value));
    }
    const specs = seenSpecs.slice(seenBefore);
    assert.ok(specs.every((s) => s['name'] === 'fraud' && s['signatureName'] === 'serving_default'));
    const predicts = await until(() => {
      const p = outcomes.filter((o) => o.api === 'predict');
      return p.length === 20 && p;
    });
    assert.ok(predicts.every((o) => o.model === 'fraud' && o.code === 'OK'));
    assert.ok(predicts.every((o) => (o.variant === 'canary' ? o.version === '2' : o.version === '1')));
    assert.ok(predicts.some((o) => o.variant === 'canary') && predicts.some((o) => o.variant === 'stable'));
    assert.ok(predicts.every((o) => o.pinned === undefined), 'split-routed calls are not pinned');
  });

  test('version_label "canary" in the model spec resolves to the canary version', async () => {
    outcomes.length = 0;
    const req = Buffer.from(PredictRequest.encode({ modelSpec: { name: 'fraud', versionLabel: 'canary' } }).finish());
    const { err } = await unary(predictClient, 'Predict', req);
    assert.equal(err, null);
    const spec = seenSpecs[seenSpecs.length - 1]!;
    assert.deepEqual(spec['version'], { value: '2' });
    assert.equal(spec['versionLabel'], undefined);
    // The client chose the canary: counted, but marked pinned (the rollout analysis does not judge it).
    const o = await until(() => outcomes.find((x) => x.api === 'predict'));
    assert.deepEqual([o.version, o.variant, o.pinned], ['2', 'canary', true]);
  });

  test('a version named in the model spec of a split model is marked pinned', async () => {
    outcomes.length = 0;
    const req = Buffer.from(PredictRequest.encode({ modelSpec: { name: 'fraud', version: { value: 2 } } }).finish());
    const { err } = await unary(predictClient, 'Predict', req);
    assert.equal(err, null);
    const o = await until(() => outcomes.find((x) => x.api === 'predict'));
    assert.deepEqual([o.version, o.variant, o.pinned], ['2', 'direct', true]);
  });

  test('a client that cancels a call cancels it upstream, recorded as CANCELLED', async () => {
    outcomes.length = 0;
    const before = slowCancelled;
    const call = (client['Slow'] as (r: Buffer, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall)(Buffer.from('x'), () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    call.cancel();
    await until(() => slowCancelled > before);
    await until(() => outcomes.find((o) => o.code === 'CANCELLED'));
  });

  test('the first request and response messages of a Predict are handed to the body observer with the method', async () => {
    const got: BodySample[] = [];
    const off = proxy.onBodies((b) => {
      got.push(b);
    });
    const req = Buffer.from(PredictRequest.encode({ modelSpec: { name: 'fraud', version: { value: 1 } } }).finish());
    const { err } = await unary(predictClient, 'Predict', req);
    assert.equal(err, null);
    const b = await until(() => got[0]);
    off();
    assert.equal(b.method, '/tensorflow.serving.PredictionService/Predict');
    assert.deepEqual(b.requestBody, req);
    assert.equal((PredictResponse.toObject(PredictResponse.decode(b.responseBody), { longs: String }) as { modelSpec: { version: { value: string } } }).modelSpec.version.value, '1');
    assert.equal(b.version, '1');
    assert.equal(b.protocol, 'grpc');
    assert.ok(typeof b.durationSeconds === 'number' && b.durationSeconds >= 0, 'the primary latency');
    assert.ok(typeof b.draw === 'number' && b.draw < 1, 'the draw that chose it');
  });

  test('gRPC requests are counted with the gRPC code name', async () => {
    const m = parseMetrics(await registry.metrics());
    assert.ok((sample(m, PROXY_METRIC.requests, { model: 'fraud', protocol: 'grpc', code: 'OK', api: 'predict' }) ?? 0) >= 1);
  });
});

describe('gRPC upstream down and back', () => {
  test('an unreachable upstream gives UNAVAILABLE (counted), and a restarted upstream is used again without restarting the proxy', async () => {
    const probe = new grpc.Server();
    const port = await bind(probe);
    probe.forceShutdown();
    const { proxy, registry } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` } });
    const Echo = grpc.makeGenericClientConstructor(echoService, 'Unknown');
    const client = new Echo(proxy.grpcAddress!, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
    const echo = () =>
      new Promise<{ err: grpc.ServiceError | null; res?: Buffer }>((resolve) =>
        (client['Echo'] as (r: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void)(Buffer.from('x'), (err, res) => resolve({ err, res })),
      );
    const again = new grpc.Server();
    try {
      const { err } = await echo();
      assert.equal(err?.code, grpc.status.UNAVAILABLE);
      const m = parseMetrics(await registry.metrics());
      assert.equal(sample(m, PROXY_METRIC.upstreamErrors, { protocol: 'grpc' }), 1);
      again.addService(echoService, {
        Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('back:'), call.request])),
        Chat: () => undefined, Slow: () => undefined, Fail: () => undefined,
      });
      await new Promise<void>((resolve, reject) => again.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
      const { err: err2, res } = await echo();
      assert.equal(err2, null);
      assert.equal(res!.toString(), 'back:x');
    } finally {
      client.close();
      await proxy.close();
      again.forceShutdown();
    }
  });
});

describe('gRPC upstream too slow', () => {
  test('with no client deadline, the configured upstream timeout ends the call with DEADLINE_EXCEEDED and cancels upstream', async () => {
    let cancelled = false;
    const upstream = new grpc.Server();
    upstream.addService(echoService, {
      Echo: () => undefined, Chat: () => undefined, Fail: () => undefined,
      Slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => call.on('cancelled', () => (cancelled = true)),
    });
    const port = await bind(upstream);
    const { proxy, registry } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` }, timeouts: { upstream: '200ms' } });
    const Echo = grpc.makeGenericClientConstructor(echoService, 'Unknown');
    const client = new Echo(proxy.grpcAddress!, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        (client['Slow'] as (r: Buffer, cb: (e: grpc.ServiceError | null) => void) => void)(Buffer.from('x'), (e) => resolve(e)),
      );
      assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
      await until(() => cancelled);
      const m = parseMetrics(await registry.metrics());
      assert.equal(sample(m, PROXY_METRIC.upstreamErrors, { kind: 'timeout', protocol: 'grpc' }), 1);
    } finally {
      client.close();
      await proxy.close();
      upstream.forceShutdown();
    }
  });
});

describe('gRPC message limit', () => {
  test('a request message over limits.maxBodyBytes ends with RESOURCE_EXHAUSTED before reaching the upstream', async () => {
    let reached = 0;
    const upstream = new grpc.Server();
    upstream.addService(predictService, {
      Predict: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        reached++;
        cb(null, Buffer.alloc(0));
      },
    });
    const port = await bind(upstream);
    const { proxy } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` }, limits: { maxBodyBytes: 1024 } });
    const Predict = grpc.makeGenericClientConstructor(predictService, 'Predict');
    const client = new Predict(proxy.grpcAddress!, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
    try {
      const big = Buffer.from(PredictRequest.encode({ modelSpec: { name: 'fraud' }, outputFilter: ['x'.repeat(4096)] }).finish());
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        (client['Predict'] as (r: Buffer, cb: (e: grpc.ServiceError | null) => void) => void)(big, (e) => resolve(e)),
      );
      assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(reached, 0);
    } finally {
      client.close();
      await proxy.close();
      upstream.forceShutdown();
    }
  });
});
