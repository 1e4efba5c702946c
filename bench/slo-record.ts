// Recording cost of the in-process SLO evaluator (run by hand):
//   node --import tsx bench/slo-record.ts
// Measures ns per request with 100 SLO series, as a ratio against a baseline loop that
// walks the same outcomes and does one Map lookup and one counter increment (the least a
// recorder can do), and bytes per series. Target: <= 1 µs per request per SLO.
import { ManualClock, type RequestOutcome } from '../common/index.ts';
import { SloEngine } from '../slo/engine.ts';
import type { Slo } from '../slo/definitions.ts';
import { INFERENCE_APIS } from '../slo/definitions.ts';
import { defaultWindows } from '../slo/windows.ts';

const PERIOD = 30 * 86_400_000;
const N = 2_000_000;
const ROUNDS = 5;

function slo(name: string, model: string, latency: boolean): Slo {
  return {
    name,
    model,
    apis: INFERENCE_APIS,
    sli: latency ? { kind: 'latency', thresholdSeconds: 0.05 } : { kind: 'availability', badCodes: ['5..', 'UNAVAILABLE', 'INTERNAL'] },
    objective: 0.999,
    periodMs: PERIOD,
    alerting: { windows: defaultWindows(PERIOD), minEvents: 10, labels: {} },
    notify: [],
  };
}

function outcomes(models: string[], versions: number, count: number): RequestOutcome[] {
  const codes = ['200', '200', '200', '200', '200', '200', '200', '404', '503', 'UNAVAILABLE'];
  return Array.from({ length: count }, (_, i) => ({
    model: models[i % models.length]!,
    version: String(i % versions),
    api: 'predict',
    protocol: 'rest',
    variant: 'stable',
    code: codes[i % codes.length]!,
    durationSeconds: (i % 100) / 1000,
    endMs: 0,
  }));
}

/** Best of ROUNDS, ns per call, with time advancing 1 ms every 10 requests (100 rps·10). */
function measure(label: string, sample: RequestOutcome[], fn: (o: RequestOutcome) => void): number {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    let t = 1_700_000_000_000 + r * 10 * 86_400_000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      const o = sample[i & (sample.length - 1)]!;
      if ((i & 15) === 0) t++;
      o.endMs = t;
      fn(o);
    }
    const ns = Number(process.hrtime.bigint() - start) / N;
    best = Math.min(best, ns);
  }
  console.log(`${label.padEnd(58)} ${best.toFixed(1).padStart(7)} ns/request`);
  return best;
}

// Baseline: one Map lookup and one increment per request.
const counts = new Map<string, { n: number }>([['fraud', { n: 0 }]]);
const sampleA = outcomes(['fraud'], 10, 4096);
const base = measure('baseline (Map lookup + counter++)', sampleA, (o) => {
  const c = counts.get(o.model);
  if (c) c.n++;
});

// A: 10 SLOs on one model × 10 versions = 100 series; every request records into 10 SLOs.
const clock = new ManualClock(0);
const tenSlos = Array.from({ length: 10 }, (_, i) => slo(`fraud-${i}`, 'fraud', i % 2 === 1));
const engineA = new SloEngine(tenSlos, { clock });
const a = measure('A: 10 SLOs x 10 versions (100 series), 10 SLOs per request', sampleA, (o) => engineA.record(o));

// B: 100 SLOs on 100 models, one version each = 100 series; every request records into 1 SLO.
const models = Array.from({ length: 100 }, (_, i) => `m${i}`);
const engineB = new SloEngine(models.map((m, i) => slo(`slo-${i}`, m, i % 2 === 1)), { clock });
const b = measure('B: 100 SLOs x 1 version (100 series), 1 SLO per request', outcomes(models, 1, 4096), (o) => engineB.record(o));

console.log('');
console.log(`A: ${((a - base) / 10).toFixed(1)} ns per request per SLO above baseline (${(a / base).toFixed(1)}x baseline for 10 SLOs)`);
console.log(`B: ${(b - base).toFixed(1)} ns per request per SLO above baseline (${(b / base).toFixed(1)}x baseline)`);
if (engineA.dropped + engineB.dropped > 0) console.log(`dropped: ${engineA.dropped + engineB.dropped}`);

// Memory: create 1000 series and measure heap + array buffers.
globalThis.gc?.();
const before = process.memoryUsage();
const engineM = new SloEngine([slo('mem', 'mem', false)], { clock, maxSeriesPerSlo: 1000 });
for (let v = 0; v < 1000; v++) engineM.record({ ...sampleA[0]!, model: 'mem', version: `v${v}`, endMs: 1 });
globalThis.gc?.();
const after = process.memoryUsage();
const perSeries = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1000;
console.log(`memory: ${Math.round(perSeries)} bytes per series measured (heap + array buffers, 1000 series); counts alone: ${engineM.bytesPerSeries('mem')} bytes`);

// The evaluation tick (cold path): every series of engine A, 100 series.
{
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    clock.set(1_700_000_000_000 + r * 60_000);
    const start = process.hrtime.bigint();
    engineA.evaluate();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  console.log(`evaluate(): ${best.toFixed(2)} ms for ${engineA.latest().length} series (default windows)`);
}
