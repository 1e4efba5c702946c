// Drift recording cost per request (extraction + recording for 16
// features per request), measured against JSON.parse of the same bodies in the same run.
//
//   node --import tsx bench/drift.ts [--requests 20000] [--repeats 5] [--batch 1,10]
//
// Steps, each per request (µs), for a model with 16 features (14 input columns of x, the
// score column of y, and a categorical label), TF Serving row-format bodies:
//   parse      JSON.parse(request) + JSON.parse(response)           (the baseline)
//   extract    drift/extract.ts extractJson: parse + pick the 16 columns
//   record     extract + FeatureWindow.record (bins + reservoir per feature)
//   offer      DriftRecorder.offer alone: what the response path pays (sample + enqueue)
//   recorder   offer + the background drain, end to end (total time / requests)
// plus evaluate(): one model version, 16 features, full reservoirs (ms per call).
// Every figure is the median over the repeats. Nothing goes over the network.
import { cpus, loadavg } from 'node:os';
import { helpText, parseArgs, type FlagSpec } from '../cli/args.ts';
import { Issues, ManualClock } from '../common/index.ts';
import { DriftRecorder, buildProfile, extractJson, validateDriftSection } from '../drift/index.ts';
import type { BaselineProfile, DriftConfig } from '../drift/index.ts';
import { FeatureWindow } from '../drift/window.ts';
import { seededRandom } from '../drift/random.ts';

