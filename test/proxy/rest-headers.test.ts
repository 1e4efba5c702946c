import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { once } from 'node:events';
import { rawExchange as sharedRawExchange, startProxy, startUpstream, statusCodes } from './helpers.ts';
import type { Upstream } from './helpers.ts';
import type { Proxy } from '../../proxy/index.ts';

/** Sends one raw HTTP/1.1 request and returns the raw response bytes (the proxy closes after it). */
async function rawExchange(port: number, request: string): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(request);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  socket.destroy();
  return Buffer.concat(chunks);
}

// The REST path passes header lists through as lists (raw names, repeated lines, bytes
// unchanged) and streams large bodies with backpressure.
describe('REST header and body pass-through', () => {
  let up: Upstream;
  let proxy: Proxy;
  const BIG = 4 * 1024 * 1024;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url?.includes('/big')) {
        // No content-length: chunked, many writes, more than the socket buffers hold.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-model-version': '3' });
        const slab = Buffer.alloc(64 * 1024, 7);
        let sent = 0;
        const pump = () => {
          while (sent < BIG) {
            sent += slab.length;
            if (!res.write(slab)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      // Two set-cookie lines, a value with non-ASCII bytes (latin1 'é'), a header the
      // Connection header names as hop-by-hop.
      res.writeHead(200, [
        ['Content-Type', 'application/json'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['X-Label', Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('latin1')],
        ['Connection', 'x-upstream-hop'],
        ['X-Upstream-Hop', 'secret'],
        ['X-Model-Version', '2'],
      ].flat());
      res.end('{"ok":true}');
    });
    ({ proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { statusApi: 'none' } }));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  test('repeated response headers stay separate lines, header bytes arrive unchanged, Connection-listed ones are dropped', async () => {
    const port = Number(new URL(proxy.restUrl!).port);
    const raw = await rawExchange(port, 'POST /v1/models/fraud:predict HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}');
    const head = raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1');
    const lines = head.split('\r\n').slice(1);
    assert.deepEqual(lines.filter((l) => /^set-cookie:/i.test(l)), ['Set-Cookie: a=1', 'Set-Cookie: b=2']);
    assert.ok(raw.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9])), 'the latin1 byte 0xe9 passes unchanged');
    assert.equal(lines.some((l) => /^x-upstream-hop:/i.test(l)), false);
    assert.ok(lines.includes('x-modelgate-variant: direct'));
    assert.ok(raw.toString('latin1').includes('{"ok":true}'));
  });

  test('the upstream sees the client header names as sent, one X-Forwarded-For list, and no hop-by-hop headers', async () => {
    const port = Number(new URL(proxy.restUrl!).port);
    await rawExchange(
      port,
      'POST /v1/models/fraud:predict HTTP/1.1\r\nHost: x\r\nConnection: close, X-Client-Hop\r\nX-Client-Hop: 1\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\nX-Custom: kept\r\nContent-Length: 2\r\n\r\n{}',
    );
    const seen = up.seen[up.seen.length - 1]!;
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers['x-client-hop'], undefined);
    assert.equal(seen.headers['x-forwarded-for'], '10.0.0.1, 10.0.0.2, 127.0.0.1');
    assert.match(String(seen.headers['traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(seen.body.toString(), '{}');
  });

  test('a response larger than the socket buffers reaches a slow reader whole', async () => {
    const port = Number(new URL(proxy.restUrl!).port);
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /v1/models/fraud/big HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    socket.pause(); // let the proxy's writes back up before reading anything
    await new Promise((r) => setTimeout(r, 200));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.resume();
    await once(socket, 'end');
    const raw = Buffer.concat(chunks);
    const bodyStart = raw.indexOf('\r\n\r\n') + 4;
    // Chunked framing: sum the payload of every chunk.
    let i = bodyStart;
    let payload = 0;
    for (;;) {
      const eol = raw.indexOf('\r\n', i);
      const size = parseInt(raw.subarray(i, eol).toString('latin1'), 16);
      if (size === 0) break;
      payload += size;
      i = eol + 2 + size + 2;
    }
    assert.equal(payload, BIG);
  });
});

// node:http will not send a control byte in a header, so this upstream writes its answers
// as bytes: the head the request's model names, then `{}`.
const UPSTREAM_HEADS: Record<string, string> = {
  plain:
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sun, 06 Dec 2026 10:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=17\r\n' +
    'x-request-id: upstream-id\r\nX-Model-Version: 4\r\nX-Note:  spaced value \r\nContent-Length: 2',
  nodate: 'HTTP/1.1 201 Created\r\nContent-Length: 2',
  control: 'HTTP/1.1 200 OK\r\nX-Bad: a\x01b\r\nContent-Length: 2',
  delete: 'HTTP/1.1 200 OK\r\nX-Bad\x7f: 1\r\nContent-Length: 2',
};
// Answers whose body is not `{}` with a length: both framings at once, in either order.
const UPSTREAM_ANSWERS: Record<string, string> = {
  lengthfirst: 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
  codingfirst: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
};

