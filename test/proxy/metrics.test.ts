import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LABEL, PROXY_METRIC, SIZE_BUCKETS, latencyBuckets } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import { ProxyMetrics } from '../../proxy/metrics.ts';

const THRESHOLDS = [0.1, 0.25];
const REQUEST_LABELS = [LABEL.model, LABEL.version, LABEL.api, LABEL.protocol, LABEL.code, LABEL.variant];
const SIZE_LABELS = [LABEL.model, LABEL.version, LABEL.api, LABEL.protocol];
const FOUR = [PROXY_METRIC.requests, PROXY_METRIC.requestDuration, PROXY_METRIC.requestSize, PROXY_METRIC.responseSize, PROXY_METRIC.inFlight];

function outcome(model: string, version: string, code: string, extra: Partial<RequestOutcome> = {}): RequestOutcome {
  return { model, version, api: 'predict', protocol: 'rest', variant: 'stable', code, durationSeconds: 0.003, endMs: 0, ...extra };
}

/** prom-client's own Counter and Histograms fed the way ProxyMetrics fed them before its cached handles. */
function reference(registry: Registry, help: (name: string) => string) {
  const registers = [registry];
  const requests = new Counter({ name: PROXY_METRIC.requests, help: help(PROXY_METRIC.requests), labelNames: REQUEST_LABELS, registers });
  const duration = new Histogram({ name: PROXY_METRIC.requestDuration, help: help(PROXY_METRIC.requestDuration), labelNames: REQUEST_LABELS, buckets: latencyBuckets(THRESHOLDS), registers });
  const reqSize = new Histogram({ name: PROXY_METRIC.requestSize, help: help(PROXY_METRIC.requestSize), labelNames: SIZE_LABELS, buckets: [...SIZE_BUCKETS], registers });
  const respSize = new Histogram({ name: PROXY_METRIC.responseSize, help: help(PROXY_METRIC.responseSize), labelNames: SIZE_LABELS, buckets: [...SIZE_BUCKETS], registers });
  const inFlight = new Gauge({ name: PROXY_METRIC.inFlight, help: help(PROXY_METRIC.inFlight), labelNames: [LABEL.protocol], registers });
  return {
    inFlight,
    observe(o: RequestOutcome, q: number, r: number) {
      const labels = { model: o.model, version: o.version, api: o.api, protocol: o.protocol, code: o.code, variant: o.variant };
      requests.inc(labels);
      duration.observe(labels, o.durationSeconds);
      const size = { model: o.model, version: o.version, api: o.api, protocol: o.protocol };
      reqSize.observe(size, q);
      respSize.observe(size, r);
    },
    remove(labelSets: RequestOutcome[]) {
      for (const o of labelSets) {
        const labels = { model: o.model, version: o.version, api: o.api, protocol: o.protocol, code: o.code, variant: o.variant };
        requests.remove(labels);
        duration.remove(labels);
        const size = { model: o.model, version: o.version, api: o.api, protocol: o.protocol };
        reqSize.remove(size);
        respSize.remove(size);
      }
    },
  };
}

const fourOf = (text: string) => text.split('\n').filter((l) => FOUR.some((n) => l.includes(` ${n} `) || l.startsWith(n))).join('\n');

