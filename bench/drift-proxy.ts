// Proxy throughput with drift on (every request's bodies teed and recorded off the
// response path) vs drift off (target: throughput on >= 85% of off),
// and "tee": bodies teed to a subscriber that does nothing, which separates the proxy's
// share of the cost (copying bodies) from the recorder's.
//
//   node --import tsx bench/drift-proxy.ts [--rounds 3] [--seconds 5] [--concurrency 16]
//
// Three processes on loopback: the upstream (bench/proxy/upstream-child.ts, a trivial
// TF Serving look-alike answering the fraud predict), the proxy (bench/drift-proxy-child.ts,
// started fresh for each measurement), and the closed-loop load generator
// (bench/lib/load-rest.ts). Rounds alternate off/on so drift in machine load spreads over
// both; the median per mode is reported.
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startLoadChild } from './lib/load-rest.ts';
import type { LoadSummary } from './lib/load-rest.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : args[i + 1]!;
};
const ROUNDS = Number(arg('rounds', '3'));
const SECONDS = Number(arg('seconds', '5'));
const CONCURRENCY = Number(arg('concurrency', '16'));
const BODY = '{"instances":[{"amount":120.5,"account_age_days":400,"tx_last_hour":1,"distance_km":3.2,"merchant_risk":0.1,"hour_of_day":14,"device_age_days":300,"failed_logins":0}]}';

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

function ready(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\{.*\})/.exec(out);
      if (m) resolve((JSON.parse(m[1]!) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`child exited with ${code} before READY: ${out}`)));
  });
}

async function startUpstream(): Promise<number> {
  const c = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./proxy/upstream-child.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return ready(c);
}

type Mode = 'off' | 'tee' | 'on';
const MODES: Mode[] = ['off', 'tee', 'on'];

async function withProxy<T>(mode: Mode, upstream: string, fn: (port: number) => Promise<T>): Promise<{ result: T; stats: unknown }> {
  const c = fork(fileURLToPath(new URL('./drift-proxy-child.ts', import.meta.url)), [mode, upstream], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  children.push(c);
  const port = await ready(c);
  const result = await fn(port);
  const stats = await new Promise((resolve) => {
    c.once('message', (m: { stats: unknown }) => resolve(m.stats));
    c.send('stats');
  });
  c.kill('SIGTERM');
  await new Promise((r) => c.once('exit', r));
  return { result, stats };
}

const upstreamPort = await startUpstream();
const load = startLoadChild();
const runs: Record<Mode, LoadSummary[]> = { off: [], tee: [], on: [] };
let lastStats: unknown;
let lastOnRequests = 0;
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round so slow changes in machine load spread over every mode.
  for (const mode of MODES.map((_, i) => MODES[(i + round) % MODES.length]!)) {
    const { result, stats } = await withProxy(mode, `http://127.0.0.1:${upstreamPort}`, (port) =>
      load.run({ origin: `http://127.0.0.1:${port}`, path: '/v1/models/fraud:predict', body: BODY, concurrency: CONCURRENCY, warmupMs: 1000, durationMs: SECONDS * 1000 }),
    );
    if (result.errors > 0) throw new Error(`${mode}: ${result.errors} errors`);
    runs[mode].push(result);
    if (mode === 'on') {
      lastStats = stats;
      lastOnRequests = result.requests + result.warmupRequests;
    }
    console.error(`round ${round + 1} ${mode}: ${result.throughput.toFixed(0)} req/s p50 ${result.p50.toFixed(2)} ms p99 ${result.p99.toFixed(2)} ms`);
  }
}
await load.close();

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (mode: Mode) => ({ rps: med(runs[mode].map((r) => r.throughput)), p50: med(runs[mode].map((r) => r.p50)), p99: med(runs[mode].map((r) => r.p99)) });
const off = row('off');
console.log(`proxy throughput, drift off vs on (sampling 100%); ${ROUNDS} rounds × ${SECONDS} s, ${CONCURRENCY} connections, median; node ${process.version}, ${cpus().length} cores shared by load generator, proxy and upstream (and other work: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
console.log('');
console.log('| drift | req/s | p50 ms | p99 ms | × off |');
console.log('|---|---:|---:|---:|---:|');
for (const mode of MODES) {
  const r = row(mode);
  console.log(`| ${mode} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.rps / off.rps).toFixed(2)} |`);
}
console.log('');
console.log(`last "on" run: ${lastOnRequests} requests answered (warm-up included; a few more may have been in flight); recorder stats: ${JSON.stringify(lastStats)}`);
console.log('offered < requests means the proxy\'s own body-tee queue dropped bodies before the recorder saw them (counted in modelgate_telemetry_dropped_total).');
process.exit(0);
