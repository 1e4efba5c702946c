// The prediction store: what a model answered, by request id, until its label comes or it
// expires. A Map in insertion order is the age order (predictions are stored as they
// arrive), so expiry and eviction both take from the front: O(1) per stored prediction.
import type { Variant } from '../common/index.ts';

export interface StoredPrediction {
  model: string;
  version: string;
  variant: Variant;
  /** The client chose the version (RequestOutcome.pinned): never judged by a rollout. */
  pinned: boolean;
  /** When the prediction was stored, ms. */
  atMs: number;
  rows: number;
  /** Classification: the predicted class of each row (class name, or the index as text). */
  classes?: string[];
  /** Classification with probabilities: rows × classes, row-major. */
  probabilities?: Float32Array;
  /** Regression: the predicted value of each row. */
  values?: Float64Array;
  /** A label was joined already (a second one for the same id is a duplicate). */
  labelled: boolean;
  /**
   * A second request came with this id: which answer a label is for cannot be known, so
   * no label joins it (a client reusing another's id must not get the other's label
   * judged against its own answer).
   */
  conflicted?: boolean;
}

export type EvictionReason = 'ttl' | 'capacity' | 'conflict';

export class PredictionStore {
  readonly #entries = new Map<string, StoredPrediction>();
  /** Predictions dropped before a label: expired, over the cap, or made unusable by a repeated id (counted once per repeat). */
  readonly evictions: Record<EvictionReason, number> = { ttl: 0, capacity: 0, conflict: 0 };
  readonly #perModel = new Map<string, number>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Predictions held, by model. */
  sizes(): ReadonlyMap<string, number> {
    return this.#perModel;
  }

  #delete(id: string, p: StoredPrediction): void {
    this.#entries.delete(id);
    const n = (this.#perModel.get(p.model) ?? 1) - 1;
    if (n > 0) this.#perModel.set(p.model, n);
    else this.#perModel.delete(p.model);
  }

  put(id: string, p: StoredPrediction): void {
    this.expire(p.atMs);
    const old = this.#entries.get(id);
    if (old) {
      // The id is taken: neither answer can be labelled. The entry stays (until it expires)
      // so a third request with the id is caught too.
      old.conflicted = true;
      this.evictions.conflict++;
      return;
    }
    while (this.#entries.size >= this.maxEntries) {
      const [oldest, q] = this.#entries.entries().next().value as [string, StoredPrediction];
      this.#delete(oldest, q);
      this.evictions.capacity++;
    }
    this.#entries.set(id, p);
    this.#perModel.set(p.model, (this.#perModel.get(p.model) ?? 0) + 1);
  }

  /** The live prediction stored under `id`, or undefined (never stored, evicted or expired). */
  get(id: string, nowMs: number): StoredPrediction | undefined {
    const p = this.#entries.get(id);
    if (p === undefined || p.conflicted) return undefined;
    if (nowMs - p.atMs > this.ttlMs) return undefined;
    return p;
  }

  /** Drops predictions older than the TTL, oldest first. */
  expire(nowMs: number): void {
    for (const [id, p] of this.#entries) {
      if (nowMs - p.atMs <= this.ttlMs) break;
      this.#delete(id, p);
      this.evictions.ttl++;
    }
  }
}
