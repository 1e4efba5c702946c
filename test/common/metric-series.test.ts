import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SeriesCounter, SeriesGauge, SeriesHistogram } from '../../common/metric-series.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const NAMES = ['model', 'version', 'code'];

async function both(apply: (reg: Registry, own: boolean) => void): Promise<{ text: [string, string]; json: [unknown, unknown] }> {
  const theirs = new Registry();
  const ours = new Registry();
  apply(theirs, false);
  apply(ours, true);
  return { text: [await theirs.metrics(), await ours.metrics()], json: [await theirs.getMetricsAsJSON(), await ours.getMetricsAsJSON()] };
}

test('removing a label set exposes what prom-client exposes: gone, and last with fresh values when it comes back', async () => {
  const { text: [a, b], json: [ja, jb] } = await both((registers, own) => {
    const cfg = { name: 'x_total', help: 'Requests.', labelNames: NAMES, registers: [registers] };
    const hcfg = { name: 'x_seconds', help: 'Time.', labelNames: NAMES, buckets: BUCKETS, registers: [registers] };
    const l1 = { model: 'a', version: '1', code: '200' };
    const l2 = { model: 'a', version: '2', code: '200' };
    const l3 = { model: 'b', version: '1', code: '500' };
    if (own) {
      const c = new SeriesCounter(cfg);
      const h = new SeriesHistogram(hcfg);
      for (const l of [l1, l2, l3, l1]) {
        c.series(l).inc();
        h.series(l).observe(0.05);
      }
      c.remove(l1);
      h.remove(l1);
      c.remove({ model: 'never', version: '1', code: '200' });
      h.remove({ model: 'never', version: '1', code: '200' });
      c.series(l1).inc(2);
      h.series(l1).observe(0.5);
      c.remove(l2);
      h.remove(l2);
    } else {
      const c = new Counter(cfg);
      const h = new Histogram(hcfg);
      for (const l of [l1, l2, l3, l1]) {
        c.inc(l);
        h.observe(l, 0.05);
      }
      c.remove(l1);
      h.remove(l1);
      c.remove({ model: 'never', version: '1', code: '200' });
      h.remove({ model: 'never', version: '1', code: '200' });
      c.inc(l1, 2);
      h.observe(l1, 0.5);
      c.remove(l2);
      h.remove(l2);
    }
  });
  assert.ok(a.indexOf('model="b"') < a.indexOf('model="a",version="1"'), a);
  assert.ok(!a.includes('version="2"'), a);
  assert.ok(a.includes('x_total{model="a",version="1",code="200"} 2'), a);
  assert.equal(b, a);
  assert.deepEqual(jb, ja);
  // What the primary of a multi-process proxy does with its workers' metrics.
  assert.equal(await AggregatorRegistry.aggregate([jb, jb] as never).metrics(), await AggregatorRegistry.aggregate([ja, ja] as never).metrics());
});

test('a removed label set is forgotten, and removing checks label names as prom-client does', () => {
  const c = new SeriesCounter({ name: 'x_total', help: 'h', labelNames: ['model'], registers: [new Registry()] });
  c.series({ model: 'a' }).inc();
  c.series({ model: 'b' }).inc();
  assert.equal(c.size, 2);
  c.remove({ model: 'a' });
  assert.equal(c.size, 1);
  assert.throws(() => c.remove({ model: 'b', extra: '1' }), /Added label "extra" is not included/);
});

test('the series gauge exposes exactly what a prom-client gauge exposes for the same increments and decrements', async () => {
  const { text: [a, b], json: [ja, jb] } = await both((registers, own) => {
    const g = own
      ? new SeriesGauge({ name: 'x_in_flight', help: 'Now.', labelNames: ['protocol'], registers: [registers] })
      : new Gauge({ name: 'x_in_flight', help: 'Now.', labelNames: ['protocol'], registers: [registers] });
    g.inc({ protocol: 'rest' });
    g.inc({ protocol: 'grpc' });
    g.inc({ protocol: 'rest' }, 2);
    g.dec({ protocol: 'grpc' });
    g.dec({ protocol: 'rest' });
    g.dec({ protocol: 'tcp' }, 0.5);
    g.remove({ protocol: 'rest' });
    g.inc({ protocol: 'rest' });
  });
  assert.ok(a.includes('x_in_flight{protocol="grpc"} 0\nx_in_flight{protocol="tcp"} -0.5\nx_in_flight{protocol="rest"} 1'), a);
  assert.equal(b, a);
  assert.deepEqual(jb, ja);
  const g = new SeriesGauge({ name: 'x', help: 'h', labelNames: ['protocol'], registers: [new Registry()] });
  assert.throws(() => g.inc({ protocol: 'rest', extra: '1' }), /Added label "extra" is not included/);
  assert.throws(() => g.inc({ protocol: 'rest' }, '1' as unknown as number), /Delta is not a valid number/);
});
