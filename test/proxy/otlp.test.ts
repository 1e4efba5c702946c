// OTLP export, end to end: a real node:http server on loopback plays the collector, a real
// proxy in front of a TF Serving-like upstream makes the spans.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Issues, PROXY_METRIC } from '../../common/index.ts';
import { PROXY_DEFAULTS, readProxyConfig } from '../../proxy/index.ts';
import { startProxy, startUpstream, tfServingLike } from './helpers.ts';
import type { Upstream } from './helpers.ts';

// The OTLP/JSON shapes this test reads (opentelemetry-proto, trace/v1/trace.proto, JSON mapping).
interface KeyValue { key: string; value: { stringValue?: string } }
interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: KeyValue[] }
interface OtlpBody { resourceSpans: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> }

const attr = (kvs: KeyValue[] | undefined, key: string) => kvs?.find((a) => a.key === key)?.value.stringValue;

async function closedPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('with proxy.tracing.otlp set, spans reach the collector', () => {
  let up: Upstream;
  let collector: Upstream;
  before(async () => {
    up = await startUpstream(tfServingLike({ fraud: ['1', '2'], half: ['7'] }));
    collector = await startUpstream((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  after(async () => {
    await up.close();
    await collector.close();
  });

  test('after close() the collector holds one span per request with model, version, service name and the continued trace', async () => {
    const { proxy } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: up.url },
      labels: { statusApi: 'none' },
      tracing: { otlp: { url: `${collector.url}/custom/v1/traces`, serviceName: 'gate-under-test', headers: { 'x-tenant': 'team-a' } } },
    });
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const sent: Array<{ path: string; headers: Record<string, string> }> = [
      { path: '/v1/models/fraud/versions/2:predict', headers: { traceparent: incoming } },
      { path: '/v1/models/half/versions/7:predict', headers: {} },
      { path: '/v1/models/fraud/versions/1:predict', headers: {} },
    ];
    for (const s of sent) {
      const r = await fetch(`${proxy.restUrl}${s.path}`, { method: 'POST', body: '{}', headers: s.headers });
      await r.text();
      assert.equal(r.status, 200);
    }
    const upstreamParents = up.seen.map((s) => String(s.headers['traceparent']));
    await proxy.close();

    assert.ok(collector.seen.length >= 1, 'the flush in close() posted to the collector');
    const spans: OtlpSpan[] = [];
    for (const post of collector.seen) {
      assert.equal(post.method, 'POST');
      assert.equal(post.url, '/custom/v1/traces');
      assert.equal(post.headers['x-tenant'], 'team-a');
      assert.match(String(post.headers['content-type']), /^application\/json/);
      const body = JSON.parse(post.body.toString('utf8')) as OtlpBody;
      for (const rs of body.resourceSpans) {
        assert.equal(attr(rs.resource?.attributes, 'service.name'), 'gate-under-test');
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
    }
    assert.equal(spans.length, sent.length);
    const labelled = spans.map((s) => `${attr(s.attributes, 'modelgate.model')}/${attr(s.attributes, 'modelgate.version')}`).sort();
    assert.deepEqual(labelled, ['fraud/1', 'fraud/2', 'half/7']);

    // The incoming trace is continued: same trace id, the caller's span as parent, and the
    // upstream was told the exported span's id so its spans nest under the proxy's.
    const continued = spans.find((s) => attr(s.attributes, 'modelgate.version') === '2')!;
    assert.equal(continued.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(continued.parentSpanId, '00f067aa0ba902b7');
    for (const s of spans) assert.ok(upstreamParents.includes(`00-${s.traceId}-${s.spanId}-01`), `upstream saw span ${s.spanId}`);
  });

  test('a collector that is down does not fail requests, close() still returns, and the lost spans are counted', async () => {
    const port = await closedPort();
    const { proxy, registry } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: up.url },
      labels: { statusApi: 'none' },
      tracing: { otlp: { url: `http://127.0.0.1:${port}/v1/traces`, timeout: '300ms' } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${proxy.restUrl}/v1/models/fraud/versions/1:predict`, { method: 'POST', body: '{}' });
      await r.text();
      statuses.push(r.status);
    }
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(statuses.length, 50);
    await proxy.close();
    const lost = (await registry.getSingleMetric(PROXY_METRIC.telemetryDropped)!.get()).values.find((v) => v.labels['reason'] === 'trace_export');
    assert.equal(lost?.value, 50, 'every span of the 50 requests is counted as lost');
  });

  test('a collector that accepts but never answers does not hold requests, and close() gives up after the timeout', async () => {
    const hanging = await startUpstream(() => {
      // Reads the export and never responds.
    });
    try {
      const { proxy } = await startProxy({
        rest: { host: '127.0.0.1', port: 0, upstream: up.url },
        labels: { statusApi: 'none' },
        tracing: { otlp: { url: `${hanging.url}/v1/traces`, timeout: '300ms' } },
      });
      for (let i = 0; i < 20; i++) {
        const r = await fetch(`${proxy.restUrl}/v1/models/half/versions/7:predict`, { method: 'POST', body: '{}' });
        await r.text();
        assert.equal(r.status, 200);
      }
      await proxy.close();
      assert.ok(hanging.seen.length >= 1, 'the flush reached the hanging collector');
    } finally {
      await hanging.close();
    }
  });
});

describe('proxy.tracing.otlp validation', () => {
  const read = (otlp: unknown, enabled?: boolean) => {
    const issues = new Issues();
    const c = readProxyConfig({ rest: { upstream: 'http://127.0.0.1:8601' }, tracing: { otlp, ...(enabled === undefined ? {} : { enabled }) } }, 'proxy', issues);
    return { c, issues: issues.list.map((i) => `${i.severity} ${i.path}: ${i.message}`) };
  };

  test('absent means no export', () => {
    const issues = new Issues();
    assert.equal(readProxyConfig({}, 'proxy', issues).tracing.otlp, undefined);
  });

  test('a bare url gets the documented defaults', () => {
    const { c, issues } = read({ url: 'http://collector:4318/v1/traces' });
    assert.deepEqual(issues, []);
    assert.deepEqual(c.tracing.otlp, { url: 'http://collector:4318/v1/traces', serviceName: PROXY_DEFAULTS.otlpServiceName, headers: {}, timeoutMs: PROXY_DEFAULTS.otlpTimeoutMs });
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['no url', { serviceName: 'x' }, /^error proxy\.tracing\.otlp\.url: is required/],
    ['a url without scheme', { url: 'collector:4318/v1/traces' }, /^error proxy\.tracing\.otlp\.url: must be .*"http:\/\/collector:4318\/v1\/traces"/],
    ['a grpc url', { url: 'grpc://collector:4317' }, /^error proxy\.tracing\.otlp\.url: must be/],
    ['a url without the traces path', { url: 'http://collector:4318' }, /^error proxy\.tracing\.otlp\.url: .*"http:\/\/collector:4318\/v1\/traces"/],
    ['an empty service name', { url: 'http://c:4318/v1/traces', serviceName: ' ' }, /^error proxy\.tracing\.otlp\.serviceName: must not be empty/],
    ['headers as a list', { url: 'http://c:4318/v1/traces', headers: ['a: b'] }, /^error proxy\.tracing\.otlp\.headers: must be a map/],
    ['a header name with a space', { url: 'http://c:4318/v1/traces', headers: { 'x tenant': 'a' } }, /^error proxy\.tracing\.otlp\.headers\.x tenant: is not a valid HTTP header name/],
    ['a header value that is an object', { url: 'http://c:4318/v1/traces', headers: { 'x-a': { b: 1 } } }, /^error proxy\.tracing\.otlp\.headers\.x-a: must be a string value/],
    ['a timeout without unit', { url: 'http://c:4318/v1/traces', timeout: 5 }, /^error proxy\.tracing\.otlp\.timeout: needs a unit/],
    ['an unknown key', { url: 'http://c:4318/v1/traces', endpoint: 'x' }, /^error proxy\.tracing\.otlp\.endpoint: /],
    ['not an object', 'http://c:4318/v1/traces', /^error proxy\.tracing\.otlp: must be an object/],
  ];
  for (const [name, otlp, expected] of bad) {
    test(`${name} is an error that says how to fix it`, () => {
      const { issues } = read(otlp);
      assert.ok(issues.some((i) => expected.test(i)), issues.join('\n'));
    });
  }

  test('otlp with tracing disabled is a warning, and nothing is exported', () => {
    const { issues } = read({ url: 'http://c:4318/v1/traces' }, false);
    assert.deepEqual(issues.map((i) => i.split(':')[0]), ['warning proxy.tracing.otlp']);
  });
});
