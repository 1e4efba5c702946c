// Closed-loop HTTP load for the REST benchmarks, run in a child process so the load
// generator's JavaScript does not share an event loop with the server under test
// (on a 2-core machine the child takes one core, the server and ONNX Runtime the other).
// The parent side (this file) forks bench/lib/load-rest-child.ts once and sends it one
// cell at a time over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One measured cell: `concurrency` workers each send the same POST back to back. */
export interface LoadSpec {
  /** Origin, e.g. http://127.0.0.1:8501. */
  origin: string;
  path: string;
  body: string;
  concurrency: number;
  /** Requests sent and discarded first (JIT, connection setup, ORT arenas). */
  warmupMs: number;
  /** Length of the measured window. */
  durationMs: number;
}

/** Latency figures in milliseconds; throughput in completed requests per second. */
export interface LoadSummary {
  requests: number;
  /** Requests completed during the warmup (with `requests`, lets the caller divide CPU time). */
  warmupRequests: number;
  /** Responses that were not 2xx, or requests that failed; any at all makes the cell invalid. */
  errors: number;
  throughput: number;
  p50: number;
  p99: number;
  mean: number;
  /** CPU the load generator itself spent per request (µs); NaN when there is none (raw loop). */
  clientCpuUsPerReq: number;
}

export type ChildRequest = { id: number; spec: LoadSpec };
export type ChildReply = { id: number; ok: true; summary: LoadSummary } | { id: number; ok: false; error: string };

/** Nearest-rank percentile of an ascending array (q in 0..1). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Turns raw per-request latencies (ms) into a summary; `elapsedMs` is the measured window. */
export function summarize(latencies: Float64Array, count: number, errors: number, elapsedMs: number, warmupRequests: number, clientCpuUsPerReq = NaN): LoadSummary {
  const sorted = latencies.slice(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i]!;
  return {
    requests: count,
    warmupRequests,
    errors,
    throughput: count / (elapsedMs / 1000),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: count > 0 ? sum / count : NaN,
    clientCpuUsPerReq,
  };
}

/** Grows a Float64Array as samples arrive (a closed loop cannot know its count up front). */
export class Samples {
  #data = new Float64Array(1 << 16);
  count = 0;
  push(v: number): void {
    if (this.count === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.count++] = v;
  }
  get data(): Float64Array {
    return this.#data;
  }
}

export interface LoadChild {
  run(spec: LoadSpec): Promise<LoadSummary>;
  close(): Promise<void>;
  readonly pid: number | undefined;
}

/** Forks the load generator (through tsx, as the rest of the bench runs). */
export function startLoadChild(): LoadChild {
  const entry = fileURLToPath(new URL('./load-rest-child.ts', import.meta.url));
  const child: ChildProcess = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (s: LoadSummary) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  child.on('message', (m: ChildReply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.summary);
    else p.reject(new Error(`load generator: ${m.error}`));
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`load generator exited with code ${code}`));
    pending.clear();
  });
  return {
    pid: child.pid,
    run(spec) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, spec } satisfies ChildRequest);
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
