// What the REST surface is configured with and what it is given to run.
import type { Registry } from 'prom-client';
import type { ServerMetrics } from '../metrics.ts';
import type { ModelManager } from '../models/manager.ts';
import type { JsonLimits } from '../tensor/json.ts';

export interface RestOptions {
  /** Largest request body accepted, bytes (--max_body_bytes) → 413 above. */
  bodyLimitBytes: number;
  /** Per model limits that replace bodyLimitBytes (a model's max_body_bytes). */
  modelBodyLimits?: ReadonlyMap<string, number>;
  /** Time a client has to send its whole body, ms (--body_read_timeout) → 408. */
  bodyReadTimeoutMs: number;
  /** Requests with a body over LARGE_BODY_BYTES handled at once (--max_large_bodies); more → 503. */
  maxLargeBodies: number;
  /** Called when the last large request in progress has been answered (memory reclaim). */
  afterLargeBodies?: () => void;
  /** Per-request processing deadline, ms (TF Serving: --rest_api_timeout_in_ms, 30000) → 504. */
  requestTimeoutMs: number;
  json: JsonLimits;
  serverName: string;
  serverVersion: string;
}

export interface RestDeps {
  manager: ModelManager;
  metrics: ServerMetrics;
  registry: Registry;
  options: RestOptions;
  /** False while starting or draining: /v2/health/ready answers 503. */
  isReady: () => boolean;
}
