import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from '../../server/core/metric-series.ts';

const BUCKETS = [0.0005, 0.001, 0.01, 0.1, 1, 10];
const NAMES = ['model', 'version', 'api', 'entrypoint', 'code'];

/** Label sets in different key orders and with a label left out, as the REST and gRPC surfaces write them. */
const OPS: { labels: Record<string, string>; value: number }[] = [
  { labels: { model: 'a', version: '1', api: 'predict', entrypoint: 'rest', code: '200' }, value: 0.0004 },
  { labels: { model: 'a', version: '1', api: 'predict', entrypoint: 'rest', code: '200' }, value: 0.001 },
  { labels: { api: 'predict', model: 'a', code: '200', version: '1', entrypoint: 'rest' }, value: 0.02 },
  { labels: { model: 'a', version: '1', api: 'predict', entrypoint: 'grpc', code: 'OK' }, value: 11 },
  { labels: { model: 'b "quoted"\n', version: 'unknown', api: 'other', entrypoint: 'rest', code: '404' }, value: 0 },
  { labels: { model: 'c', api: 'infer', entrypoint: 'rest', code: '504' }, value: 1 },
  { labels: { model: 'a', version: '1', api: 'predict', entrypoint: 'rest', code: '500' }, value: 0.3 },
];

async function both(apply: (reg: Registry, own: boolean) => void): Promise<[string, string, unknown, unknown]> {
  const theirs = new Registry();
  const ours = new Registry();
  apply(theirs, false);
  apply(ours, true);
  return [await theirs.metrics(), await ours.metrics(), await theirs.getMetricsAsJSON(), await ours.getMetricsAsJSON()];
}

test('the series counter exposes exactly what a prom-client counter exposes for the same increments', async () => {
  const [a, b, ja, jb] = await both((registers, own) => {
    const config = { name: 'x_requests_total', help: 'Requests "handled".', labelNames: NAMES, registers: [registers] };
    const c = own ? new SeriesCounter(config) : new Counter(config);
    for (const op of OPS) c.inc(op.labels, op.value > 5 ? 3 : 1);
    if (own) (c as SeriesCounter).series(OPS[0]!.labels).inc();
    else c.inc(OPS[0]!.labels);
  });
  assert.ok(a.includes('x_requests_total{model="a",version="1",api="predict",entrypoint="rest",code="200"} 4'), a);
  assert.equal(b, a);
  assert.deepEqual(jb, ja);
});

test('the series histogram exposes exactly what a prom-client histogram exposes for the same observations', async () => {
  const [a, b, ja, jb] = await both((registers, own) => {
    const config = { name: 'x_duration_seconds', help: 'Time.', labelNames: NAMES.slice(0, 4), buckets: BUCKETS, registers: [registers] };
    const h = own ? new SeriesHistogram(config) : new Histogram(config);
    for (const op of OPS) {
      const { code: _code, ...labels } = op.labels;
      h.observe(labels, op.value);
    }
    const hot = { model: 'a', version: '1', api: 'predict', entrypoint: 'rest' };
    if (own) (h as SeriesHistogram).series(hot).observe(0.05);
    else h.observe(hot, 0.05);
  });
  assert.ok(a.includes('x_duration_seconds_bucket{le="0.001",model="a",version="1",api="predict",entrypoint="rest"} 2'), a);
  assert.equal(b, a);
  assert.deepEqual(jb, ja);
});

test('after a reset both expose no series', async () => {
  const [a, b] = await both((registers, own) => {
    const config = { name: 'x_total', help: 'h', labelNames: ['model'], registers: [registers] };
    const c = own ? new SeriesCounter(config) : new Counter(config);
    c.inc({ model: 'a' });
    c.reset();
  });
  assert.equal(b, a);
});

test('a label the metric was not declared with is refused, as prom-client refuses it', () => {
  const registers = [new Registry()];
  const c = new SeriesCounter({ name: 'x_total', help: 'h', labelNames: ['model'], registers });
  const h = new SeriesHistogram({ name: 'x_seconds', help: 'h', labelNames: ['model'], buckets: BUCKETS, registers });
  assert.throws(() => c.inc({ model: 'a', extra: '1' }), /Added label "extra" is not included/);
  assert.throws(() => h.observe({ model: 'a', extra: '1' }, 1), /Added label "extra" is not included/);
  assert.throws(() => h.observe({ model: 'a' }, NaN), /not a valid number/);
  assert.throws(() => c.inc({ model: 'a' }, -1), /not possible to decrease/);
});

test('a series shows from its first update, in the order of first updates, and a kept handle still counts after a reset', async () => {
  const [a, b] = await both((registers, own) => {
    const config = { name: 'x_seconds', help: 'h', labelNames: ['model'], buckets: BUCKETS, registers: [registers] };
    if (own) {
      const h = new SeriesHistogram(config);
      const first = h.series({ model: 'first' }); // fetched early, updated last
      const never = h.series({ model: 'never' });
      h.series({ model: 'second' }).observe(0.2);
      first.observe(0.1);
      h.reset();
      first.observe(0.3);
      h.series({ model: 'second' }).observe(0.4);
      void never;
    } else {
      const h = new Histogram(config);
      h.observe({ model: 'second' }, 0.2);
      h.observe({ model: 'first' }, 0.1);
      h.reset();
      h.observe({ model: 'first' }, 0.3);
      h.observe({ model: 'second' }, 0.4);
    }
  });
  assert.ok(a.indexOf('model="first"') < a.indexOf('model="second"'), a);
  assert.equal(b, a);
});
