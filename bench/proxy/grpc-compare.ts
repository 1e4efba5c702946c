// gRPC side of the proxy benchmark: a grpc-js Predict upstream direct, through modelgate's
// HTTP/2 pass-through, and through nginx grpc_pass (one worker, keepalive). Load from h2load
// (nghttp2-client: apt-get install -y nghttp2-client), which sends raw gRPC frames over h2c:
// max throughput with 8 connections × 16 streams, and 1000 rps as 10 connections × 100 rps,
// arriving spread out or in bursts of 10 (see rateRun), with per-request times from its
// --log-file for p50/p99. The fixed-rate runs are paired:
// one h2load per target at the same time, so a stall of the shared machine hits all three
// alike (run one after the other, direct's own p99 moved between 0.9 and 37 ms).
//
// modelgate runs from the compiled build (`npm run build` first): `modelgate proxy --config`
// (grpc-proxy-child.mjs, plain node, no tsx) with a gRPC listener, a split on another model,
// two SLOs on the called model and the defaults for the rest (labels, histograms, tracing,
// catalog), i.e. the whole gateway as deployed.
//
//   node --import tsx bench/proxy/grpc-compare.ts [--rounds 3] [--seconds 8] [--no-max]
//     [--proxy-node-flags "--max-semi-space-size=1"]   (node/V8 flags for the modelgate child only)
//     [--variant "name:DIST_DIR:node flags"]...       (more modelgate targets in the same run,
//        e.g. another build copied aside, or other flags; DIST_DIR empty = ./dist)
//     [--no-max]                                      (skip the max-throughput runs)
//     [--frame-relay]   (adds `frame-relay`: bench/proxy/h2-frame-relay.ts, a frame-level h2c
//                        relay on node:net without node:http2, one upstream connection)
//     [--bare-http2]    (adds `bare-http2`: bench/proxy/h2-bare-child.ts, a node:http2
//                        pass-through with no modelgate code)
//     [--hybrid]        (adds `hybrid`: bench/proxy/h2-hybrid-child.ts, a node:http2 server
//                        for clients, the frame-level relay's client towards the upstream)
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CLK_TCK, cleanup, cpuTicks, median, startCompiledProxy, startNginx, tsChild, writePredictFrame } from './lib.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : args[i + 1]!;
};
const ROUNDS = Number(arg('rounds', '3'));
const SECONDS = Number(arg('seconds', '8'));
const PROXY_NODE_FLAGS = arg('proxy-node-flags', '').split(' ').filter(Boolean);
const NO_MAX = args.includes('--no-max');
/** modelgate targets: name, build directory ('' = ./dist), node flags. */
const VARIANTS = [
  { name: 'modelgate', dist: '', flags: PROXY_NODE_FLAGS },
  ...args.flatMap((a, i) => (a === '--variant' ? [args[i + 1]!] : [])).map((v) => {
    const [name, dist, ...flags] = v.split(':');
    return { name: name!, dist: dist ?? '', flags: flags.join(':').split(' ').filter(Boolean) };
  }),
];
/** Non-modelgate Node targets (tsx children taking the upstream as argument). */
const EXTRA = [
  ...(args.includes('--frame-relay') ? [{ name: 'frame-relay', script: 'h2-frame-relay.ts' }] : []),
  ...(args.includes('--bare-http2') ? [{ name: 'bare-http2', script: 'h2-bare-child.ts' }] : []),
  ...(args.includes('--hybrid') ? [{ name: 'hybrid', script: 'h2-hybrid-child.ts' }] : []),
];
const METHOD = '/tensorflow.serving.PredictionService/Predict';
const run = promisify(execFile);

const DATA = writePredictFrame(join(tmpdir(), 'modelgate-bench-predict.bin'));

function h2load(port: number, extra: string[]): string {
  return execFileSync('h2load', ['-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', DATA, ...extra, `http://127.0.0.1:${port}${METHOD}`], { maxBuffer: 64 << 20 }).toString();
}

function maxRun(port: number): { rps: number; requests: number; failed: number } {
  const out = h2load(port, ['-c8', '-m16', `-D${SECONDS}`, '--warm-up-time=2']);
  return {
    rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN),
    requests: Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(out)?.[1] ?? NaN),
    failed: Number(/(\d+) failed, (\d+) errored/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? NaN),
  };
}

type Arrivals = 'burst' | 'spread';

/**
 * 1000 rps on one target as 10 connections × 100 rps; per-request durations (ms) from
 * h2load's logs. 'burst': one h2load with -c10, whose connections fire together, so the
 * load is 100 bursts of 10 calls per second (measured: 95% of starts within 200 µs of the
 * previous one). 'spread': ten h2load -c1 started 1 ms apart, so calls arrive about every
 * millisecond, as bench/proxy/rate-child.ts schedules REST requests.
 */
