import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { RequestOutcome } from '../../common/index.ts';
import { REQUEST_ID_HEADER } from '../../common/index.ts';
import type { BodySample, Proxy } from '../../proxy/index.ts';
import { startProxy, startUpstream, until } from './helpers.ts';
import type { Upstream } from './helpers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids over REST', () => {
  let up: Upstream;
  let proxy: Proxy;
  const outcomes: RequestOutcome[] = [];
  const bodies: BodySample[] = [];

  before(async () => {
    up = await startUpstream((_req, res) => {
      // An upstream that sets its own id: the client sees the proxy's, once.
      res.writeHead(200, { 'content-type': 'application/json', 'x-model-version': '1', 'x-request-id': 'upstream-made' });
      res.end('{"predictions":[1]}');
    });
    ({ proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, bodies: { sampleRate: 1 } }));
    proxy.onOutcome((o) => outcomes.push(o));
    proxy.onBodies((b) => void bodies.push(b));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  const predict = (headers: Record<string, string> = {}) =>
    fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{"instances":[1]}', headers }).then(async (r) => ({ r, body: await r.text() }));

  test('a valid client id is kept: sent upstream, returned, and on the outcome and the body sample', async () => {
    const { r } = await predict({ [REQUEST_ID_HEADER]: 'order-42.a_b:c' });
    assert.equal(r.headers.get(REQUEST_ID_HEADER), 'order-42.a_b:c');
    assert.equal(up.seen[up.seen.length - 1]!.headers[REQUEST_ID_HEADER], 'order-42.a_b:c');
    assert.equal((await until(() => outcomes.find((o) => o.requestId === 'order-42.a_b:c'))).model, 'fraud');
    const b = await until(() => bodies.find((x) => x.requestId === 'order-42.a_b:c'));
    assert.equal(b.variant, 'direct');
  });

  test('without a client id the proxy makes one up, different per request', async () => {
    const a = (await predict()).r.headers.get(REQUEST_ID_HEADER)!;
    const b = (await predict()).r.headers.get(REQUEST_ID_HEADER)!;
    assert.match(a, UUID);
    assert.match(b, UUID);
    assert.notEqual(a, b);
    assert.equal(up.seen[up.seen.length - 1]!.headers[REQUEST_ID_HEADER], b);
    await until(() => outcomes.find((o) => o.requestId === b));
  });

  test('an id that is too long or holds other characters is replaced, not passed on', async () => {
    for (const bad of ['x'.repeat(129), 'a b', 'a"b', 'a/b', 'a,b']) {
      const { r } = await predict({ [REQUEST_ID_HEADER]: bad });
      const got = r.headers.get(REQUEST_ID_HEADER)!;
      assert.match(got, UUID, `for ${JSON.stringify(bad)}`);
      assert.equal(up.seen[up.seen.length - 1]!.headers[REQUEST_ID_HEADER], got);
    }
    const { r } = await predict({ [REQUEST_ID_HEADER]: 'x'.repeat(128) });
    assert.equal(r.headers.get(REQUEST_ID_HEADER), 'x'.repeat(128));
  });

  test('an error the proxy makes up carries the id too', async () => {
    // A declared body over the limit is refused before anything goes upstream.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', headers: { [REQUEST_ID_HEADER]: 'too-big', 'content-length': '999999999' } }, resolve);
      req.on('error', reject);
      req.flushHeaders();
    });
    res.resume();
    assert.equal(res.statusCode, 413);
    assert.equal(res.headers[REQUEST_ID_HEADER], 'too-big');
    res.destroy();
  });
});

const id = (b: Buffer) => b;
const predictService: grpc.ServiceDefinition = {
  Predict: { path: '/tensorflow.serving.PredictionService/Predict', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};

describe('request ids over gRPC', () => {
  let upstream: grpc.Server;
  let proxy: Proxy;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  const upstreamSaw: string[] = [];
  const outcomes: RequestOutcome[] = [];

  before(async () => {
    upstream = new grpc.Server();
    upstream.addService(predictService, {
      Predict: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        upstreamSaw.push(String(call.metadata.get(REQUEST_ID_HEADER)[0]));
        cb(null, Buffer.alloc(0));
      },
    });
    const port = await new Promise<number>((resolve, reject) => upstream.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    ({ proxy } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` } }));
    proxy.onOutcome((o) => outcomes.push(o));
    const Client = grpc.makeGenericClientConstructor(predictService, 'Predict');
    client = new Client(proxy.grpcAddress!, grpc.credentials.createInsecure()) as never;
  });
  after(async () => {
    client.close();
    await proxy.close();
    upstream.forceShutdown();
  });

  const call = (md: grpc.Metadata) =>
    new Promise<{ err: grpc.ServiceError | null; initial: grpc.Metadata | undefined; trailers: grpc.Metadata | undefined }>((resolve) => {
      let initial: grpc.Metadata | undefined;
      let trailers: grpc.Metadata | undefined;
      const c = (client['Predict'] as (r: Buffer, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall)(Buffer.alloc(0), md, (err) =>
        setImmediate(() => resolve({ err, initial, trailers })),
      );
      c.on('metadata', (m: grpc.Metadata) => (initial = m));
      c.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
    });

  test('a valid client id is kept: upstream metadata, initial and trailing metadata, outcome', async () => {
    const md = new grpc.Metadata();
    md.set(REQUEST_ID_HEADER, 'grpc-call-7');
    const { err, initial, trailers } = await call(md);
    assert.equal(err, null);
    assert.equal(upstreamSaw[upstreamSaw.length - 1], 'grpc-call-7');
    assert.deepEqual(trailers!.get(REQUEST_ID_HEADER), ['grpc-call-7']);
    assert.deepEqual(initial!.get(REQUEST_ID_HEADER), ['grpc-call-7']);
    await until(() => outcomes.find((o) => o.requestId === 'grpc-call-7'));
  });

  test('without one (or with an invalid one) the trailers carry a new id the upstream saw too', async () => {
    for (const md of [new grpc.Metadata(), (() => { const m = new grpc.Metadata(); m.set(REQUEST_ID_HEADER, 'no spaces allowed'); return m; })()]) {
      const { trailers } = await call(md);
      const got = String(trailers!.get(REQUEST_ID_HEADER)[0]);
      assert.match(got, UUID);
      assert.equal(upstreamSaw[upstreamSaw.length - 1], got);
    }
  });
});