describe('upstream response heads, through the relay front and through node:http', () => {
  let upstream: NetServer;
  const proxies: Record<'relay' | 'node', Proxy> = {} as never;
  const requestHeads: string[] = [];

  before(async () => {
    upstream = createNetServer((socket) => {
      let buf = '';
      socket.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          requestHeads.push(head);
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          buf = buf.slice(end + 4 + length);
          const model = /models\/(\w+)/.exec(head)?.[1] ?? 'plain';
          socket.write(UPSTREAM_ANSWERS[model] ?? `${UPSTREAM_HEADS[model]}\r\n\r\n{}`, 'latin1');
        }
      });
      socket.on('error', () => {});
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    for (const server of ['relay', 'node'] as const) {
      ({ proxy: proxies[server] } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: url, server }, labels: { statusApi: 'none' } }));
    }
  });
  after(async () => {
    for (const p of Object.values(proxies)) await p.close();
    upstream.close();
  });

  const headOf = async (server: 'relay' | 'node', model: string): Promise<string> => {
    const port = Number(new URL(proxies[server].restUrl!).port);
    const raw = await sharedRawExchange(port, `POST /v1/models/${model}:predict HTTP/1.1\r\nhost: x\r\nx-request-id: client-id-1\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}`);
    return raw.slice(0, raw.indexOf('\r\n\r\n'));
  };

  test('both fronts write the same head: the upstream lines in order, its Date kept once, its request id and keep-alive replaced by ours', async () => {
    const relay = await headOf('relay', 'plain');
    assert.equal(relay, await headOf('node', 'plain'));
    const lines = relay.split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 200 OK');
    assert.deepEqual(lines.filter((l) => /^date:/i.test(l)), ['Date: Sun, 06 Dec 2026 10:00:00 GMT']);
    assert.deepEqual(lines.filter((l) => /^x-request-id:/i.test(l)), ['x-request-id: client-id-1']);
    assert.equal(lines.some((l) => /timeout=17/.test(l)), false);
    assert.ok(lines.includes('X-Model-Version: 4'));
    assert.ok(lines.includes('x-modelgate-variant: direct'));
  });

  test('an upstream head without a Date gets one, on both fronts alike', async () => {
    for (const server of ['relay', 'node'] as const) {
      const lines = (await headOf(server, 'nodate')).split('\r\n');
      assert.equal(lines[0], 'HTTP/1.1 201 Created', server);
      assert.equal(lines.filter((l) => /^date: \w{3}, \d\d \w{3} \d{4} /i.test(l)).length, 1, `${server}: ${lines.join(' | ')}`);
    }
  });

  test('an upstream header with a control byte or a DEL in it is answered 502 on both fronts, and nothing of it reaches the client', async () => {
    for (const server of ['relay', 'node'] as const) {
      for (const model of ['control', 'delete']) {
        const head = await headOf(server, model);
        assert.equal(statusCodes(head)[0], 502, `${server} ${model}: ${JSON.stringify(head)}`);
        assert.equal(head.includes('X-Bad'), false);
      }
    }
  });

  test('both fronts send the upstream the same request head: client lines in order, hop-by-hop ones cut, a GET without a length, a bare POST with length 0, our ids last', async () => {
    const requests = [
      'POST /v1/models/plain:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nUser-Agent: t/1\r\nX-Forwarded-For: 10.0.0.1\r\nx-request-id: r1\r\n' +
        'Authorization: Bearer abc\r\nX-Odd:   v  \r\nKeep-Alive: timeout=3\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      'GET /v1/models/plain HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\naccept: */*\r\nconnection: close\r\n\r\n',
      'POST /v1/models/plain:predict HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
      'POST /v1/models/plain:predict HTTP/1.1\r\nhost: x\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}',
    ];
    const seen: Record<'relay' | 'node', string[]> = { relay: [], node: [] };
    for (const server of ['relay', 'node'] as const) {
      const port = Number(new URL(proxies[server].restUrl!).port);
      for (const r of requests) {
        const before = requestHeads.length;
        assert.equal(statusCodes(await sharedRawExchange(port, r))[0], 200, `${server}: ${r}`);
        // Span ids and new request ids are random; the trace id is the client's or new.
        const normal = (h: string) => h.replace(/(traceparent: 00-)(\w{32})-\w{16}/, (_, p: string, t: string) => `${p}${t.startsWith('0af765') ? t : 'T'}-S`).replace(/(x-request-id: )[0-9a-f-]{36}/, '$1ID');
        seen[server].push(...requestHeads.slice(before).map(normal));
      }
    }
    assert.deepEqual(seen.relay, seen.node);
    const [post, get, bare] = seen.relay.map((h) => h.split('\r\n'));
    assert.deepEqual(post!.filter((l) => !/^(host|traceparent|x-request-id|x-forwarded-for):/.test(l)), [
      'POST /v1/models/plain:predict HTTP/1.1', 'Content-Type: application/json', 'User-Agent: t/1', 'Authorization: Bearer abc', 'X-Odd: v', 'Content-Length: 2',
    ]);
    assert.ok(post!.includes('x-request-id: r1') && post!.includes('x-forwarded-for: 10.0.0.1, 127.0.0.1'), post!.join(' | '));
    assert.equal(get!.some((l) => /^content-length/i.test(l)), false);
    assert.equal(bare!.at(-1), 'content-length: 0');
  });

  test('an upstream answer with both a transfer coding and a length reaches the client without the length, its body re-framed, on both fronts', async () => {
    for (const server of ['relay', 'node'] as const) {
      for (const model of ['lengthfirst', 'codingfirst']) {
        const port = Number(new URL(proxies[server].restUrl!).port);
        const raw = await sharedRawExchange(port, `GET /v1/models/${model} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
        const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
        assert.equal(statusCodes(head)[0], 200, `${server} ${model}: ${JSON.stringify(raw)}`);
        assert.equal(/content-length/i.test(head), false, `${server} ${model}: ${JSON.stringify(head)}`);
        assert.match(head, /transfer-encoding: chunked/i);
        assert.equal(raw.slice(raw.indexOf('\r\n\r\n') + 4), '2\r\n{}\r\n0\r\n\r\n', `${server} ${model}`);
      }
    }
  });
});
