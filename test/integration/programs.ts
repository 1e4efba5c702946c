// Real external programs for the integration tests: Prometheus, Alertmanager, Chromium.
// Each is started on loopback with its state in a temp dir, waited for with a bound, and
// stopped by the PID we started. A missing binary fails under CI=true and skips loudly
// otherwise (CONVENTIONS: tests that need an external binary).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../helpers/repo.ts';

export function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
}

/**
 * The skip option for a suite that needs these binaries: `false` when all are present.
 * Under CI=true a missing binary throws, so the suite fails instead of passing silently.
 */
export function needBinaries(names: readonly string[]): false | string {
  const missing = names.filter((n) => !which(n));
  if (missing.length === 0) return false;
  // The Debian package of each program (promtool comes with prometheus).
  const pkg = (name: string) => (name === 'promtool' ? 'prometheus' : name);
  const message = `missing ${missing.join(', ')} (Debian: apt-get update && apt-get install -y ${[...new Set(missing.map(pkg))].join(' ')})`;
  if (process.env['CI'] === 'true') throw new Error(`CI=true and ${message}`);
  console.warn(`\n!!!!! SKIPPING integration tests: ${message} !!!!!\n`);
  return message;
}

export async function freePort(): Promise<number> {
  const s = createNetServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Polls `fn` until it returns a truthy value; throws `what` after `timeoutMs`. */
export function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs: number, everyMs = 250): Promise<T> {
  return eventually(fn, timeoutMs, everyMs, what);
}

export class Program {
  readonly child: ChildProcess;
  #output = '';
  #exited: Promise<void>;
  constructor(readonly name: string, command: string, args: readonly string[], cwd: string) {
    this.child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => {
      // The last 8 KiB is enough to say why a program did not come up.
      this.#output = (this.#output + b.toString('utf8')).slice(-8192);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.#exited = once(this.child, 'exit').then(() => undefined);
  }
  get output(): string {
    return this.#output;
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  /** SIGTERM by PID, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    process.kill(this.child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    }, 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

async function ready(url: string): Promise<boolean> {
  const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await r.arrayBuffer();
  return r.ok;
}

export interface Prometheus {
  url: string;
  program: Program;
  query(expr: string, time?: number): Promise<PromResult>;
  stop(): Promise<void>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export type PromResult = { status: 'success'; resultType: string; result: PromSample[] } | { status: 'error'; errorType: string; error: string };

export async function startPrometheus(dir: string, config: string): Promise<Prometheus> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const program = new Program('prometheus', which('prometheus')!, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], dir);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`Prometheus ready at ${url}`, async () => {
    if (!program.running) throw new Error(`prometheus exited: ${program.output}`);
    return ready(`${url}/-/ready`);
  }, 20_000);
  return {
    url,
    program,
    async query(expr, time) {
      const body = new URLSearchParams({ query: expr });
      if (time !== undefined) body.set('time', String(time));
      const r = await fetch(`${url}/api/v1/query`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
      const j = (await r.json()) as { status: string; data?: { resultType: string; result: PromSample[] }; errorType?: string; error?: string };
      if (j.status === 'success' && j.data) return { status: 'success', resultType: j.data.resultType, result: Array.isArray(j.data.result) ? j.data.result : [] };
      return { status: 'error', errorType: j.errorType ?? '', error: j.error ?? '' };
    },
    stop: () => program.stop(),
  };
}

export interface Alertmanager {
  url: string;
  program: Program;
  stop(): Promise<void>;
}

export async function startAlertmanager(dir: string, config: string): Promise<Alertmanager> {
  await mkdir(join(dir, 'am-data'), { recursive: true });
  await writeFile(join(dir, 'alertmanager.yml'), config);
  const port = await freePort();
  const program = new Program('alertmanager', which('prometheus-alertmanager') ?? which('alertmanager')!, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // Empty disables the HA gossip listener, which would otherwise bind 0.0.0.0:9094.
    '--cluster.listen-address=',
    '--log.level=warn',
  ], dir);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`Alertmanager ready at ${url}`, async () => {
    if (!program.running) throw new Error(`alertmanager exited: ${program.output}`);
    return ready(`${url}/-/ready`);
  }, 20_000);
  return { url, program, stop: () => program.stop() };
}

/** A webhook receiver on loopback that keeps every JSON body posted to it. */
export interface Receiver {
  url: string;
  bodies: unknown[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const bodies: unknown[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
      }
      res.end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
