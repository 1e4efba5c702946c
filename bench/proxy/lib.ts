// Shared plumbing for the proxy benchmarks: child processes that print "READY {json}",
// nginx with a generated config, CPU time of processes from /proc.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs/minimal.js';

export const HERE = dirname(fileURLToPath(import.meta.url));

export const children: ChildProcess[] = [];
export function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

export function startChild(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; info: { port: number } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\{.*\})/.exec(out);
      if (m) resolve({ child, info: JSON.parse(m[1]!) as { port: number } });
    });
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}`)));
  });
}

export const tsChild = (script: string, argv: string[]) => startChild(process.execPath, ['--import', 'tsx', join(HERE, script), ...argv]);

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** nginx with one worker; `server(port)` returns the http{} body after the temp paths. */
export async function startNginx(server: (port: number) => string): Promise<{ port: number; pids: () => number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${server(port)}
}
`);
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'inherit' });
  children.push(child);
  for (let i = 0; i < 100 && !existsSync(join(dir, 'nginx.pid')); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200));
  return {
    port,
    pids: () => {
      const master = child.pid!;
      const kids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      return [master, ...kids];
    },
  };
}

/** utime+stime of a process in clock ticks (proc(5) /proc/pid/stat fields 14 and 15). */
export function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    t += Number(f[11]) + Number(f[12]);
  }
  return t;
}
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());


export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A framed gRPC PredictRequest { model_spec { name: "fraud" }, inputs: a ~150-byte stand-in } written to `file` (h2load -d). */
export function writePredictFrame(file: string): string {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string('fraud').ldelim();
  w.uint32((2 << 3) | 2).bytes(Buffer.alloc(150, 7));
  const message = Buffer.from(w.finish());
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  writeFileSync(file, framed);
  return file;
}

/**
 * `modelgate proxy --config` from a compiled build (`dist` empty = ./dist) under plain node
 * with `flags`, in front of an upstream: `listener` is the YAML line of the `rest:` or
 * `grpc:` listener; the rest of the config (a split on another model, two SLOs on the
 * called model, the defaults for labels, histograms, tracing, catalog) is the gateway as
 * deployed. Resolves with the port the proxy prints for `protocol`.
 */
export function startCompiledProxy(listener: string, protocol: 'REST' | 'gRPC', dist: string, flags: string[]): Promise<{ pid: number; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-proxy-bench-'));
  const config = join(dir, 'modelgate.yaml');
  writeFileSync(config, `apiVersion: modelgate/v1
proxy:
  ${listener}
  admin: {host: 127.0.0.1, port: 0}
  splits: {other: {stable: "1", canary: "2", weight: 10}}   # keeps the split lookup on the path
  latencyThresholds: [0.05, 0.3]
slos:
  - {name: fraud-availability, model: fraud, version: each, sli: {availability: {}}, objective: 99.9, period: 30d}
  - {name: fraud-latency, model: fraud, version: each, sli: {latency: {threshold: 50ms}}, objective: 99, period: 30d}
`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...(dist ? { MODELGATE_DIST: dist } : {}) };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, [...flags, join(HERE, 'grpc-proxy-child.mjs'), 'proxy', '--config', config, '--state_dir', join(dir, 'state')], { stdio: ['ignore', 'pipe', 'inherit'], env });
  children.push(child);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const ready = new RegExp(`\\[proxy\\] ${protocol} \\S*?:(\\d+)`);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (m) resolve({ pid: child.pid!, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`modelgate proxy exited ${code}: ${out}`)));
  });
}