async function rateRun(port: number, arrivals: Arrivals): Promise<{ p50: number; p99: number; failed: number }> {
  let failed = 0;
  const runs = arrivals === 'burst' ? [{ conns: 10, delayMs: 0 }] : Array.from({ length: 10 }, (_, i) => ({ conns: 1, delayMs: i }));
  const logs = await Promise.all(
    runs.map(async ({ conns, delayMs }, i) => {
      const log = join(tmpdir(), `modelgate-h2load-${port}-${i}.log`);
      rmSync(log, { force: true }); // h2load appends
      await new Promise((r) => setTimeout(r, delayMs));
      const { stdout } = await run('h2load', ['-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', DATA, `-c${conns}`, '-m1', '--rps=100', `-D${SECONDS}`, '--warm-up-time=2', `--log-file=${log}`, `http://127.0.0.1:${port}${METHOD}`], { maxBuffer: 64 << 20 });
      failed += Number(/(\d+) failed, (\d+) errored/.exec(stdout)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? NaN);
      return log;
    }),
  );
  // Log lines: start time (µs since epoch), status, duration (µs).
  const d = logs.flatMap((log) => readFileSync(log, 'utf8').trim().split('\n').map((l) => Number(l.split('\t')[2]) / 1000)).sort((a, b) => a - b);
  const q = (p: number) => d[Math.min(d.length - 1, Math.ceil(p * d.length) - 1)]!;
  return { p50: q(0.5), p99: q(0.99), failed };
}

async function check(port: number): Promise<void> {
  const id = (b: Buffer) => b;
  const Client = grpc.makeGenericClientConstructor({ Predict: { path: METHOD, requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } }, 'P');
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Predict: (r: Buffer, cb: (e: Error | null, r?: Buffer) => void) => void };
  await new Promise<void>((resolve, reject) => c.Predict(readFileSync(DATA).subarray(5), (e, r) => (e ? reject(e) : r && r.length > 100 ? resolve() : reject(new Error('short response')))));
  c.close();
}

/** `modelgate proxy --config` from a compiled build, in front of `upstream`; resolves with its gRPC port. */
function startModelgate(upstream: string, dist: string, flags: string[]): Promise<{ pid: number; port: number }> {
  return startCompiledProxy(`grpc: {host: 127.0.0.1, port: 0, upstream: "${upstream}"}`, 'gRPC', dist, flags);
}

