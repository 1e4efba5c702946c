// The frame-level gRPC server and upstream client (proxy/h2, the default without TLS), with
// grpc-js on both sides: large messages across the flow-control windows, many calls at once
// on one connection, nothing left behind per call, and GOAWAY letting calls in flight end.
// The hostile-client corpus is test/proxy/h2-hostile.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { TestCa, TlsDir } from '../helpers/certs.ts';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { Issues, systemClock } from '../../common/index.ts';
import { ReloadableTls } from '../../common/tls.ts';
import { ModelCatalog } from '../../proxy/catalog.ts';
import { readProxyConfig } from '../../proxy/config.ts';
import { createGrpcServer } from '../../proxy/grpc.ts';
import { FrameServer, FrameTlsServer, FrameUpstream } from '../../proxy/h2/index.ts';
import { ProxyMetrics } from '../../proxy/metrics.ts';
import { Observers } from '../../proxy/observers.ts';
import { Recorder } from '../../proxy/recorder.ts';
import { Tracing } from '../../proxy/tracing.ts';
import { startProxy, until } from './helpers.ts';

const id = (b: Buffer) => b;
const method = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/test.Frames/${name}`, requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id,
});
const service: grpc.ServiceDefinition = { Echo: method('Echo'), Hold: method('Hold') };
type Unary = (r: Buffer, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => grpc.ClientUnaryCall;

describe('the frame-level gRPC server and client', () => {
  let upstream: grpc.Server;
  let server: FrameServer;
  let frames: FrameUpstream;
  let client: grpc.Client & Record<'Echo' | 'Hold', Unary>;
  const held: Array<() => void> = [];

  before(async () => {
    upstream = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    upstream.addService(service, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
      Hold: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => held.push(() => cb(null, call.request)),
    });
    const upPort = await new Promise<number>((resolve, reject) =>
      upstream.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const issues = new Issues();
    const config = readProxyConfig({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${upPort}` }, admin: { port: 0 } }, 'proxy', issues);
    assert.ok(issues.ok, JSON.stringify(issues.errors));
    assert.equal(config.grpc?.server, 'frames', 'the default without tls');
    assert.equal(config.grpc?.client, 'frames', 'the default without upstreamTls');
    const metrics = new ProxyMetrics(new Registry());
    const observers = new Observers(metrics);
    const catalog = new ModelCatalog({ clock: systemClock, maxModels: 10, maxVersionsPerModel: 10, goneVersionGraceMs: 60_000 });
    const recorder = new Recorder({ clock: systemClock, catalog, metrics, observers });
    frames = new FrameUpstream(`127.0.0.1:${upPort}`);
    const listener = createGrpcServer({ config, metrics, observers, recorder, tracing: new Tracing(true), getSplit: () => undefined, random: Math.random }, frames);
    assert.ok(listener instanceof FrameServer);
    server = listener;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const Client = grpc.makeGenericClientConstructor(service, 'Frames');
    const options = { 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.max_send_message_length': 16 * 1024 * 1024 };
    client = new Client(`127.0.0.1:${(server.address() as AddressInfo).port}`, grpc.credentials.createInsecure(), options) as unknown as typeof client;
  });
  after(async () => {
    client.close();
    frames.close();
    server.destroyAll();
    await new Promise<void>((r) => server.close(() => r()));
    upstream.forceShutdown();
  });

  const call = (name: 'Echo' | 'Hold', body: Buffer) =>
    new Promise<Buffer>((resolve, reject) => client[name](body, new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (e, r) => (e ? reject(e) : resolve(r!))));
  const openStreams = () => [...server.sessions].reduce((n, c) => n + c.streams.size, 0) + frames.stats().streams;

  test('a 3 MiB message goes through both directions byte for byte, across many flow-control windows', { timeout: 30_000 }, async () => {
    const body = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 11)) & 0xff;
    const reply = await call('Echo', body);
    assert.equal(reply.length, body.length);
    assert.ok(reply.equals(body));
  });

  test('300 calls at once on one client connection are all answered, and then neither side holds a stream', { timeout: 30_000 }, async () => {
    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => call('Echo', Buffer.from(`call ${i}`))));
    replies.forEach((r, i) => assert.equal(r.toString(), `call ${i}`));
    await until(() => openStreams() === 0);
    assert.equal(server.sessions.size, 1, 'one client connection');
    assert.equal(frames.stats().connections, 1, 'one upstream connection');
  });

  test('a call the client cancels is cancelled upstream and leaves no stream behind', { timeout: 30_000 }, async () => {
    const c = client.Hold(Buffer.from('x'), new grpc.Metadata(), {}, () => undefined);
    await until(() => held.length === 1);
    c.cancel();
    await until(() => openStreams() === 0);
    held.shift()!(); // the upstream answers a call nobody waits for: dropped
    assert.equal((await call('Echo', Buffer.from('after'))).toString(), 'after');
  });

  test('GOAWAY to the client lets its call in flight finish, then the connection closes', { timeout: 30_000 }, async () => {
    const pending = call('Hold', Buffer.from('in flight'));
    await until(() => held.length === 1);
    const [conn] = [...server.sessions];
    assert.ok(conn);
    const closed = once(conn.sock, 'close');
    server.goawayAll();
    held.shift()!();
    assert.equal((await pending).toString(), 'in flight');
    await closed;
    // The client connects again for the next call.
    assert.equal((await call('Echo', Buffer.from('again'))).toString(), 'again');
  });
});

