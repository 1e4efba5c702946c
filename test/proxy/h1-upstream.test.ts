import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { once } from 'node:events';
import { H1Upstream, ResponseParser, encodeRequest, headerList } from '../../proxy/h1-upstream.ts';
import type { UpstreamHandler, UpstreamRequest } from '../../proxy/h1-upstream.ts';
import { classifyUpstreamError } from '../../proxy/rest.ts';
import { readProxyConfig } from '../../proxy/index.ts';
import { Issues } from '../../common/index.ts';
import { startProxy, startUpstream, until } from './helpers.ts';

interface Parsed {
  status: number;
  raw: string[];
  body: string;
  complete: boolean;
  keepAlive: boolean;
  leftover: number;
}

/** Feeds `pieces` to a fresh parser; what it reported. */
function parse(pieces: Buffer[], method = 'GET', eof = false): Parsed {
  const out: Parsed = { status: 0, raw: [], body: '', complete: false, keepAlive: false, leftover: 0 };
  const chunks: Buffer[] = [];
  const p = new ResponseParser({
    onHead: (status, head, from) => {
      out.status = status;
      out.raw = headerList(head, from);
    },
    onBody: (c) => chunks.push(Buffer.from(c)),
  });
  p.start(method);
  for (const piece of pieces) {
    if (p.push(piece)) {
      out.complete = true;
      break;
    }
  }
  if (!out.complete && eof) out.complete = p.eof();
  out.body = Buffer.concat(chunks).toString('latin1');
  out.keepAlive = p.keepAlive;
  out.leftover = p.leftover;
  return out;
}

const bytes = (s: string) => Buffer.from(s, 'latin1');

/** Every way to cut `s` in two, and the one-byte-at-a-time cut. */
function splits(s: string): Buffer[][] {
  const b = bytes(s);
  const out: Buffer[][] = [];
  for (let i = 0; i <= b.length; i++) out.push([b.subarray(0, i), b.subarray(i)]);
  out.push([...b].map((x) => Buffer.from([x])));
  return out;
}

const CL_RESPONSE = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-model-version: 7\r\ncontent-length: 11\r\n\r\n{"ok":true}';
const CHUNKED_RESPONSE = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n';

