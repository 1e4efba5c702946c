// REST predict benchmark for the inference server: ours vs a bare node:http + ONNX Runtime server vs raw ONNX Runtime.
//
//   node --import tsx bench/server-rest.ts [--duration_ms 4000] [--warmup_ms 1000]
//        [--repeats 3] [--concurrency 1,8,32] [--models half_plus_two,mlp]
//        [--intra_op_threads 1] [--worker_threads 0] [--only ours,bare,raw] [--json out.json]
//
// Three systems per model and concurrency, measured against each other in one run:
//   ours  startServer() from server/server.ts, TF Serving row-format :predict
//   bare  node:http + onnxruntime-node, no validation (bench/lib/bare-onnx-server.ts): the baseline
//   raw   session.run in parallel loops in-process, no HTTP (bench/lib/raw-ort-loop.ts): the limit
// Load comes from a child process (bench/lib/load-rest.ts) with undici keep-alive pools,
// one connection per concurrent worker, to 127.0.0.1 only. Repeats are the outer loop and
// alternate the order of the systems, so slow drift in machine load spreads over all three.
// Every figure reported is the median over the repeats.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs, type FlagSpec } from '../cli/args.ts';
import { startServer } from '../server/server.ts';
import { startBareServer, type BareServer } from './lib/bare-onnx-server.ts';
import { startLoadChild, type LoadSummary } from './lib/load-rest.ts';
import { openRawLoop, type RawLoop } from './lib/raw-ort-loop.ts';