const FLAGS: FlagSpec[] = [
  { name: 'requests', type: 'number', default: 20000, help: 'requests per measured pass' },
  { name: 'repeats', type: 'number', default: 5, help: 'passes per step; the median is reported' },
  { name: 'batch', type: 'string', default: '1,10', help: 'comma-separated rows per request' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];
const { flags } = parseArgs(process.argv.slice(2), FLAGS);
if (flags['help']) {
  console.log(helpText('usage: node --import tsx bench/drift.ts [flags]', FLAGS));
  process.exit(0);
}
const REQUESTS = flags['requests'] as number;
const REPEATS = flags['repeats'] as number;
const BATCHES = String(flags['batch']).split(',').map(Number);
const COLUMNS = 14;

function config(): DriftConfig {
  const issues = new Issues();
  const c = validateDriftSection(
    {
      minSamples: 100,
      maxQueue: 1_000_000,
      models: {
        wide: {
          inputs: Array.from({ length: COLUMNS }, (_, i) => ({ name: `x${i}`, input: 'x', column: i })),
          outputs: [{ name: 'score', output: 'y', column: 1 }, 'label'],
        },
      },
    },
    'drift',
    issues,
  );
  if (!issues.ok) throw new Error(JSON.stringify(issues.errors));
  return c;
}

function bodies(rows: number, random: () => number): { requestBody: Buffer; responseBody: Buffer } {
  const instances = Array.from({ length: rows }, () => ({ x: Array.from({ length: COLUMNS }, () => Math.round(random() * 1e4) / 100) }));
  const predictions = instances.map(() => {
    const p = Math.round(random() * 1e6) / 1e6;
    return { y: [1 - p, p], label: p > 0.5 ? 1 : 0 };
  });
  return { requestBody: Buffer.from(JSON.stringify({ instances })), responseBody: Buffer.from(JSON.stringify({ predictions })) };
}

function baseline(cfg: DriftConfig, random: () => number): BaselineProfile {
  const rows = 5000;
  const columns = new Map<string, unknown[]>();
  for (const f of cfg.models[0]!.features) columns.set(f.name, Array.from({ length: rows }, () => (f.kind === 'categorical' ? (random() > 0.5 ? 1 : 0) : random() * 100)));
  return buildProfile({ model: 'wide', version: '1', features: cfg.models[0]!.features, columns, rows, source: { kind: 'file', path: 'bench' }, createdAt: '', bins: 10, sampleSize: 1000, maxCategories: 100 });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = () => Number(process.hrtime.bigint()) / 1e3; // µs

async function measure(step: string, pass: () => Promise<number> | number): Promise<number> {
  await pass(); // warm-up (JIT)
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) times.push(await pass());
  return median(times);
}

const cfg = config();
const features = cfg.models[0]!.features;
const profile = baseline(cfg, seededRandom(1));
const results: { batch: number; step: string; us: number }[] = [];

for (const batch of BATCHES) {
  const random = seededRandom(batch);
  const pool = Array.from({ length: 64 }, () => bodies(batch, random));
  const perRequest = (fn: (i: number) => void) => () => {
    const t0 = now();
    for (let i = 0; i < REQUESTS; i++) fn(i);
    return (now() - t0) / REQUESTS;
  };
  let sink = 0;
  results.push({ batch, step: 'parse', us: await measure('parse', perRequest((i) => {
    const b = pool[i & 63]!;
    sink += (JSON.parse(b.requestBody.toString('utf8')) as object) === null ? 1 : 0;
    sink += (JSON.parse(b.responseBody.toString('utf8')) as object) === null ? 1 : 0;
  })) });
  results.push({ batch, step: 'extract', us: await measure('extract', perRequest((i) => {
    const b = pool[i & 63]!;
    const r = extractJson(features, b.requestBody, b.responseBody, 'application/json');
    if (r.ok) sink += r.rows;
  })) });
  const window = new FeatureWindow(0, 1, cfg.models[0]!, '1', cfg, profile);
  results.push({ batch, step: 'record', us: await measure('record', perRequest((i) => {
    const b = pool[i & 63]!;
    const r = extractJson(features, b.requestBody, b.responseBody, 'application/json');
    if (r.ok) window.record(features, r.rows, r.values);
  })) });
  results.push({ batch, step: 'offer', us: await measure('offer', async () => {
    const rec = new DriftRecorder(cfg, { clock: new ManualClock(0), baselines: [profile] });
    const t0 = now();
    for (let i = 0; i < REQUESTS; i++) rec.offer({ model: 'wide', version: '1', ...pool[i & 63]!, contentType: 'application/json' });
    const t = (now() - t0) / REQUESTS;
    await rec.flush();
    return t;
  }) });
  results.push({ batch, step: 'recorder', us: await measure('recorder', async () => {
    const rec = new DriftRecorder(cfg, { clock: new ManualClock(0), baselines: [profile] });
    const t0 = now();
    for (let i = 0; i < REQUESTS; i++) rec.offer({ model: 'wide', version: '1', ...pool[i & 63]!, contentType: 'application/json' });
    await rec.flush();
    if (rec.stats.processed !== REQUESTS) throw new Error(`processed ${rec.stats.processed}`);
    return (now() - t0) / REQUESTS;
  }) });
  if (sink === -1) console.log(sink);
}

const rec = new DriftRecorder(cfg, { clock: new ManualClock(0), baselines: [profile] });
const random = seededRandom(7);
for (let i = 0; i < 2000; i++) rec.offer({ model: 'wide', version: '1', ...bodies(1, random) });
await rec.flush();
const evaluateMs = (await measure('evaluate', () => {
  const t0 = now();
  for (let i = 0; i < 10; i++) rec.evaluate();
  return (now() - t0) / 10;
})) / 1000;
const memory = rec.snapshot().models[0]!.versions[0]!.memoryBytes;

console.log(`drift recording, 16 features per request, ${REQUESTS} requests × ${REPEATS} repeats (median); node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('');
console.log('| rows/request | step | µs/request | × parse |');
console.log('|---:|---|---:|---:|');
for (const batch of BATCHES) {
  const parse = results.find((r) => r.batch === batch && r.step === 'parse')!.us;
  for (const r of results.filter((x) => x.batch === batch)) console.log(`| ${batch} | ${r.step} | ${r.us.toFixed(2)} | ${(r.us / parse).toFixed(2)} |`);
}
console.log('');
console.log(`evaluate(): ${evaluateMs.toFixed(2)} ms per model version (16 features, 2000 rows, reservoirs full); sketch memory ${(memory / 1024).toFixed(1)} KiB per window`);
