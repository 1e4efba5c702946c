// Time-bucketed good/total counts for one series: a ring of fixed-size buckets.
//
// Bucket j holds events that ended in ((j-1)·bucketMs, j·bucketMs]. Summing the n buckets
// that end at a bucket boundary t therefore counts exactly the events in (t - n·bucketMs, t],
// the same events as a Prometheus `increase(x[W])` evaluated at t over counters scraped
// at bucket boundaries (Prometheus 2.x range selectors include both ends; the sample at
// t - W cancels out). That is what the parity test relies on.
//
// record: O(1) amortised (a jump forward clears at most `size` buckets once). Memory:
// two Uint32Array of `size` (8 bytes per bucket). A bucket saturates at 2^32 - 1 events,
// 4 billion per bucket, far beyond one proxy.

export class CountRing {
  readonly bucketMs: number;
  readonly size: number;
  readonly #bad: Uint32Array;
  readonly #total: Uint32Array;
  /** Absolute index of the newest bucket; -1 before the first event. */
  #head = -1;

  constructor(bucketMs: number, size: number) {
    if (!(bucketMs > 0) || !Number.isInteger(size) || size < 1) {
      throw new RangeError(`CountRing needs bucketMs > 0 and a whole size >= 1, got ${bucketMs}, ${size}`);
    }
    this.bucketMs = bucketMs;
    this.size = size;
    this.#bad = new Uint32Array(size);
    this.#total = new Uint32Array(size);
  }

  /** Bytes held by the counts (what grows with the number of series). */
  get bytes(): number {
    return this.#bad.byteLength + this.#total.byteLength;
  }

  indexOf(timeMs: number): number {
    return Math.ceil(timeMs / this.bucketMs);
  }

  /** Counts one event. Returns false (and counts nothing) when it is older than the ring. */
  add(timeMs: number, bad: boolean): boolean {
    const j = Math.ceil(timeMs / this.bucketMs);
    if (j > this.#head) this.#advance(j);
    else if (j <= this.#head - this.size) return false;
    const i = j % this.size;
    this.#total[i] = this.#total[i]! + 1;
    if (bad) this.#bad[i] = this.#bad[i]! + 1;
    return true;
  }

  #advance(j: number): void {
    if (this.#head < 0 || j - this.#head >= this.size) {
      this.#bad.fill(0);
      this.#total.fill(0);
    } else {
      for (let k = this.#head + 1; k <= j; k++) {
        const i = k % this.size;
        this.#bad[i] = 0;
        this.#total[i] = 0;
      }
    }
    this.#head = j;
  }

  /**
   * Sums the last `counts[i]` buckets ending at the bucket that holds `nowMs`, for every i
   * (ascending counts), in one pass. Buckets newer than now (clock skew) are left out.
   */
  sums(nowMs: number, counts: readonly number[], outBad: number[], outTotal: number[]): void {
    const jt = Math.ceil(nowMs / this.bucketMs);
    if (jt > this.#head) this.#advance(jt);
    let bad = 0;
    let total = 0;
    let next = 0;
    const max = counts[counts.length - 1] ?? 0;
    for (let k = 0; k < max && next < counts.length; k++) {
      const j = jt - k;
      if (j > this.#head - this.size && j >= 0) {
        const i = j % this.size;
        bad += this.#bad[i]!;
        total += this.#total[i]!;
      }
      while (next < counts.length && counts[next] === k + 1) {
        outBad[next] = bad;
        outTotal[next] = total;
        next++;
      }
    }
    for (; next < counts.length; next++) {
      outBad[next] = bad;
      outTotal[next] = total;
    }
  }
}