test('the request metrics and the in-flight gauge expose what prom-client exposed for the same requests, across a removed version', async () => {
  const ours = new Registry();
  const m = new ProxyMetrics(ours, THRESHOLDS);
  const theirs = new Registry();
  const help = (name: string) => (ours.getSingleMetric(name) as unknown as { help: string }).help;
  const ref = reference(theirs, help);
  const v1 = [outcome('fraud', '1', '200'), outcome('fraud', '1', '503', { durationSeconds: 0.2 }), outcome('fraud', '1', 'OK', { protocol: 'grpc' })];
  const steps: Array<RequestOutcome | 'remove'> = [
    ...v1,
    outcome('fraud', '2', '200', { variant: 'canary', durationSeconds: 0.09 }),
    outcome('ranker', '7', '404', { durationSeconds: 30 }),
    v1[0]!,
    'remove',
    outcome('fraud', '2', '200', { variant: 'canary' }),
    v1[1]!, // the version came back: its series start again, last
  ];
  let i = 0;
  for (const s of steps) {
    if (s === 'remove') {
      m.removeVersion('fraud', '1');
      ref.remove(v1);
      continue;
    }
    for (const g of [m.inFlight, ref.inFlight]) {
      g.inc({ protocol: s.protocol });
      if (i % 3 !== 2) g.dec({ protocol: s.protocol }); // some still in flight
    }
    m.observe(s, 100 + i, 1000 * i++);
    ref.observe(s, 100 + (i - 1), 1000 * (i - 1));
  }
  const a = fourOf(await theirs.metrics());
  const b = fourOf(await ours.metrics());
  assert.ok(a.includes(`${PROXY_METRIC.requests}{model="fraud",version="1",api="predict",protocol="rest",code="503",variant="stable"} 1`), a);
  assert.ok(!a.includes('code="200",variant="stable"'), a);
  assert.ok(a.includes(`${PROXY_METRIC.inFlight}{protocol="rest"} 1\n${PROXY_METRIC.inFlight}{protocol="grpc"} 1`), a);
  assert.equal(b, a);
});

test('removing a version drops its cached series, so a returning version counts from zero and memory does not grow', async () => {
  const registry = new Registry();
  const m = new ProxyMetrics(registry);
  for (let i = 0; i < 3; i++) m.observe(outcome('fraud', '1', '200'), 10, 10);
  m.observe(outcome('fraud', '1', '500'), 10, 10);
  m.observe(outcome('fraud', '2', '200'), 10, 10);
  assert.equal(m.requests.size, 3);
  assert.equal(m.requestSize.size, 2);
  m.removeVersion('fraud', '1');
  assert.equal(m.requests.size, 1);
  assert.equal(m.duration.size, 1);
  assert.equal(m.requestSize.size, 1);
  assert.equal(m.responseSize.size, 1);
  m.removeVersion('fraud', '1'); // twice: nothing left to do
  m.observe(outcome('fraud', '1', '200'), 10, 10);
  const text = await registry.metrics();
  assert.ok(text.includes(`${PROXY_METRIC.requests}{model="fraud",version="1",api="predict",protocol="rest",code="200",variant="stable"} 1\n`), text);
  assert.ok(!text.includes('code="500"'), text);
  assert.ok(text.includes(`${PROXY_METRIC.requestSize}_count{model="fraud",version="1",api="predict",protocol="rest"} 1\n`), text);
});

test('a version removed right after its last request counts from zero when it returns', async () => {
  const registry = new Registry();
  const m = new ProxyMetrics(registry);
  for (let i = 0; i < 3; i++) m.observe(outcome('fraud', '1', '200'), 10, 10);
  m.removeVersion('fraud', '1');
  assert.ok(!(await registry.metrics()).includes('version="1"'));
  m.observe(outcome('fraud', '1', '200'), 10, 10);
  m.observe(outcome('fraud', '1', '200'), 10, 10);
  const text = await registry.metrics();
  assert.ok(text.includes(`${PROXY_METRIC.requests}{model="fraud",version="1",api="predict",protocol="rest",code="200",variant="stable"} 2\n`), text);
  assert.equal(m.requests.size, 1);
});

test('requests in flight are counted per protocol, each shown from its first request', async () => {
  const registry = new Registry();
  const m = new ProxyMetrics(registry);
  assert.ok(!(await registry.metrics()).includes(`${PROXY_METRIC.inFlight}{`));
  m.started('rest');
  m.started('rest');
  m.ended('rest');
  const text = await registry.metrics();
  assert.ok(text.includes(`${PROXY_METRIC.inFlight}{protocol="rest"} 1\n`), text);
  assert.ok(!text.includes(`${PROXY_METRIC.inFlight}{protocol="grpc"}`), text);
});
