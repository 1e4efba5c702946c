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
  /** REST: the request's URL path (e.g. `/v1/models/fraud:predict`). */
  path?: string;
  /** The primary's latency (RequestOutcome.durationSeconds). */
  durationSeconds?: number;
  /**
   * The request's uniform draw in [0, 1): a subscriber receives the sample when
   * `draw < share(model)`, so subscribers with equal shares see the same requests and a
   * larger share sees a superset of a smaller one's.
   */
  draw?: number;
}

/** How much of each model's traffic a body subscriber wants, as a fraction in [0, 1]. */
export interface BodySubscription {
  /** Default: `proxy.bodies.sampleRate` for every model. */
  share?: (model: string) => number;
  /** An upper bound of `share` over all models (the tee decision is made before the model is known on gRPC). Default: 1 with `share`, else sampleRate. */
  maxShare?: () => number;
}

export type OutcomeObserver = (o: RequestOutcome) => void;
export type BodyObserver = (b: BodySample) => void | Promise<void>;

// Bounded so a slow body consumer costs memory of at most this many samples (each at most
// bodies.maxBytes ×2); beyond it samples are dropped and counted.
const MAX_QUEUED_BODIES = 64;

interface BodySubscriber {
  fn: BodyObserver;
  share: (model: string) => number;
  maxShare: () => number;
}

export class Observers {
  readonly #outcome: OutcomeObserver[] = [];
  readonly #body: BodySubscriber[] = [];
  readonly #defaultShare: number;
  readonly #queue: BodySample[] = [];
  #scheduled = false;
  readonly #metrics: ProxyMetrics;

  /** `defaultShare`: the share of a body subscriber that names none (`proxy.bodies.sampleRate`). */
  constructor(metrics: ProxyMetrics, defaultShare = 1) {
    this.#metrics = metrics;
    this.#defaultShare = defaultShare;
  }

  onOutcome(fn: OutcomeObserver): () => void {
    this.#outcome.push(fn);
    return () => remove(this.#outcome, fn);
  }

  /**
   * Subscribes to sampled request/response bodies. Each request draws one uniform number;
   * its bodies are copied when the draw is below the largest `maxShare()` of the
   * subscribers, and delivered to each subscriber whose `share(model)` is above it.
   */
  onBodies(fn: BodyObserver, opts: BodySubscription = {}): () => void {
    const d = this.#defaultShare;
    const share = opts.share ?? (() => d);
    const maxShare = opts.maxShare ?? (opts.share ? () => 1 : () => d);
    const sub: BodySubscriber = { fn, share, maxShare };
    this.#body.push(sub);
    return () => remove(this.#body, sub);
  }

  get wantsBodies(): boolean {
    return this.#body.length > 0;
  }

  /** The largest `maxShare()` of the body subscribers (0 with none): the share a worker process tees for them. */
  maxShare(): number {
    let m = 0;
    for (const s of this.#body) m = Math.max(m, s.maxShare());
    return m;
  }

  /**
   * Delivers samples that were already queued and drawn elsewhere (a worker process's batch)
   * to each subscriber whose share is above the sample's draw; called off any request path.
   */
  deliverBodies(batch: readonly BodySample[]): void {
    this.#deliver(batch);
  }

  /** Whether a request with this draw has its bodies copied (0 subscribers: never). */
  tees(draw: number): boolean {
    for (const s of this.#body) if (draw < s.maxShare()) return true;
    return false;
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
    this.#deliver(this.#queue.splice(0));
  }

  #deliver(batch: readonly BodySample[]): void {
    for (const b of batch) {
      for (const { fn, share } of this.#body) {
        try {
          if (b.draw !== undefined && !(b.draw < share(b.model))) continue;
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
