// The REST relay front parses the common request itself and hands every other one to
// node:http. A client must not be able to tell the two apart: for each request of a hostile
// and unusual corpus, the relay front answers with the same status lines as node:http alone,
// and the upstream sees the same requests (method, path, body). Then the relay's own duties:
// keep-alive, idle close, the headers timeout, a client gone mid-request, chunked answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Proxy } from '../../proxy/index.ts';
import { parseCommonHead } from '../../proxy/h1-front.ts';
import { rawExchange, startProxy, startUpstream, statusCodes } from './helpers.ts';
import type { Upstream } from './helpers.ts';
import { eventually } from '../helpers/repo.ts';

const PATH = '/v1/models/fraud:predict';
const BODY = '{"instances":[7]}';
const req = (first: string, lines: string[], body = '') => `${first}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n${body}`;
const post = (lines: string[], body = BODY) => req(`POST ${PATH} HTTP/1.1`, ['Host: proxy', ...lines], body);
const CL = `Content-Length: ${BODY.length}`;

/** Requests a strict parser must not take for the common case; each must get node:http's answer. */
const CORPUS: Array<[string, string]> = [
  ['an honest POST', post([CL])],
  ['an honest GET', req(`GET /v1/models/fraud HTTP/1.1`, ['Host: proxy'])],
  ['CL and TE together', post(['Content-Length: 6', 'Transfer-Encoding: chunked'], '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n')],
  ['TE then CL', post(['Transfer-Encoding: chunked', 'Content-Length: 4'], '5c\r\nGET /smuggled HTTP/1.1\r\n\r\n0\r\n\r\n')],
  ['two content-lengths', post(['Content-Length: 3', 'Content-Length: 40'], 'abcGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n')],
  ['the same content-length twice', post([CL, CL])],
  ['a content-length list', post([`Content-Length: ${BODY.length}, ${BODY.length}`])],
  ['a signed content-length', post([`Content-Length: +${BODY.length}`])],
  ['a content-length with leading zeros', post([`Content-Length: 00${BODY.length}`])],
  ['an empty content-length', post(['Content-Length: '], '')],
  ['a content-length beyond 2^53', post(['Content-Length: 99999999999999999999'], '')],
  ['a chunked body', post(['Transfer-Encoding: chunked'], `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`)],
  ['obs-fold', post(['X-Note: a', ' folded', CL])],
  ['obs-fold of transfer-encoding', post(['Transfer-Encoding:', ' chunked', 'Content-Length: 3'], 'abc')],
  ['a space before the colon', post(['Content-Length : 17'])],
  ['a header name with a space', post(['X Note: 1', CL])],
  ['an empty header name', post([': 1', CL])],
  ['a header line with no colon', post(['XNote', CL])],
  ['a NUL in a value', post(['X-Note: a\u0000b', CL])],
  ['a bare CR in a value', post(['X-Note: a\rb', CL])],
  ['a bare LF between headers', `POST ${PATH} HTTP/1.1\r\nHost: proxy\nX-Note: 1\r\n${CL}\r\n\r\n${BODY}`],
  ['bare LF everywhere', `POST ${PATH} HTTP/1.1\nHost: proxy\n${CL}\n\n${BODY}`],
  ['an obs-text value (latin1 é)', post(['X-Note: caf\u00e9', CL])],
  ['a tab in a value and trailing spaces', post(['X-Note: a\tb  ', CL])],
  ['no Host', req(`POST ${PATH} HTTP/1.1`, [CL], BODY)],
  ['two Host headers', post(['Host: other', CL])],
  ['HTTP/1.0', req(`POST ${PATH} HTTP/1.0`, ['Host: proxy', CL], BODY)],
  ['HTTP/1.0 keep-alive', req(`POST ${PATH} HTTP/1.0`, ['Host: proxy', 'Connection: keep-alive', CL], BODY)],
  ['HTTP/2.0 in an HTTP/1 request line', req(`POST ${PATH} HTTP/2.0`, ['Host: proxy', CL], BODY)],
  ['a lower-case method', req(`post ${PATH} HTTP/1.1`, ['Host: proxy', CL], BODY)],
  ['an unknown method', req(`BREW ${PATH} HTTP/1.1`, ['Host: proxy', CL], BODY)],
  ['PUT', req(`PUT ${PATH} HTTP/1.1`, ['Host: proxy', CL], BODY)],
  ['HEAD', req(`HEAD /v1/models/fraud HTTP/1.1`, ['Host: proxy'])],
  ['OPTIONS *', req('OPTIONS * HTTP/1.1', ['Host: proxy'])],
  ['absolute-form', req(`POST http://169.254.169.254${PATH} HTTP/1.1`, ['Host: 169.254.169.254', CL], BODY)],
  ['two spaces in the request line', req(`POST  ${PATH} HTTP/1.1`, ['Host: proxy', CL], BODY)],
  ['a space inside the target', req(`POST /v1/models/fr aud:predict HTTP/1.1`, ['Host: proxy', CL], BODY)],
  ['a non-ASCII target', req(`POST /v1/models/fr\u00e9ud:predict HTTP/1.1`, ['Host: proxy', CL], BODY)],
  ['a GET with a body', req(`GET /v1/models/fraud HTTP/1.1`, ['Host: proxy', 'Content-Length: 3'], 'abc')],
  ['Expect: 100-continue', post(['Expect: 100-continue', CL])],
  ['Upgrade', post(['Connection: upgrade', 'Upgrade: websocket', CL])],
  ['Connection: close', post(['Connection: close', CL])],
  ['Connection listing another header', post(['Connection: keep-alive, X-Secret', 'X-Secret: 1', CL])],
  ['TE: trailers', post(['TE: trailers', CL])],
  ['headers over the limit', post([`X-Big: ${'a'.repeat(17 * 1024)}`, CL])],
  ['150 headers', post([...Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}`), CL])],
  ['an honest request then a chunked one, pipelined', post([CL]) + post(['Transfer-Encoding: chunked'], `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`)],
  ['three honest requests, pipelined', post([CL]) + post([CL]) + post([CL])],
  ['a body shorter than its length, then FIN', post(['Content-Length: 40'])],
  ['a head with no end, then FIN', `POST ${PATH} HTTP/1.1\r\nHost: proxy\r\n`],
  ['garbage', '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003'],
];

/** The write side ends 300 ms after the request, once the answers are in (FIN mid-request aborts it, as node:http does). */
const FIN_AFTER_MS = 300;

describe('the relay front answers every request of a hostile corpus exactly as node:http does', () => {
  let up: Upstream;
  const proxies: Record<'relay' | 'node', { proxy: Proxy; port: number }> = {} as never;

  before(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-model-version': '1' });
      res.end('{"predictions":[1]}');
    });
    for (const front of ['relay', 'node'] as const) {
      const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url, server: front }, labels: { statusApi: 'none' }, limits: { upstreamConnections: 1 } });
      proxies[front] = { proxy, port: Number(new URL(proxy.restUrl!).port) };
    }
  });
  after(async () => {
    for (const p of Object.values(proxies)) await p.proxy.close();
    await up.close();
  });

  const answersOf = async (raw: string) => {
    const answers: Record<string, { codes: number[]; upstream: string[] }> = {};
    for (const front of ['relay', 'node'] as const) {
      const before = up.seen.length;
      const answer = await rawExchange(proxies[front].port, raw, FIN_AFTER_MS);
      answers[front] = { codes: statusCodes(answer), upstream: up.seen.slice(before).map((r) => `${r.method} ${r.url} ${r.body.toString('latin1')}`) };
    }
    return answers as Record<'relay' | 'node', { codes: number[]; upstream: string[] }>;
  };

  for (const [name, raw] of CORPUS) {
    test(`${name}: the same status lines and the same requests upstream`, async () => {
      const answers = await answersOf(raw);
      assert.deepEqual(answers.relay, answers.node);
      assert.ok(answers.relay.upstream.every((r) => !r.includes('smuggled')));
    });
  }

  test('an honest request pipelined before a smuggling one: node:http refuses the whole packet, the relay answers the honest one and node:http refuses the rest', async () => {
    const answers = await answersOf(post([CL]) + post(['Content-Length: 6', 'Transfer-Encoding: chunked'], '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'));
    // node:http may or may not have sent the honest one upstream before its parser failed.
    assert.deepEqual(answers.node.codes, [400]);
    assert.ok(answers.node.upstream.every((r) => r === `POST ${PATH} ${BODY}`));
    assert.deepEqual(answers.relay, { codes: [200, 400], upstream: [`POST ${PATH} ${BODY}`] });
  });

  test('the corpus covers both sides: the relay parses the honest requests itself and refuses to parse the rest', () => {
    const taken = CORPUS.filter(([, raw]) => {
      const end = raw.indexOf('\r\n\r\n');
      // The relay's checks: the head within the header limit (16 KiB by default), then the parser.
      return end >= 0 && end + 4 <= 16 * 1024 && parseCommonHead(raw.slice(0, end)) !== undefined;
    }).map(([name]) => name);
    assert.deepEqual(taken.sort(), [
      'Connection: close',
      'a tab in a value and trailing spaces',
      'a content-length with leading zeros',
      'an honest GET',
      'an honest POST',
      'an honest request then a chunked one, pipelined',
      'a body shorter than its length, then FIN',
      'three honest requests, pipelined',
    ].sort());
  });
});

describe('the relay front serves keep-alive connections like node:http', () => {
  let up: Upstream;
  let proxy: Proxy;
  let port: number;
  let outcomes: Array<{ code: string }>;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url?.includes('chunked')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"predictions":');
        setTimeout(() => res.end('[1]}'), 20);
        return;
      }
      if (req.url?.includes('slow')) {
        setTimeout(() => res.end('{}'), 2000);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-model-version': '1' });
      res.end('{"predictions":[1]}');
    });
    ({ proxy } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: up.url, server: 'relay' },
      labels: { statusApi: 'none' },
      timeouts: { keepAlive: '300ms', headers: '300ms' },
    }));
    port = Number(new URL(proxy.restUrl!).port);
    outcomes = [];
    proxy.onOutcome((o) => outcomes.push(o));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  test('many requests share one connection, each answer with its own request id and the keep-alive headers', async () => {
    const answer = await rawExchange(port, post([CL, 'X-Request-Id: one']) + post([CL, 'X-Request-Id: two']) + post([CL, 'X-Request-Id: three']), FIN_AFTER_MS);
    assert.deepEqual(statusCodes(answer), [200, 200, 200]);
    assert.deepEqual([...answer.matchAll(/^x-request-id: (.*)\r$/gim)].map((m) => m[1]), ['one', 'two', 'three']);
    assert.match(answer, /^Connection: keep-alive\r$/m);
    assert.match(answer, /^Keep-Alive: timeout=0\r$/m);
    assert.match(answer, /^Date: .+ GMT\r$/m);
  });

  test('an upstream answer without a length reaches the client chunked, whole', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/models/chunked:predict`, { method: 'POST', body: BODY });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    assert.equal(await r.text(), '{"predictions":[1]}');
  });

  test('an idle connection is closed after the keep-alive timeout', async () => {
    const s = connect(port, '127.0.0.1');
    const closed = new Promise<number>((resolve) => {
      const t0 = Date.now();
      s.on('close', () => resolve(Date.now() - t0));
    });
    s.on('data', () => undefined);
    s.write(post([CL]), 'latin1');
    const ms = await closed;
    assert.ok(ms >= 250 && ms < 3000, `closed after ${ms} ms`);
  });

  test('a head not finished within the headers timeout gets 408 and is counted', async () => {
    const before = outcomes.filter((o) => o.code === '408').length;
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    const closed = new Promise((resolve) => s.on('close', resolve));
    s.write(`POST ${PATH} HTTP/1.1\r\nHost: proxy\r\n`);
    const trickle = setInterval(() => s.write('X-A: 1\r\n'), 50);
    await closed;
    clearInterval(trickle);
    assert.equal(statusCodes(got)[0], 408);
    await eventually(() => outcomes.filter((o) => o.code === '408').length === before + 1);
  });

  test('a client that goes away mid-request is recorded as 499 and the upstream request is cancelled', async () => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write(req('POST /v1/models/slow:predict HTTP/1.1', ['Host: proxy', CL], BODY));
    await eventually(() => up.seen.some((r) => r.url.includes('slow')));
    s.destroy();
    await eventually(() => outcomes.some((o) => o.code === '499'));
  });
});
