// proxy.workers: 1 vs 2 on the compiled build, in the same run. Both proxies are
// `node bin/modelgate.js proxy --config <yaml>` (plain node, dist/) in front of the cheap
// upstream (upstream-child.ts); rounds alternate which goes first; wrk drives each for
// DURATION s. Reported per mode: req/s and proxy CPU per request (primary + workers, from
// /proc), medians over ROUNDS; then the ratio 2 workers / 1 worker.
// Run: flock /tmp/modelgate-bench.lock node --import tsx bench/proxy/workers.ts [--rounds 5] [--duration 8] [--connections 64] [--pin]
// --pin: wrk and the upstream on CPU 0 (taskset), the proxies free to use both cores.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLK_TCK, HERE, children, cpuTicks, median, startChild } from './lib.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, duration: { type: 'string', default: '8' }, connections: { type: 'string', default: '64' }, pin: { type: 'boolean', default: false } } });
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const CONNS = Number(values.connections);
const PIN = values.pin;
const ROOT = join(HERE, '..', '..');
const BIN = join(ROOT, 'bin', 'modelgate.js');
const pinned = (cmd: string, argv: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', '0', cmd, ...argv]] : [cmd, argv]);

console.log('building dist/ (npm run build) ...');
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });

const dir = mkdtempSync(join(tmpdir(), 'modelgate-bench-workers-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const [upCmd, upArgs] = pinned(process.execPath, ['--import', 'tsx', join(HERE, 'upstream-child.ts')]);
const upstream = await startChild(upCmd, upArgs);
const upstreamUrl = `http://127.0.0.1:${upstream.info.port}`;

interface Proxy {
  workers: number;
  child: ChildProcess;
  restUrl: string;
  pids(): number[];
}

async function startProxy(workers: number): Promise<Proxy> {
  const file = join(dir, `w${workers}.yaml`);
  writeFileSync(file, [
    'apiVersion: modelgate/v1',
    'slos:',
    '  - name: fraud-availability',
    '    model: fraud',
    '    sli: { availability: {} }',
    '    objective: 99.9',
    'proxy:',
    `  workers: ${workers}`,
    `  rest: { host: 127.0.0.1, port: 0, upstream: ${upstreamUrl} }`,
    '  admin: { port: 0 }',
    '',
  ].join('\n'));
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', file, '--state_dir', join(dir, `state${workers}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 30_000;
  while (!/admin http/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`proxy (workers ${workers}) did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (/tsx/.test(out)) throw new Error('not the compiled build');
  const pids = () => [child.pid!, ...childPids(child.pid!)];
  return { workers, child, restUrl: /REST (http:\/\/\S+)/.exec(out)![1]!, pids };
}

/** The forked workers (ps exits 1 when there are none). */
function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

const lua = join(dir, 'post.lua');
writeFileSync(lua, `wrk.method = "POST"\nwrk.body = '{"instances": [[1.0, 2.0, 5.0, 0.5]]}'\nwrk.headers["content-type"] = "application/json"\n`);

function runWrk(p: Proxy): { rps: number; usPerReq: number } {
  const pids = p.pids();
  const before = cpuTicks(pids);
  const [cmd, argv] = pinned('wrk', ['-t2', `-c${CONNS}`, `-d${DURATION}s`, '-s', lua, `${p.restUrl}/v1/models/fraud:predict`]);
  const out = execFileSync(cmd, argv, { encoding: 'utf8' });
  const cpuSeconds = (cpuTicks(pids) - before) / CLK_TCK;
  const requests = Number(/(\d+) requests in/.exec(out)![1]);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`workers ${p.workers}: ${non2xx[1]} non-2xx responses`);
  return { rps: requests / DURATION, usPerReq: (cpuSeconds / requests) * 1e6 };
}

const proxies = [await startProxy(1), await startProxy(2)];
// Warm-up: JIT, upstream connections, catalog.
for (const p of proxies) execFileSync('wrk', ['-t1', '-c8', '-d2s', '-s', lua, `${p.restUrl}/v1/models/fraud:predict`]);
const results = new Map<number, Array<{ rps: number; usPerReq: number }>>(proxies.map((p) => [p.workers, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? proxies : [...proxies].reverse();
  for (const p of order) {
    const m = runWrk(p);
    results.get(p.workers)!.push(m);
    console.log(`round ${r + 1} workers ${p.workers}: ${m.rps.toFixed(0)} req/s, ${m.usPerReq.toFixed(1)} us CPU/req`);
  }
}
const med = (w: number) => ({ rps: median(results.get(w)!.map((m) => m.rps)), us: median(results.get(w)!.map((m) => m.usPerReq)) });
const one = med(1);
const two = med(2);
console.log(`\n${new Date().toISOString().slice(0, 10)}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${ROUNDS} rounds x ${DURATION} s, wrk -c${CONNS}${PIN ? ', wrk and upstream pinned to CPU 0' : ''}`);
console.log('| workers | req/s (median) | proxy CPU us/req (median) |');
console.log('|---|---|---|');
console.log(`| 1 | ${one.rps.toFixed(0)} | ${one.us.toFixed(1)} |`);
console.log(`| 2 | ${two.rps.toFixed(0)} | ${two.us.toFixed(1)} |`);
console.log(`throughput 2/1: ${(two.rps / one.rps).toFixed(2)}x; CPU/req 2/1: ${(two.us / one.us).toFixed(2)}x`);
for (const p of proxies) p.child.kill('SIGTERM');
await Promise.all(proxies.map((p) => new Promise((r) => p.child.once('exit', r))));
upstream.child.kill('SIGTERM');
