import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { request as undiciRequest } from 'undici';
import { PROXY_METRIC } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import { startProxy, startUpstream, parseMetrics, sample, until } from './helpers.ts';
import type { Upstream } from './helpers.ts';
import type { Proxy } from '../../proxy/index.ts';
import type { Registry } from 'prom-client';

// Each failure is answered with a JSON error, counted, and leaves the proxy serving.
describe('REST failures', () => {
  let up: Upstream;
  let proxy: Proxy;
  let registry: Registry;
  const outcomes: RequestOutcome[] = [];
  let upstreamClosedEarly = 0;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url?.includes('/hang')) {
        res.on('close', () => {
          if (!res.writableFinished) upstreamClosedEarly++;
        });
        return; // never answers
      }
      if (req.url?.includes('/reset')) {
        req.socket.destroy();
        return;
      }
      res.setHeader('x-model-version', '1');
      res.end('{"ok":true}');
    });
    ({ proxy, registry } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: up.url },
      timeouts: { upstream: '300ms', headers: '500ms', request: '1s' },
      limits: { maxBodyBytes: 1024, maxHeaderBytes: 2048 },
      labels: { statusApi: 'none' },
    }));
    proxy.onOutcome((o) => outcomes.push(o));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  const metrics = async () => parseMetrics(await registry.metrics());

  test('an upstream that resets the connection gives 502 with a JSON error, counted as a reset', async () => {
    const r = await fetch(`${proxy.restUrl}/v1/models/m/reset:predict`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 502);
    const body = (await r.json()) as { error: string; code: string };
    assert.equal(body.code, 'PRX_ERR_UPSTREAM_UNAVAILABLE');
    assert.match(body.error, /reset/);
    const m = await metrics();
    assert.equal(sample(m, PROXY_METRIC.upstreamErrors, { kind: 'reset', protocol: 'rest' }), 1);
  });

  test('an upstream slower than the timeout gives 504, and the upstream request is closed', async () => {
    const r = await fetch(`${proxy.restUrl}/v1/models/m/hang:predict`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 504);
    assert.equal(((await r.json()) as { code: string }).code, 'PRX_ERR_UPSTREAM_TIMEOUT');
    await until(() => upstreamClosedEarly >= 1);
    assert.equal(sample(await metrics(), PROXY_METRIC.upstreamErrors, { kind: 'timeout', protocol: 'rest' }), 1);
  });

  test('a client that aborts cancels the upstream request and is recorded as 499', async () => {
    const before = upstreamClosedEarly;
    const ac = new AbortController();
    const p = fetch(`${proxy.restUrl}/v1/models/m/hang:predict`, { method: 'POST', body: '{}', signal: ac.signal });
    await until(() => up.seen.filter((s) => s.url.includes('/hang')).length >= 2);
    ac.abort();
    await assert.rejects(p);
    await until(() => upstreamClosedEarly > before);
    await until(() => outcomes.some((o) => o.code === '499'));
    assert.equal(sample(await metrics(), PROXY_METRIC.upstreamErrors, { kind: 'client_abort', protocol: 'rest' }), 1);
  });

  test('a body declared larger than the limit gets 413 and never reaches the upstream', async () => {
    const seen = up.seen.length;
    const r = await fetch(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: 'x'.repeat(2000) });
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { code: string }).code, 'PRX_ERR_BODY_TOO_LARGE');
    assert.equal(up.seen.length, seen);
  });

  test('a chunked body that grows past the limit is cut off with 413', async () => {
    async function* chunks() {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(300, 'x');
    }
    const r = await undiciRequest(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: Readable.from(chunks()) }).catch((e: unknown) => e);
    if (r instanceof Error) {
      // The proxy may close before the client finished sending; then no status can be read.
      assert.match(String((r as NodeJS.ErrnoException).code), /UND_ERR_SOCKET|ECONNRESET|EPIPE/);
    } else {
      assert.equal((r as { statusCode: number }).statusCode, 413);
      await (r as { body: { text(): Promise<string> } }).body.text();
    }
    await until(async () => sample(await metrics(), PROXY_METRIC.upstreamErrors, { kind: 'body_too_large', protocol: 'rest' }) === 2);
  });

  test('headers over the limit get 431 and are counted', async () => {
    const r = await fetch(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: '{}', headers: { 'x-big': 'y'.repeat(4000) } });
    assert.equal(r.status, 431);
    await until(async () => sample(await metrics(), PROXY_METRIC.requests, { code: '431' }) === 1);
  });

  test('a client that never finishes its headers gets 408', async () => {
    const url = new URL(proxy.restUrl!);
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    socket.write('POST /v1/models/m:predict HTTP/1.1\r\nhost: x\r\n');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 408/);
  });

  test('the proxy keeps serving after every failure above', async () => {
    const r = await fetch(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: '{}' });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.equal(text, '{"ok":true}');
  });
});

describe('REST upstream down and back', () => {
  test('a refused connection gives 502 (connect), and a restarted upstream is used again without restarting the proxy', async () => {
    const first = await startUpstream((_req, res) => res.end('one'));
    const port = first.port;
    await first.close();
    const { proxy, registry } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: `http://127.0.0.1:${port}` }, labels: { statusApi: 'none' } });
    try {
      const r1 = await fetch(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: '{}' });
      assert.equal(r1.status, 502);
      assert.match(((await r1.json()) as { error: string }).error, /connect/);
      assert.equal(sample(parseMetrics(await registry.metrics()), PROXY_METRIC.upstreamErrors, { kind: 'connect' }), 1);
      const again = await startUpstream((_req, res) => res.end('back'), port);
      try {
        const r2 = await fetch(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: '{}' });
        assert.equal(r2.status, 200);
        assert.equal(await r2.text(), 'back');
      } finally {
        await again.close();
      }
    } finally {
      await proxy.close();
    }
  });
});
