// TLS through the proxy: its REST and gRPC listeners over TLS (and mTLS), certificates
// replaced under load, TLS to the upstream with a CA; with the access log on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startServer } from '../../server/index.ts';
import { TempRepo, eventually } from '../helpers/repo.ts';
import { TestCa, TlsDir, httpsRequest, rotateUnderLoad } from '../helpers/certs.ts';
import { call, connect, floatTensor } from '../server/grpc-helpers.ts';
import { parseMetrics, sample, startProxy } from './helpers.ts';

const PREDICT = '/v1/models/half_plus_two:predict';
const BODY = JSON.stringify({ instances: [1, 2, 5] });

async function fixture(o: { clientCa?: boolean } = {}) {
  const repo = await TempRepo.create();
  await repo.copyExample('half_plus_two');
  const upstreamCa = TestCa.create('upstream CA');
  const ca = TestCa.create('proxy CA');
  const clients = TestCa.create('client CA');
  const upstreamDir = await TlsDir.create();
  const dir = await TlsDir.create();
  const logDir = await mkdtemp(join(tmpdir(), 'modelgate-access-'));
  // The server speaks HTTPS on REST (its own CA) and h2c gRPC.
  const srv = await startServer({
    host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0,
    models: [{ name: 'half_plus_two', basePath: repo.path('half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }],
    tls: await upstreamDir.putPair(upstreamCa.issue()),
  });
  const upstreamCaFile = await upstreamDir.put('ca.crt', upstreamCa.cert);
  const files = await dir.putPair(ca.issue());
  const clientCa = o.clientCa ? { clientCa: await dir.put('client-ca.crt', clients.cert) } : {};
  const { proxy, registry } = await startProxy({
    rest: { host: '127.0.0.1', port: 0, upstream: srv.restUrl, upstreamTls: { ca: upstreamCaFile, serverName: 'localhost' }, tls: { ...files, ...clientCa } },
    grpc: { host: '127.0.0.1', port: 0, upstream: srv.grpcAddress!, tls: { ...files, ...clientCa } },
    accessLog: { enabled: true, to: { file: join(logDir, 'access.log') } },
  });
  return {
    ca, clients, dir, proxy, registry, logFile: join(logDir, 'access.log'),
    async close() {
      await proxy.close();
      await srv.close();
      for (const d of [dir, upstreamDir]) await d.remove();
      await rm(logDir, { recursive: true, force: true });
      await repo.remove();
    },
  };
}

test('REST and gRPC through the proxy over TLS, to an HTTPS upstream trusted through its CA; every request in the access log', async () => {
  const f = await fixture();
  const c = connect(f.proxy.grpcAddress!, grpc.credentials.createSsl(Buffer.from(f.ca.cert)));
  try {
    assert.match(f.proxy.restUrl!, /^https:\/\//);
    const r = await httpsRequest(f.proxy.restUrl + PREDICT, { ca: f.ca.cert, body: BODY, headers: { 'x-request-id': 'tls-rest-1' } });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { predictions: [2.5, 3, 4.5] });
    const g = await call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floatTensor([3], [1, 2, 5]) } });
    assert.deepEqual(g.outputs.y.float_val, [2.5, 3, 4.5]);
    await f.proxy.drain(); // the drain flushes the access log
    const lines = (await readFile(f.logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const rest = lines.find((l) => l['requestId'] === 'tls-rest-1');
    assert.ok(rest, JSON.stringify(lines));
    assert.equal(rest['model'], 'half_plus_two');
    assert.equal(rest['version'], '123');
    assert.equal(rest['protocol'], 'rest');
    assert.equal(rest['status'], 200);
    assert.equal(rest['bytesIn'], BODY.length);
    const rpc = lines.find((l) => l['protocol'] === 'grpc');
    assert.ok(rpc, JSON.stringify(lines));
    assert.equal(rpc['code'], 'OK');
    assert.equal(typeof rpc['requestId'], 'string');
  } finally {
    c.close();
    await f.close();
  }
});

test('the proxy\'s certificate is replaced under load with no failed request; new connections get the new serial, on REST and gRPC', async () => {
  const f = await fixture();
  try {
    const next = f.ca.issue();
    const { ok, failures } = await rotateUnderLoad({ url: f.proxy.restUrl + PREDICT, ca: f.ca.cert, body: BODY, next, newConnections: 2, keptAlive: 1, swap: () => f.dir.putPair(next) }, eventually);
    assert.equal(failures, 0, `${failures} failed of ${ok + failures}`);
    // gRPC shares the files: a new channel handshakes with the new certificate.
    const c = connect(f.proxy.grpcAddress!, grpc.credentials.createSsl(Buffer.from(f.ca.cert)));
    try {
      const g = await call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floatTensor([1], [4]) } });
      assert.deepEqual(g.outputs.y.float_val, [4]);
    } finally {
      c.close();
    }
    const m = parseMetrics(await f.registry.metrics());
    assert.equal(sample(m, 'modelgate_tls_reloads_total', { entrypoint: 'rest', outcome: 'ok' }), 1);
    assert.equal(sample(m, 'modelgate_tls_reloads_total', { entrypoint: 'grpc', outcome: 'ok' }), 1);
  } finally {
    await f.close();
  }
});

