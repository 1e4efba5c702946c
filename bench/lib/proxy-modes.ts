// Same-run A/B of the proxy with features switched on and off: an upstream child (a trivial
// TF Serving look-alike, bench/proxy/upstream-child.ts), one proxy child per measurement
// started fresh in the mode under test (the child prints "READY {port}" and answers a
// 'stats' message), and the closed-loop load generator (bench/lib/load-rest.ts). Rounds
// rotate the order of the modes so drift in machine load spreads over all of them; the
// median per mode is reported.
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLoadChild } from './load-rest.ts';
import type { LoadSummary } from './load-rest.ts';

export const FRAUD_BODY = '{"instances":[{"amount":120.5,"account_age_days":400,"tx_last_hour":1,"distance_km":3.2,"merchant_risk":0.1,"hour_of_day":14,"device_age_days":300,"failed_logins":0}]}';

export interface ModesOptions<M extends string> {
  /** The proxy child: argv is [mode, upstream URL]. */
  child: URL;
  modes: readonly M[];
  rounds: number;
  seconds: number;
  concurrency: number;
  path?: string;
  body?: string;
}

export interface ModesResult<M extends string> {
  runs: Record<M, LoadSummary[]>;
  /** The child's answer to 'stats' after each run of each mode (the last one kept). */
  stats: Partial<Record<M, unknown>>;
  /** Requests the upstream answered during each mode's last run (mirrored copies included). */
  upstreamRequests: Partial<Record<M, number>>;
  /** Median of throughput, p50 and p99 over a mode's rounds. */
  row(mode: M): { rps: number; p50: number; p99: number };
}

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

async function startUpstream(): Promise<{ port: number; requests(): Promise<number> }> {
  const c = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../proxy/upstream-child.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  const port = await ready(c);
  // The upstream counts what it answered at GET /__count.
  return { port, requests: async () => Number(await (await fetch(`http://127.0.0.1:${port}/__count`)).text()) };
}

export async function runModes<M extends string>(o: ModesOptions<M>, log: (line: string) => void = (l) => console.error(l)): Promise<ModesResult<M>> {
  const upstream = await startUpstream();
  const load = startLoadChild();
  const runs = Object.fromEntries(o.modes.map((m) => [m, [] as LoadSummary[]])) as Record<M, LoadSummary[]>;
  const stats: Partial<Record<M, unknown>> = {};
  const upstreamRequests: Partial<Record<M, number>> = {};
  for (let round = 0; round < o.rounds; round++) {
    for (const mode of o.modes.map((_, i) => o.modes[(i + round) % o.modes.length]!)) {
      const c = fork(fileURLToPath(o.child), [mode, `http://127.0.0.1:${upstream.port}`], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
      children.push(c);
      const port = await ready(c);
      const before = await upstream.requests();
      const result = await load.run({ origin: `http://127.0.0.1:${port}`, path: o.path ?? '/v1/models/fraud:predict', body: o.body ?? FRAUD_BODY, concurrency: o.concurrency, warmupMs: 1000, durationMs: o.seconds * 1000 });
      stats[mode] = await new Promise((resolve) => {
        c.once('message', (m: { stats: unknown }) => resolve(m.stats));
        c.send('stats');
      });
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
      upstreamRequests[mode] = (await upstream.requests()) - before;
      if (result.errors > 0) throw new Error(`${mode}: ${result.errors} errors`);
      runs[mode].push(result);
      log(`round ${round + 1} ${mode}: ${result.throughput.toFixed(0)} req/s p50 ${result.p50.toFixed(2)} ms p99 ${result.p99.toFixed(2)} ms`);
    }
  }
  await load.close();
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    runs,
    stats,
    upstreamRequests,
    row: (mode) => ({ rps: med(runs[mode].map((r) => r.throughput)), p50: med(runs[mode].map((r) => r.p50)), p99: med(runs[mode].map((r) => r.p99)) }),
  };
}

/** `--name value` from argv, or the default. */
export function flag(name: string, def: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : args[i + 1]!;
}
