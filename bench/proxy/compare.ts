// The proxy benchmark: the same upstream direct, through modelgate, through nginx (Debian
// package, one worker, keepalive to the upstream), and through two bare forwarders (undici,
// http-proxy) that show what the forwarding choice alone costs.
//
//   node --import tsx bench/proxy/compare.ts [--rounds 3] [--seconds 8] [--only direct,modelgate,net-pipe,nginx]
//
// `modelgate` is the compiled build (`npm run build` first): `modelgate proxy --config` from
// dist/ under plain node (grpc-proxy-child.mjs, no tsx), with a REST listener, a split on
// another model, two SLOs on the called model and the defaults for the rest (labels,
// histograms, tracing, catalog), i.e. the gateway as deployed. `--variant "name:DIST_DIR:node
// flags"` adds more compiled targets to the same rounds (another build copied aside, other
// flags; DIST_DIR empty = ./dist). `modelgate-tsx` is the same proxy from the sources under
// tsx (proxy-child.ts, createProxy in-process), `modelgate-undici` / `modelgate-native` the
// A/B of the REST upstream client under tsx; those get a paired fixed-rate run too.
//
// Needs: wrk and nginx on PATH (apt-get install -y wrk nginx). http-proxy is optional: it
// is not a modelgate dependency; install it aside with
//   npm install --prefix /tmp/benchdeps http-proxy@1.18.1
// and run with MODELGATE_BENCH_DEPS=/tmp/benchdeps.
//
// Each round runs every target in turn (alternating, so drift in machine load spreads
// evenly); the report takes the median per target. Everything is on loopback; every
// process (wrk, proxy, upstream) shares the machine's cores, which the report says.
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLK_TCK, HERE, children, cleanup, cpuTicks, median, startCompiledProxy, startNginx, tsChild } from './lib.ts';
const PATH = '/v1/models/fraud:predict';
const BODY = '{"instances":[{"amount":120.5,"account_age_days":400,"tx_last_hour":1,"distance_km":3.2,"merchant_risk":0.1,"hour_of_day":14,"device_age_days":300,"failed_logins":0}]}';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : args[i + 1]!;
};
const ROUNDS = Number(arg('rounds', '3'));
const SECONDS = Number(arg('seconds', '8'));
const RATE = Number(arg('rate', '1000'));
const CONNECTIONS = Number(arg('connections', '64'));
const ONLY = arg('only', 'direct,modelgate,nginx,undici,http-proxy').split(',');
/** Compiled modelgate targets: name, build directory ('' = ./dist), node flags. */
const VARIANTS = [
  ...(ONLY.includes('modelgate') ? [{ name: 'modelgate', dist: '', flags: [] as string[] }] : []),
  // The same build with node:http as the REST front for every request (`rest.server: node`).
  ...(ONLY.includes('modelgate-node') ? [{ name: 'modelgate-node', dist: '', flags: [] as string[], restServer: 'node' }] : []),
  ...args.flatMap((a, i) => (a === '--variant' ? [args[i + 1]!] : [])).map((v) => {
    const [name, dist, ...flags] = v.split(':');
    return { name: name!, dist: dist ?? '', flags: flags.join(':').split(' ').filter(Boolean) };
  }),
];

/** `modelgate proxy --config` from a compiled build in front of `upstream`; resolves with its REST port. */
function startModelgate(upstream: string, dist: string, flags: string[], restServer?: string): Promise<{ pid: number; port: number }> {
  return startCompiledProxy(`rest: {host: 127.0.0.1, port: 0, upstream: "${upstream}"${restServer ? `, server: ${restServer}` : ''}}`, 'REST', dist, flags);
}

function wrk(port: number, seconds: number): { rps: number; requests: number; errors: number; p50: number; p99: number } {
  const lua = join(tmpdir(), 'modelgate-bench-post.lua');
  writeFileSync(lua, `wrk.method = "POST"\nwrk.body = '${BODY}'\nwrk.headers["Content-Type"] = "application/json"\n`);
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', lua, `http://127.0.0.1:${port}${PATH}`]).toString();
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const ms = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const errors = num(/Non-2xx or 3xx responses: (\d+)/) || 0;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    errors: errors + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
    p50: ms(/50%\s+([\d.]+)(us|ms|s)/),
    p99: ms(/99%\s+([\d.]+)(us|ms|s)/),
  };
}