test('with clientCa, the proxy serves REST and gRPC clients with a certificate from that CA and refuses an expired one and one from another CA', async () => {
  const f = await fixture({ clientCa: true });
  const good = f.clients.issue({ cn: 'caller', client: true });
  const expired = f.clients.issue({ cn: 'late', client: true, notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
  const stranger = TestCa.create('another CA').issue({ cn: 'stranger', client: true });
  const channel = (cert?: { cert: string; key: string }) =>
    connect(f.proxy.grpcAddress!, grpc.credentials.createSsl(Buffer.from(f.ca.cert), cert ? Buffer.from(cert.key) : null, cert ? Buffer.from(cert.cert) : null));
  const predict = (c: ReturnType<typeof connect>) => call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floatTensor([1], [2]) } }, 5000);
  try {
    assert.equal((await httpsRequest(f.proxy.restUrl + PREDICT, { ca: f.ca.cert, body: BODY, ...good })).status, 200);
    for (const bad of [undefined, expired, stranger]) {
      await assert.rejects(httpsRequest(f.proxy.restUrl + PREDICT, { ca: f.ca.cert, body: BODY, ...(bad ?? {}) }));
    }
    const ok = channel(good);
    try {
      assert.deepEqual((await predict(ok)).outputs.y.float_val, [3]);
    } finally {
      ok.close();
    }
    for (const bad of [expired, stranger]) {
      const c = channel(bad);
      try {
        await assert.rejects(predict(c), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
      } finally {
        c.close();
      }
    }
  } finally {
    await f.close();
  }
});

test('a client that connects to a TLS listener and never completes the handshake is closed within timeouts.headers (REST, gRPC on frames and on node:http2)', async () => {
  const dir = await TlsDir.create();
  const ca = TestCa.create('handshake CA');
  const files = await dir.putPair(ca.issue());
  const upstream = createNetServer((s) => s.on('error', () => undefined));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const up = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const started = [
    await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: `http://${up}`, tls: files }, grpc: { host: '127.0.0.1', port: 0, upstream: up, tls: files }, timeouts: { headers: '300ms' } }),
    await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: up, tls: files, server: 'http2' }, timeouts: { headers: '300ms' } }),
  ];
  try {
    const addresses = [started[0]!.proxy.restUrl!.replace(/^https:\/\//, ''), started[0]!.proxy.grpcAddress!, started[1]!.proxy.grpcAddress!];
    const closedAfter = await Promise.all(addresses.map(async (address) => {
      const i = address.lastIndexOf(':');
      const sock = netConnect(Number(address.slice(i + 1)), address.slice(0, i));
      sock.on('error', () => undefined);
      const t0 = performance.now();
      const closed = await Promise.race([new Promise((r) => sock.once('close', () => r(true))), new Promise((r) => setTimeout(() => r(false), 5000))]);
      sock.destroy();
      return closed ? performance.now() - t0 : Infinity;
    }));
    for (const [k, ms] of closedAfter.entries()) assert.ok(ms >= 250 && ms < 5000, `${addresses[k]}: closed after ${Math.round(ms)} ms`);
  } finally {
    for (const s of started) await s.proxy.close();
    upstream.close();
    await dir.remove();
  }
});
