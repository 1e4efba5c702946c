// Fixed time buckets in a ring: the bucket of time t is reused once t has moved a whole ring
// past it. `at` refuses times older than the ring (undefined), so late data never lands in
// a bucket that now means a newer slice of time.
export class TimeRing<T> {
  readonly #starts: Float64Array;
  readonly #values: T[];
  constructor(
    readonly bucketMs: number,
    readonly size: number,
    readonly make: () => T,
    readonly reset: (v: T) => void,
  ) {
    this.#starts = new Float64Array(size).fill(-1);
    this.#values = Array.from({ length: size }, make);
  }

  /** The bucket holding time `t`, emptied first if it held an older slice; undefined when `t` is older than the ring. */
  at(t: number): T | undefined {
    const start = Math.floor(t / this.bucketMs) * this.bucketMs;
    const i = Math.floor(t / this.bucketMs) % this.size;
    const held = this.#starts[i]!;
    if (held === start) return this.#values[i];
    if (held > start) return undefined;
    this.#starts[i] = start;
    this.reset(this.#values[i]!);
    return this.#values[i];
  }

  /** Calls `fn` with every bucket that starts in (fromMs - bucketMs, toMs]. */
  forEach(fromMs: number, toMs: number, fn: (v: T) => void): void {
    for (let i = 0; i < this.size; i++) {
      const s = this.#starts[i]!;
      if (s >= 0 && s + this.bucketMs > fromMs && s <= toMs) fn(this.#values[i]!);
    }
  }
}