describe('the frame-level client towards an upstream that breaks the protocol', () => {
  test('DATA before the response headers resets the upstream stream and the client gets UNAVAILABLE, not the bytes', { timeout: 30_000 }, async () => {
    // A raw h2c "upstream": answers the preface with SETTINGS, then sends DATA on stream 1
    // before any HEADERS (RFC 9113 §8.1: a response starts with HEADERS).
    const resets: number[] = [];
    const up = createNetServer((sock) => {
      let sent = false;
      sock.on('data', (chunk: Buffer) => {
        if (!sent) {
          sent = true;
          sock.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // SETTINGS, empty
          sock.write(Buffer.concat([Buffer.from([0, 0, 5, 0, 0, 0, 0, 0, 1]), Buffer.from([0, 0, 0, 0, 0])])); // DATA on stream 1
        }
        // RST_STREAM frames from the proxy: type 3, 4-byte payload (the code).
        for (let i = 0; i + 9 <= chunk.length; i++) {
          if (chunk[i] === 0 && chunk[i + 1] === 0 && chunk[i + 2] === 4 && chunk[i + 3] === 3) resets.push(chunk.readUInt32BE(i + 9));
        }
      });
      sock.on('error', () => undefined);
    });
    up.listen(0, '127.0.0.1');
    await once(up, 'listening');
    const { proxy } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${(up.address() as AddressInfo).port}` }, timeouts: { upstream: '3s' } });
    const Client = grpc.makeGenericClientConstructor(service, 'Frames');
    const client = new Client(proxy.grpcAddress!, grpc.credentials.createInsecure()) as unknown as Record<'Echo', Unary> & grpc.Client;
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => client.Echo(Buffer.from('x'), new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e) => resolve(e)));
      assert.equal(err?.code, grpc.status.UNAVAILABLE, String(err?.message));
      await until(() => resets.includes(1), 5_000); // PROTOCOL_ERROR
    } finally {
      client.close();
      await proxy.close();
      up.close();
    }
  });
});

describe('the frames server and a client that never starts', () => {
  test('a connection that sends no preface within timeouts.headers is closed', { timeout: 30_000 }, async () => {
    const upstream = createNetServer((s) => s.on('error', () => undefined));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { proxy } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${(upstream.address() as AddressInfo).port}` }, timeouts: { headers: '300ms' } });
    const [host, port] = proxy.grpcAddress!.split(':');
    const sock = connect(Number(port), host);
    sock.on('data', () => undefined);
    sock.on('error', () => undefined);
    try {
      const t0 = performance.now();
      await once(sock, 'close');
      const ms = performance.now() - t0;
      assert.ok(ms >= 250 && ms < 5000, `closed after ${Math.round(ms)} ms`);
    } finally {
      sock.destroy();
      await proxy.close();
      upstream.close();
    }
  });
});

