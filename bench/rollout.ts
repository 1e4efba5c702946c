// Rollout costs, as ratios to a baseline measured in the same run (the machine is shared):
//  1. request path: TrafficCollector.record per outcome vs a Map lookup + counter increment;
//  2. cold path: one analysis (Mann-Whitney U on two full reservoirs, Hodges-Lehmann, p99,
//     error ratio) vs sorting the same two samples (the least a rank test must do).
// Run: node --import tsx bench/rollout.ts [--rounds 5]
import { sortedCopy } from '../common/index.ts';
import type { RequestOutcome } from '../common/index.ts';
import { analyze, RESERVOIR_SIZE, TrafficCollector } from '../rollout/index.ts';
import type { AnalysisSpec, TrafficStats } from '../rollout/index.ts';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const N = 2_000_000;

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(7);
const outcomes: RequestOutcome[] = Array.from({ length: 1024 }, (_, i) => ({
  model: 'fraud', version: i % 4 === 0 ? '2' : '1', api: 'predict', protocol: 'rest', variant: i % 4 === 0 ? 'canary' : 'stable',
  httpStatus: i % 97 === 0 ? 503 : 200, code: '200', durationSeconds: 0.002 + random() * 0.003, endMs: 0,
}));

function best(fn: () => void): number {
  let min = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0));
  }
  return min;
}

// 1. request path
const counts = new Map<string, { n: number }>([['fraud\u00001', { n: 0 }], ['fraud\u00002', { n: 0 }]]);
const baseline = best(() => {
  for (let i = 0; i < N; i++) {
    const o = outcomes[i & 1023]!;
    counts.get(`${o.model}\u0000${o.version}`)!.n++;
  }
}) / N;
const collector = new TrafficCollector(['fraud', 'mlp'], { random });
const record = best(() => {
  for (let i = 0; i < N; i++) {
    collector.record(outcomes[i & 1023]!);
    if ((i & 0xffff) === 0) collector.drain('fraud');
  }
}) / N;

// 2. cold path
const sample = (n: number, scale: number) => Array.from({ length: n }, () => scale * Math.exp(0.4 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())));
const canary: TrafficStats = { version: '2', requests: 50_000, errors: 20, latencies: sample(RESERVOIR_SIZE, 0.0025) };
const stable: TrafficStats = { version: '1', requests: 150_000, errors: 50, latencies: sample(RESERVOIR_SIZE, 0.0025) };
const spec: AnalysisSpec = {
  slo: { enabled: false, maxBurnRate: 14.4, windowMs: undefined, minEvents: 10 },
  errors: { enabled: true, maxIncrease: 0.01 },
  latency: { enabled: true, maxP99Ratio: 2, alpha: 0.02, tolerance: 0.25, minDeltaSeconds: 0.005, minSamples: 20 },
  drift: { enabled: false },
  accuracy: { enabled: false, minLabels: 200, alpha: 0.05, maxDecrease: 0 },
};
const REPS = 20;
const sortBase = best(() => {
  for (let r = 0; r < REPS; r++) {
    sortedCopy(canary.latencies);
    sortedCopy(stable.latencies);
  }
}) / REPS;
const analysis = best(() => {
  for (let r = 0; r < REPS; r++) analyze(spec, 50, { atMs: 0, windowMs: 60_000, canary, stable });
}) / REPS;

const fmt = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${ns.toFixed(1)} ns`);
console.log(`rounds ${rounds}, best of each; node ${process.version}`);
console.log(`request path  baseline (Map lookup + increment): ${fmt(baseline)}  TrafficCollector.record: ${fmt(record)}  (${(record / baseline).toFixed(1)}x)`);
console.log(`cold path     baseline (sort 2 x ${RESERVOIR_SIZE}): ${fmt(sortBase)}  analyze(): ${fmt(analysis)}  (${(analysis / sortBase).toFixed(1)}x)`);
