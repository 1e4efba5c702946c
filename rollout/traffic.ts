// Per-version traffic of the models under rollout, gathered from the proxy's request
// outcomes between two checks. `record` is on the request path: O(1), never throws.
// `drain` is on the cold tick and starts a new window.
//
// Only split-routed requests are evidence about a canary. A request that pinned its
// version (`/versions/N`, `/labels/canary`, a gRPC version or version_label: the outcome's
// `pinned`) was aimed by the client, so a client could aim malformed or failing requests
// at the canary and roll back a healthy version. Pinned requests are counted beside the
// window (requests and server errors) and reported, never judged.
import type { RequestOutcome } from '../common/index.ts';
import { GrpcCode } from '../common/index.ts';
import type { TrafficStats } from './analysis.ts';

/**
 * Latency samples kept per version per window. 2,000 values resolve a p99 from 20 tail
 * values and keep the Mann-Whitney ranking to a few milliseconds per check.
 */
export const RESERVOIR_SIZE = 2000;

/** APIs that carry inference traffic; status and metadata probes are not canary evidence. */
const INFERENCE = new Set(['predict', 'classify', 'regress', 'infer']);

/**
 * Server-side failures, the same set the SLO engine counts by default (slo/config.ts
 * DEFAULT_BAD_CODES): every 5xx or no response at all, and the gRPC codes that mean the
 * server failed. Client errors (400, 404, INVALID_ARGUMENT) are not the canary's fault.
 */
const BAD_GRPC = new Set<number>([GrpcCode.UNKNOWN, GrpcCode.DEADLINE_EXCEEDED, GrpcCode.INTERNAL, GrpcCode.UNAVAILABLE, GrpcCode.DATA_LOSS]);

export function isServerError(o: Pick<RequestOutcome, 'protocol' | 'httpStatus' | 'grpcCode'>): boolean {
  if (o.protocol === 'grpc') return o.grpcCode === undefined || BAD_GRPC.has(o.grpcCode);
  return o.httpStatus === undefined || o.httpStatus === 0 || o.httpStatus >= 500;
}

class VersionWindow {
  requests = 0;
  errors = 0;
  pinnedRequests = 0;
  pinnedErrors = 0;
  readonly sample: number[] = [];
  constructor(readonly version: string) {}
}

export class TrafficCollector {
  readonly #models: ReadonlySet<string>;
  readonly #random: () => number;
  readonly #size: number;
  readonly #windows = new Map<string, Map<string, VersionWindow>>();
  /** Outcomes that could not be counted (malformed); never expected above 0. */
  dropped = 0;

  constructor(models: readonly string[], opts: { random?: () => number; reservoirSize?: number } = {}) {
    this.#models = new Set(models);
    this.#random = opts.random ?? Math.random;
    this.#size = opts.reservoirSize ?? RESERVOIR_SIZE;
    for (const m of models) this.#windows.set(m, new Map());
  }

  record(o: RequestOutcome): void {
    try {
      if (!this.#models.has(o.model) || !INFERENCE.has(o.api)) return;
      const byVersion = this.#windows.get(o.model)!;
      let w = byVersion.get(o.version);
      if (w === undefined) {
        // Versions come from the proxy's allowlist; this caps a wiring mistake.
        if (byVersion.size >= 64) {
          this.dropped++;
          return;
        }
        w = new VersionWindow(o.version);
        byVersion.set(o.version, w);
      }
      if (o.pinned === true) {
        w.pinnedRequests++;
        if (isServerError(o)) w.pinnedErrors++;
        return;
      }
      w.requests++;
      if (isServerError(o)) w.errors++;
      const d = o.durationSeconds;
      if (!Number.isFinite(d) || d < 0) return;
      // Reservoir sampling, Algorithm R (Vitter 1985): every latency has the same chance.
      if (w.sample.length < this.#size) w.sample.push(d);
      else {
        const j = Math.floor(this.#random() * w.requests);
        if (j < this.#size) w.sample[j] = d;
      }
    } catch {
      this.dropped++;
    }
  }

  /** The window's stats per version of `model`, and a new empty window. */
  drain(model: string): Map<string, TrafficStats> {
    const byVersion = this.#windows.get(model);
    const out = new Map<string, TrafficStats>();
    if (!byVersion) return out;
    for (const w of byVersion.values()) {
      out.set(w.version, { version: w.version, requests: w.requests, errors: w.errors, latencies: w.sample, pinned: { requests: w.pinnedRequests, errors: w.pinnedErrors } });
    }
    this.#windows.set(model, new Map());
    return out;
  }
}

export const emptyTraffic = (version: string): TrafficStats => ({ version, requests: 0, errors: 0, latencies: [], pinned: { requests: 0, errors: 0 } });
