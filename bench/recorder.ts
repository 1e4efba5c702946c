// Per-request recording cost of the proxy (run by hand, ~20 s on 2 cores):
//   node --import tsx bench/recorder.ts [--rounds 11] [--n 40000]
// Every finished request goes through Recorder.record: labels via the catalog, the four
// request metrics, the outcome observers and the span's end; before it, a request id and a
// span start. Each section runs the proxy's code against prom-client's label-object calls
// and the regex / Buffer#toString tracing code (bench/lib/recording-baseline.ts) in the same
// process, rounds alternating which goes first; it prints median ns per request of each and
// the median of the per-round ratios. It first checks that all variants leave
// byte-identical expositions of the request metrics.
import { randomUUID } from 'node:crypto';
import { Gauge, Registry } from 'prom-client';
import { PROXY_METRIC, systemClock } from '../common/index.ts';
import type { Variant } from '../common/index.ts';
import { ModelCatalog } from '../proxy/catalog.ts';
import { ProxyMetrics } from '../proxy/metrics.ts';
import { Observers } from '../proxy/observers.ts';
import { Recorder, type RequestFacts } from '../proxy/recorder.ts';
import { requestIdFrom } from '../proxy/request-id.ts';
import { Tracing, parseTraceparent } from '../proxy/tracing.ts';
import { PromClientChildrenMetrics, PromClientMetrics, RegexTracing, regexParseTraceparent } from './lib/recording-baseline.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const ROUNDS = arg('rounds', 11);
const N = arg('n', 40_000);
const THRESHOLDS = [0.1, 0.25];

/** A realistic mix: two versions of a split model, a second model, a few codes, REST and gRPC. */
function factsMix(): RequestFacts[] {
  const out: RequestFacts[] = [];
  const codes: Array<[string, number, boolean]> = [['200', 200, true], ['200', 200, true], ['200', 200, true], ['200', 200, true], ['404', 404, false], ['503', 503, false]];
  for (let i = 0; i < 256; i++) {
    const [code, httpStatus, success] = codes[i % codes.length]!;
    const canary = i % 10 === 0;
    const grpc = i % 7 === 0;
    out.push({
      protocol: grpc ? 'grpc' : 'rest',
      api: 'predict',
      model: i % 5 === 0 ? 'ranker' : 'fraud',
      routedVersion: canary ? '2' : '1',
      reportedVersion: canary ? '2' : '1',
      variant: (canary ? 'canary' : 'stable') as Variant,
      ...(grpc ? { grpcCode: success ? 0 : 14 } : { httpStatus }),
      code: grpc ? (success ? 'OK' : 'UNAVAILABLE') : code,
      success,
      durationSeconds: 0.0004 + (i % 50) * 0.0009,
      requestBytes: 180 + (i % 13),
      responseBytes: 200 + (i % 17),
    });
  }
  return out;
}

interface Pipeline {
  registry: Registry;
  run(n: number): void;
}