describe('the response parser', () => {
  test('a content-length response split at every byte boundary gives the same head and body', () => {
    for (const pieces of splits(CL_RESPONSE)) {
      const r = parse(pieces);
      assert.equal(r.status, 200);
      assert.deepEqual(r.raw, ['content-type', 'application/json', 'x-model-version', '7', 'content-length', '11']);
      assert.equal(r.body, '{"ok":true}');
      assert.ok(r.complete && r.keepAlive);
      assert.equal(r.leftover, 0);
    }
  });

  test('a chunked response split at every byte boundary is decoded, extensions and trailers dropped', () => {
    for (const pieces of splits(CHUNKED_RESPONSE)) {
      const r = parse(pieces);
      assert.equal(r.body, 'hello 0123456789', `pieces ${pieces.map((p) => p.length).join(',')}`);
      assert.ok(r.complete && r.keepAlive);
    }
  });

  test('1xx responses are skipped and the final response is reported', () => {
    const r = parse([bytes('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok')]);
    assert.equal(r.status, 201);
    assert.deepEqual(r.raw, ['content-length', '2']);
    assert.equal(r.body, 'ok');
  });

  test('HEAD, 204 and 304 responses have no body whatever their headers say', () => {
    assert.deepEqual([parse([bytes('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n')], 'HEAD')].map((r) => [r.complete, r.body]), [[true, '']]);
    for (const status of [204, 304]) {
      const r = parse([bytes(`HTTP/1.1 ${status} X\r\ncontent-length: 5\r\n\r\n`)]);
      assert.ok(r.complete);
      assert.equal(r.body, '');
    }
  });

  test('connection: close and HTTP/1.0 responses are not kept alive; keep-alive on 1.0 is', () => {
    const table: Array<[string, boolean]> = [
      ['HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n', false],
      ['HTTP/1.1 200 OK\r\nconnection: upgrade, Close\r\ncontent-length: 0\r\n\r\n', false],
      ['HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n', false],
      ['HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n', true],
      ['HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', true],
    ];
    for (const [response, keepAlive] of table) assert.equal(parse([bytes(response)]).keepAlive, keepAlive, response);
  });

  test('the upstream\'s keep-alive timeout hint is read', () => {
    const p = new ResponseParser({ onHead: () => {}, onBody: () => {} });
    p.start('GET');
    p.push(bytes('HTTP/1.1 200 OK\r\nKeep-Alive: max=100, timeout=5\r\ncontent-length: 0\r\n\r\n'));
    assert.equal(p.keepAliveHintMs, 5000);
    p.start('GET');
    p.push(bytes('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    assert.equal(p.keepAliveHintMs, -1);
  });

  test('each response\'s own keep-alive hint counts, when upstreams alternate between values', () => {
    const p = new ResponseParser({ onHead: () => {}, onBody: () => {} });
    for (const [header, ms] of [['timeout=5', 5000], ['timeout=7', 7000], ['max=3', -1], ['timeout=5', 5000]] as const) {
      p.start('GET');
      p.push(bytes(`HTTP/1.1 200 OK\r\nKeep-Alive: ${header}\r\ncontent-length: 0\r\n\r\n`));
      assert.equal(p.keepAliveHintMs, ms, header);
    }
  });

  test('status lines: the common form read by character, the rest by the full rule', () => {
    const table: Array<[string, number | undefined]> = [
      ['HTTP/1.1 200 OK', 200], ['HTTP/1.1 404', 404], ['HTTP/1.0 503 Busy', 503], ['HTTP/1.1 2000 OK', undefined],
      ['HTTP/1.1 20x OK', undefined], ['HTTP/2 200 OK', undefined], ['HTTP/1.1  200 OK', undefined],
    ];
    for (const [line, code] of table) {
      let status: number | undefined;
      const p = new ResponseParser({ onHead: (s) => (status = s), onBody: () => {} });
      p.start('GET');
      if (code === undefined) assert.throws(() => p.push(bytes(`${line}\r\ncontent-length: 0\r\n\r\n`)), /status line/, line);
      else {
        p.push(bytes(`${line}\r\ncontent-length: 0\r\n\r\n`));
        assert.equal(status, code, line);
      }
    }
  });

  test('a body with neither length nor chunking runs to the end of the connection', () => {
    const r = parse([bytes('HTTP/1.1 200 OK\r\n\r\npart one '), bytes('part two')], 'GET', true);
    assert.ok(r.complete);
    assert.equal(r.body, 'part one part two');
    assert.equal(r.keepAlive, false);
  });

  test('bytes after the end of the response are counted, so the socket is not reused', () => {
    const r = parse([bytes('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n')]);
    assert.ok(r.complete);
    assert.equal(r.leftover, 17);
  });

  test('malformed responses throw with an HPE_ code', () => {
    const table: Array<[string, string]> = [
      ['HTTX/1.1 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokX\r\n', 'HPE_INVALID_CHUNK_SIZE'],
      ['HTTP/1.1 200 OK\r\n folded: no\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
      ['HTTP/1.1 101 Switching Protocols\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ];
    for (const [response, code] of table) assert.throws(() => parse([bytes(response)]), { code }, response);
  });

  test('the parser says where each header line\'s name, colon and end are, for heads of up to 64 lines', () => {
    const p = new ResponseParser({ onHead: () => {}, onBody: () => {} });
    p.start('GET');
    const head = 'HTTP/1.1 200 OK\r\nContent-Type:  a/b \r\nx-model-version: 3\r\ncontent-length: 0';
    p.push(bytes(`${head}\r\n\r\n`));
    const lines = p.lines!;
    assert.equal(lines.count, 3);
    const seen = Array.from({ length: lines.count }, (_, i) => {
      const [pos, colon, eol] = [lines.at[3 * i]!, lines.at[3 * i + 1]!, lines.at[3 * i + 2]!];
      return [head.slice(pos, colon), head.slice(colon + 1, eol)];
    });
    assert.deepEqual(seen, [['Content-Type', '  a/b '], ['x-model-version', ' 3'], ['content-length', ' 0']]);
    p.start('GET');
    p.push(bytes(`HTTP/1.1 200 OK\r\n${Array.from({ length: 65 }, (_, i) => `x-h${i}: ${i}\r\n`).join('')}content-length: 0\r\n\r\n`));
    assert.equal(p.lines, undefined);
  });

  test('a head larger than the limit is refused rather than buffered without end', () => {
    const p = new ResponseParser({ onHead: () => {}, onBody: () => {} });
    p.start('GET');
    p.push(bytes('HTTP/1.1 200 OK\r\n'));
    assert.throws(() => {
      for (let i = 0; i < 100; i++) p.push(bytes(`x-filler-${i}: ${'a'.repeat(1000)}\r\n`));
    }, { code: 'HPE_HEADER_OVERFLOW' });
  });
});

test('a request is encoded as one buffer: head, host, headers as given, the body and its length', () => {
  const req: UpstreamRequest = { method: 'POST', path: '/v1/models/m:predict', headers: ['Content-Type', 'application/json', 'x-name', 'caf\u00e9', 'Content-Length', '2'], body: bytes('{}') };
  assert.equal(
    encodeRequest(req, '127.0.0.1:8501').toString('latin1'),
    'POST /v1/models/m:predict HTTP/1.1\r\nhost: 127.0.0.1:8501\r\nContent-Type: application/json\r\nx-name: caf\u00e9\r\nContent-Length: 2\r\n\r\n{}',
  );
  assert.equal(encodeRequest({ method: 'GET', path: '/', headers: [], body: null }, 'h').toString('latin1'), 'GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  assert.equal(encodeRequest({ method: 'POST', path: '/', headers: ['Content-Length', '0'], body: null }, 'h').toString('latin1'), 'POST / HTTP/1.1\r\nhost: h\r\nContent-Length: 0\r\n\r\n');
  // A GET's body is not forwarded, so neither is the length the client gave it.
  assert.equal(encodeRequest({ method: 'GET', path: '/', headers: ['Content-Length', '5', 'a', 'b'], body: null }, 'h').toString('latin1'), 'GET / HTTP/1.1\r\nhost: h\r\na: b\r\n\r\n');
});

test('the errors the client raises are classified like undici\'s', () => {
  const table: Array<[string, string]> = [
    ['ECONNREFUSED', 'connect'],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect'],
    ['ECONNRESET', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
    ['UND_ERR_CLOSED', 'reset'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['HPE_INVALID_CHUNK_SIZE', 'protocol'],
  ];
  for (const [code, kind] of table) assert.equal(classifyUpstreamError(Object.assign(new Error(code), { code })).kind, kind, code);
});

test('rest.client accepts native and undici and refuses anything else', () => {
  for (const client of ['native', 'undici']) {
    const issues = new Issues();
    const c = readProxyConfig({ rest: { upstream: 'http://127.0.0.1:1', client } }, 'proxy', issues);
    assert.ok(issues.ok);
    assert.equal(c.rest?.client, client);
  }
  const issues = new Issues();
  readProxyConfig({ rest: { upstream: 'http://127.0.0.1:1', client: 'fetch' } }, 'proxy', issues);
  assert.match(issues.errors.find((e) => e.path === 'proxy.rest.client')?.message ?? '', /"native" or "undici"/);
});

// --- against real sockets ---------------------------------------------------------------

interface Reply {
  status: number;
  raw: string[];
  body: string;
}

/** One request through `client`; resolves with the response or rejects with the error. */
function send(client: H1Upstream, req: Partial<UpstreamRequest> = {}): Promise<Reply> & { abort: (e?: Error) => void } {
  let abort: (e?: Error) => void = () => {};
  const promise = new Promise<Reply>((resolve, reject) => {
    const reply: Reply = { status: 0, raw: [], body: '' };
    const chunks: Buffer[] = [];
    const handler: UpstreamHandler = {
      onConnect: (a) => (abort = a),
      onHead: (status, head, from) => {
        reply.status = status;
        reply.raw = headerList(head, from);
      },
      onData: (c) => {
        chunks.push(c);
        return true;
      },
      onComplete: () => {
        reply.body = Buffer.concat(chunks).toString('latin1');
        resolve(reply);
      },
      onError: reject,
    };
    client.request({ method: 'GET', path: '/', headers: [], body: null, ...req }, handler);
  });
  return Object.assign(promise, { abort: (e?: Error) => abort(e) });
}

/**
 * A raw TCP upstream: `onRequest(socket, n)` is called for each request head it reads
 * (n counts requests on that socket), so a test writes exactly the bytes it wants.
 */
async function rawUpstream(onRequest: (socket: Socket, n: number, head: string) => void): Promise<{ server: NetServer; origin: string; connections: () => number; closed: () => number }> {
  let connections = 0;
  let closed = 0;
  const server = createNetServer((socket) => {
    connections++;
    socket.on('close', () => closed++);
    socket.on('error', () => {});
    let buf = '';
    let n = 0;
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
        const head = buf.slice(0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) break;
        buf = buf.slice(end + 4 + len);
        onRequest(socket, ++n, head);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, closed: () => closed };
}

const OPTS = { connections: 4, connectTimeoutMs: 2000, bodyTimeoutMs: 2000, idleTimeoutMs: 30_000 };
const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

describe('the native client on real sockets', () => {
  const cleanup: Array<() => void> = [];
  after(() => {
    for (const f of cleanup) f();
  });
  async function setup(onRequest: (socket: Socket, n: number, head: string) => void, opts: Partial<typeof OPTS> = {}) {
    const up = await rawUpstream(onRequest);
    const client = new H1Upstream({ origin: up.origin, ...OPTS, ...opts });
    cleanup.push(() => {
      client.close();
      up.server.close();
    });
    return { up, client };
  }

  test('sequential requests reuse one keep-alive socket', async () => {
    const { up, client } = await setup((s) => s.write(OK));
    for (let i = 0; i < 3; i++) assert.equal((await send(client)).body, 'ok');
    assert.equal(up.connections(), 1);
  });

  test('a response written one byte per TCP segment arrives whole', async () => {
    const { client } = await setup((s) => {
      s.setNoDelay(true);
      const b = bytes(CHUNKED_RESPONSE);
      let i = 0;
      const next = () => {
        if (i < b.length) s.write(b.subarray(i, ++i), () => setTimeout(next, 0));
      };
      next();
    });
    const r = await send(client);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello 0123456789');
  });

  test('a 100 Continue before the response is skipped', async () => {
    const { client } = await setup((s) => s.write(`HTTP/1.1 100 Continue\r\n\r\n${OK}`));
    const r = await send(client, { method: 'POST', body: bytes('{}') });
    assert.deepEqual([r.status, r.body], [200, 'ok']);
  });

  test('connection: close from the upstream closes the socket and the next request opens a new one', async () => {
    const { up, client } = await setup((s) => s.write('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok'));
    assert.equal((await send(client)).body, 'ok');
    assert.equal((await send(client)).body, 'ok');
    assert.equal(up.connections(), 2);
    await until(() => up.closed() === 2);
  });

  test('an idle keep-alive socket the upstream closed is dropped and the next request still succeeds', async () => {
    const { up, client } = await setup((s) => s.end(OK)); // answers, then closes without saying so
    assert.equal((await send(client, { method: 'POST', body: bytes('{}') })).body, 'ok');
    await until(() => client.sockets === 0);
    assert.equal((await send(client, { method: 'POST', body: bytes('{}') })).body, 'ok');
    assert.equal(up.connections(), 2);
  });

  test('an upstream that stops in the middle of a body fails the request with a body timeout, once the timeout has passed', async () => {
    const { client } = await setup((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'), { bodyTimeoutMs: 300 });
    const t0 = Date.now();
    await assert.rejects(send(client), (err: { code?: string }) => err.code === 'UND_ERR_BODY_TIMEOUT');
    const ms = Date.now() - t0;
    assert.ok(ms >= 290 && ms < 2000, `timed out after ${ms} ms`);
  });

  test('an idle socket is closed before the keep-alive timeout the upstream announced', async () => {
    const { up, client } = await setup((s) => s.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok'));
    assert.equal((await send(client)).body, 'ok');
    await until(() => up.closed() === 1); // the upstream never closes it; the client did
    assert.equal(client.sockets, 0);
  });

  test('a response that pauses the socket for backpressure does not leave it paused for the next request', async () => {
    const { up, client } = await setup((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nabcd'));
    const slow = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      client.request({ method: 'GET', path: '/', headers: [], body: null }, {
        onConnect: () => {},
        onHead: () => {},
        onData: (c) => {
          chunks.push(c);
          return false; // the last chunk fills the client's buffer; resume never comes
        },
        onComplete: () => resolve(Buffer.concat(chunks).toString()),
        onError: reject,
      });
    });
    assert.equal(slow, 'abcd');
    assert.equal((await send(client)).body, 'abcd');
    assert.equal(up.connections(), 1);
  });

  test('a reused socket that closes before any response byte is retried once for a GET', async () => {
    // The close crosses the request: the second request on a socket is never answered.
    const { up, client } = await setup((s, n) => (n === 1 ? s.write(OK) : s.destroy()));
    assert.equal((await send(client)).body, 'ok');
    assert.equal((await send(client)).body, 'ok');
    assert.equal(up.connections(), 2);
  });

  test('the same failure is not retried for a POST, which may have reached the upstream', async () => {
    const { up, client } = await setup((s, n) => (n === 1 ? s.write(OK) : s.destroy()));
    assert.equal((await send(client, { method: 'POST', body: bytes('{}') })).body, 'ok');
    await assert.rejects(send(client, { method: 'POST', body: bytes('{}') }), (e: { code?: string }) => classifyUpstreamError(e).kind === 'reset');
    assert.equal(up.connections(), 1);
  });

  test('a GET on a fresh socket that fails is not retried', async () => {
    const { up, client } = await setup((s) => s.destroy());
    await assert.rejects(send(client), (e: { code?: string }) => classifyUpstreamError(e).kind === 'reset');
    assert.equal(up.connections(), 1);
  });

  test('an upstream that closes mid-body fails the request as a reset', async () => {
    const { client } = await setup((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    await assert.rejects(send(client), { code: 'UND_ERR_SOCKET' });
  });

  test('a refused connection fails with ECONNREFUSED', async () => {
    const { up, client } = await setup(() => {});
    await new Promise((r) => up.server.close(r));
    await assert.rejects(send(client), { code: 'ECONNREFUSED' });
  });

  test('an abort destroys the upstream socket and reports the abort', async () => {
    let sawRequest!: () => void;
    const requested = new Promise<void>((r) => (sawRequest = r));
    const { up, client } = await setup(() => sawRequest());
    const p = send(client);
    await requested;
    const reason = Object.assign(new Error('gone'), { code: 'PRX_CLIENT_ABORTED' });
    p.abort(reason);
    await assert.rejects(p, reason);
    await until(() => up.closed() === 1);
    assert.equal(client.sockets, 0);
  });

  test('requests beyond the socket limit wait for a free socket, in order', async () => {
    const { up, client } = await setup((s, n) => setTimeout(() => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${n}`), 5), { connections: 1 });
    const bodies = await Promise.all([send(client), send(client), send(client)]);
    assert.deepEqual(bodies.map((b) => b.body), ['1', '2', '3']);
    assert.equal(up.connections(), 1);
  });
});

describe('the proxy with the native client', () => {
  test('a chunked upstream response reaches the client whole, re-framed by node:http', async () => {
    const up = await startUpstream((_req, res) => {
      res.setHeader('x-model-version', '3');
      res.write('{"predictions":');
      setTimeout(() => res.end('[1,2]}'), 5);
    });
    const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url, client: 'native' }, labels: { statusApi: 'none' } });
    try {
      const r = await fetch(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: '{}' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-model-version'), '3');
      assert.equal(await r.text(), '{"predictions":[1,2]}');
    } finally {
      await proxy.close();
      await up.close();
    }
  });

  test('an answer with more header lines than the parser indexes reaches the client with every line, hop-by-hop ones removed', async () => {
    const up = await startUpstream((_req, res) => {
      for (let i = 0; i < 80; i++) res.setHeader(`x-h${i}`, `v${i}`);
      res.setHeader('x-model-version', '4');
      res.setHeader('keep-alive', 'timeout=9');
      res.end('{}');
    });
    const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url, client: 'native' }, labels: { statusApi: 'none' } });
    try {
      for (let k = 0; k < 2; k++) {
        const r = await fetch(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: '{}' });
        assert.equal(r.status, 200);
        for (let i = 0; i < 80; i++) assert.equal(r.headers.get(`x-h${i}`), `v${i}`);
        assert.equal(r.headers.get('x-model-version'), '4');
        assert.notEqual(r.headers.get('keep-alive'), 'timeout=9', 'the upstream\'s keep-alive is hop-by-hop');
        assert.equal(await r.text(), '{}');
      }
    } finally {
      await proxy.close();
      await up.close();
    }
  });

  test('a HEAD request through the proxy gets the headers and no body', async () => {
    const up = await startUpstream((req, res) => {
      res.setHeader('content-length', '11');
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    });
    const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url, client: 'native' }, labels: { statusApi: 'none' } });
    try {
      const r = await fetch(`${proxy.restUrl}/v1/models/m`, { method: 'HEAD' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-length'), '11');
      // A second request on the same upstream socket works: the HEAD left no bytes behind.
      const r2 = await fetch(`${proxy.restUrl}/v1/models/m`);
      assert.equal(await r2.text(), 'hello world');
    } finally {
      await proxy.close();
      await up.close();
    }
  });
});
