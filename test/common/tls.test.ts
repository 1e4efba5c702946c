import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, Agent, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ReloadableTls } from '../../common/tls.ts';
import { TestCa, TlsDir } from '../helpers/certs.ts';
import { eventually } from '../helpers/repo.ts';

interface Answer { status: number; serial: string; }

function get(port: number, ca: string, extra: { cert?: string; key?: string; agent?: Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', ca, servername: 'localhost', agent: extra.agent ?? false, ...(extra.cert ? { cert: extra.cert, key: extra.key } : {}) }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(tls: ReloadableTls): Promise<{ server: Server; port: number }> {
  const server = createServer(tls.serverOptions(), (_req, res) => res.end('ok'));
  tls.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

test('a server built from a ReloadableTls serves the new certificate to new connections once the files are replaced, and open connections stay up', async () => {
  const ca = TestCa.create();
  const dir = await TlsDir.create();
  const first = ca.issue();
  const files = await dir.putPair(first);
  const reloads: string[] = [];
  const tls = await ReloadableTls.open(files, { pollMs: 200, settleMs: 20, onReload: (s) => reloads.push(s) });
  const { server, port } = await serve(tls);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    assert.equal((await get(port, ca.cert, { agent })).serial, first.serial);
    const second = ca.issue();
    await dir.putPair(second);
    await eventually(async () => (await get(port, ca.cert)).serial === second.serial, 5000, 50, 'new connections see the new serial');
    assert.deepEqual(reloads, [second.serial]);
    assert.equal(tls.serial, second.serial);
    // The kept-alive connection made before the swap still answers, with the certificate it negotiated.
    const kept = await get(port, ca.cert, { agent });
    assert.equal(kept.status, 200);
    assert.equal(kept.serial, first.serial);
  } finally {
    agent.destroy();
    tls.close();
    await stop(server);
    await dir.remove();
  }
});

test('a half-written pair keeps the old certificate serving and is counted once; completing the pair loads it', async () => {
  const ca = TestCa.create();
  const dir = await TlsDir.create();
  const first = ca.issue();
  const files = await dir.putPair(first);
  const errors: string[] = [];
  const tls = await ReloadableTls.open(files, { pollMs: 100, settleMs: 10, onError: (e) => errors.push(e.message) });
  const { server, port } = await serve(tls);
  try {
    const second = ca.issue();
    await dir.put('tls.crt', second.cert); // the key is still the first one's
    await eventually(() => errors.length > 0, 5000, 20, 'the mismatched pair is reported');
    assert.match(errors[0]!, /tls\.crt and .*tls\.key do not load/);
    assert.equal((await get(port, ca.cert)).serial, first.serial);
    await new Promise((r) => setTimeout(r, 300)); // a few more timer reads of the same bad pair
    assert.equal(tls.stats.failures, 1);
    await dir.put('tls.key', second.key);
    await eventually(async () => (await get(port, ca.cert)).serial === second.serial, 5000, 50, 'the completed pair serves');
    assert.equal(tls.stats.reloads, 1);
  } finally {
    tls.close();
    await stop(server);
    await dir.remove();
  }
});

test('opening files that do not load fails with the file named', async () => {
  const ca = TestCa.create();
  const dir = await TlsDir.create();
  try {
    await assert.rejects(ReloadableTls.open({ cert: dir.path('missing.crt'), key: dir.path('missing.key') }), /cannot read the TLS certificate file .*missing\.crt: ENOENT/);
    const a = ca.issue();
    const b = ca.issue();
    await dir.put('a.crt', a.cert);
    await dir.put('b.key', b.key);
    await assert.rejects(ReloadableTls.open({ cert: dir.path('a.crt'), key: dir.path('b.key') }), /a\.crt and .*b\.key do not load/);
  } finally {
    await dir.remove();
  }
});

test('with a client CA, only clients with a valid certificate from that CA are served', async () => {
  const ca = TestCa.create('server CA');
  const clients = TestCa.create('client CA');
  const other = TestCa.create('another CA');
  const dir = await TlsDir.create();
  const files = await dir.putPair(ca.issue());
  const clientCa = await dir.put('client-ca.crt', clients.cert);
  const tls = await ReloadableTls.open({ ...files, clientCa });
  const { server, port } = await serve(tls);
  try {
    const good = clients.issue({ cn: 'caller', client: true });
    assert.equal((await get(port, ca.cert, good)).status, 200);
    await assert.rejects(get(port, ca.cert), 'no client certificate');
    await assert.rejects(get(port, ca.cert, other.issue({ cn: 'stranger', client: true })), 'a certificate from another CA');
    const expired = clients.issue({ cn: 'late', client: true, notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
    await assert.rejects(get(port, ca.cert, expired), 'an expired certificate');
  } finally {
    tls.close();
    await stop(server);
    await dir.remove();
  }
});
