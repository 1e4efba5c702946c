// Token buckets as GCRA (the generic cell rate algorithm, ATM Forum TM 4.1): one number per
// key, the theoretical arrival time; no refill timer. A request at `now` conforms when
// max(tat, now) + T − now ≤ burst·T (T = 1/rps); the wait until it would is Retry-After.
// Pure: the time is passed in.
import type { Rate } from './config.ts';

export class RateBuckets {
  readonly #tat = new Map<string, number>();
  readonly #maxKeys: number;

  /** `maxKeys`: buckets kept at most; past it, buckets that are full again are dropped first. */
  constructor(maxKeys = 10_000) {
    this.#maxKeys = maxKeys;
  }

  /**
   * 0 when the request conforms to every (key, rate) pair, else the ms until it would.
   * Tokens are taken from all the buckets or none.
   */
  take(now: number, pairs: ReadonlyArray<readonly [string, Rate]>): number {
    let wait = 0;
    for (const [key, rate] of pairs) {
      const t = 1000 / rate.rps;
      const next = Math.max(this.#tat.get(key) ?? now, now) + t;
      wait = Math.max(wait, next - now - rate.burst * t);
    }
    if (wait > 0) return wait;
    for (const [key, rate] of pairs) {
      const t = 1000 / rate.rps;
      this.#tat.set(key, Math.max(this.#tat.get(key) ?? now, now) + t);
    }
    if (this.#tat.size > this.#maxKeys) this.#sweep(now);
    return 0;
  }

  get size(): number {
    return this.#tat.size;
  }

  /** Drops buckets that have refilled (tat in the past: same as no entry). */
  #sweep(now: number): void {
    for (const [k, tat] of this.#tat) if (tat <= now) this.#tat.delete(k);
    // Still over (a flood of distinct keys all busy): drop the oldest entries.
    for (const k of this.#tat.keys()) {
      if (this.#tat.size <= this.#maxKeys) break;
      this.#tat.delete(k);
    }
  }
}
