// Slow and stalled clients through the REST proxy: the upstream timeout covers the upstream
// only (it starts once the request has been received whole and handed upstream), a client
// that stops sending its body gets 408 as its own kind of failure, and the upstream side
// of such a request is let go.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROXY_METRIC } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import type { Registry } from 'prom-client';
import { parseMetrics, sample, startProxy, startUpstream, until } from './helpers.ts';
import type { Upstream } from './helpers.ts';
import { pieces, slowPost } from './slow-client.ts';

describe('REST: slow clients are the client\'s time, not the upstream\'s', () => {
  let up: Upstream;
  let proxy: Proxy;
  let registry: Registry;
  const outcomes: RequestOutcome[] = [];
  /** Upstream requests whose body never finished (the proxy let go of them). */
  let upstreamAborted = 0;
  before(async () => {
    up = await startUpstream((_req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ predictions: [body.length] }));
    });
    up.server.on('request', (req) => req.on('aborted', () => upstreamAborted++));
    // 400 ms for the upstream to answer and for each body piece to arrive; the slow
    // uploads below take 1.2-1.5 s in all, three times the upstream timeout.
    ({ proxy, registry } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, timeouts: { upstream: '400ms', clientBody: '400ms' } }));
    proxy.onOutcome((o) => outcomes.push(o));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  const metrics = async () => parseMetrics(await registry.metrics());

  test('a small body sent slowly, piece by piece, is answered 200: the upstream timeout starts once it is all here', async () => {
    const r = await slowPost(proxy.restUrl!, '/v1/models/m:predict', { pieces: pieces(8), gapMs: 150 });
    assert.equal(r.status, 200, r.body);
  });

  test('a chunked body sent slowly (streamed upstream) is answered 200 too', async () => {
    const r = await slowPost(proxy.restUrl!, '/v1/models/m:predict', { pieces: pieces(8), gapMs: 150, chunked: true });
    assert.equal(r.status, 200, r.body);
  });

  test('the duration recorded for a slow upload is the proxy\'s and upstream\'s time, not the upload\'s', async () => {
    const mine = outcomes.filter((o) => o.model === 'm' && o.code === '200');
    assert.equal(mine.length, 2);
    for (const o of mine) assert.ok(o.durationSeconds < 1, `recorded ${o.durationSeconds} s for a 1.2 s upload`);
  });

  test('a client that stalls a declared-length body gets 408 PRX_ERR_CLIENT_TIMEOUT and the upstream never sees it', async () => {
    const seen = up.seen.length;
    const r = await slowPost(proxy.restUrl!, '/v1/models/m:predict', { pieces: ['{"instances":'], gapMs: 10, declaredLength: 200 });
    assert.equal(r.status, 408, r.body);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'PRX_ERR_CLIENT_TIMEOUT');
    assert.equal(up.seen.length, seen);
  });

  test('a client that stalls a streamed body gets 408, and the upstream request is let go', async () => {
    const before = upstreamAborted;
    const r = await slowPost(proxy.restUrl!, '/v1/models/m:predict', { pieces: ['{"instances":', '[1,'], gapMs: 50, chunked: true, stall: true });
    assert.equal(r.status, 408, r.body);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'PRX_ERR_CLIENT_TIMEOUT');
    // The upstream connection that carried the half body is closed, not left waiting.
    await until(() => upstreamAborted > before);
  });

  test('stalled clients are counted as client_timeout with code 408, never as upstream timeouts or 5xx', async () => {
    const m = await metrics();
    assert.equal(sample(m, PROXY_METRIC.upstreamErrors, { kind: 'client_timeout', protocol: 'rest' }), 2);
    assert.equal(sample(m, PROXY_METRIC.upstreamErrors, { kind: 'timeout', protocol: 'rest' }), undefined);
    const codes = outcomes.filter((o) => o.model === 'm').map((o) => o.code).sort();
    assert.deepEqual(codes, ['200', '200', '408', '408']);
  });

  test('a client that trickles its body past timeouts.request gets one 408 PRX_ERR_CLIENT_TIMEOUT, recorded once', { timeout: 30_000 }, async () => {
    const up2 = await startUpstream((_req, res) => res.end('{}'));
    const { proxy: p } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up2.url }, timeouts: { headers: '1s', request: '1s', clientBody: '10s' } });
    const seen: RequestOutcome[] = [];
    p.onOutcome((o) => seen.push(o));
    try {
      // A byte every 100 ms: never idle for clientBody, but not done within the 1 s request timeout.
      const r = await slowPost(p.restUrl!, '/v1/models/m:predict', { pieces: Array(60).fill(' '), gapMs: 100, declaredLength: 60 });
      assert.equal(r.status, 408, r.body);
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'PRX_ERR_CLIENT_TIMEOUT');
      await new Promise((res) => setTimeout(res, 200));
      assert.deepEqual(seen.map((o) => o.code), ['408']);
      assert.equal(up2.seen.length, 0);
    } finally {
      await p.close();
      await up2.close();
    }
  });

  test('a request with no body is still cut by the upstream timeout (504)', async () => {
    const slow = await startUpstream(() => undefined); // never answers
    const { proxy: p } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: slow.url }, timeouts: { upstream: '300ms' } });
    try {
      const r = await fetch(`${p.restUrl}/v1/models/m`);
      assert.equal(r.status, 504);
      assert.equal(((await r.json()) as { code: string }).code, 'PRX_ERR_UPSTREAM_TIMEOUT');
    } finally {
      await p.close();
      await slow.close();
    }
  });
});
