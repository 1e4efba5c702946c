// proxy.workers: 1 vs 2 on the compiled build, in the same run. Both proxies are
// `node bin/modelgate.js proxy --config <yaml>` (plain node, dist/); rounds alternate which
// goes first; wrk drives each for DURATION s. Reported per mode and round: req/s; CPU per
// request of the proxy (primary + workers, and each part), of the upstream, of wrk (from
// /proc); the machine's busy share; then medians and the ratio 2 workers / 1 worker, and
// o = (CPU per request outside the forwarding processes) / (the forwarding processes' CPU per
// request): with 1 worker the forwarding process is the proxy's one process and the others
// are wrk and the upstream; with 2 workers they are the workers, and the others are wrk, the
// upstream and the primary. On 2 cores, 2 workers can reach at most about 2/(1+o)x of one
// worker's throughput when one worker saturates a core.
//
// Workloads (--workload):
//   default      the cheap node:http upstream (upstream-child.ts); proxy config: one
//                availability SLO, REST on plain HTTP (relay front), default labels,
//                histograms, catalog; wrk -t2 POST predict. wrk and the upstream need about
//                as much CPU per request as the proxy: a load where the proxy is not alone.
//   proxy-bound  what a deployment turns on that the workers pay for per request, in front
//                of an upstream that costs little: REST over TLS (`proxy.rest.tls`, a
//                self-signed P-256 certificate from openssl; a TLS listener uses the node
//                front), an access log line per request (`accessLog: {sample: 1, to:
//                stdout}`, the proxy's stdout on /dev/null), API-key auth (`auth.apiKeys`,
//                one sha256 key, one rule); the same SLO. Upstream: nginx, one worker,
//                `return 200` with the same bytes upstream-child.ts answers (predict body and
//                `x-model-version: 1`; `GET /v1/models/fraud` the TF Serving status), keep-
//                alive without a request limit. wrk -t1 over https with the key.
// A round during which other processes on the machine used more than 0.1 core (/proc/stat
// minus the processes above) is printed but left out of the medians.
// Run: flock /tmp/bench.lock node --import tsx bench/proxy/workers.ts [--workload default|proxy-bound] [--rounds 5] [--duration 8] [--connections 64] [--threads N] [--pin] [--pipeline N] [--upstream-tls] [--cap C] [--ab DIST]
// --pin: wrk and the upstream on CPU 0 (taskset), the proxies free to use both cores.
// --threads: wrk threads (default 2, proxy-bound 1). --pipeline N: wrk writes N requests at
// a time on each connection (HTTP/1.1 pipelining). --upstream-tls (proxy-bound): nginx
// listens with TLS and the proxy reaches it over https (`upstreamTls` with the test CA).
// --cap C: a CPU budget per worker, so that the proxy, not the cores wrk and the upstream also
// need, is what runs out: the 1-worker proxy runs in a cpu cgroup with a quota of C cores, the
// 2-worker proxy (primary and both workers) in one with 2C (Linux CFS bandwidth control,
// cgroup v1 `cpu.cfs_quota_us` or v2 `cpu.max`; needs root). It answers "does throughput
// follow the cores the proxy is given" on a machine too small to give each worker a core of
// its own next to the load generator.
// --ab DIST: a third proxy in the same rounds, 2 workers from another compiled build (a dist/
// copied aside, with a node_modules beside it or above it), reported as "2 (ab)": a same-run
// A/B of a change to the workers' path.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLK_TCK, HERE, children, cpuTicks, freePort, median, startChild, startNginx } from './lib.ts';

