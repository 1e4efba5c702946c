// Dynamic batching and gRPC benchmark for the inference server.
//
//   node --import tsx bench/batching.ts [--duration_ms 3000] [--warmup_ms 800]
//        [--concurrency 1,8,32,64] [--batch_timeout_micros 1000] [--num_batch_threads 1]
//        [--intra_op_threads 1] [--worker_threads 0] [--protocols rest,grpc] [--loader h2load|node]
//
// The heavy example model (mlp: x float[N,256] → scores float[N,16]), one row per request,
// served twice by one startServer(): `mlp` with batching (max_batch_size 32) and
// `mlp_plain` without. Load comes from child processes on 127.0.0.1 only, closed loop,
// `concurrency` requests in flight. Loader `h2load` (nghttp2, C; the default when it is on
// PATH, `apt-get install nghttp2-client`): REST over HTTP/1.1 with one connection per
// request in flight, gRPC over one HTTP/2 connection with that many streams; the same
// efficient client for both, so the comparison measures the server. Loader `node`: REST
// through bench/lib/load-rest.ts (undici), gRPC through this file run as a child (one
// @grpc/grpc-js channel); there the JavaScript gRPC client, not the server, is the limit.
// gRPC requests carry the row as tensor_content.
// The limit is the in-process ONNX Runtime loop (bench/lib/raw-ort-loop.ts) at batch 1 and
// batch 32, in the same run. The targets (docs/benchmarks.md) are checked at the end.
import { execFile, execFileSync, fork } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { helpText, parseArgs, type FlagSpec } from '../cli/args.ts';
import { SERVER_METRIC } from '../common/conventions.ts';
import { PROTO_DIR, servingServices } from '../server/grpc/index.ts';
import { startServer } from '../server/server.ts';
import { Samples, startLoadChild, summarize, type LoadSummary } from './lib/load-rest.ts';
import { openRawLoop } from './lib/raw-ort-loop.ts';

const FLAGS: FlagSpec[] = [
  { name: 'duration_ms', type: 'number', default: 3000, help: 'measured window per cell' },
  { name: 'warmup_ms', type: 'number', default: 800, help: 'unmeasured load before each cell' },
  { name: 'concurrency', type: 'string', default: '1,8,32,64', help: 'comma-separated requests in flight' },
  { name: 'repeats', type: 'number', default: 3, help: 'repeats per cell; the median-throughput one is reported' },
  { name: 'batch_timeout_micros', type: 'number', default: 1000, help: 'batching: wait for company at most this long' },
  { name: 'num_batch_threads', type: 'number', default: 1, help: 'batching: batches run at once' },
  // One ORT thread per run for everything measured: on the 2-core machine the load
  // generator needs a core, and the same value goes to the raw loop.
  { name: 'intra_op_threads', type: 'number', default: 1, help: 'ONNX Runtime threads per run' },
  { name: 'worker_threads', type: 'number', default: 0, help: 'worker threads running the model (server/runtime/workers.ts), the same for both served copies; 0 = on the event loop' },
  { name: 'protocols', type: 'string', default: 'rest,grpc', help: 'surfaces to load' },
  { name: 'loader', type: 'string', help: 'h2load (default when installed) or node' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

const MODEL_DIR = fileURLToPath(new URL('../examples/models/mlp', import.meta.url));
const WIDTH = 256;
const MAX_BATCH = 32;

/** Seeded row (Numerical Recipes LCG), the same in parent and child. */
function row(seed: number): Float32Array {
  let s = seed >>> 0;
  const x = new Float32Array(WIDTH);
  for (let i = 0; i < WIDTH; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = Math.round(((s / 2 ** 32) * 4 - 2) * 1e4) / 1e4;
  }
  return x;
}

// ---- gRPC load child ------------------------------------------------------------------

interface GrpcSpec { address: string; model: string; concurrency: number; warmupMs: number; durationMs: number }

async function grpcLoad(spec: GrpcSpec): Promise<LoadSummary> {
  const def = protoLoader.loadSync('tensorflow_serving/apis/prediction_service.proto', { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] });
  const Client = (grpc.loadPackageDefinition(def) as any).tensorflow.serving.PredictionService;
  const client = new Client(spec.address, grpc.credentials.createInsecure());
  const x = row(7);
  const req = {
    model_spec: { name: spec.model },
    inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '1' }, { size: String(WIDTH) }] }, tensor_content: Buffer.from(x.buffer) } },
  };
  const once = () => new Promise<boolean>((resolve) => client.Predict(req, (err: unknown) => resolve(!err)));
  const samples = new Samples();
  let errors = 0;
  let warm = 0;
  const t0 = performance.now();
  const measureFrom = t0 + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  await Promise.all(Array.from({ length: spec.concurrency }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const ok = await once();
      const e = performance.now();
      if (s < measureFrom) {
        warm++;
        continue;
      }
      if (e > end) break;
      if (!ok) errors++;
      else samples.push(e - s);
    }
  }));
  client.close();
  return summarize(samples.data, samples.count, errors, spec.durationMs, warm);
}