async function main(): Promise<void> {
  const up = await tsChild('grpc-upstream-child.ts', []);
  const mgs = await Promise.all(VARIANTS.map((v) => startModelgate(`127.0.0.1:${up.info.port}`, v.dist, v.flags)));
  const extras = await Promise.all(EXTRA.map((e) => tsChild(e.script, [`127.0.0.1:${up.info.port}`])));
  const ng = await startNginx((port) => `
  upstream gup { server 127.0.0.1:${up.info.port}; keepalive 128; }
  server { listen 127.0.0.1:${port} http2; keepalive_requests 1000000; location / { grpc_pass grpc://gup; } }`);
  const targets = [
    { name: 'direct', port: up.info.port, pids: () => [] as number[] },
    ...VARIANTS.map((v, i) => ({ name: v.name, port: mgs[i]!.port, pids: () => [mgs[i]!.pid] })),
    ...EXTRA.map((e, i) => ({ name: e.name, port: extras[i]!.info.port, pids: () => [extras[i]!.child.pid!] })),
    { name: 'nginx', port: ng.port, pids: ng.pids },
  ];
  for (const t of targets) await check(t.port);
  type Row = { rps: number; cpuUs: number; failed: number } & Record<`${Arrivals}${'P50' | 'P99' | 'Cpu'}`, number>;
  const rows = new Map<string, Row[]>();
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const ARRIVALS: Arrivals[] = ['spread', 'burst'];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const before = cpuTicks(t.pids());
      const max = NO_MAX ? { rps: NaN, requests: NaN, failed: NaN } : maxRun(t.port);
      const ticks = cpuTicks(t.pids()) - before;
      // CPU is measured over warm-up + measured window, so divide by the rate over both.
      const cpuUs = t.pids().length ? ((ticks / CLK_TCK) * 1e6) / (max.rps * (SECONDS + 2)) : NaN;
      (rows.get(t.name) ?? rows.set(t.name, []).get(t.name)!).push({ rps: max.rps, cpuUs, failed: max.failed, spreadP50: NaN, spreadP99: NaN, burstP50: NaN, burstP99: NaN, spreadCpu: NaN, burstCpu: NaN });
      if (!NO_MAX) console.log(`round ${round} ${t.name.padEnd(11)} max ${max.rps.toFixed(0)} rps (${max.failed} failed), ~${cpuUs.toFixed(0)} µs CPU/req (load ${load()})`);
    }
    // Paired fixed-rate runs: all targets in the same window.
    for (const arrivals of ARRIVALS) {
      const ticks0 = targets.map((t) => cpuTicks(t.pids()));
      const rates = await Promise.all(targets.map((t) => rateRun(t.port, arrivals)));
      // CPU per call at 1000 rps (warm-up + measured window, as for the max runs).
      const rateCpu = targets.map((t, i) => (t.pids().length ? (((cpuTicks(t.pids()) - ticks0[i]!) / CLK_TCK) * 1e6) / (1000 * (SECONDS + 2)) : NaN));
      targets.forEach((t, i) => (rows.get(t.name)!.at(-1)![`${arrivals}Cpu`] = rateCpu[i]!));
      console.log(`round ${round} ${arrivals} @1000 rps CPU µs/call: ${targets.filter((t) => t.pids().length).map((t) => `${t.name} ${rateCpu[targets.indexOf(t)]!.toFixed(0)}`).join(', ')}`);
      targets.forEach((t, i) => Object.assign(rows.get(t.name)!.at(-1)!, { [`${arrivals}P50`]: rates[i]!.p50, [`${arrivals}P99`]: rates[i]!.p99 }));
      const d = rates[0]!;
      console.log(`round ${round} paired ${arrivals} @1000 rps each (load ${load()}): ${targets.map((t, i) => `${t.name}${rates[i]!.failed ? ` (${rates[i]!.failed} FAILED)` : ''} p50 ${rates[i]!.p50.toFixed(2)} p99 ${rates[i]!.p99.toFixed(2)}${i ? ` (added ${(rates[i]!.p50 - d.p50).toFixed(2)} / ${(rates[i]!.p99 - d.p99).toFixed(2)})` : ''}`).join('; ')}`);
    }
  }
  const m = (n: string, k: keyof Row) => median(rows.get(n)!.map((r) => r[k]));
  // Added latency per round (same window), then the median over rounds.
  const added = (n: string, k: keyof Row) => median(rows.get(n)!.map((r, i) => r[k] - rows.get('direct')![i]![k]));
  console.log(`\n${cpus().length} cores, node ${process.version}, ${ROUNDS} rounds × ${SECONDS}s, h2load, medians${VARIANTS.map((v) => `, ${v.name}: ${v.dist || 'dist'}${v.flags.length ? ` with ${v.flags.join(' ')}` : ''}`).join('')}\n`);
  console.log('| gRPC path | max rps | vs direct | vs nginx | proxy CPU µs/req | spread: p50 / p99 (ms) | spread: added p50 / p99 | burst: p50 / p99 (ms) | burst: added p50 / p99 |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const t of targets) {
    const cpu = m(t.name, 'cpuUs');
    const lat = (a: Arrivals) => `${m(t.name, `${a}P50`).toFixed(2)} / ${m(t.name, `${a}P99`).toFixed(2)} | ${t.name === 'direct' ? '—' : `+${added(t.name, `${a}P50`).toFixed(2)} / +${added(t.name, `${a}P99`).toFixed(2)}`}`;
    console.log(`| ${t.name} | ${m(t.name, 'rps').toFixed(0)} | ${(m(t.name, 'rps') / m('direct', 'rps')).toFixed(2)} | ${(m(t.name, 'rps') / m('nginx', 'rps')).toFixed(2)} | ${Number.isNaN(cpu) ? '—' : cpu.toFixed(0)} | ${lat('spread')} | ${lat('burst')} |`);
  }
  for (const t of targets.filter((t) => t.pids().length)) console.log(`${t.name}: CPU µs/call at 1000 rps, spread ${m(t.name, 'spreadCpu').toFixed(0)}, burst ${m(t.name, 'burstCpu').toFixed(0)} (median over rounds)`);
  for (const v of [...VARIANTS, ...EXTRA]) {
    for (const a of ARRIVALS) {
      const gap = added(v.name, `${a}P99`) - added('nginx', `${a}P99`);
      console.log(`target 2 (${a}, paired): added p99 within 1 ms of nginx's: ${v.name} +${added(v.name, `${a}P99`).toFixed(2)} vs nginx +${added('nginx', `${a}P99`).toFixed(2)} ms → ${gap <= 1 ? 'MET' : 'NOT MET'}`);
    }
  }
  console.log(`target 1: max throughput ≥ 50% of nginx's: ${(m('modelgate', 'rps') / m('nginx', 'rps')).toFixed(2)} → ${m('modelgate', 'rps') / m('nginx', 'rps') >= 0.5 ? 'MET' : 'NOT MET'}`);
  cleanup();
  process.exit(0);
}

void main();
