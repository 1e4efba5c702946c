// Chi-square test of homogeneity for two samples of a categorical variable: the 2×k
// contingency table (reference counts, current counts) — what
// scipy.stats.chi2_contingency([ref, cur], correction=False) computes.
//
// Evidently's `chisquare` is a goodness-of-fit test with the reference as the expected
// frequencies (evidently legacy/calculations/stattests/chisquare_stattest.py). That gives
// an infinite statistic for a category the reference never saw, and it ignores the
// reference's own sampling noise; the homogeneity test handles both. No Yates correction:
// it is only defined for 2×2 and makes the 2-category case disagree with the k-category one.
import { chiSquareSurvival, histogramTotals } from './special.ts';

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  /** Degrees of freedom: (categories seen in either sample) − 1. */
  df: number;
}

/** `reference[i]` and `current[i]` count the same category i. */
export function chiSquareTwoSample(reference: readonly number[], current: readonly number[]): ChiSquareResult {
  const { bins: k, nRef, nCur } = histogramTotals(reference, current);
  const total = nRef + nCur;
  if (nRef === 0 || nCur === 0) return { statistic: Number.NaN, pValue: Number.NaN, df: 0 };
  let statistic = 0;
  let used = 0;
  for (let i = 0; i < k; i++) {
    const r = reference[i] ?? 0;
    const c = current[i] ?? 0;
    const column = r + c;
    // A category neither sample has carries no information (and would divide by zero).
    if (column === 0) continue;
    used++;
    const expectedRef = (nRef * column) / total;
    const expectedCur = (nCur * column) / total;
    statistic += (r - expectedRef) ** 2 / expectedRef + (c - expectedCur) ** 2 / expectedCur;
  }
  const df = used - 1;
  if (df < 1) return { statistic: 0, pValue: 1, df: 0 };
  return { statistic, pValue: chiSquareSurvival(statistic, df), df };
}
