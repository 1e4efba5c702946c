// Hostile HTTP/1.1 framing against the REST proxy: the classic request-smuggling cases
// (CL.TE, TE.CL, duplicate or malformed lengths, obfuscated transfer-encoding, obs-fold,
// bare LF) each try to slip a second request, `GET /smuggled`, past the proxy. Whatever
// the proxy does with each (refuse it with 400, or forward it), the upstream must never
// see /smuggled, the next client on the same upstream connection must get its own answer,
// and a forwarded body is exactly the body the proxy framed. Both upstream clients, both
// REST fronts (the relay, which hands anything unusual to node:http, and node:http alone).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Proxy } from '../../proxy/index.ts';
import { rawExchange, startProxy, startUpstream, statusCodes } from './helpers.ts';
import type { Upstream } from './helpers.ts';

const PATH = '/v1/models/fraud:predict';
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';

interface Case {
  name: string;
  raw: string;
  /** Status of the first answer; undefined: either a refusal (400) or a forwarded 200. */
  status?: number;
}

const head = (lines: string[]) => `POST ${PATH} HTTP/1.1\r\nHost: proxy\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;

const CASES: Case[] = [
  { name: 'CL.TE: content-length and chunked together', raw: head(['Content-Length: 6', 'Transfer-Encoding: chunked']) + `0\r\n\r\n${SMUGGLED}`, status: 400 },
  { name: 'TE.CL: chunked first, then a content-length', raw: head(['Transfer-Encoding: chunked', 'Content-Length: 4']) + `5c\r\n${SMUGGLED}\r\n0\r\n\r\n`, status: 400 },
  { name: 'two different content-lengths', raw: head(['Content-Length: 3', 'Content-Length: 40']) + `abc${SMUGGLED}`, status: 400 },
  { name: 'a content-length list with different values', raw: head(['Content-Length: 3, 40']) + `abc${SMUGGLED}`, status: 400 },
  { name: 'a signed content-length', raw: head(['Content-Length: +3']) + `abc${SMUGGLED}`, status: 400 },
  { name: 'transfer-encoding folded onto a second line (obs-fold)', raw: head(['Transfer-Encoding:', ' chunked', 'Content-Length: 3']) + `abc${SMUGGLED}`, status: 400 },
  { name: 'a space before the colon of transfer-encoding', raw: head(['Transfer-Encoding : chunked', 'Content-Length: 3']) + `abc${SMUGGLED}`, status: 400 },
  { name: 'an unknown transfer-coding (xchunked)', raw: head(['Transfer-Encoding: xchunked', 'Content-Length: 3']) + `abc${SMUGGLED}`, status: 400 },
  { name: 'chunked not last (chunked, identity)', raw: head(['Transfer-Encoding: chunked, identity']) + `3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`, status: 400 },
  { name: 'a chunk size that is not hex', raw: head(['Transfer-Encoding: chunked']) + `0x3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`, status: 400 },
  { name: 'a chunk size with a sign', raw: head(['Transfer-Encoding: chunked']) + `+3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`, status: 400 },
  { name: 'a NUL in a header value', raw: head(['X-Note: a\u0000b', 'Content-Length: 3']) + `abc${SMUGGLED}`, status: 400 },
  { name: 'bare LF line ends', raw: `POST ${PATH} HTTP/1.1\nHost: proxy\nContent-Length: 3\n\nabc${SMUGGLED}` },
  { name: 'a chunked body that holds a request as data', raw: head(['Transfer-Encoding: chunked']) + `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`, status: 200 },
  { name: 'a chunk extension', raw: head(['Transfer-Encoding: chunked']) + `3;name=value\r\nabc\r\n0\r\n\r\n`, status: 200 },
];


for (const [client, front] of [['native', 'relay'], ['undici', 'relay'], ['native', 'node']] as const) {
  describe(`request smuggling through the REST proxy (${front} front, ${client} upstream client)`, () => {
    let up: Upstream;
    let proxy: Proxy;
    let port: number;

    before(async () => {
      up = await startUpstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-model-version': '1' });
        res.end('{"predictions":[1]}');
      });
      // One upstream connection: a desync would show up on the very next request.
      ({ proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url, client, server: front }, limits: { upstreamConnections: 1 } }));
      port = Number(new URL(proxy.restUrl!).port);
    });
    after(async () => {
      await proxy.close();
      await up.close();
    });

    for (const c of CASES) {
      test(`${c.name}: ${c.status === 400 ? 'refused with 400' : c.status === 200 ? 'forwarded as one request' : 'refused or forwarded as one request'}, never smuggled`, async () => {
        const before = up.seen.length;
        const answer = await rawExchange(port, c.raw);
        const codes = statusCodes(answer);
        assert.ok(codes.length >= 1, `an answer: ${JSON.stringify(answer.slice(0, 200))}`);
        if (c.status !== undefined) assert.equal(codes[0], c.status, answer.slice(0, 300));
        else assert.ok(codes[0] === 400 || codes[0] === 200, answer.slice(0, 300));
        // The next client, on the same single upstream connection, gets its own answer.
        const next = await fetch(`${proxy.restUrl}${PATH}`, { method: 'POST', body: '{"instances":[7]}', headers: { 'x-request-id': `after-${c.name.length}` } });
        assert.equal(next.status, 200);
        assert.equal(await next.text(), '{"predictions":[1]}');
        // The proxy's own model status reads (GET /v1/models/fraud) are not client requests.
        const all = up.seen.slice(before);
        assert.ok(all.every((r) => !r.url.includes('smuggled')), `the upstream saw ${all.map((r) => `${r.method} ${r.url}`).join(', ')}`);
        const seen = all.filter((r) => r.method === 'POST');
        assert.ok(seen.every((r) => !r.url.includes('smuggled')), `the upstream saw ${seen.map((r) => `${r.method} ${r.url}`).join(', ')}`);
        assert.equal(seen.at(-1)?.body.toString(), '{"instances":[7]}', 'the last request upstream is the next client\'s, whole');
        // A refused request reaches nothing; a forwarded one is one request with the framed body.
        const forwarded = seen.slice(0, -1);
        if (codes[0] === 400) assert.equal(forwarded.length, 0, `nothing upstream, got ${JSON.stringify(forwarded.map((r) => [r.url, r.body.toString(), r.headers]))}`);
        else {
          assert.equal(forwarded.length, 1, `one request upstream, got ${forwarded.length}`);
          assert.equal(forwarded[0]!.url, PATH);
        }
      });
    }

    test('two honest requests pipelined in one packet are both answered, in order, each upstream once', async () => {
      const before = up.seen.length;
      const one = head(['Content-Length: 17']) + '{"instances":[1]}';
      const two = head(['Content-Length: 17']) + '{"instances":[2]}';
      const answer = await rawExchange(port, one + two);
      assert.deepEqual(statusCodes(answer), [200, 200]);
      assert.deepEqual(up.seen.slice(before).filter((r) => r.method === 'POST').map((r) => r.body.toString()), ['{"instances":[1]}', '{"instances":[2]}']);
    });

    test('an absolute-form request target goes to the configured upstream, not the host it names', async () => {
      const before = up.seen.length;
      const answer = await rawExchange(port, `POST http://169.254.169.254${PATH} HTTP/1.1\r\nHost: 169.254.169.254\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{"instances":[3]}`);
      const code = statusCodes(answer)[0];
      assert.ok(code === 200 || code === 400, answer.slice(0, 200));
      const seen = up.seen.slice(before).filter((r) => r.method === 'POST');
      if (code === 200) assert.equal(seen.length, 1);
      else assert.equal(seen.length, 0);
    });
  });
}
