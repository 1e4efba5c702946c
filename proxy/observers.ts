// Hands each finished request to subscribers (SLO engine, rollout analysis) and sampled
// bodies to the drift recorder. Observability never breaks the request (habit from
// OpenTelemetry JS sdk-metrics Instruments.ts): a throwing observer is caught and counted,
// bodies are delivered from a bounded queue on a later turn of the event loop.
import type { RequestOutcome, Api, Protocol, Variant } from '../common/index.ts';
import type { ProxyMetrics } from './metrics.ts';

export interface BodySample {
  model: string;
  version: string;
  api: Api;
  protocol: Protocol;
  /** REST: the request body; gRPC: the first request message (without the 5-byte prefix). */
  requestBody: Buffer;
  /** REST: the response body; gRPC: the first response message. */
  responseBody: Buffer;
  /** REST content type of the request; `application/grpc` for gRPC. */
  contentType: string;
  /** gRPC method path, e.g. `/tensorflow.serving.PredictionService/Predict`. */
  method?: string;
  /** The client chose the version (RequestOutcome.pinned); the drift recorder keeps it out of canary-vs-stable comparisons. */
  pinned?: boolean;
  /** The request's id (RequestOutcome.requestId). */
  requestId?: string;
  /** The split variant that served (RequestOutcome.variant). */
  variant?: Variant;
}

export type OutcomeObserver = (o: RequestOutcome) => void;
export type BodyObserver = (b: BodySample) => void | Promise<void>;

// Bounded so a slow body consumer costs memory of at most this many samples (each at most
// bodies.maxBytes ×2); beyond it samples are dropped and counted.
const MAX_QUEUED_BODIES = 64;

export class Observers {
  readonly #outcome: OutcomeObserver[] = [];
  readonly #body: BodyObserver[] = [];
  readonly #queue: BodySample[] = [];
  #scheduled = false;
  readonly #metrics: ProxyMetrics;

  constructor(metrics: ProxyMetrics) {
    this.#metrics = metrics;
  }

  onOutcome(fn: OutcomeObserver): () => void {
    this.#outcome.push(fn);
    return () => remove(this.#outcome, fn);
  }

  onBodies(fn: BodyObserver): () => void {
    this.#body.push(fn);
    return () => remove(this.#body, fn);
  }

  get wantsBodies(): boolean {
    return this.#body.length > 0;
  }

  emitOutcome(o: RequestOutcome): void {
    for (const fn of this.#outcome) {
      try {
        fn(o);
      } catch {
        this.#metrics.drop('observer_error');
      }
    }
  }

  emitBodies(b: BodySample): void {
    if (this.#queue.length >= MAX_QUEUED_BODIES) {
      this.#metrics.drop('body_queue_full');
      return;
    }
    this.#queue.push(b);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#drain());
    }
  }

  #drain(): void {
    this.#scheduled = false;
    const batch = this.#queue.splice(0);
    for (const b of batch) {
      for (const fn of this.#body) {
        try {
          const r = fn(b);
          if (r && typeof r.catch === 'function') r.catch(() => this.#metrics.drop('body_observer_error'));
        } catch {
          this.#metrics.drop('body_observer_error');
        }
      }
    }
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i !== -1) list.splice(i, 1);
}