function pipeline(kind: 'before' | 'children' | 'after', tracingOn: boolean, help: (name: string) => string): Pipeline {
  const registry = new Registry();
  const metrics = kind === 'after' ? new ProxyMetrics(registry, THRESHOLDS)
    : kind === 'children' ? new PromClientChildrenMetrics(registry, THRESHOLDS, help)
    : new PromClientMetrics(registry, THRESHOLDS, help);
  const catalog = new ModelCatalog({ clock: systemClock, maxModels: 100, maxVersionsPerModel: 10, goneVersionGraceMs: 60_000 });
  const observers = new Observers(metrics as unknown as ProxyMetrics);
  let seen = 0;
  observers.onOutcome((o) => { if (o.code === '503') seen++; }); // one subscriber, as the SLO engine
  const recorder = new Recorder({ clock: systemClock, catalog, metrics: metrics as unknown as ProxyMetrics, observers });
  const tracing = kind === 'after' ? new Tracing(true) : new RegexTracing();
  const facts = factsMix();
  return {
    registry,
    run(n) {
      for (let i = 0; i < n; i++) {
        const f = facts[i & 255]!;
        f.requestId = requestIdFrom(undefined);
        const span = tracingOn ? tracing.start('POST predict', undefined) : undefined;
        recorder.record(f, span);
      }
      if (seen < 0) console.log(seen);
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Alternating rounds of `n` calls each; returns median ns/call per variant and the median ratio to the first. */
function compare(title: string, variants: Record<string, (n: number) => void>, n = N): void {
  const names = Object.keys(variants);
  const ns: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (const k of names) variants[k]!(n); // warm up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const k of order) {
      const t0 = process.hrtime.bigint();
      variants[k]!(n);
      ns[k]!.push(Number(process.hrtime.bigint() - t0) / n);
    }
  }
  const base = names[0]!;
  console.log(`\n${title} (${ROUNDS} rounds × ${n})`);
  for (const k of names) {
    const ratio = median(ns[k]!.map((v, i) => v / ns[base]![i]!));
    console.log(`  ${k.padEnd(44)} ${median(ns[k]!).toFixed(0).padStart(6)} ns/request   ${ratio.toFixed(2)}× ${base}`);
  }
}

const helpOf = new Map<string, string>();
{
  const r = new Registry();
  new ProxyMetrics(r, THRESHOLDS);
  for (const m of r.getMetricsAsArray()) helpOf.set(m.name, (m as unknown as { help: string }).help);
}
const help = (name: string) => helpOf.get(name)!;

// Same work, then the same exposition: the optimisation must not change a byte.
{
  const before = pipeline('before', false, help), children = pipeline('children', false, help), after = pipeline('after', false, help);
  for (const p of [before, children, after]) p.run(10_000);
  const FOUR = /^(# (HELP|TYPE) )?modelgate_(requests_total|request_duration_seconds|request_size_bytes|response_size_bytes)/;
  const pick = async (p: Pipeline) => (await p.registry.metrics()).split('\n').filter((l) => FOUR.test(l)).join('\n');
  const [a, b, c] = await Promise.all([pick(before), pick(children), pick(after)]);
  if (a !== c || a !== b || a.length < 1000) throw new Error('the expositions differ');
  console.log(`expositions of the four request metrics identical (${a.split('\n').length} lines)`);
}

{
  const before = pipeline('before', false, help), children = pipeline('children', false, help), after = pipeline('after', false, help);
  compare('Recorder.record + request id, tracing off', {
    'prom-client, label objects (before)': before.run,
    'prom-client children cached per label set': children.run,
    'cached series handles (now)': after.run,
  });
}
{
  const before = pipeline('before', true, help), after = pipeline('after', true, help);
  compare('Recorder.record + request id + span start/end (no SDK)', {
    'before': before.run,
    'now': after.run,
  });
}
{
  const old = new Gauge({ name: PROXY_METRIC.inFlight, help: 'h', labelNames: ['protocol'], registers: [new Registry()] });
  const now = new ProxyMetrics(new Registry()).inFlight;
  compare('in-flight gauge inc + dec (once each per request)', {
    'prom-client Gauge (before)': (n) => { for (let i = 0; i < n; i++) { old.inc({ protocol: 'rest' }); old.dec({ protocol: 'rest' }); } },
    'SeriesGauge (now)': (n) => { for (let i = 0; i < n; i++) { now.inc({ protocol: 'rest' }); now.dec({ protocol: 'rest' }); } },
  }, N * 5);
}
{
  const old = new RegexTracing(), now = new Tracing(true);
  const attrs = { model: 'fraud', version: '1', variant: 'stable', code: '200', error: false };
  const H = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  compare('span start + end, no incoming traceparent', {
    'before': (n) => { for (let i = 0; i < n; i++) old.start('POST predict', undefined)!.end(attrs); },
    'now': (n) => { for (let i = 0; i < n; i++) now.start('POST predict', undefined)!.end(attrs); },
  }, N * 5);
  compare('span start + end, incoming traceparent', {
    'before': (n) => { for (let i = 0; i < n; i++) old.start('POST predict', H)!.end(attrs); },
    'now': (n) => { for (let i = 0; i < n; i++) now.start('POST predict', H)!.end(attrs); },
  }, N * 5);
  let sink = 0;
  compare('parseTraceparent', {
    'regex (before)': (n) => { for (let i = 0; i < n; i++) sink += regexParseTraceparent(H)!.flags; },
    'shape test, no captures (now)': (n) => { for (let i = 0; i < n; i++) sink += parseTraceparent(H)!.flags; },
  }, N * 5);
  if (sink < 0) console.log(sink);
}
{
  let sink = 0;
  compare('request id, no client id', {
    'crypto.randomUUID': (n) => { for (let i = 0; i < n; i++) sink += randomUUID().length; },
    'requestIdFrom(undefined)': (n) => { for (let i = 0; i < n; i++) sink += requestIdFrom(undefined).length; },
  }, N * 5);
  if (sink < 0) console.log(sink);
}
