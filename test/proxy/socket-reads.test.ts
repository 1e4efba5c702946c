// The REST relay reads every client connection into one buffer, and the native upstream
// client every upstream socket into another (socket-reads.ts, node's `onread`): each read
// overwrites the last. Whatever is kept across reads (an unfinished head or body, a
// pipelined request, a body waiting for its upstream) must have been copied out. These
// tests hold bytes across reads while other connections overwrite the buffers, and check
// that every byte arrives as sent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import type { Proxy } from '../../proxy/index.ts';
import { readAsStream, readInto } from '../../proxy/socket-reads.ts';
import { rawExchange, startProxy, startUpstream, statusCodes } from './helpers.ts';
import type { Upstream } from './helpers.ts';

const PATH = '/v1/models/fraud:predict';
const post = (body: string, extra = '') => `POST ${PATH} HTTP/1.1\r\nHost: proxy\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `raw` in two parts (cut at `at`), `between()` running in between; resolves with the answer once it ends with `last` (or after 2 s). */
async function inTwoReads(port: number, raw: string, at: number, between: () => Promise<void>, last: string): Promise<string> {
  const s = connect(port, '127.0.0.1');
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  s.write(raw.slice(0, at));
  await sleep(30);
  await between();
  s.write(raw.slice(at));
  for (let t = 0; t < 200 && !got.endsWith(last); t++) await sleep(10);
  s.destroy();
  return got;
}
/** A body of `n` characters, different for each `tag`. */
const bodyOf = (tag: string, n = 600) => `{"x":"${tag.repeat(Math.ceil(n / tag.length)).slice(0, n)}"}`;

/** A loopback server whose accepted sockets go to `onSocket`; and a client connected to it. */
async function pair(onSocket: (s: Socket) => void): Promise<{ client: Socket; close: () => void }> {
  const server = createServer(onSocket).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  return { client, close: () => (client.destroy(), server.close()) };
}

describe('reading an accepted socket into a buffer of our own', () => {
  test('on this node every read lands in the buffer, in order; the end of the stream is still emitted', async () => {
    const buffer = Buffer.alloc(8);
    const got: string[] = [];
    let switched = false;
    let ended = false;
    const { client, close } = await pair((s) => {
      switched = readInto(s, buffer, (n, b) => {
        assert.equal(b, buffer);
        got.push(b.toString('latin1', 0, n));
      });
      s.on('end', () => (ended = true));
    });
    client.write('0123456789abcdef-');
    await sleep(20);
    client.end('tail');
    while (!ended) await sleep(5);
    close();
    assert.equal(switched, true, 'this node has what readInto needs (node:net onread fields and useUserBuffer)');
    assert.equal(got.join(''), '0123456789abcdef-tail');
    assert.ok(got.every((c) => c.length <= 8), 'no read is larger than the buffer');
  });

  test('pause() stops the reads until resume()', async () => {
    const buffer = Buffer.alloc(1024);
    let reads = 0;
    let server!: Socket;
    const { client, close } = await pair((s) => {
      server = s;
      readInto(s, buffer, () => void reads++);
    });
    client.write('a');
    while (reads === 0) await sleep(5);
    server.pause();
    client.write('b');
    await sleep(50);
    assert.equal(reads, 1);
    server.resume();
    while (reads === 1) await sleep(5);
    close();
  });

  test('a socket switched back to a stream gets its own copy of every read', async () => {
    const buffer = Buffer.alloc(64);
    const chunks: Buffer[] = [];
    const { client, close } = await pair((s) => {
      readInto(s, buffer, () => assert.fail('the callback is replaced'));
      readAsStream(s);
      s.on('data', (c: Buffer) => chunks.push(c));
    });
    client.write('first');
    while (chunks.length === 0) await sleep(5);
    client.write('second');
    while (chunks.length === 1) await sleep(5);
    assert.deepEqual(chunks.map(String), ['first', 'second'], 'the first chunk was not overwritten by the second read');
    close();
  });
});

describe('the REST relay keeps what it holds across reads intact while other connections overwrite the read buffers', () => {
  let up: Upstream;
  let proxy: Proxy;
  let port: number;

  before(async () => {
    // Echoes the body; `/slow` answers after 60 ms; `/split` writes its head and body in
    // pieces, 30 ms apart, so the proxy holds a partial head and a partial body.
    up = await startUpstream((req, res, body) => {
      if (req.url?.startsWith('/split')) {
        const text = body.toString('latin1');
        const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-model-version: 7\r\ncontent-length: ${text.length}\r\n\r\n`;
        const socket = res.socket!;
        socket.write(head.slice(0, 30));
        setTimeout(() => socket.write(head.slice(30) + text.slice(0, 100)), 30);
        setTimeout(() => socket.write(text.slice(100)), 60);
        return;
      }
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'x-model-version': '1' });
        res.end(body);
      };
      if (req.url?.includes('slow')) setTimeout(answer, 60);
      else answer();
    });
    ({ proxy } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: up.url, server: 'relay', client: 'native' },
      labels: { statusApi: 'none' },
    }));
    port = Number(new URL(proxy.restUrl!).port);
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  /** Other clients' requests, each with its own body, answered whole. */
  const traffic = async (tag: string, n = 8) => {
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => fetch(`http://127.0.0.1:${port}${PATH}`, { method: 'POST', body: bodyOf(`${tag}${i}`) }).then((r) => r.text())));
    answers.forEach((a, i) => assert.equal(a, bodyOf(`${tag}${i}`)));
  };

  test('a body that arrives in two reads, with other connections read in between, reaches the upstream whole', async () => {
    const body = bodyOf('held-body');
    const raw = post(body);
    const got = await inTwoReads(port, raw, raw.length - 300, () => traffic('other'), body);
    assert.deepEqual(statusCodes(got), [200]);
    assert.ok(got.endsWith(body), `the echoed body is the one sent: ${JSON.stringify(got.slice(-300))}`);
  });

  test('a head that arrives in two reads is parsed as sent', async () => {
    const body = bodyOf('split-head');
    const raw = post(body, 'X-Note: a value long enough to be cut in two reads\r\n');
    const got = await inTwoReads(port, raw, 40, () => traffic('between'), body);
    assert.deepEqual(statusCodes(got), [200]);
    assert.ok(got.endsWith(body));
    assert.equal(up.seen.at(-1)?.headers['x-note'], 'a value long enough to be cut in two reads');
  });

  test('a pipelined request held while the first is answered is served as sent', async () => {
    const first = bodyOf('first');
    const second = bodyOf('second');
    const pending = rawExchange(port, `POST /v1/models/slow:predict HTTP/1.1\r\nHost: proxy\r\nContent-Length: ${first.length}\r\n\r\n${first}${post(second)}`, 600);
    await sleep(10);
    await traffic('meanwhile');
    const got = await pending;
    // The second status line follows the first body directly (no line start for statusCodes).
    assert.equal(got.match(/HTTP\/1\.1 200 OK\r\n/g)?.length, 2, JSON.stringify(got.slice(0, 300)));
    assert.ok(got.includes(first) && got.endsWith(second), 'each answer echoes its own body');
  });

  test('an upstream answer whose head and body come in pieces, with other answers read in between, reaches the client as sent', async () => {
    const body = bodyOf('piecewise');
    const answer = fetch(`http://127.0.0.1:${port}/split${PATH}`, { method: 'POST', body });
    await sleep(15);
    await traffic('interleaved');
    const r = await answer;
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-model-version'), '7');
    assert.equal(await r.text(), body);
  });
});
