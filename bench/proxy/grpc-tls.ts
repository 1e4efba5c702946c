// gRPC over TLS: the frame-level listener (`grpc.server: frames`, the default) against
// node:http2 (`grpc.server: http2`), both `modelgate proxy --config` from the compiled build
// (dist/, `npm run build` first) with `tls:` on the gRPC listener, in front of the same
// grpc-js upstream (h2c). Per round and listener: max calls/s and proxy CPU per call with
// h2load -c8 -m16 over https, then CPU per call at 1000 calls/s in bursts of 10
// (-c10 -m1 --rps=100). Rounds alternate the order; medians. Needs h2load and openssl.
// Run: flock /tmp/bench.lock node --import tsx bench/proxy/grpc-tls.ts [--rounds 3] [--seconds 6]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLK_TCK, cleanup, cpuTicks, median, startCompiledProxy, tsChild, writePredictFrame } from './lib.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '6' } } });
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);

const dir = mkdtempSync(join(tmpdir(), 'modelgate-bench-grpc-tls-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });

const DATA = writePredictFrame(join(dir, 'predict.bin'));
const upstream = await tsChild('grpc-upstream-child.ts', []);
const proxies: Array<{ name: string; pid: number; port: number }> = [];
for (const server of ['frames', 'http2']) {
  const listener = `grpc: {host: 127.0.0.1, port: 0, upstream: "127.0.0.1:${upstream.info.port}", server: ${server}, tls: {cert: ${cert}, key: ${key}}}`;
  proxies.push({ name: server, ...(await startCompiledProxy(listener, 'gRPC', '', [])) });
}

const h2load = (port: number, args: string[]): number => {
  const out = execFileSync('h2load', ['-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', DATA, ...args, `https://127.0.0.1:${port}/tensorflow.serving.PredictionService/Predict`]).toString();
  const failed = Number(/(\d+) failed/.exec(out)?.[1] ?? 0);
  if (failed > 0) throw new Error(`${failed} calls failed:\n${out}`);
  return Number(/(\d+) succeeded/.exec(out)![1]);
};
/** Calls made and the proxy's CPU µs per call while `args` ran. */
const measure = (p: { pid: number; port: number }, args: string[]): { calls: number; us: number } => {
  const before = cpuTicks([p.pid]);
  const calls = h2load(p.port, args);
  return { calls, us: ((cpuTicks([p.pid]) - before) / CLK_TCK / calls) * 1e6 };
};

for (const p of proxies) h2load(p.port, ['-c4', '-m8', '-D2']); // warm-up: JIT, TLS sessions, upstream connection
const rows = new Map(proxies.map((p) => [p.name, { max: [] as number[], usMax: [] as number[], us1k: [] as number[] }]));
for (let r = 0; r < ROUNDS; r++) {
  for (const p of r % 2 === 0 ? proxies : [...proxies].reverse()) {
    const row = rows.get(p.name)!;
    const max = measure(p, ['-c8', '-m16', `-D${SECONDS}`]);
    const paced = measure(p, ['-c10', '-m1', '--rps=100', `-D${SECONDS}`]);
    row.max.push(max.calls / SECONDS);
    row.usMax.push(max.us);
    row.us1k.push(paced.us);
    console.log(`round ${r + 1} ${p.name}: max ${(max.calls / SECONDS).toFixed(0)} calls/s at ${max.us.toFixed(0)} µs/call; 1000 calls/s in bursts of 10: ${paced.us.toFixed(0)} µs/call`);
  }
}
console.log(`\n${new Date().toISOString().slice(0, 16)}Z, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${ROUNDS} rounds × ${SECONDS} s, medians\n`);
console.log('| gRPC listener over TLS | max calls/s | proxy CPU µs/call at max | at 1000 calls/s (bursts) |');
console.log('|---|---:|---:|---:|');
for (const [name, row] of rows) console.log(`| ${name} | ${median(row.max).toFixed(0)} | ${median(row.usMax).toFixed(0)} | ${median(row.us1k).toFixed(0)} |`);
cleanup();
process.exit(0);
