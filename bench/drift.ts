// Drift recording cost per request (extraction + recording for 16
// features per request), measured against JSON.parse of the same bodies in the same run.
//
//   node --import tsx bench/drift.ts [--requests 20000] [--repeats 5] [--batch 1,10] [--against DIR]
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
//
// --against DIR: DIR is another copy of the tree (e.g. `git archive <commit> | tar -x -C DIR`
// plus a node_modules link); the recorder steps (offer, recorder, evaluate) then run for this
// tree's DriftRecorder and DIR's, alternating within each round, and a table of both medians
// and their ratio follows.
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
  { name: 'against', type: 'string', help: 'another copy of the tree whose DriftRecorder the recorder steps alternate with' },
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
const AGAINST = flags['against'] === undefined ? undefined : String(flags['against']);

type Recorder = typeof DriftRecorder;
/** The recorders measured: this tree's, then --against's. */
const impls: { name: string; Recorder: Recorder }[] = [{ name: 'this tree', Recorder: DriftRecorder }];
if (AGAINST) {
  const other = (await import(pathToFileURL(resolve(AGAINST, 'drift/index.ts')).href)) as { DriftRecorder: Recorder };
  impls.push({ name: AGAINST, Recorder: other.DriftRecorder });
}

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
  return (await alternate([pass]))[0]!;
}

/** Medians of several passes run in turn within each round, the order rotating from round to round. */
async function alternate(passes: readonly (() => Promise<number> | number)[]): Promise<number[]> {
  for (const pass of passes) await pass(); // warm-up (JIT)
  const times = passes.map((): number[] => []);
  for (let r = 0; r < REPEATS; r++) {
    for (let i = 0; i < passes.length; i++) {
      const k = (i + r) % passes.length;
      times[k]!.push(await passes[k]!());
    }
  }
  return times.map(median);
}

const cfg = config();
const features = cfg.models[0]!.features;
const profile = baseline(cfg, seededRandom(1));
const results: { batch: number; step: string; us: number }[] = [];
/** Recorder steps per implementation (index into impls). */
const compared: { batch: number; step: string; us: number[] }[] = [];

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
  const offer = (Recorder: Recorder) => async () => {
    const rec = new Recorder(cfg, { clock: new ManualClock(0), baselines: [profile] });
    const t0 = now();
    for (let i = 0; i < REQUESTS; i++) rec.offer({ model: 'wide', version: '1', ...pool[i & 63]!, contentType: 'application/json' });
    const t = (now() - t0) / REQUESTS;
    await rec.flush();
    return t;
  };
  const recorder = (Recorder: Recorder) => async () => {
    const rec = new Recorder(cfg, { clock: new ManualClock(0), baselines: [profile] });
    const t0 = now();
    for (let i = 0; i < REQUESTS; i++) rec.offer({ model: 'wide', version: '1', ...pool[i & 63]!, contentType: 'application/json' });
    await rec.flush();
    if (rec.stats.processed !== REQUESTS) throw new Error(`processed ${rec.stats.processed}`);
    return (now() - t0) / REQUESTS;
  };
  for (const [step, pass] of [['offer', offer], ['recorder', recorder]] as const) {
    const us = await alternate(impls.map((m) => pass(m.Recorder)));
    results.push({ batch, step, us: us[0]! });
    compared.push({ batch, step, us });
  }
  if (sink === -1) console.log(sink);
}

const filled = await Promise.all(impls.map(async ({ Recorder }) => {
  const rec = new Recorder(cfg, { clock: new ManualClock(0), baselines: [profile] });
  const random = seededRandom(7);
  for (let i = 0; i < 2000; i++) rec.offer({ model: 'wide', version: '1', ...bodies(1, random) });
  await rec.flush();
  return rec;
}));
const evaluateUs = await alternate(filled.map((rec) => () => {
  const t0 = now();
  for (let i = 0; i < 10; i++) rec.evaluate();
  return (now() - t0) / 10;
}));
const evaluateMs = evaluateUs[0]! / 1000;
const memory = filled[0]!.snapshot().models[0]!.versions[0]!.memoryBytes;

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
if (AGAINST) {
  console.log('');
  console.log(`this tree against ${AGAINST}: medians of ${REPEATS} rounds, the two alternating within each round`);
  console.log('');
  console.log('| rows/request | step | this tree µs | against µs | this / against |');
  console.log('|---:|---|---:|---:|---:|');
  const rows = [...compared, { batch: 1, step: 'evaluate() (per call)', us: evaluateUs }];
  for (const r of rows) console.log(`| ${r.batch} | ${r.step} | ${r.us[0]!.toFixed(2)} | ${r.us[1]!.toFixed(2)} | ${(r.us[0]! / r.us[1]!).toFixed(3)} |`);
}
