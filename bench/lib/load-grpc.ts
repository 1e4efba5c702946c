// Closed-loop gRPC load for the server benchmarks, in a child process like load-rest.ts:
// `concurrency` workers each send the same unary call back to back as raw HTTP/2 streams
// on one h2c connection (as one grpc-js channel would), and count an answer as good only
// with HTTP 200 and grpc-status 0. The parent side (this file) forks load-grpc-child.ts.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadSummary } from './load-rest.ts';

export interface GrpcLoadSpec {
  /** h2c origin, e.g. http://127.0.0.1:8500. */
  origin: string;
  /** /<package.Service>/<Method>. */
  path: string;
  /** The framed request message (5-byte gRPC prefix included), base64. */
  framedBase64: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export type GrpcChildRequest = { id: number; spec: GrpcLoadSpec };
export type GrpcChildReply = { id: number; ok: true; summary: LoadSummary } | { id: number; ok: false; error: string };

export interface GrpcLoadChild {
  run(spec: GrpcLoadSpec): Promise<LoadSummary>;
  close(): Promise<void>;
}

/** Forks the gRPC load generator (through tsx, as the rest of the bench runs). */
export function startGrpcLoadChild(): GrpcLoadChild {
  const entry = fileURLToPath(new URL('./load-grpc-child.ts', import.meta.url));
  const child: ChildProcess = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (s: LoadSummary) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  child.on('message', (m: GrpcChildReply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.summary);
    else p.reject(new Error(`gRPC load generator: ${m.error}`));
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`gRPC load generator exited with code ${code}`));
    pending.clear();
  });
  return {
    run(spec) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, spec } satisfies GrpcChildRequest);
      });
    },
    close() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      });
    },
  };
}
