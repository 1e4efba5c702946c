import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import { OVERFLOW_LABEL_VALUE, PROXY_METRIC, VARIANT_HEADER } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import type { BodySample, Proxy } from '../../proxy/index.ts';
import { parseMetrics, sample, startProxy, startUpstream, tfServingLike, until } from './helpers.ts';
import type { Upstream } from './helpers.ts';

describe('REST labels and version, in front of an upstream that reports no version (TF Serving REST)', () => {
  let up: Upstream;
  let proxy: Proxy;
  let registry: Registry;
  const outcomes: RequestOutcome[] = [];

  before(async () => {
    up = await startUpstream(tfServingLike({ fraud: ['1', '2'], half: ['7'] }));
    ({ proxy, registry } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { maxModels: 3 } }));
    proxy.onOutcome((o) => outcomes.push(o));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  const post = (path: string) => fetch(`${proxy.restUrl}${path}`, { method: 'POST', body: '{"instances":[1]}' }).then((r) => r.text().then(() => r));
  const last = () => until(() => outcomes.length > 0 && outcomes[outcomes.length - 1]);

  test('a predict that names no version is labelled with the highest AVAILABLE version from the upstream status', async () => {
    outcomes.length = 0;
    await post('/v1/models/fraud:predict');
    const o = await last();
    assert.deepEqual({ model: o.model, version: o.version, api: o.api, protocol: o.protocol, code: o.code, variant: o.variant }, {
      model: 'fraud', version: '2', api: 'predict', protocol: 'rest', code: '200', variant: 'direct',
    });
  });

  test('an explicit version is labelled with that version', async () => {
    outcomes.length = 0;
    await post('/v1/models/fraud/versions/1:predict');
    assert.equal((await last()).version, '1');
  });

  test('a status call is labelled api=status', async () => {
    outcomes.length = 0;
    await fetch(`${proxy.restUrl}/v1/models/half`).then((r) => r.text());
    const o = await last();
    assert.equal(o.api, 'status');
    assert.equal(o.model, 'half');
  });

  test('an unknown model folds into the overflow value, so random names cannot add series', async () => {
    outcomes.length = 0;
    for (let i = 0; i < 20; i++) await post(`/v1/models/random${i}:predict`);
    await until(() => outcomes.length === 20);
    assert.ok(outcomes.every((o) => o.model === OVERFLOW_LABEL_VALUE && o.code === '404'));
    const m = parseMetrics(await registry.metrics());
    const models = new Set(m.filter((s) => s.name === PROXY_METRIC.requests).map((s) => s.labels['model']));
    assert.deepEqual([...models].sort(), [OVERFLOW_LABEL_VALUE, 'fraud', 'half'].sort());
  });

  test('the response carries the variant header', async () => {
    const r = await post('/v1/models/fraud:predict');
    assert.equal(r.headers.get(VARIANT_HEADER), 'direct');
  });

  test('request counts and latency histograms appear in the metrics text with every label', async () => {
    const m = parseMetrics(await registry.metrics());
    const labels = { model: 'fraud', version: '2', api: 'predict', protocol: 'rest', code: '200', variant: 'direct' };
    assert.ok((sample(m, PROXY_METRIC.requests, labels) ?? 0) >= 2);
    assert.equal(sample(m, `${PROXY_METRIC.requestDuration}_count`, labels), sample(m, PROXY_METRIC.requests, labels));
    assert.ok(sample(m, `${PROXY_METRIC.requestDuration}_bucket`, { ...labels, le: '+Inf' }));
    assert.equal(sample(m, PROXY_METRIC.inFlight, { protocol: 'rest' }), 0);
    assert.ok((sample(m, `${PROXY_METRIC.requestSize}_sum`, { model: 'fraud', version: '2' }) ?? 0) > 0);
  });
});

