// What our REST predict path spends per request beyond the bare server, stage by stage.
// Companion to bench/server-rest.ts: that one measures the whole request over loopback,
// this one times each stage of server/rest/http.ts in a tight loop, next to the bare
// server's equivalent, so the gap can be attributed.
//
//   node --import tsx bench/server-rest-parts.ts
//
// Tight loops keep caches warm and the JIT happy, so these figures are lower bounds of what
// a stage costs inside a real request; use them for ratios and ranking, not as totals.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Histogram, Registry } from 'prom-client';
import { LABEL, SERVER_METRIC, latencyBuckets } from '../common/conventions.ts';
import { checkInputs, selectOutputs } from '../server/core/infer.ts';
import { ServerMetrics } from '../server/metrics.ts';
import { Deadlines, type Expirable } from '../server/rest/deadlines.ts';
import { parseRoute, type Route } from '../server/rest/routes.ts';
import { decodePredict, encodePredict } from '../server/rest/tf-codec.ts';
import { startServer } from '../server/server.ts';
import { parseJson } from '../server/tensor/json.ts';

const REPO = fileURLToPath(new URL('../examples/models/', import.meta.url));

/** Runs fn repeatedly for about `ms` and returns microseconds per call (after a warmup). */
function time(fn: () => unknown, ms = 400): number {
  const until = performance.now() + ms / 4;
  while (performance.now() < until) fn();
  let n = 0;
  const t0 = performance.now();
  let t1 = t0;
  while (t1 - t0 < ms) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    t1 = performance.now();
  }
  return ((t1 - t0) * 1000) / n;
}

async function timeAsync(fn: () => Promise<unknown>, ms = 400): Promise<number> {
  const until = performance.now() + ms / 4;
  while (performance.now() < until) await fn();
  let n = 0;
  const t0 = performance.now();
  let t1 = t0;
  while (t1 - t0 < ms) {
    for (let i = 0; i < 200; i++) await fn();
    n += 200;
    t1 = performance.now();
  }
  return ((t1 - t0) * 1000) / n;
}

function features(n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(Math.sin(i) * 2e4) / 1e4);
}