const { values } = parseArgs({
  options: {
    workload: { type: 'string', default: 'default' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string' },
    pipeline: { type: 'string', default: '1' },
    'upstream-tls': { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    cap: { type: 'string' },
    ab: { type: 'string' },
  },
});
const WORKLOAD = values.workload;
if (WORKLOAD !== 'default' && WORKLOAD !== 'proxy-bound') throw new Error(`--workload must be default or proxy-bound, got ${WORKLOAD}`);
const BOUND = WORKLOAD === 'proxy-bound';
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const CONNS = Number(values.connections);
const THREADS = Number(values.threads ?? (BOUND ? 1 : 2));
const PIN = values.pin;
const PIPELINE = Number(values.pipeline);
const UPSTREAM_TLS = values['upstream-tls'];
if (UPSTREAM_TLS && !BOUND) throw new Error('--upstream-tls needs --workload proxy-bound');
const AB = values.ab;
const ROOT = join(HERE, '..', '..');
const BIN = join(ROOT, 'bin', 'modelgate.js');
const CAP = values.cap === undefined ? undefined : Number(values.cap);
if (CAP !== undefined && !(CAP > 0 && CAP <= cpus().length / 2)) throw new Error(`--cap must be a number of cores in (0, ${cpus().length / 2}], got ${values.cap}`);
const pinned = (cmd: string, argv: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', '0', cmd, ...argv]] : [cmd, argv]);

console.log('building dist/ (npm run build) ...');
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });

const dir = mkdtempSync(join(tmpdir(), 'modelgate-bench-workers-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// The same bytes as upstream-child.ts.
const PREDICT_BODY = JSON.stringify({ predictions: [[0.9731, 0.0269]], model_spec: { name: 'fraud', version: '1', signature_name: 'serving_default' }, pad: 'x'.repeat(80) });
const STATUS_BODY = JSON.stringify({ model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });

// proxy-bound: a certificate for the REST listener and an API key.
const API_KEY = 'bench-key-0123456789abcdef';
let tlsLine = '';
if (BOUND) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  tlsLine = `, tls: { cert: ${join(dir, 'cert.pem')}, key: ${join(dir, 'key.pem')} }${UPSTREAM_TLS ? `, upstreamTls: { ca: ${join(dir, 'cert.pem')}, serverName: localhost }` : ''}`;
}


async function startUpstream(): Promise<{ url: string; pids: () => number[] }> {
  if (!BOUND) {
    const [upCmd, upArgs] = pinned(process.execPath, ['--import', 'tsx', join(HERE, 'upstream-child.ts')]);
    const up = await startChild(upCmd, upArgs);
    return { url: `http://127.0.0.1:${up.info.port}`, pids: () => [up.child.pid!] };
  }
  const n = await startNginx((port) => `
  server {
    listen 127.0.0.1:${port}${UPSTREAM_TLS ? ` ssl; ssl_certificate ${join(dir, 'cert.pem')}; ssl_certificate_key ${join(dir, 'key.pem')}` : ''};
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    default_type application/json;
    location = /v1/models/fraud { add_header x-model-version 1; return 200 '${STATUS_BODY}'; }
    location / { add_header x-model-version 1; return 200 '${PREDICT_BODY}'; }
  }`);
  if (PIN) for (const pid of n.pids()) execFileSync('taskset', ['-a', '-cp', '0', String(pid)], { stdio: 'ignore' });
  return { url: `${UPSTREAM_TLS ? 'https' : 'http'}://127.0.0.1:${n.port}`, pids: n.pids };
}
const upstream = await startUpstream();

interface Proxy {
  /** '1', '2', or '2 (ab)' for the other build. */
  name: string;
  workers: number;
  child: ChildProcess;
  restUrl: string;
  /** The primary (with 1 worker: the proxy's only process) and the forked workers. */
  pids(): { primary: number; workers: number[] };
}

async function startProxy(workers: number, abDist?: string): Promise<Proxy> {
  const name = abDist ? `${workers} (ab)` : String(workers);
  /** The name as a file and cgroup name: "1", "2", "2ab". */
  const slug = name.replace(/\W/g, '');
  const file = join(dir, `w${slug}.yaml`);
  const restPort = BOUND ? await freePort() : 0;
  const adminPort = BOUND ? await freePort() : 0;
  writeFileSync(file, [
    'apiVersion: modelgate/v1',
    'slos:',
    '  - name: fraud-availability',
    '    model: fraud',
    '    sli: { availability: {} }',
    '    objective: 99.9',
    'proxy:',
    `  workers: ${workers}`,
    `  rest: { host: 127.0.0.1, port: ${restPort}, upstream: ${upstream.url}${tlsLine} }`,
    `  admin: { host: 127.0.0.1, port: ${adminPort} }`,
    ...(BOUND ? [
      '  accessLog: { sample: 1, to: stdout }',
      '  auth:',
      `    apiKeys: [{ name: bench, hash: "sha256:${createHash('sha256').update(API_KEY).digest('hex')}" }]`,
      '    rules: [{ identities: [bench], models: [fraud] }]',
    ] : []),
    '',
  ].join('\n'));
  // The other build runs through grpc-proxy-child.mjs, which loads MODELGATE_DIST's CLI (its
  // forked workers inherit both).
  const nodeArgv = [abDist ? join(HERE, 'grpc-proxy-child.mjs') : BIN, 'proxy', '--config', file, '--state_dir', join(dir, `state${slug}`)];
  const env = abDist ? { ...process.env, MODELGATE_DIST: abDist } : process.env;
  // With --cap the proxy starts inside its cgroup (the shell joins it, then execs node, so
  // the pid is the proxy's and the workers it forks inherit the cgroup).
  const [cmd, argv] = CAP === undefined
    ? [process.execPath, nodeArgv]
    : ['sh', ['-c', 'echo $$ > "$0" && exec "$@"', cpuCgroup(`modelgate-bench-w${slug}-${process.pid}`, CAP * workers).procs, process.execPath, ...nodeArgv]];
  const pids = (child: ChildProcess) => () => ({ primary: child.pid!, workers: childPids(child.pid!) });
  if (BOUND) {
    // The access log goes to stdout: /dev/null takes it at the cost of the write(2) alone.
    const child = spawn(cmd, argv, { stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit'], env });
    children.push(child);
    const restUrl = `https://127.0.0.1:${restPort}`;
    const deadline = Date.now() + 30_000;
    while (!(await predictOk(restUrl))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`proxy (workers ${workers}) did not start (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    if (childPids(child.pid!).length !== (workers > 1 ? workers : 0)) await new Promise((r) => setTimeout(r, 2000));
    return { name, workers, child, restUrl, pids: pids(child) };
  }
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 30_000;
  while (!/admin http/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`proxy (workers ${workers}) did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (/tsx/.test(out)) throw new Error('not the compiled build');
  return { name, workers, child, restUrl: /REST (http:\/\/\S+)/.exec(out)![1]!, pids: pids(child) };
}

/** One authenticated predict over https answered 200 (the workers are listening and the upstream answers). */
function predictOk(restUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${restUrl}/v1/models/fraud:predict`, { method: 'POST', rejectUnauthorized: false, agent: false, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end('{"instances": [[1.0, 2.0, 5.0, 0.5]]}');
  });
}

/** The forked workers (ps exits 1 when there are none). */
function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

/**
 * A cpu cgroup limited to `cores` (CFS bandwidth control) that a process joins by writing its
 * pid to `procs`; its children stay in it. Removed at exit.
 */
function cpuCgroup(name: string, cores: number): { procs: string } {
  const period = 100_000;
  const quota = Math.round(cores * period);
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const path = v2 ? join('/sys/fs/cgroup', name) : join('/sys/fs/cgroup/cpu', name);
  try {
    mkdirSync(path, { recursive: true });
    if (v2) writeFileSync(join(path, 'cpu.max'), `${quota} ${period}`);
    else {
      writeFileSync(join(path, 'cpu.cfs_period_us'), String(period));
      writeFileSync(join(path, 'cpu.cfs_quota_us'), String(quota));
    }
  } catch (e) {
    throw new Error(`--cap needs a writable cpu cgroup at ${path} (root; on cgroup v2 the cpu controller enabled in the parent's cgroup.subtree_control): ${(e as Error).message}`);
  }
  process.on('exit', () => {
    try {
      rmdirSync(path);
    } catch {
      // still holds a process that outlived us; the kernel keeps it until it exits
    }
  });
  return { procs: join(path, 'cgroup.procs') };
}

const lua = join(dir, 'post.lua');
writeFileSync(lua, [
  'wrk.method = "POST"',
  `wrk.body = '{"instances": [[1.0, 2.0, 5.0, 0.5]]}'`,
  'wrk.headers["content-type"] = "application/json"',
  ...(BOUND ? [`wrk.headers["authorization"] = "Bearer ${API_KEY}"`] : []),
  // --pipeline N: each write carries N requests (wrk's pipeline.lua); wrk counts the responses.
  ...(PIPELINE > 1 ? [`init = function(args) local r = {} for i = 1, ${PIPELINE} do r[i] = wrk.format(nil) end req = table.concat(r) end`, 'request = function() return req end'] : []),
  '',
].join('\n'));

/** Busy and total jiffies of the whole machine (proc(5) /proc/stat "cpu" line). */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

interface Round {
  rps: number;
  /** CPU µs per request: the proxy (primary + workers), its primary, its workers, the upstream, wrk. */
  proxy: number;
  primary: number;
  workers: number;
  upstream: number;
  wrk: number;
  /** Busy share of the machine's CPUs over the run, 0..1. */
  busy: number;
  /** Each worker's CPU over the run, in cores (how evenly the kernel spread the connections). */
  eachWorker: number[];
  /** Busy CPU time (in cores) not in the proxy, the upstream or wrk: other work on the machine, interrupts. */
  elsewhere: number;
}

/** o: others' CPU per request over the forwarding processes' (see the header). */
function oFraction(workers: number, r: { primary: number; workers: number; upstream: number; wrk: number }): number {
  return workers === 1 ? (r.upstream + r.wrk) / r.primary : (r.primary + r.upstream + r.wrk) / r.workers;
}

function runWrk(p: Proxy, seconds: number, measure: boolean): Round | undefined {
  const { primary, workers } = p.pids();
  const upPids = upstream.pids();
  const before = { primary: cpuTicks([primary]), workers: cpuTicks(workers), each: workers.map((w) => cpuTicks([w])), upstream: cpuTicks(upPids), machine: machineTicks() };
  // wrk's own CPU: the shell's cutime + cstime once it has reaped wrk (proc(5) fields 16, 17).
  const wrkArgs = [`-t${THREADS}`, `-c${CONNS}`, `-d${seconds}s`, '-s', lua, `${p.restUrl}/v1/models/fraud:predict`];
  const [cmd, argv] = pinned('sh', ['-c', 'wrk "$@" && echo "STAT $(cat /proc/$$/stat)"', 'sh', ...wrkArgs]);
  const out = execFileSync(cmd, argv, { encoding: 'utf8' });
  if (!measure) return undefined;
  const after = { primary: cpuTicks([primary]), workers: cpuTicks(workers), each: workers.map((w) => cpuTicks([w])), upstream: cpuTicks(upPids), machine: machineTicks() };
  const stat = /STAT (.*)/.exec(out)![1]!;
  const sf = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const wrkTicks = Number(sf[13]) + Number(sf[14]);
  const requests = Number(/(\d+) requests in/.exec(out)![1]);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`workers ${p.workers}: ${non2xx[1]} non-2xx responses`);
  const socketErrors = /Socket errors: (.*)/.exec(out);
  if (socketErrors) console.log(`  workers ${p.workers}: socket errors ${socketErrors[1]}`);
  if (childPids(primary).length !== workers.length) console.log(`  workers ${p.workers}: the worker processes changed during the round (a restart?)`);
  const us = (ticks: number) => (ticks / CLK_TCK / requests) * 1e6;
  const wallTicks = (after.machine.total - before.machine.total) / cpus().length;
  const machineBusyTicks = after.machine.busy - before.machine.busy;
  const ours = after.primary - before.primary + after.workers - before.workers + after.upstream - before.upstream + wrkTicks;
  const prim = us(after.primary - before.primary);
  const work = us(after.workers - before.workers);
  return {
    rps: requests / seconds,
    proxy: prim + work,
    primary: prim,
    workers: work,
    upstream: us(after.upstream - before.upstream),
    wrk: us(wrkTicks),
    busy: machineBusyTicks / (after.machine.total - before.machine.total),
    elsewhere: (machineBusyTicks - ours) / wallTicks,
    eachWorker: after.each.map((t, i) => (t - before.each[i]!) / wallTicks),
  };
}

const proxies = [await startProxy(1), await startProxy(2), ...(AB ? [await startProxy(2, AB)] : [])];
// Warm-up: JIT, upstream connections, catalog.
for (const p of proxies) runWrk(p, 2, false);
const results = new Map<string, Round[]>(proxies.map((p) => [p.name, []]));
// A round during which other processes used more than this much CPU (in cores) is reported
// but left out of the medians: the machine is shared, and the lock only orders benchmarks.
const DISTURBED = 0.1;
const f1 = (x: number) => x.toFixed(1);
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? proxies : [...proxies].reverse();
  for (const p of order) {
    const m = runWrk(p, DURATION, true)!;
    results.get(p.name)!.push(m);
    const parts = p.workers === 1 ? '' : ` (primary ${f1(m.primary)} + workers ${f1(m.workers)}; each worker ${m.eachWorker.map((c) => c.toFixed(2)).join(' + ')} cores)`;
    console.log(`round ${r + 1} workers ${p.name}: ${m.rps.toFixed(0)} req/s; CPU us/req: proxy ${f1(m.proxy)}${parts}, upstream ${f1(m.upstream)}, wrk ${f1(m.wrk)}; o ${oFraction(p.workers, m).toFixed(2)}; machine busy ${(m.busy * 100).toFixed(0)}% (elsewhere ${m.elsewhere.toFixed(2)} cores${m.elsewhere > DISTURBED ? ': disturbed, left out' : ''})`);
  }
}
const med = (w: string) => {
  const all = results.get(w)!;
  const clean = all.filter((x) => x.elsewhere <= DISTURBED);
  const rs = clean.length > 0 ? clean : all;
  const m = (k: Exclude<keyof Round, 'eachWorker'>) => median(rs.map((x) => x[k]));
  return { rps: m('rps'), proxy: m('proxy'), primary: m('primary'), workers: m('workers'), upstream: m('upstream'), wrk: m('wrk'), busy: m('busy'), elsewhere: m('elsewhere'), rounds: clean.length };
};
const one = med('1');
const two = med('2');
const ab = AB ? med('2 (ab)') : undefined;
const o1 = oFraction(1, one);
const o2 = oFraction(2, two);
console.log(`\n${new Date().toISOString().slice(0, 16)}Z, workload ${WORKLOAD}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${ROUNDS} rounds x ${DURATION} s, wrk -t${THREADS} -c${CONNS}${PIPELINE > 1 ? ` pipeline ${PIPELINE}` : ''}${UPSTREAM_TLS ? ', TLS to the upstream' : ''}${PIN ? ', wrk and upstream pinned to CPU 0' : ''}${CAP !== undefined ? `, proxy capped at ${CAP} core per worker (1 worker: ${CAP}, 2 workers: ${2 * CAP} for primary and workers)` : ''}`);
console.log('| workers | req/s | proxy CPU µs/req (primary + workers) | upstream µs/req | wrk µs/req | o | machine busy |');
console.log('|---|---|---|---|---|---|---|');
console.log(`| 1 | ${one.rps.toFixed(0)} | ${f1(one.proxy)} | ${f1(one.upstream)} | ${f1(one.wrk)} | ${o1.toFixed(2)} | ${(one.busy * 100).toFixed(0)}% |`);
console.log(`| 2 | ${two.rps.toFixed(0)} | ${f1(two.proxy)} (${f1(two.primary)} + ${f1(two.workers)}) | ${f1(two.upstream)} | ${f1(two.wrk)} | ${o2.toFixed(2)} | ${(two.busy * 100).toFixed(0)}% |`);
if (ab) console.log(`| 2 (ab) | ${ab.rps.toFixed(0)} | ${f1(ab.proxy)} (${f1(ab.primary)} + ${f1(ab.workers)}) | ${f1(ab.upstream)} | ${f1(ab.wrk)} | ${oFraction(2, ab).toFixed(2)} | ${(ab.busy * 100).toFixed(0)}% |`);
console.log(`(medians over the undisturbed rounds, ${one.rounds} of ${ROUNDS} with 1 worker and ${two.rounds} of ${ROUNDS} with 2, each column on its own${one.rounds === 0 || two.rounds === 0 ? '; NO undisturbed round in a mode: all rounds used' : ''})`);
console.log(`throughput 2/1: ${(two.rps / one.rps).toFixed(2)}x (target 1.7x: ${two.rps / one.rps >= 1.7 ? 'MET' : 'NOT MET'}); proxy CPU/req 2/1: ${(two.proxy / one.proxy).toFixed(2)}x; ceiling 2/(1+o) from the 1-worker run ${(2 / (1 + o1)).toFixed(2)}x; two cores at the 2-worker run's CPU per request (proxy + upstream + wrk) over one worker's req/s ${(2e6 / (two.proxy + two.upstream + two.wrk) / one.rps).toFixed(2)}x`);
if (ab) console.log(`the other build (${AB}), 2 workers: throughput over 1 worker ${(ab.rps / one.rps).toFixed(2)}x; this build's 2 workers over it: throughput ${(two.rps / ab.rps).toFixed(2)}x, proxy CPU/req ${(two.proxy / ab.proxy).toFixed(2)}x (${ab.rounds} undisturbed rounds)`);
if (CAP !== undefined) {
  // With a cap the proxy should have used (almost) all of its budget: otherwise something else ran out.
  const used = (m: { rps: number; proxy: number }) => ((m.rps * m.proxy) / 1e6).toFixed(2);
  console.log(`cores the proxy used (medians): 1 worker ${used(one)} of ${CAP}; 2 workers ${used(two)} of ${2 * CAP}${ab ? `; 2 workers (ab) ${used(ab)} of ${2 * CAP}` : ''}`);
}
for (const p of proxies) p.child.kill('SIGTERM');
await Promise.all(proxies.map((p) => new Promise((r) => p.child.once('exit', r))));
for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