const FLAGS: FlagSpec[] = [
  { name: 'duration_ms', type: 'number', default: 4000, help: 'measured window per cell' },
  { name: 'warmup_ms', type: 'number', default: 1000, help: 'unmeasured load before each cell' },
  { name: 'repeats', type: 'number', default: 3, help: 'repeats per cell; the median is reported' },
  { name: 'concurrency', type: 'string', default: '1,8,32', help: 'comma-separated concurrent requests' },
  { name: 'models', type: 'string', default: 'half_plus_two,mlp', help: 'comma-separated models from examples/models' },
  // One thread per run: on the 2-core bench machine the load generator needs the other
  // core, and ORT's spinning intra-op pool would fight it. The same value goes to all three.
  { name: 'intra_op_threads', type: 'number', default: 1, help: 'ONNX Runtime threads per run, for all three systems' },
  // Ours only: how users run a heavy model (examples/models.yaml runs mlp on a worker
  // thread). Bare and raw stay on the calling thread, so this compares designs, not code.
  { name: 'worker_threads', type: 'number', default: 0, help: 'run our server\'s models on this many worker threads (server/runtime/workers.ts); 0 = event loop, like bare' },
  { name: 'only', type: 'string', default: 'ours,bare,raw', help: 'systems to measure' },
  { name: 'json', type: 'string', help: 'also write every repeat of every cell to this file' },
  { name: 'from_json', type: 'string', help: 'print the table of a run recorded with --json, measuring nothing' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

type System = 'ours' | 'bare' | 'raw';

/**
 * A measured cell plus the CPU this process spent per request (servers and raw loop live
 * here; the load generator does not), a figure that a busy shared machine disturbs less
 * than throughput does.
 */
type Cell = LoadSummary & { cpuUsPerReq: number };

const REPO = fileURLToPath(new URL('../examples/models/', import.meta.url));
const VERSION: Record<string, number> = { half_plus_two: 123, mlp: 1 };

/** Seeded values with 4 decimals, as a client that rounds its features would send. */
function features(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // Numerical Recipes LCG; any fixed stream will do.
    out.push(Math.round(((s / 2 ** 32) * 4 - 2) * 1e4) / 1e4);
  }
  return out;
}

/** The request each model gets: TF Serving's own half_plus_two example, one 256-wide row for mlp. */
function workload(model: string): { instances: number[] | number[][]; data: Float32Array; shape: number[] } {
  if (model === 'half_plus_two') {
    const instances = [1.0, 2.0, 5.0]; // g3doc/api_rest.md's example request
    return { instances, data: Float32Array.from(instances), shape: [3] };
  }
  if (model === 'mlp') {
    const row = features(256, 7);
    return { instances: [row], data: Float32Array.from(row), shape: [1, 256] };
  }
  throw new Error(`no workload for model ${model}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const flatten = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flatten) : [v as number]);

/** Ours and bare must answer the same numbers before their speed means anything. */
async function checkSameAnswers(model: string, oursUrl: string, bareUrl: string, body: string): Promise<void> {
  const post = async (url: string) => {
    const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    if (r.status !== 200) throw new Error(`${url} answered ${r.status}: ${await r.text()}`);
    return flatten(((await r.json()) as { predictions: unknown }).predictions);
  };
  const [a, b] = await Promise.all([post(oursUrl), post(bareUrl)]);
  // Ours prints floats short (WriteDecimal), bare prints them long: equal to float32 precision.
  const same = a.length === b.length && a.every((x, i) => Math.fround(x) === Math.fround(b[i]!));
  if (!same) throw new Error(`${model}: ours and bare disagree: ${JSON.stringify(a.slice(0, 4))} vs ${JSON.stringify(b.slice(0, 4))}`);
}

const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '—');
const fmtInt = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');

async function main(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, FLAGS);
  if (flags.help) {
    console.log(helpText('node --import tsx bench/server-rest.ts [flags]', FLAGS));
    return 0;
  }
  const durationMs = flags.duration_ms as number;
  const warmupMs = flags.warmup_ms as number;
  const repeats = flags.repeats as number;
  const concurrencies = String(flags.concurrency).split(',').map(Number);
  const models = String(flags.models).split(',');
  const intraOp = flags.intra_op_threads as number;
  const only = new Set(String(flags.only).split(',') as System[]);
  const order: System[] = (['ours', 'bare', 'raw'] as System[]).filter((s) => only.has(s));
  const key = (m: string, c: number, s: System) => `${m}|${c}|${s}`;
  if (flags.from_json) {
    const recorded = new Map(Object.entries(JSON.parse(readFileSync(String(flags.from_json), 'utf8')) as Record<string, Cell[]>));
    const ms = [...new Set([...recorded.keys()].map((k) => k.split('|')[0]!))];
    const cs = [...new Set([...recorded.keys()].map((k) => Number(k.split('|')[1])))];
    printTable(recorded, ms, cs, key);
    return 0;
  }

  console.log(`# node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`# ${repeats} repeats × ${durationMs} ms after ${warmupMs} ms warmup; intra-op threads ${intraOp}; our worker threads ${flags.worker_threads}; load from a child process (undici Pool)`);

  const load = startLoadChild();
  const ours = await startServer({
    host: '127.0.0.1',
    restPort: 0,
    pollMs: 0,
    intraOpThreads: intraOp,
    models: models.map((name) => ({ name, basePath: join(REPO, name), policy: { kind: 'latest' as const, numVersions: 1 }, labels: {}, workerThreads: flags.worker_threads as number })),
  });
  const bare = new Map<string, BareServer>();
  const raw = new Map<string, RawLoop>();
  const bodies = new Map<string, string>();
  const results = new Map<string, Cell[]>();
  try {
    for (const m of models) {
      const file = join(REPO, m, String(VERSION[m]), 'model.onnx');
      const w = workload(m);
      bodies.set(m, JSON.stringify({ instances: w.instances }));
      bare.set(m, await startBareServer(file, intraOp));
      raw.set(m, await openRawLoop(file, intraOp, w));
      await checkSameAnswers(m, `${ours.restUrl}/v1/models/${m}:predict`, bare.get(m)!.origin, bodies.get(m)!);
    }
    for (let r = 0; r < repeats; r++) {
      const sequence = r % 2 === 0 ? order : [...order].reverse();
      for (const m of models) {
        for (const c of concurrencies) {
          for (const s of sequence) {
            let summary: LoadSummary;
            const cpu0 = process.cpuUsage();
            if (s === 'raw') {
              summary = await raw.get(m)!.run({ concurrency: c, warmupMs, durationMs });
            } else {
              const origin = s === 'ours' ? ours.restUrl : bare.get(m)!.origin;
              summary = await load.run({ origin, path: `/v1/models/${m}:predict`, body: bodies.get(m)!, concurrency: c, warmupMs, durationMs });
            }
            const cpu = process.cpuUsage(cpu0);
            const cell: Cell = { ...summary, cpuUsPerReq: (cpu.user + cpu.system) / (summary.requests + summary.warmupRequests) };
            if (summary.errors > 0) console.error(`! ${m} c=${c} ${s}: ${summary.errors} failed requests`);
            const list = results.get(key(m, c, s)) ?? [];
            list.push(cell);
            results.set(key(m, c, s), list);
            console.error(`  repeat ${r + 1}/${repeats} ${m} c=${c} ${s.padEnd(4)} ${fmtInt(summary.throughput).padStart(7)} req/s  p50 ${fmt(summary.p50, 3)} ms  p99 ${fmt(summary.p99, 3)} ms  cpu ${fmt(cell.cpuUsPerReq, 1)} µs/req (client ${fmt(summary.clientCpuUsPerReq, 1)})`);
          }
        }
      }
    }
  } finally {
    await load.close();
    await ours.close();
    for (const b of bare.values()) await b.close();
    for (const l of raw.values()) await l.close();
  }

  console.log(`# load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('');
  printTable(results, models, concurrencies, key);
  if (flags.json) {
    writeFileSync(String(flags.json), JSON.stringify(Object.fromEntries(results), null, 1));
    console.log(`\n# every repeat written to ${flags.json}`);
  }
  return 0;
}

/** The markdown table: medians over the repeats, and ours paired with bare per repeat. */
function printTable(results: Map<string, Cell[]>, models: string[], concurrencies: number[], key: (m: string, c: number, s: System) => string): void {
  // Medians over the repeats. Ours is compared with the bare run of the same repeat (the
  // two ran back to back), and the median of those paired ratios and differences is
  // reported with their range: on a shared machine that cancels slow drift in load.
  const med = (m: string, c: number, s: System, f: keyof Cell) => {
    const list = results.get(key(m, c, s));
    return list ? median(list.map((x) => x[f])) : NaN;
  };
  const paired = (m: string, c: number, f: keyof Cell, op: (a: number, b: number) => number, digits: number) => {
    const a = results.get(key(m, c, 'ours'));
    const b = results.get(key(m, c, 'bare'));
    if (!a || !b) return '—';
    const xs = a.map((x, i) => op(x[f], b[i]![f]));
    return `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)} to ${fmt(Math.max(...xs), digits)})`;
  };
  const ratio = (x: number, y: number) => x / y;
  const diff = (x: number, y: number) => x - y;
  const three = (m: string, c: number, f: keyof Cell, digits: number) =>
    (['ours', 'bare', 'raw'] as System[]).map((s) => (digits < 0 ? fmtInt(med(m, c, s, f)) : fmt(med(m, c, s, f), digits))).join(' / ');
  console.log(
    '| model | conc. | req/s ours / bare / raw | ours/bare req/s | p50 ms ours / bare / raw | ours−bare p50 ms | p99 ms ours / bare / raw | server CPU µs/req ours / bare / raw | ours/bare CPU | load-gen CPU µs/req ours / bare |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const m of models) {
    for (const c of concurrencies) {
      console.log(
        `| ${m} | ${c} | ${three(m, c, 'throughput', -1)} | ${paired(m, c, 'throughput', ratio, 2)} | ${three(m, c, 'p50', 3)} | ${paired(m, c, 'p50', diff, 3)} | ` +
          `${three(m, c, 'p99', 2)} | ${three(m, c, 'cpuUsPerReq', 0)} | ${paired(m, c, 'cpuUsPerReq', ratio, 2)} | ${fmt(med(m, c, 'ours', 'clientCpuUsPerReq'), 0)} / ${fmt(med(m, c, 'bare', 'clientCpuUsPerReq'), 0)} |`,
      );
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
