// Statistics for canary-versus-stable latency: the Mann-Whitney U (Wilcoxon rank-sum) test
// with average ranks for ties, the tie-corrected normal approximation and a continuity
// correction, as scipy.stats.mannwhitneyu(method='asymptotic', use_continuity=True)
// computes it (scipy/stats/_mannwhitneyu.py); a Hodges-Lehmann shift estimate; quantiles.
// Pure functions of arrays. Checked against SciPy in test/rollout/stats.test.ts.

import { quantileSorted as ssQuantileSorted } from 'simple-statistics';
import { sortedCopy } from '../common/sorted.ts';

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface MannWhitneyResult {
  /** U statistic of the first sample (SciPy's `statistic`): pairs (x, y) with x > y, ties counting 1/2. */
  u: number;
  /** z score of the statistic used for the p-value (after continuity correction). */
  z: number;
  pValue: number;
  n1: number;
  n2: number;
}

/**
 * Rank sum of x in the pooled sample (average ranks for ties) and Σ(t³ − t) over tie
 * groups, the term of the tie-corrected variance (Conover, Practical Nonparametric
 * Statistics, §5.1). Both samples are sorted (typed-array sorts) and merged in one pass, so
 * no per-element rank array or comparator sort is needed.
 */
export function rankSumAndTies(x: ArrayLike<number>, y: ArrayLike<number>): { rankSumX: number; tieTerm: number } {
  const xs = sortedCopy(x);
  const ys = sortedCopy(y);
  let i = 0;
  let j = 0;
  let pos = 0;
  let rankSumX = 0;
  let tieTerm = 0;
  while (i < xs.length || j < ys.length) {
    const v = j >= ys.length || (i < xs.length && xs[i]! <= ys[j]!) ? xs[i]! : ys[j]!;
    let cx = 0;
    while (i < xs.length && xs[i] === v) {
      i++;
      cx++;
    }
    let cy = 0;
    while (j < ys.length && ys[j] === v) {
      j++;
      cy++;
    }
    const t = cx + cy;
    // The group takes ranks pos+1 .. pos+t; each member gets their average.
    rankSumX += cx * (pos + (t + 1) / 2);
    if (t > 1) tieTerm += t * t * t - t;
    pos += t;
  }
  return { rankSumX, tieTerm };
}

/**
 * Mann-Whitney U test of x against y. `greater` asks whether x tends to be larger than y
 * (the canary slower than stable). Returns p = 1 when every value is tied (variance 0:
 * nothing distinguishes the samples) and NaN p-values never escape.
 */
export function mannWhitneyU(x: ArrayLike<number>, y: ArrayLike<number>, alternative: Alternative = 'two-sided'): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { u: NaN, z: NaN, pValue: NaN, n1, n2 };
  const { rankSumX, tieTerm } = rankSumAndTies(x, y);
  const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const n = n1 + n2;
  const mu = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { u: u1, z: 0, pValue: 1, n1, n2 };
  const sd = Math.sqrt(variance);
  const u = alternative === 'greater' ? u1 : alternative === 'less' ? u2 : Math.max(u1, u2);
  // Continuity correction of 0.5 towards the mean, as SciPy's _get_mwu_z.
  const z = (u - mu - 0.5) / sd;
  const one = normalSf(z);
  const pValue = alternative === 'two-sided' ? Math.min(1, 2 * one) : one;
  return { u: u1, z, pValue, n1, n2 };
}

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * Complementary error function. Below 2.5 the Maclaurin series of erf (absolute error
 * ~1e-16; erfc(2.5) ≈ 4e-4 keeps the relative error near 1e-12); above it the classic
 * continued fraction erfc(x) = e^{-x²}/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))),
 * evaluated with the modified Lentz method (Numerical Recipes §5.2), accurate relative
 * to the tiny result. Negative x uses erfc(−x) = 2 − erfc(x). Not simple-statistics'
 * `errorFunction`: its Numerical Recipes fit is good to ~1e-7, and 1 − erf loses the tail
 * (up to 1.5e-5 relative error at x ≤ 5), which the p-values of large samples need.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / SQRT_PI) * sum;
  }
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/** P(Z > z) for a standard normal Z. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * Quantile with linear interpolation between order statistics (Hyndman & Fan type 7,
 * NumPy's default `linear` method): simple-statistics' `quantileSorted`, which throws on
 * an empty sample where this returns NaN. `sorted` must be ascending.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  // simple-statistics only indexes the array, so a typed array serves as well as number[].
  return ssQuantileSorted(sorted as unknown as readonly number[], q);
}

/**
 * At most this many values per side go into the Hodges-Lehmann estimate: 400² = 160,000
 * pairwise differences, whose median is selected in about a millisecond on the cold tick
 * (bench/rollout.ts). Larger samples are thinned by an even stride, which keeps their shape.
 */
export const HODGES_LEHMANN_MAX_PER_SIDE = 400;

/**
 * Hodges-Lehmann estimate of the shift of x relative to y: the median of all differences
 * xᵢ − yⱼ (Hollander & Wolfe, Nonparametric Statistical Methods, §4.2). Kayenta's judge
 * bases its band on this estimate (kayenta-judge MannWhitneyClassifier.scala).
 */
export function hodgesLehmann(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const xs = thin(x, HODGES_LEHMANN_MAX_PER_SIDE);
  const ys = thin(y, HODGES_LEHMANN_MAX_PER_SIDE);
  if (xs.length === 0 || ys.length === 0) return NaN;
  const diffs = new Float64Array(xs.length * ys.length);
  let k = 0;
  for (let i = 0; i < xs.length; i++) for (let j = 0; j < ys.length; j++) diffs[k++] = xs[i]! - ys[j]!;
  return medianInPlace(diffs);
}

/**
 * Median by selection (Floyd-Rivest style partitioning as in Hoare's FIND): O(n) on
 * average instead of a full sort. Reorders `a`. For an even length, the mean of the two
 * middle values, as NumPy's median.
 */
export function medianInPlace(a: Float64Array): number {
  const n = a.length;
  if (n === 0) return NaN;
  const hi = Math.floor(n / 2);
  select(a, hi);
  if (n % 2 === 1) return a[hi]!;
  // After selecting `hi`, everything left of it is <= a[hi]; the lower middle is their max.
  let lower = -Infinity;
  for (let k = 0; k < hi; k++) if (a[k]! > lower) lower = a[k]!;
  return (lower + a[hi]!) / 2;
}

/** Puts the k-th smallest value at index k, smaller ones before it, larger after (Hoare's FIND). */
function select(a: Float64Array, k: number): void {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    const pivot = a[k]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (j < k) left = i;
    if (k < i) right = j;
  }
}

function thin(values: ArrayLike<number>, max: number): number[] {
  const n = values.length;
  if (n <= max) return Array.from(values);
  const out: number[] = [];
  const step = n / max;
  for (let i = 0; i < max; i++) out.push(values[Math.floor(i * step)]!);
  return out;
}