describe('the frames server over TLS', () => {
  let proxy: Awaited<ReturnType<typeof startProxy>>['proxy'];
  let dir: TlsDir;
  const ca = TestCa.create('frames TLS CA');
  const upstream = createNetServer((s) => s.on('error', () => undefined));
  let host: string;
  let port: number;

  before(async () => {
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    dir = await TlsDir.create();
    ({ proxy } = await startProxy({
      grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${(upstream.address() as AddressInfo).port}`, tls: await dir.putPair(ca.issue()) },
      timeouts: { headers: '300ms' },
    }));
    const i = proxy.grpcAddress!.lastIndexOf(':');
    host = proxy.grpcAddress!.slice(0, i);
    port = Number(proxy.grpcAddress!.slice(i + 1));
  });
  after(async () => {
    await proxy.close();
    upstream.close();
    await dir.remove();
  });

  test('is the default with tls, and is the frame-level listener', async () => {
    const issues = new Issues();
    const config = readProxyConfig({ grpc: { host: '127.0.0.1', port: 0, upstream: '127.0.0.1:1', tls: await dir.putPair(ca.issue()) }, admin: { port: 0 } }, 'proxy', issues);
    assert.ok(issues.ok, JSON.stringify(issues.errors));
    assert.equal(config.grpc?.server, 'frames');
    const tls = await ReloadableTls.open(config.grpc!.tls!);
    try {
      const metrics = new ProxyMetrics(new Registry());
      const observers = new Observers(metrics);
      const catalog = new ModelCatalog({ clock: systemClock, maxModels: 10, maxVersionsPerModel: 10, goneVersionGraceMs: 60_000 });
      const recorder = new Recorder({ clock: systemClock, catalog, metrics, observers });
      const listener = createGrpcServer({ config, metrics, observers, recorder, tracing: new Tracing(true), getSplit: () => undefined, random: Math.random }, new FrameUpstream('127.0.0.1:1'), tls);
      assert.ok(listener instanceof FrameTlsServer);
    } finally {
      tls.close();
    }
  });

  test('answers a client that selects h2 by ALPN with its SETTINGS', async () => {
    const sock = tlsConnect({ host, port, ca: ca.cert, servername: 'localhost', ALPNProtocols: ['h2'] });
    try {
      await once(sock, 'secureConnect');
      assert.equal(sock.alpnProtocol, 'h2');
      sock.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      const [chunk] = (await once(sock, 'data')) as [Buffer];
      assert.equal(chunk[3], 4, 'the first frame is SETTINGS');
    } finally {
      sock.destroy();
    }
  });

  for (const alpn of [['http/1.1'], undefined]) {
    test(`closes a TLS client that ${alpn ? 'offers only http/1.1' : 'offers no protocol'} by ALPN, without an HTTP/2 byte`, async () => {
      const sock = tlsConnect({ host, port, ca: ca.cert, servername: 'localhost', ...(alpn ? { ALPNProtocols: alpn } : {}) });
      let received = 0;
      sock.on('data', (b: Buffer) => (received += b.length));
      // Refused in the handshake (no_application_protocol, RFC 7301 §3.2) or closed after it.
      sock.on('error', () => undefined);
      try {
        await new Promise((resolve) => sock.once('close', resolve));
        assert.equal(received, 0);
      } finally {
        sock.destroy();
      }
    });
  }

  test('closes a connection that does not finish its TLS handshake within timeouts.headers', { timeout: 30_000 }, async () => {
    const sock = connect(port, host);
    sock.on('error', () => undefined);
    try {
      const t0 = performance.now();
      await new Promise((resolve) => sock.once('close', resolve));
      const ms = performance.now() - t0;
      assert.ok(ms >= 250 && ms < 5000, `closed after ${Math.round(ms)} ms`);
    } finally {
      sock.destroy();
    }
  });
});

describe('the gRPC client towards an upstream over TLS', () => {
  const ca = TestCa.create('upstream TLS CA');
  const otherCa = TestCa.create('another CA');
  let dir: TlsDir;
  let upstream: grpc.Server;
  let port: number;

  before(async () => {
    dir = await TlsDir.create();
    const pair = ca.issue();
    upstream = new grpc.Server();
    upstream.addService(service, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
    const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(pair.key), cert_chain: Buffer.from(pair.cert) }], false);
    port = await new Promise<number>((resolve, reject) => upstream.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  });
  after(async () => {
    upstream.forceShutdown();
    await dir.remove();
  });

  const Client = grpc.makeGenericClientConstructor(service, 'Frames');
  async function echo(proxy: Awaited<ReturnType<typeof startProxy>>['proxy'], text: string): Promise<string> {
    const client = new Client(proxy.grpcAddress!, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
    try {
      const res = await new Promise<Buffer>((resolve, reject) =>
        (client['Echo'] as (r: Buffer, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void)(
          Buffer.from(text), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r!)),
        ),
      );
      return res.toString();
    } finally {
      client.close();
    }
  }

  for (const client of ['frames', 'http2'] as const) {
    test(`${client}: a call reaches an upstream whose certificate chains to upstreamTls.ca`, async () => {
      const caFile = await dir.put(`ca-${client}.crt`, ca.cert);
      const { proxy } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}`, upstreamTls: { ca: caFile }, client } });
      try {
        assert.equal(await echo(proxy, 'over tls'), 'over tls');
      } finally {
        await proxy.close();
      }
    });

    test(`${client}: an upstream certificate from another CA fails the call UNAVAILABLE`, async () => {
      const caFile = await dir.put(`other-${client}.crt`, otherCa.cert);
      const { proxy } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}`, upstreamTls: { ca: caFile }, client } });
      try {
        await assert.rejects(echo(proxy, 'x'), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
      } finally {
        await proxy.close();
      }
    });
  }

  test('frames is the default client with upstreamTls', () => {
    const issues = new Issues();
    const config = readProxyConfig({ grpc: { host: '127.0.0.1', port: 0, upstream: '127.0.0.1:1', upstreamTls: {} }, admin: { port: 0 } }, 'proxy', issues);
    assert.ok(issues.ok, JSON.stringify(issues.errors));
    assert.equal(config.grpc?.client, 'frames');
  });

  test('frames: an upstream that does not select h2 by ALPN fails the call UNAVAILABLE', async () => {
    const pair = ca.issue();
    const plain = createTlsServer({ key: pair.key, cert: pair.cert }, (s) => s.on('error', () => undefined));
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    const caFile = await dir.put('ca-alpn.crt', ca.cert);
    const { proxy } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${(plain.address() as AddressInfo).port}`, upstreamTls: { ca: caFile } } });
    try {
      await assert.rejects(echo(proxy, 'x'), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    } finally {
      await proxy.close();
      plain.close();
    }
  });
});