describe('REST version reported by the upstream', () => {
  let up: Upstream;
  let proxy: Proxy;
  const outcomes: RequestOutcome[] = [];
  before(async () => {
    up = await startUpstream((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/v1/')) {
        res.setHeader('x-model-version', '5');
        res.end('{"predictions":[1]}');
      } else res.end('{"model_name":"m","model_version":"9","outputs":[]}');
    });
    ({ proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { statusApi: 'none' } }));
    proxy.onOutcome((o) => outcomes.push(o));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  test('the x-model-version response header names the version', async () => {
    outcomes.length = 0;
    await fetch(`${proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: '{}' }).then((r) => r.text());
    assert.equal((await until(() => outcomes[0])).version, '5');
  });

  test('a KServe v2 infer response names the version in its model_version field', async () => {
    outcomes.length = 0;
    await fetch(`${proxy.restUrl}/v2/models/m/infer`, { method: 'POST', body: '{"inputs":[]}' }).then((r) => r.text());
    const o = await until(() => outcomes[0]);
    assert.equal(o.version, '9');
    assert.equal(o.api, 'infer');
  });
});

describe('REST split, tracing and body tee', () => {
  let up: Upstream;
  let proxy: Proxy;
  let registry: Registry;
  const outcomes: RequestOutcome[] = [];
  before(async () => {
    up = await startUpstream((req, res) => {
      const v = /\/versions\/(\d+)/.exec(req.url ?? '')?.[1];
      if (v) res.setHeader('x-model-version', v);
      res.setHeader('content-type', 'application/json');
      res.end('{"predictions":[0.5]}');
    });
    ({ proxy, registry } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: up.url },
      labels: { statusApi: 'none' },
      bodies: { sampleRate: 1 },
      splits: { fraud: { stable: 1, canary: 2, weight: 30, stickyHeader: 'x-user' } },
    }));
    proxy.onOutcome((o) => outcomes.push(o));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  test('unpinned requests are rewritten to the split versions and labelled by variant', async () => {
    outcomes.length = 0;
    for (let i = 0; i < 60; i++) await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{}' }).then((r) => r.text());
    await until(() => outcomes.length === 60);
    const canary = outcomes.filter((o) => o.variant === 'canary');
    const stable = outcomes.filter((o) => o.variant === 'stable');
    assert.equal(canary.length + stable.length, 60);
    assert.ok(canary.length > 0 && stable.length > 0);
    assert.ok(canary.every((o) => o.version === '2') && stable.every((o) => o.version === '1'));
    assert.ok(up.seen.slice(-60).every((s) => /^\/v1\/models\/fraud\/versions\/[12]:predict$/.test(s.url)));
    assert.ok(outcomes.every((o) => o.pinned === undefined), 'split-routed requests are not pinned');
  });

  test('labels/canary resolves to the canary version, and an explicit version passes untouched; both are marked pinned', async () => {
    outcomes.length = 0;
    await fetch(`${proxy.restUrl}/v1/models/fraud/labels/canary:predict`, { method: 'POST', body: '{}' }).then((r) => r.text());
    assert.equal(up.seen[up.seen.length - 1]!.url, '/v1/models/fraud/versions/2:predict');
    await fetch(`${proxy.restUrl}/v1/models/fraud/versions/7:predict`, { method: 'POST', body: '{}' }).then((r) => r.text());
    assert.equal(up.seen[up.seen.length - 1]!.url, '/v1/models/fraud/versions/7:predict');
    await until(() => outcomes.length === 2);
    assert.deepEqual(outcomes.map((o) => [o.variant, o.pinned]), [['canary', true], ['direct', true]]);
  });

  test('one sticky user always lands on the same variant', async () => {
    const variants = new Set<string | null>();
    for (let i = 0; i < 10; i++) {
      const r = await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{}', headers: { 'x-user': 'alice' } });
      await r.text();
      variants.add(r.headers.get(VARIANT_HEADER));
    }
    assert.equal(variants.size, 1);
  });

  test('a split changed at run time applies to the next request', async () => {
    proxy.setSplit('fraud', { stable: '1', canary: '2', weight: 100 });
    const r = await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{}' });
    await r.text();
    assert.equal(r.headers.get(VARIANT_HEADER), 'canary');
    proxy.setSplit('fraud', { stable: '1', canary: '2', weight: 0 });
    const r2 = await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{}' });
    await r2.text();
    assert.equal(r2.headers.get(VARIANT_HEADER), 'stable');
  });

  test('a request without a trace gets a new traceparent upstream; one with a trace continues it', async () => {
    await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{}' }).then((r) => r.text());
    const started = String(up.seen[up.seen.length - 1]!.headers['traceparent']);
    assert.match(started, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{}', headers: { traceparent: incoming } }).then((r) => r.text());
    const continued = String(up.seen[up.seen.length - 1]!.headers['traceparent']);
    assert.match(continued, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.notEqual(continued.split('-')[2], '00f067aa0ba902b7');
  });

  test('bodies are handed to the body observer after the response, with the labels', async () => {
    const got: BodySample[] = [];
    const off = proxy.onBodies((b) => {
      got.push(b);
    });
    await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{"instances":[[1,2]]}', headers: { 'content-type': 'application/json' } }).then((r) => r.text());
    const b = await until(() => got[0]);
    off();
    assert.equal(b.requestBody.toString(), '{"instances":[[1,2]]}');
    assert.equal(b.responseBody.toString(), '{"predictions":[0.5]}');
    assert.equal(b.contentType, 'application/json');
    assert.equal(b.model, 'fraud');
    assert.equal(b.api, 'predict');
  });

  test('an observer that throws breaks neither the request nor the other observers, and is counted', async () => {
    const off = proxy.onOutcome(() => {
      throw new Error('observer bug');
    });
    outcomes.length = 0;
    const r = await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 200);
    await r.text();
    await until(() => outcomes.length === 1);
    off();
    assert.equal(sample(parseMetrics(await registry.metrics()), PROXY_METRIC.telemetryDropped, { reason: 'observer_error' }), 1);
  });
});

describe('series of gone versions', () => {
  test('a version the upstream stops serving loses its series after the grace period', async () => {
    const versions: Record<string, string[]> = { m: ['1', '2'] };
    const up = await startUpstream(tfServingLike(versions));
    const { proxy, registry } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: up.url },
      labels: { statusPoll: '20ms', goneVersionGrace: '100ms' },
    });
    try {
      await fetch(`${proxy.restUrl}/v1/models/m/versions/1:predict`, { method: 'POST', body: '{}' }).then((r) => r.text());
      const has1 = async () => parseMetrics(await registry.metrics()).some((s) => s.name === PROXY_METRIC.requests && s.labels['version'] === '1');
      await until(has1);
      versions['m'] = ['2'];
      await until(async () => !(await has1()));
      assert.deepEqual(proxy.catalog.versions('m'), ['2']);
    } finally {
      await proxy.close();
      await up.close();
    }
  });
});

describe('hop-by-hop headers', () => {
  test('headers named in Connection are not forwarded, other headers are', async () => {
    const up = await startUpstream((_req, res) => res.end('{}'));
    const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { statusApi: 'none' } });
    try {
      // A raw request: HTTP clients normalise the Connection header away. (Written, not
      // ended: Node's server drops a request whose client half-closes before the answer.)
      const { connect } = await import('node:net');
      const url = new URL(proxy.restUrl!);
      const socket = connect(Number(url.port), url.hostname);
      socket.write('POST /v1/models/m:predict HTTP/1.1\r\nhost: x\r\nconnection: close, x-secret-hop\r\nx-secret-hop: 1\r\nx-end-to-end: 2\r\ncontent-length: 2\r\n\r\n{}');
      let reply = '';
      socket.on('data', (c: Buffer) => (reply += c.toString()));
      await new Promise((r) => socket.on('close', r));
      assert.match(reply, /^HTTP\/1\.1 200/);
      const seen = up.seen[up.seen.length - 1]!;
      assert.equal(seen.headers['x-secret-hop'], undefined);
      assert.equal(seen.headers['x-end-to-end'], '2');
    } finally {
      await proxy.close();
      await up.close();
    }
  });
});
