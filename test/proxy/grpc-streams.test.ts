import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ClientHttp2Stream, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { Issues, systemClock } from '../../common/index.ts';
import { ModelCatalog } from '../../proxy/catalog.ts';
import { readProxyConfig } from '../../proxy/config.ts';
import { createGrpcServer, UpstreamSession } from '../../proxy/grpc.ts';
import type { GrpcListener } from '../../proxy/grpc.ts';
import { ProxyMetrics } from '../../proxy/metrics.ts';
import { Observers } from '../../proxy/observers.ts';
import { Recorder } from '../../proxy/recorder.ts';
import { Tracing } from '../../proxy/tracing.ts';
import { until } from './helpers.ts';

const id = (b: Buffer) => b;
const service: grpc.ServiceDefinition = {
  Echo: { path: '/test.Unknown/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};
const EVENTS = ['response', 'data', 'trailers', 'end', 'close', 'wantTrailers', 'drain'] as const;
const listeners = (s: ServerHttp2Stream | ClientHttp2Stream) => EVENTS.reduce((n, e) => n + s.listenerCount(e), 0);

// With the node:http2 server and client (`server: http2`, `client: http2`): node:http2 keeps a closed stream's objects past several young-generation GCs; whatever
// listens on it is kept with it. A finished call must leave nothing of its own behind on
// either stream (see GrpcCall#closed and the Proxy section of docs/benchmarks.md).
describe('gRPC call cleanup', () => {
  let upstream: grpc.Server;
  let server: GrpcListener;
  let session: UpstreamSession;
  let client: grpc.Client & { Echo: (r: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void };
  const clientSide: ServerHttp2Stream[] = [];
  const upstreamSide: ClientHttp2Stream[] = [];

  before(async () => {
    upstream = new grpc.Server();
    upstream.addService(service, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
    const upPort = await new Promise<number>((resolve, reject) =>
      upstream.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const issues = new Issues();
    const config = readProxyConfig({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${upPort}`, server: 'http2', client: 'http2' }, admin: { port: 0 } }, 'proxy', issues);
    assert.ok(issues.ok, JSON.stringify(issues.errors));
    const metrics = new ProxyMetrics(new Registry());
    const observers = new Observers(metrics);
    const catalog = new ModelCatalog({ clock: systemClock, maxModels: 10, maxVersionsPerModel: 10, goneVersionGraceMs: 60_000 });
    const recorder = new Recorder({ clock: systemClock, catalog, metrics, observers });
    session = new UpstreamSession(`127.0.0.1:${upPort}`);
    // Every upstream stream the proxy opens, seen through node's own session object.
    const h2 = session.get();
    const request = h2.request.bind(h2);
    h2.request = (...args: Parameters<typeof h2.request>) => {
      const s = request(...args);
      upstreamSide.push(s);
      return s;
    };
    server = createGrpcServer({ config, metrics, observers, recorder, tracing: new Tracing(true), getSplit: () => undefined, random: Math.random }, session);
    server.on('stream', (s: ServerHttp2Stream) => clientSide.push(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const Client = grpc.makeGenericClientConstructor(service, 'Unknown');
    client = new Client(`127.0.0.1:${(server.address() as AddressInfo).port}`, grpc.credentials.createInsecure()) as unknown as typeof client;
  });
  after(async () => {
    client.close();
    session.close();
    await new Promise<void>((r) => server.close(() => r()));
    upstream.forceShutdown();
  });

  test('after a call both streams are closed and neither still carries a listener of the call', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await new Promise<Buffer>((resolve, reject) => client.Echo(Buffer.from(`hello ${i}`), (e, r) => (e ? reject(e) : resolve(r!))));
      assert.equal(reply.toString(), `hello ${i}`);
    }
    assert.equal(clientSide.length, 3);
    assert.equal(upstreamSide.length, 3);
    await until(() => [...clientSide, ...upstreamSide].every((s) => s.closed && s.destroyed));
    for (const s of clientSide) assert.equal(listeners(s), 0, 'client-side stream');
    for (const s of upstreamSide) assert.equal(listeners(s), 0, 'upstream stream');
  });
});
