// `proxy.workers`: how many processes run the proxy's data plane (REST and gRPC listeners,
// request path, upstream clients). 1 (default) is one process; N > 1 forks N node:cluster
// workers sharing the listen sockets, with the admin API, SLOs, drift and rollouts in the
// primary (app/workers.ts). `auto` = os.availableParallelism().
import { availableParallelism } from 'node:os';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { LABEL, PROXY_METRIC, join } from '../common/index.ts';
import type { Issues } from '../common/index.ts';
import type { AccessLogConfig } from './access-log.ts';

/** More would only add processes fighting for the same cores. */
export const MAX_WORKERS = 64;

export function readWorkers(raw: Record<string, unknown>, path: string, issues: Issues, cores: () => number = availableParallelism): number {
  const v = raw['workers'];
  const p = join(path, 'workers');
  if (v === undefined || v === null) return 1;
  if (v === 'auto') return Math.max(1, Math.min(MAX_WORKERS, cores()));
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_WORKERS) {
    issues.error(p, `must be an integer from 1 to ${MAX_WORKERS} or "auto" (one per core), got ${JSON.stringify(v)}`);
    return 1;
  }
  return v;
}

/** Combinations several processes cannot do: one rotating access-log file written by N processes. */
export function checkWorkers(workers: number, accessLog: AccessLogConfig, path: string, issues: Issues): void {
  if (workers > 1 && accessLog.enabled && accessLog.to !== 'stdout') {
    issues.error(join(path, 'accessLog.to'), `a rotating access-log file cannot be written by ${workers} worker processes (their rotations would overwrite each other): set accessLog.to: stdout (each worker writes whole lines) or proxy.workers: 1`);
  }
}

/** The primary's count of worker processes that died and were started again. */
export function workerRestartsCounter(registry: Registry): Counter<typeof LABEL.reason> {
  return new Counter({ name: PROXY_METRIC.workerRestarts, help: 'Data-plane worker processes (proxy.workers > 1) that died and were started again, by reason (killed: by a signal; exited: with an error code).', labelNames: [LABEL.reason], registers: [registry] });
}
