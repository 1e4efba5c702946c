// Streaming state per model × version × feature × window.
//
// Numeric: exact counts in the baseline's bins (mergeable by addition) and a uniform
// reservoir sample (Algorithm R, Vitter 1985) for KS and for binning against a baseline
// that arrives later. Categorical: exact counts of up to `maxCategories` values, the rest
// folded into one "__other__" count.
//
// Memory, stated: a numeric sketch is one Float64Array(reservoirSize) plus bins+1 counts:
// 1000 × 8 B + 11 × 8 B ≈ 8.1 KiB at the defaults. A categorical sketch is at most
// maxCategories (100) map entries, ≈ 100 × ~60 B ≈ 6 KiB with short names. Per
// model×version the recorder keeps two windows (current, previous), so a 16-feature model
// version costs ≤ 2 × 16 × 8.1 KiB ≈ 260 KiB.
import { binIndex, sameEdges } from './bins.ts';
import { OTHER_CATEGORY } from './profile.ts';

export class NumericSketch {
  readonly kind = 'numeric' as const;
  /** Values recorded. */
  count = 0;
  /** Rows with no usable value for this feature. */
  missing = 0;
  /** Cut points the counts are kept in (the baseline's), or undefined when there is no baseline yet. */
  readonly edges: readonly number[] | undefined;
  readonly counts: number[] | undefined;
  readonly #reservoir: Float64Array;
  #filled = 0;
  readonly #random: () => number;

  constructor(reservoirSize: number, random: () => number, edges?: readonly number[]) {
    this.#reservoir = new Float64Array(reservoirSize);
    this.#random = random;
    this.edges = edges;
    this.counts = edges ? new Array<number>(edges.length + 1).fill(0) : undefined;
  }

  add(x: number): void {
    this.count++;
    if (this.counts) this.counts[binIndex(this.edges!, x)]!++;
    const size = this.#reservoir.length;
    if (this.#filled < size) {
      this.#reservoir[this.#filled++] = x;
      return;
    }
    const j = Math.floor(this.#random() * this.count);
    if (j < size) this.#reservoir[j] = x;
  }

  /** The reservoir's current contents (a view; copy before keeping). */
  sample(): Float64Array {
    return this.#reservoir.subarray(0, this.#filled);
  }

  /** Counts in `edges` when they are the sketch's own (exact), else undefined. */
  countsIn(edges: readonly number[]): readonly number[] | undefined {
    return this.counts && sameEdges(this.edges, edges) ? this.counts : undefined;
  }

  /**
   * Adds another sketch of the same feature: bin counts add exactly; the reservoir becomes a
   * sample of the union, drawing from each side in proportion to how many values it stands for.
   */
  merge(other: NumericSketch): void {
    const a = this.#shuffled(this.sample());
    const b = this.#shuffled(other.sample());
    const na = this.count;
    const nb = other.count;
    this.count += nb;
    this.missing += other.missing;
    if (this.counts && other.counts && sameEdges(this.edges, other.edges)) {
      for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    } else if (this.counts && b.length > 0) {
      // Different (or no) bins on the other side: estimate its counts from its sample.
      for (const x of b) this.counts[binIndex(this.edges!, x)]! += nb / b.length;
    }
    // The union's sample takes from each side in proportion to the values it stands for
    // (na : nb), each side's share drawn from its shuffled sample.
    const size = this.#reservoir.length;
    const total = na + nb;
    let fromA = total === 0 ? 0 : Math.min(a.length, Math.round((size * na) / total));
    const fromB = Math.min(b.length, size - fromA);
    fromA = Math.min(a.length, size - fromB);
    this.#reservoir.set(a.subarray(0, fromA), 0);
    this.#reservoir.set(b.subarray(0, fromB), fromA);
    this.#filled = fromA + fromB;
  }

  /** A shuffled copy (Fisher-Yates): reservoir slots are not in random order, so prefixes of it are not samples. */
  #shuffled(values: Float64Array): Float64Array {
    const out = Float64Array.from(values);
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }

  /** Bytes held, for the stated memory bound. */
  bytes(): number {
    return this.#reservoir.byteLength + (this.counts ? this.counts.length * 8 : 0);
  }
}

export class CategoricalSketch {
  readonly kind = 'categorical' as const;
  count = 0;
  missing = 0;
  readonly counts = new Map<string, number>();
  readonly #max: number;

  constructor(maxCategories: number) {
    this.#max = maxCategories;
  }

  add(category: string): void {
    this.count++;
    const n = this.counts.get(category);
    if (n !== undefined) this.counts.set(category, n + 1);
    else if (this.counts.size < this.#max) this.counts.set(category, 1);
    else this.counts.set(OTHER_CATEGORY, (this.counts.get(OTHER_CATEGORY) ?? 0) + 1);
  }

  merge(other: CategoricalSketch): void {
    this.count += other.count;
    this.missing += other.missing;
    for (const [c, n] of other.counts) {
      const mine = this.counts.get(c);
      if (mine !== undefined) this.counts.set(c, mine + n);
      else if (this.counts.size < this.#max) this.counts.set(c, n);
      else this.counts.set(OTHER_CATEGORY, (this.counts.get(OTHER_CATEGORY) ?? 0) + n);
    }
  }
}

export type FeatureSketch = NumericSketch | CategoricalSketch;
