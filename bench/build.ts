// The compiled build (dist/, what bin/modelgate.js runs) against the same sources run
// through tsx (what the entry point did before there was a build), in one run:
//
//   npm run build && node --import tsx bench/build.ts [--repeats 5] [--duration_ms 3000]
//        [--concurrency 8] [--idle_ms 2000]
//
// Per repeat, for each of the two (alternating which goes first):
//   help, check   wall time of `modelgate --help` and `modelgate check examples/modelgate.yaml`
//   serve         `modelgate serve` on half_plus_two: start to listening, resident memory
//                 after --idle_ms idle, then CPU of the server process per REST predict
//   proxy         `modelgate proxy --upstream_rest` in front of one shared server: resident
//                 memory idle, then CPU of the proxy process per forwarded predict
// CPU is the process's utime+stime from /proc over the load cell (warmup included, divided
// by all requests the cell sent). Load comes from bench/lib/load-rest.ts (a child process).
// Every figure printed is the median over the repeats.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs, type FlagSpec } from '../cli/args.ts';
import { buildIsCurrent } from '../scripts/build-stamp.js';
import { startLoadChild } from './lib/load-rest.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FLAGS: FlagSpec[] = [
  { name: 'repeats', type: 'number', default: 5, help: 'repeats; medians are reported' },
  { name: 'duration_ms', type: 'number', default: 3000, help: 'measured load per cell' },
  { name: 'warmup_ms', type: 'number', default: 1000, help: 'load before each measured cell' },
  { name: 'concurrency', type: 'number', default: 8, help: 'concurrent requests in a cell' },
  { name: 'idle_ms', type: 'number', default: 2000, help: 'idle time after start before reading resident memory' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

type Variant = 'tsx' | 'dist';
const { flags } = parseArgs(process.argv.slice(2), FLAGS);
if (flags['help']) {
  console.log(helpText('usage: node --import tsx bench/build.ts [flags]', FLAGS));
  process.exit(0);
}
if (!buildIsCurrent(ROOT, join(ROOT, 'dist'))) {
  console.error('dist/ is not a build of these sources: run `npm run build` first (and do not edit sources during the run)');
  process.exit(2);
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

// "tsx": the entry point as it was before the build: register tsx, import the sources.
const tmp = mkdtempSync(join(tmpdir(), 'modelgate-bench-build-'));
const TSX_ENTRY = join(tmp, 'modelgate-tsx.mjs');
writeFileSync(TSX_ENTRY, `import { register } from ${JSON.stringify(join(ROOT, 'node_modules/tsx/dist/esm/api/index.mjs'))};
register();
const { main } = await import(${JSON.stringify(join(ROOT, 'cli/main.ts'))});
process.exitCode = await main(process.argv.slice(2));
`);
const DIST_ENTRY = join(ROOT, 'bin', 'modelgate.js');
const entry = (v: Variant) => (v === 'tsx' ? TSX_ENTRY : DIST_ENTRY);

function cliMs(v: Variant, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [entry(v), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${v} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return performance.now() - t0;
}

async function startProgram(v: Variant, args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [entry(v), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const on = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ child, match: m, ms: performance.now() - t0 });
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => reject(new Error(`${v} ${args.join(' ')} exited ${code}:\n${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const cpuTicks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const load = startLoadChild();
const body = JSON.stringify({ instances: [1, 2, 5] });
const cell = async (origin: string, pid: number) => {
  const before = cpuTicks(pid);
  const s = await load.run({ origin, path: '/v1/models/half_plus_two:predict', body, concurrency: Number(flags['concurrency']), warmupMs: Number(flags['warmup_ms']), durationMs: Number(flags['duration_ms']) });
  if (s.errors > 0) throw new Error(`${s.errors} failed requests`);
  return { cpuUs: ((cpuTicks(pid) - before) / CLK_TCK) * 1e6 / (s.requests + s.warmupRequests), throughput: s.throughput, p50: s.p50 };
};

const SERVE = ['serve', '--model_name', 'half_plus_two', '--model_base_path', join(ROOT, 'examples/models/half_plus_two'), '--rest_api_port', '0', '--port', '-1', '--host', '127.0.0.1'];
const REST = /REST listening on (http:\/\/[\d.:]+)/;
const results: Record<Variant, Record<string, number[]>> = { tsx: {}, dist: {} };
const add = (v: Variant, k: string, x: number) => (results[v][k] ??= []).push(x);

// One upstream for both proxies, so the proxies are the only difference.
const upstream = await startProgram('dist', SERVE, REST);
const upstreamUrl = upstream.match[1]!;
try {
  for (let r = 0; r < Number(flags['repeats']); r++) {
    const order: Variant[] = r % 2 === 0 ? ['tsx', 'dist'] : ['dist', 'tsx'];
    for (const v of order) {
      add(v, 'help ms', cliMs(v, ['--help']));
      add(v, 'check ms', cliMs(v, ['check', 'examples/modelgate.yaml']));
      const s = await startProgram(v, SERVE, REST);
      add(v, 'serve start ms', s.ms);
      await sleep(Number(flags['idle_ms']));
      add(v, 'serve idle RSS MiB', rssMiB(s.child.pid!));
      const sc = await cell(s.match[1]!, s.child.pid!);
      add(v, 'serve CPU µs/req', sc.cpuUs);
      add(v, 'serve req/s', sc.throughput);
      await stop(s.child);
      const p = await startProgram(v, ['proxy', '--host', '127.0.0.1', '--rest_port', '0', '--admin_port', '0', '--upstream_rest', upstreamUrl], /\[proxy\] REST (http:\/\/[\d.:]+)/);
      add(v, 'proxy start ms', p.ms);
      await sleep(Number(flags['idle_ms']));
      add(v, 'proxy idle RSS MiB', rssMiB(p.child.pid!));
      const pc = await cell(p.match[1]!, p.child.pid!);
      add(v, 'proxy CPU µs/req', pc.cpuUs);
      add(v, 'proxy req/s', pc.throughput);
      await stop(p.child);
    }
    process.stderr.write(`repeat ${r + 1} done\n`);
  }
} finally {
  await stop(upstream.child);
  await load.close();
  rmSync(tmp, { recursive: true, force: true });
}

console.log(`# ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${flags['repeats']} repeats, medians; load ${flags['concurrency']} in flight`);
console.log('| measure | tsx (sources) | dist (compiled) | dist / tsx |');
console.log('|---|---:|---:|---:|');
for (const k of Object.keys(results.tsx)) {
  const a = median(results.tsx[k]!);
  const b = median(results.dist[k]!);
  console.log(`| ${k} | ${a.toFixed(k.includes('MiB') || k.includes('µs') ? 1 : 0)} | ${b.toFixed(k.includes('MiB') || k.includes('µs') ? 1 : 0)} | ${(b / a).toFixed(2)} |`);
}
