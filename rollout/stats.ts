// Statistics for canary-versus-stable latency: the Mann-Whitney U (Wilcoxon rank-sum) test
// with average ranks for ties, the tie-corrected normal approximation and a continuity
// correction, as scipy.stats.mannwhitneyu(method='asymptotic', use_continuity=True)
// computes it (scipy/stats/_mannwhitneyu.py); a Hodges-Lehmann shift estimate; quantiles.
// Pure functions of arrays. Checked against SciPy in test/rollout/stats.test.ts.

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
 * Average (1-based) ranks of the pooled samples; also returns Σ(t³ − t) over tie groups,
 * the term of the tie-corrected variance (Conover, Practical Nonparametric Statistics, §5.1).
 */
export function rankPooled(x: ArrayLike<number>, y: ArrayLike<number>): { ranksX: Float64Array; tieTerm: number } {
  const n1 = x.length;
  const n = n1 + y.length;
  const values = new Float64Array(n);
  for (let i = 0; i < n1; i++) values[i] = x[i]!;
  for (let j = 0; j < y.length; j++) values[n1 + j] = y[j]!;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranksX = new Float64Array(n1);
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && values[order[j]!] === values[order[i]!]) j++;
    const t = j - i;
    // Positions i..j-1 (0-based) share the average of ranks i+1..j.
    const avg = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      const idx = order[k]!;
      if (idx < n1) ranksX[idx] = avg;
    }
    if (t > 1) tieTerm += t * t * t - t;
    i = j;
  }
  return { ranksX, tieTerm };
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
  const { ranksX, tieTerm } = rankPooled(x, y);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranksX[i]!;
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
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
 * to the tiny result. Negative x uses erfc(−x) = 2 − erfc(x).
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
 * NumPy's default `linear` method). `sorted` must be ascending. NaN for an empty sample.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>).sort();
}

/**
 * At most this many values per side go into the Hodges-Lehmann estimate: 400² = 160,000
 * pairwise differences, sorted in tens of milliseconds on the cold tick. Larger samples
 * are thinned by an even stride, which keeps their shape.
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
  diffs.sort();
  return quantileSorted(diffs, 0.5);
}

function thin(values: ArrayLike<number>, max: number): number[] {
  const n = values.length;
  if (n <= max) return Array.from(values);
  const out: number[] = [];
  const step = n / max;
  for (let i = 0; i < max; i++) out.push(values[Math.floor(i * step)]!);
  return out;
}
