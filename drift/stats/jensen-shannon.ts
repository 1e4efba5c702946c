// Jensen-Shannon distance between two histograms over the same bins:
//   JS = √( ½ KL(p‖m) + ½ KL(q‖m) ),  m = (p + q)/2,  natural log
// — scipy.spatial.distance.jensenshannon with its default base (e), which is what
// Evidently's `jensenshannon` test calls (threshold 0.1). Ranges 0 … √ln2 ≈ 0.833.
// Empty bins need no epsilon: m > 0 wherever p or q is, and 0·ln 0 is taken as 0.
import { histogramTotals } from './special.ts';

export function jensenShannonDistance(reference: readonly number[], current: readonly number[]): number {
  const { bins: k, nRef, nCur } = histogramTotals(reference, current);
  if (nRef === 0 || nCur === 0) return Number.NaN;
  let divergence = 0;
  for (let i = 0; i < k; i++) {
    const p = (reference[i] ?? 0) / nRef;
    const q = (current[i] ?? 0) / nCur;
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log(q / m);
  }
  // Rounding can leave a divergence of −1e-17 for identical histograms.
  return Math.sqrt(Math.max(0, divergence));
}
