// Proxy#drain in process: a large answer to a slow reader arrives whole, idle keep-alive
// connections close at once, and the drain timeout cuts what is still running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { startProxy, startUpstream } from './helpers.ts';

const BIG = 15 * 1024 * 1024;

test('a 15 MB answer to a slow reader in flight at drain reaches the client whole', { timeout: 120_000 }, async () => {
  const body = Buffer.alloc(BIG, 'x');
  const up = await startUpstream((_req, res) => {
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url } });
  try {
    const url = new URL(proxy.restUrl!);
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    socket.write('GET /v1/models/big HTTP/1.1\r\nhost: x\r\n\r\n');
    // Read the head, then stop reading: the answer piles up in the proxy's buffers.
    const first = (await once(socket, 'data'))[0] as Buffer;
    socket.pause();
    const headEnd = first.indexOf('\r\n\r\n');
    let received = first.length - headEnd - 4;
    const drained = proxy.drain(60_000);
    await new Promise((r) => setTimeout(r, 300));
    // Now read, slowly.
    const done = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('data', (d: Buffer) => {
      received += d.length;
      socket.pause();
      setTimeout(() => socket.resume(), 10);
    });
    socket.resume();
    await done;
    assert.equal(received, BIG);
    await drained;
  } finally {
    await proxy.close();
    await up.close();
  }
});

test('the drain timeout cuts a request still running, and drain resolves', { timeout: 30_000 }, async () => {
  const held: ServerResponse[] = [];
  const up = await startUpstream((_req, res) => held.push(res));
  const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url } });
  try {
    const pending = fetch(`${proxy.restUrl}/v1/models/m`).then((r) => r.status, () => 'cut');
    while (held.length === 0) await new Promise((r) => setTimeout(r, 20));
    await proxy.drain(300);
    assert.equal(await pending, 'cut');
  } finally {
    for (const r of held) r.destroy();
    await proxy.close();
    await up.close();
  }
});