async function main(): Promise<void> {
  const server = await startServer({
    host: '127.0.0.1',
    restPort: 0,
    pollMs: 0,
    intraOpThreads: 1,
    models: ['half_plus_two', 'mlp'].map((name) => ({ name, basePath: join(REPO, name), policy: { kind: 'latest' as const, numVersions: 1 }, labels: {} })),
  });
  const metrics = new ServerMetrics(new Registry());
  const rows: string[] = [];
  try {
    for (const model of ['half_plus_two', 'mlp']) {
      const instances = model === 'mlp' ? [features(256)] : [1.0, 2.0, 5.0];
      const body = JSON.stringify({ instances });
      const h = server.manager.acquire(model);
      const signature = h.signature;
      const decoded = decodePredict(parseJson(body), signature);
      const out = await h.runner.run(decoded.inputs, selectOutputs(signature, undefined));
      h.release();
      const outTensor = [...out.values()][0]!;
      const label = { model, version: String(h.version), api: 'predict', entrypoint: 'rest' };

      const stage = (name: string, ours: number, bare?: number) =>
        rows.push(`| ${model} | ${name} | ${ours.toFixed(2)} | ${bare === undefined ? '—' : bare.toFixed(2)} |`);

      stage('route: parseRoute (regex, decodeURIComponent), as before', time(() => parseRoute('POST', `/v1/models/${model}:predict`)));
      const routeCache = new Map<string, Route>([[`POST /v1/models/${model}:predict`, parseRoute('POST', `/v1/models/${model}:predict`)]]);
      const path = `/v1/models/${model}:predict`;
      stage('route: cached parse looked up by method and path (now)', time(() => routeCache.get(`POST ${path}`)));
      stage('body → JSON: parseJson (NaN/Infinity scan, JSON.parse, depth/key/2^53 walk) vs JSON.parse', time(() => parseJson(body)), time(() => JSON.parse(body)));
      const parsed = JSON.parse(body) as { instances: number[] | number[][] };
      stage(
        'JSON → tensor: decodePredict (typed; float rows fast path) vs Float32Array.from',
        time(() => decodePredict(parsed, signature)),
        time(() => Float32Array.from((Array.isArray(parsed.instances[0]) ? (parsed.instances as number[][]).flat() : parsed.instances) as number[])),
      );
      stage('checkInputs + selectOutputs', time(() => (checkInputs(signature, decoded.inputs), selectOutputs(signature, undefined))));
      stage('acquire + release a version handle', time(() => server.manager.acquire(model).release()));
      const k = outTensor.shape.length === 2 ? outTensor.shape[1]! : 1;
      const data = outTensor.data as Float32Array;
      stage(
        'tensor → JSON: encodePredict (WriteDecimal floats) vs JSON.stringify(Array.from)',
        time(() => encodePredict('row', out)),
        time(() =>
          JSON.stringify({ predictions: k === 1 ? Array.from(data) : Array.from({ length: outTensor.shape[0]! }, (_, i) => Array.from(data.subarray(i * k, (i + 1) * k))) }),
        ),
      );
      // Metric and deadline variants: what http.ts did before, and what it does now.
      // A variable, so String(status) is computed per call as in http.ts.
      const status: number = Number('200');
      const theirs = new Registry();
      const promRequests = new Counter({ name: SERVER_METRIC.requests, help: 'h', labelNames: [LABEL.model, LABEL.version, LABEL.api, LABEL.entrypoint, LABEL.code], registers: [theirs] });
      const promDuration = new Histogram({ name: SERVER_METRIC.requestDuration, help: 'h', labelNames: [LABEL.model, LABEL.version, LABEL.api, LABEL.entrypoint], buckets: latencyBuckets(), registers: [theirs] });
      const promInference = new Histogram({ name: SERVER_METRIC.inferenceDuration, help: 'h', labelNames: [LABEL.model, LABEL.version], buckets: latencyBuckets(), registers: [theirs] });
      stage(
        'metrics (before): prom-client requests.inc + requestDuration.observe + inferenceDuration.observe, label objects written out',
        time(() => {
          promRequests.inc({ model: label.model, version: label.version, api: label.api, entrypoint: 'rest', code: String(status) });
          promDuration.observe({ model: label.model, version: label.version, api: label.api, entrypoint: 'rest' }, 0.0004);
          promInference.observe({ model, version: label.version }, 0.0001);
        }),
      );
      // As http.ts record() and core/infer.ts recordInference() do it now.
      const cache = new Map<string, { duration: ReturnType<typeof metrics.requestDuration.series>; byCode: Map<number, ReturnType<typeof metrics.requests.series>> }>();
      const runner = {};
      stage(
        'metrics (now): the same three updates through cached series (one string key, two map lookups)',
        time(() => {
          const key = `${label.model}\u0001${label.version}\u0001${label.api}`;
          let s = cache.get(key);
          if (!s) {
            s = { duration: metrics.requestDuration.series({ ...label }), byCode: new Map() };
            cache.set(key, s);
          }
          let c = s.byCode.get(status);
          if (!c) {
            c = metrics.requests.series({ ...label, code: String(status) });
            s.byCode.set(status, c);
          }
          c.inc();
          s.duration.observe(0.0004);
          metrics.inferenceSeries(runner, model, h.version).observe(0.0001);
        }),
      );
      stage(
        'deadline (before): setTimeout + one wrapping promise vs a bare await',
        await timeAsync(
          () =>
            new Promise((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error('late')), 30_000);
              Promise.resolve(1).then(
                (v) => {
                  clearTimeout(timer);
                  resolve(v);
                },
                (e: unknown) => {
                  clearTimeout(timer);
                  reject(e);
                },
              );
            }),
        ),
        await timeAsync(() => Promise.resolve(1)),
      );
      const deadlines = new Deadlines();
      const inFlight: Expirable[] = [];
      // Shared, like Req.expire in http.ts: an arrow in the literal would be a per-call closure (and a __name wrapper when run through tsx, as this benchmark is).
      const expire = () => {};
      let n = 0;
      stage(
        'deadline (now): link a request into the shared-timer list and another out (8 in flight); no promise of its own',
        time(() => {
          const r: Expirable = { deadlineMs: Date.now() + 30_000, expire, deadlinePrev: undefined, deadlineNext: undefined, deadlineLinked: false };
          deadlines.add(r);
          const old = inFlight[n % 8];
          if (old) deadlines.delete(old);
          inFlight[n++ % 8] = r;
        }),
      );
      deadlines.close();
      stage('runner.run (ORT via setImmediate) for reference', await timeAsync(() => h.runner.run(decoded.inputs, selectOutputs(signature, undefined))));
    }
  } finally {
    await server.close();
  }
  console.log('| model | stage | ours µs/op | bare µs/op |');
  console.log('|---|---|---:|---:|');
  for (const r of rows) console.log(r);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