interface RateResult {
  p50: number;
  p99: number;
  correctedP99: number;
  errors: number;
  requests: number;
}

/** Fixed-rate load on one or more ports at once (see rate-child.ts: several = paired). */
async function rateRun(ports: number[], seconds: number): Promise<RateResult[]> {
  const urls = ports.map((p) => `http://127.0.0.1:${p}${PATH}`).join(',');
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'rate-child.ts'), urls, String(RATE), String(seconds * 1000), '2000', '32'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.on('exit', r));
  return JSON.parse(out.trim().split('\n').pop()!) as RateResult[];
}

interface Target {
  name: string;
  port: number;
  pids: () => number[];
}

async function main(): Promise<void> {
  const up = await tsChild('upstream-child.ts', []);
  const upstreamUrl = `http://127.0.0.1:${up.info.port}`;
  const targets: Target[] = [];
  if (ONLY.includes('direct')) targets.push({ name: 'direct', port: up.info.port, pids: () => [] });
  for (const v of VARIANTS) {
    const p = await startModelgate(upstreamUrl, v.dist, v.flags, (v as { restServer?: string }).restServer);
    targets.push({ name: v.name, port: p.port, pids: () => [p.pid] });
  }
  for (const mode of ['modelgate-tsx', 'modelgate-undici', 'modelgate-native', 'undici', 'http-proxy', 'net-pipe']) {
    if (!ONLY.includes(mode)) continue;
    try {
      const p = await tsChild('proxy-child.ts', [mode === 'modelgate-tsx' ? 'modelgate' : mode, upstreamUrl]);
      targets.push({ name: mode, port: p.info.port, pids: () => [p.child.pid!] });
    } catch (err) {
      console.warn(`skipping ${mode}: ${(err as Error).message}`);
    }
  }
  if (ONLY.includes('nginx')) {
    try {
      // One worker, keepalive pool to the upstream (needs HTTP/1.1 and an empty Connection
      // header: nginx docs, ngx_http_upstream_module "keepalive").
      const n = await startNginx((port) => `
  upstream up { server 127.0.0.1:${up.info.port}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`);
      targets.push({ name: 'nginx', port: n.port, pids: n.pids });
    } catch (err) {
      console.warn(`skipping nginx: ${(err as Error).message}`);
    }
  }

  const results = new Map<string, Array<{ rps: number; cpuUs: number; p50: number; p99: number; errors: number; rp50: number; rp99: number; rcp99: number }>>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      wrk(t.port, 2); // warm: JIT, connection pools
      const before = cpuTicks(t.pids());
      const max = wrk(t.port, SECONDS);
      const ticks = cpuTicks(t.pids()) - before;
      const [rate] = (await rateRun([t.port], SECONDS)) as [RateResult];
      const row = {
        rps: max.rps, cpuUs: t.pids().length ? (ticks / CLK_TCK) * 1e6 / max.requests : NaN, p50: max.p50, p99: max.p99,
        errors: max.errors + rate.errors, rp50: rate.p50, rp99: rate.p99, rcp99: rate.correctedP99,
      };
      (results.get(t.name) ?? results.set(t.name, []).get(t.name)!).push(row);
      console.log(`round ${round} ${t.name.padEnd(10)} max ${max.rps.toFixed(0)} rps, ${row.cpuUs.toFixed(0)} µs CPU/req; @${RATE} rps p50 ${rate.p50.toFixed(3)} ms p99 ${rate.p99.toFixed(3)} ms (corrected p99 ${rate.correctedP99.toFixed(3)}); errors ${row.errors}`);
    }
  }

  // Paired fixed-rate runs: direct, modelgate and nginx each at RATE rps in the same time
  // window (the three the latency target compares; more would load the generator).
  const pairedTargets = targets.filter((t) => ['direct', 'modelgate-tsx', 'modelgate-undici', 'modelgate-native', 'nginx', ...VARIANTS.map((v) => v.name)].includes(t.name));
  const paired = new Map<string, RateResult[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    const res = await rateRun(pairedTargets.map((t) => t.port), SECONDS);
    pairedTargets.forEach((t, i) => (paired.get(t.name) ?? paired.set(t.name, []).get(t.name)!).push(res[i]!));
    console.log(`paired round ${round}: ${pairedTargets.map((t, i) => `${t.name} p50 ${res[i]!.p50.toFixed(3)} p99 ${res[i]!.p99.toFixed(3)}`).join('; ')}`);
  }
  const pm = (name: string, k: 'p50' | 'p99') => median((paired.get(name) ?? []).map((r) => r[k]));

  const m = (name: string, k: 'rps' | 'cpuUs' | 'rp50' | 'rp99' | 'rcp99' | 'errors') => median((results.get(name) ?? []).map((r) => r[k]));
  const has = (n: string) => results.has(n);
  const lines = [
    `| path | max rps | vs direct | vs nginx | proxy CPU µs/req | p50 / p99 at ${RATE} rps (ms) | added p50 / p99 over direct (ms) | errors |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const t of targets) {
    const rps = m(t.name, 'rps');
    const vsDirect = has('direct') ? (rps / m('direct', 'rps')).toFixed(2) : '—';
    const vsNginx = has('nginx') ? (rps / m('nginx', 'rps')).toFixed(2) : '—';
    const cpu = m(t.name, 'cpuUs');
    const added = has('direct') && t.name !== 'direct' ? `+${(m(t.name, 'rp50') - m('direct', 'rp50')).toFixed(2)} / +${(m(t.name, 'rp99') - m('direct', 'rp99')).toFixed(2)}` : '—';
    lines.push(`| ${t.name} | ${rps.toFixed(0)} | ${vsDirect} | ${vsNginx} | ${Number.isNaN(cpu) ? '—' : cpu.toFixed(0)} | ${m(t.name, 'rp50').toFixed(2)} / ${m(t.name, 'rp99').toFixed(2)} | ${added} | ${(results.get(t.name) ?? []).reduce((a, r) => a + r.errors, 0)} |`);
  }
  const plines = [`| path (paired, each at ${RATE} rps in the same window) | p50 (ms) | p99 (ms) | added p50 / p99 over direct (ms) |`, '|---|---|---|---|'];
  for (const t of pairedTargets) {
    const added = has('direct') && t.name !== 'direct' ? `+${(pm(t.name, 'p50') - pm('direct', 'p50')).toFixed(2)} / +${(pm(t.name, 'p99') - pm('direct', 'p99')).toFixed(2)}` : '—';
    plines.push(`| ${t.name} | ${pm(t.name, 'p50').toFixed(2)} | ${pm(t.name, 'p99').toFixed(2)} | ${added} |`);
  }
  console.log(`\n${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, ${ROUNDS} rounds × ${SECONDS}s, wrk -t1 -c${CONNECTIONS}, medians\n`);
  console.log(lines.join('\n'));
  console.log(`\n${plines.join('\n')}`);
  if (has('modelgate') && has('nginx')) {
    const ratio = m('modelgate', 'rps') / m('nginx', 'rps');
    const cpuRatio = m('modelgate', 'cpuUs') / m('nginx', 'cpuUs');
    const addedMg = pm('modelgate', 'p99') - pm('direct', 'p99');
    const addedNg = pm('nginx', 'p99') - pm('direct', 'p99');
    console.log(`\ntarget: modelgate (compiled) proxy CPU per request <= 2x nginx's: ${cpuRatio.toFixed(2)}x → ${cpuRatio <= 2 ? 'MET' : 'NOT MET'}`);
    console.log(`target: modelgate (compiled) max throughput >= 0.6x nginx's: ${ratio.toFixed(2)}x → ${ratio >= 0.6 ? 'MET' : 'NOT MET'}`);
    console.log(`target (paired runs): added p99 at ${RATE} rps within 1 ms of nginx's: modelgate +${addedMg.toFixed(2)} ms vs nginx +${addedNg.toFixed(2)} ms → ${addedMg - addedNg <= 1 ? 'MET' : 'NOT MET'}`);
  }
  cleanup();
  process.exit(0);
}

void main();
