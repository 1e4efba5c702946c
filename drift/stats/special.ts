// Special functions behind the p-values: the chi-square survival function (through the
// regularized upper incomplete gamma function) and the Kolmogorov distribution. Written
// from the textbook series (Press et al., Numerical Recipes 3rd ed., §6.2 gser/gcf and
// §14.3.3 the Kolmogorov-Smirnov distribution); `gammaln` (Lanczos) is simple-statistics'.
import { gammaln } from 'simple-statistics';

/** Iterations after which the series/continued fraction is taken as converged (NR uses 100s; both converge in < 100 for a < 1e4). */
const MAX_ITERATIONS = 10_000;
/** Relative accuracy asked of the series and the continued fraction: a few ulps of a double. */
const EPS = 1e-15;
/** Smallest number the continued fraction divides by (Lentz's method, NR §5.2). */
const TINY = 1e-300;

/** Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function. */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0) || !Number.isFinite(a)) return Number.NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  // The series converges fast below a + 1, the continued fraction above (NR §6.2).
  return x < a + 1 ? 1 - lowerSeries(a, x) : upperContinuedFraction(a, x);
}

/** P(a, x) by its power series. */
function lowerSeries(a: number, x: number): number {
  let ap = a;
  let sum = 1 / a;
  let del = sum;
  for (let n = 0; n < MAX_ITERATIONS; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - gammaln(a));
}

/** Q(a, x) by its continued fraction, evaluated with the modified Lentz method. */
function upperContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - gammaln(a)) * h;
}

/** P(X >= x) for X ~ chi-square with `df` degrees of freedom (scipy.stats.chi2.sf). */
export function chiSquareSurvival(x: number, df: number): number {
  if (!(df > 0)) return Number.NaN;
  if (!(x > 0)) return 1;
  return regularizedGammaQ(df / 2, x / 2);
}

/**
 * Q_KS(λ) = P(K > λ) for the limiting Kolmogorov distribution (scipy.special.kolmogorov).
 * Two series, each used where it converges in a few terms (NR §14.3.3, eq. 14.3.7–14.3.9).
 */
export function kolmogorovSurvival(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1.18) {
    // P(K <= λ) = √(2π)/λ · Σ_{k>=1} exp(−(2k−1)²π²/(8λ²))
    const y = Math.exp((-Math.PI * Math.PI) / (8 * lambda * lambda));
    const cdf = (Math.sqrt(2 * Math.PI) / lambda) * (y + y ** 9 + y ** 25 + y ** 49);
    return Math.min(1, Math.max(0, 1 - cdf));
  }
  // Q = 2 Σ_{k>=1} (−1)^{k−1} exp(−2k²λ²)
  const x = Math.exp(-2 * lambda * lambda);
  return Math.min(1, Math.max(0, 2 * (x - x ** 4 + x ** 9 - x ** 16)));
}

/** Two count histograms over the same bins: how many bins either has, and each side's total. */
export function histogramTotals(reference: readonly number[], current: readonly number[]): { bins: number; nRef: number; nCur: number } {
  const bins = Math.max(reference.length, current.length);
  let nRef = 0;
  let nCur = 0;
  for (let i = 0; i < bins; i++) {
    nRef += reference[i] ?? 0;
    nCur += current[i] ?? 0;
  }
  return { bins, nRef, nCur };
}