function startGrpcLoadChild() {
  const child = fork(fileURLToPath(import.meta.url), ['--grpc-load-child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 1;
  const pending = new Map<number, (r: { ok: boolean; summary?: LoadSummary; error?: string }) => void>();
  child.on('message', (m: { id: number; ok: boolean; summary?: LoadSummary; error?: string }) => pending.get(m.id)?.(m));
  return {
    run(spec: GrpcSpec): Promise<LoadSummary> {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, (m) => (m.ok ? resolve(m.summary!) : reject(new Error(m.error))));
        child.send({ id, spec });
      });
    },
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.disconnect();
    }),
  };
}

// ---- h2load loader ----------------------------------------------------------------------

const run = promisify(execFile);

function hasH2load(): boolean {
  try {
    execFileSync('h2load', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One closed-loop cell with h2load; per-request latencies come from its --log-file. */
async function h2loadCell(url: string, body: Buffer, headers: string[], h1: boolean, concurrency: number, warmupMs: number, durationMs: number): Promise<LoadSummary> {
  const data = join(tmpdir(), `modelgate-bench-batching-${process.pid}.bin`);
  const log = join(tmpdir(), `modelgate-bench-batching-${process.pid}.log`);
  writeFileSync(data, body);
  const conn = h1 ? ['--h1', `-c${concurrency}`, '-m1'] : ['-c1', `-m${concurrency}`];
  const { stdout } = await run('h2load', [...headers.flatMap((h) => ['-H', h]), '-d', data, ...conn, `-D${durationMs}ms`, `--warm-up-time=${warmupMs}ms`, `--log-file=${log}`, url], { maxBuffer: 64 << 20 });
  // Log lines: start (µs since epoch), HTTP status, duration (µs).
  const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  rmSync(log, { force: true });
  rmSync(data, { force: true });
  const samples = new Samples();
  let errors = Number(/(\d+) failed/.exec(stdout)?.[1] ?? 0) + Number(/(\d+) errored/.exec(stdout)?.[1] ?? 0);
  for (const l of lines) {
    const [, status, us] = l.split('\t');
    if (status === '200') samples.push(Number(us) / 1000);
    // Status 0: a request still open when the window closed (h2load logs it unanswered); not an error.
    else if (status !== '0') errors++;
  }
  if (errors > 0) console.log(`#   h2load: ${/requests: .*/.exec(stdout)?.[0]}; ${/status codes: .*/.exec(stdout)?.[0]}`);
  return summarize(samples.data, samples.count, errors, durationMs, 0);
}

// ---- main -------------------------------------------------------------------------------

/** cpuUs: CPU this process (server + ORT) spent per request, a figure a busy shared machine disturbs less than throughput. */
interface Row { protocol: string; batching: 'off' | 'on'; concurrency: number; s: LoadSummary; meanBatch: number; cpuUs: number }

async function main(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, FLAGS);
  if (flags.help) {
    console.log(helpText('node --import tsx bench/batching.ts [flags]', FLAGS));
    return 0;
  }
  const durationMs = flags.duration_ms as number;
  const warmupMs = flags.warmup_ms as number;
  const concurrencies = String(flags.concurrency).split(',').map(Number);
  const repeats = flags.repeats as number;
  const timeoutMicros = flags.batch_timeout_micros as number;
  const intraOp = flags.intra_op_threads as number;
  const workerThreads = flags.worker_threads as number;
  const protocols = String(flags.protocols).split(',');
  const loader = flags.loader ? String(flags.loader) : hasH2load() ? 'h2load' : 'node';
  console.log(`# node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`# loader ${loader}; mlp, 1 row per request; batching: max_batch_size ${MAX_BATCH}, batch_timeout_micros ${timeoutMicros}, num_batch_threads ${flags.num_batch_threads}; worker threads ${workerThreads}; intra-op threads ${intraOp}; ${durationMs} ms after ${warmupMs} ms warmup per cell, median of ${repeats} repeats`);

  const batching = { maxBatchSize: MAX_BATCH, batchTimeoutMicros: timeoutMicros, maxEnqueuedBatches: 1000, numBatchThreads: flags.num_batch_threads as number, allowedBatchSizes: [], preferredBatchSizes: [] };
  const srv = await startServer({
    host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, intraOpThreads: intraOp, warmup: false,
    models: [
      { name: 'mlp', basePath: MODEL_DIR, policy: { kind: 'latest', numVersions: 1 }, labels: {}, batching, workerThreads },
      { name: 'mlp_plain', basePath: MODEL_DIR, policy: { kind: 'latest', numVersions: 1 }, labels: {}, workerThreads },
    ],
  });
  const rest = startLoadChild();
  const grpcChild = startGrpcLoadChild();
  const body = JSON.stringify({ instances: [Array.from(row(7))] });
  const grpcBody = (model: string) => {
    const x = row(7);
    const msg = servingServices().predictionService.Predict!.requestSerialize({
      model_spec: { name: model },
      inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '1' }, { size: String(WIDTH) }] }, tensor_content: Buffer.from(x.buffer) } },
    });
    const framed = Buffer.alloc(5 + msg.length); // gRPC length-prefixed message, uncompressed
    framed.writeUInt32BE(msg.length, 1);
    msg.copy(framed, 5);
    return framed;
  };
  /** gRPC answers HTTP 200 even on errors; the server's own counters tell. */
  /** Requests the server answered for a model (warmup included), to divide CPU time by. */
  const served = async (model: string) => {
    const m = await srv.registry.getSingleMetric(SERVER_METRIC.requests)!.get();
    return m.values.filter((v) => v.labels.model === model).reduce((n, v) => n + v.value, 0);
  };
  const grpcErrors = async () => {
    const m = await srv.registry.getSingleMetric(SERVER_METRIC.requests)!.get();
    return m.values.filter((v) => v.labels.entrypoint === 'grpc' && v.labels.code !== 'OK').reduce((n, v) => n + v.value, 0);
  };
  /** Non-OK answers by code, to say what an error count is made of. */
  const errorCodes = async () => {
    const m = await srv.registry.getSingleMetric(SERVER_METRIC.requests)!.get();
    return m.values.filter((v) => v.labels.code !== 'OK' && v.labels.code !== '200').map((v) => `${v.labels.entrypoint}/${v.labels.model}/${v.labels.code}=${v.value}`).join(' ');
  };

  const batchTotals = async () => {
    const m = await srv.registry.getSingleMetric(SERVER_METRIC.batchSize)!.get();
    const v = (suffix: string) => m.values.find((x) => (x as { metricName?: string }).metricName === `${SERVER_METRIC.batchSize}${suffix}` && x.labels.model === 'mlp')?.value ?? 0;
    return { sum: v('_sum'), count: v('_count') };
  };

  const rows: Row[] = [];
  try {
    // Repeats are the outer loop and alternate the order, so drift in the shared machine's
    // load spreads over every cell; each cell reports its median-throughput repeat.
    const cells = protocols.flatMap((protocol) => (['off', 'on'] as const).flatMap((mode) => concurrencies.map((concurrency) => ({ protocol, mode, concurrency }))));
    const runs = new Map<string, Row[]>();
    for (let rep = 0; rep < repeats; rep++) {
      for (const { protocol, mode, concurrency } of rep % 2 ? [...cells].reverse() : cells) {
        const model = mode === 'on' ? 'mlp' : 'mlp_plain';
        {
          const before = await batchTotals();
          const errs0 = await grpcErrors();
          const served0 = await served(model);
          const cpu0 = process.cpuUsage();
          let s: LoadSummary;
          if (loader === 'h2load') {
            s = protocol === 'rest'
              ? await h2loadCell(`${srv.restUrl}/v1/models/${model}:predict`, Buffer.from(body), ['content-type: application/json'], true, concurrency, warmupMs, durationMs)
              : await h2loadCell(`http://${srv.grpcAddress}/tensorflow.serving.PredictionService/Predict`, grpcBody(model), ['content-type: application/grpc', 'te: trailers'], false, concurrency, warmupMs, durationMs);
          } else {
            s = protocol === 'rest'
              ? await rest.run({ origin: srv.restUrl, path: `/v1/models/${model}:predict`, body, concurrency, warmupMs, durationMs })
              : await grpcChild.run({ address: srv.grpcAddress!, model, concurrency, warmupMs, durationMs });
          }
          s.errors += (await grpcErrors()) - errs0;
          const cpu = process.cpuUsage(cpu0);
          const after = await batchTotals();
          const cpuUs = (cpu.user + cpu.system) / Math.max(1, (await served(model)) - served0);
          const meanBatch = mode === 'on' && after.count > before.count ? (after.sum - before.sum) / (after.count - before.count) : 1;
          const cellKey = `${protocol}/${mode}/${concurrency}`;
          runs.set(cellKey, [...(runs.get(cellKey) ?? []), { protocol, batching: mode, concurrency, s, meanBatch, cpuUs }]);
          console.log(`${protocol.padEnd(4)} batching ${mode.padEnd(3)} c=${String(concurrency).padStart(2)}: ${s.throughput.toFixed(0).padStart(6)} req/s  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  mean batch ${meanBatch.toFixed(1)}  server CPU ${cpuUs.toFixed(0)} µs/req  errors ${s.errors}`);
        }
      }
    }
    for (const { protocol, mode, concurrency } of cells) {
      const list = [...runs.get(`${protocol}/${mode}/${concurrency}`)!].sort((a, b) => a.s.throughput - b.s.throughput);
      rows.push(list[list.length >> 1]!);
    }
  } finally {
    await rest.close();
    await grpcChild.close();
    await srv.close();
  }

  // The limit: ORT in-process, one loop, batch 1 and batch 32.
  const modelFile = join(MODEL_DIR, '1', 'model.onnx');
  const raw1 = await openRawLoop(modelFile, intraOp, { data: row(7), shape: [1, WIDTH] });
  const medianRun = async (loop: typeof raw1) => {
    const xs: LoadSummary[] = [];
    for (let i = 0; i < repeats; i++) xs.push(await loop.run({ concurrency: 1, warmupMs, durationMs }));
    return xs.sort((a, b) => a.throughput - b.throughput)[xs.length >> 1]!;
  };
  const r1 = await medianRun(raw1);
  await raw1.close();
  const big = new Float32Array(MAX_BATCH * WIDTH);
  for (let k = 0; k < MAX_BATCH; k++) big.set(row(7 + k), k * WIDTH);
  const raw32 = await openRawLoop(modelFile, intraOp, { data: big, shape: [MAX_BATCH, WIDTH] });
  const r32 = await medianRun(raw32);
  await raw32.close();
  const rawRows1 = r1.throughput;
  const rawRows32 = r32.throughput * MAX_BATCH;
  console.log(`raw ORT batch 1:  ${rawRows1.toFixed(0)} rows/s (${(1000 / r1.throughput).toFixed(2)} ms/run)`);
  console.log(`raw ORT batch 32: ${rawRows32.toFixed(0)} rows/s (${(1000 / r32.throughput).toFixed(2)} ms/run)`);

  const find = (p: string, b: 'on' | 'off', c: number) => rows.find((r) => r.protocol === p && r.batching === b && r.concurrency === c);
  console.log('\n| protocol | batching | concurrency | req/s | p50 ms | p99 ms | mean batch | server CPU µs/req | errors |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.protocol} | ${r.batching} | ${r.concurrency} | ${r.s.throughput.toFixed(0)} | ${r.s.p50.toFixed(2)} | ${r.s.p99.toFixed(2)} | ${r.meanBatch.toFixed(1)} | ${r.cpuUs.toFixed(0)} | ${r.s.errors} |`);
  console.log(`| raw ORT | batch 1 | 1 loop | ${rawRows1.toFixed(0)} rows/s | | | | | |`);
  console.log(`| raw ORT | batch 32 | 1 loop | ${rawRows32.toFixed(0)} rows/s | | | | | |`);

  console.log('\nTargets:');
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'MET' : 'NOT MET');
  for (const p of protocols) {
    const on32 = find(p, 'on', 32);
    const off32 = find(p, 'off', 32);
    const on1 = find(p, 'on', 1);
    const off1 = find(p, 'off', 1);
    if (on32 && off32) {
      const x = on32.s.throughput / off32.s.throughput;
      console.log(`- ${p}: batching at c=32 gives ${x.toFixed(2)}× the unbatched server (target ≥ 3×): ${verdict(x >= 3)}`);
      const f = on32.s.throughput / rawRows32;
      console.log(`- ${p}: batching at c=32 reaches ${(f * 100).toFixed(0)}% of raw ORT at batch 32 (target ≥ 50%): ${verdict(f >= 0.5)}`);
    }
    if (on1 && off1) {
      const added = on1.s.p99 - off1.s.p99;
      console.log(`- ${p}: at c=1 batching adds ${added.toFixed(2)} ms to p99 (target ≤ ${(timeoutMicros / 1000 + 1).toFixed(2)} ms): ${verdict(added <= timeoutMicros / 1000 + 1)}`);
    }
  }
  for (const c of concurrencies) {
    for (const b of ['off', 'on'] as const) {
      const g = find('grpc', b, c);
      const r = find('rest', b, c);
      if (g && r) console.log(`- gRPC/REST throughput, batching ${b}, c=${c}: ${(g.s.throughput / r.s.throughput).toFixed(2)}× (target ≥ 1): ${verdict(g.s.throughput >= r.s.throughput)}`);
    }
  }
  const codes = await errorCodes().catch(() => '');
  if (codes) console.log(`# non-OK answers seen by the server: ${codes}`);
  console.log(`# load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  return 0;
}

// Entry point last: everything above is initialised before main() runs.
if (process.argv.includes('--grpc-load-child')) {
  process.on('message', (m: { id: number; spec: GrpcSpec }) => {
    grpcLoad(m.spec).then(
      (summary) => process.send!({ id: m.id, ok: true, summary }),
      (e) => process.send!({ id: m.id, ok: false, error: String(e) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
} else {
  process.exitCode = await main(process.argv.slice(2));
}
