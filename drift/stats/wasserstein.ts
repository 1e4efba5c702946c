// First Wasserstein distance between two samples, normed by the reference's standard
// deviation — Evidently's `wasserstein` test (evidently legacy/calculations/stattests/
// wasserstein_distance_norm.py: scipy.stats.wasserstein_distance / max(np.std(ref), 0.001),
// drift at >= 0.1). W1 of two empirical distributions is ∫|F_a − F_b| dx, summed exactly
// between consecutive values of the merged samples.
import { sortedCopy } from '../../common/sorted.ts';

/** Smallest divisor, so a constant reference does not divide by zero (Evidently's 0.001). */
export const WASSERSTEIN_MIN_NORM = 0.001;

export function wassersteinDistance(a: ArrayLike<number>, b: ArrayLike<number>, opts: { aSorted?: boolean; bSorted?: boolean } = {}): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return Number.NaN;
  const x = opts.aSorted ? a : sortedCopy(a);
  const y = opts.bSorted ? b : sortedCopy(b);
  let i = 0;
  let j = 0;
  let prev = Math.min(x[0]!, y[0]!);
  let total = 0;
  while (i < n || j < m) {
    const next = j >= m || (i < n && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    total += Math.abs(i / n - j / m) * (next - prev);
    while (i < n && x[i]! === next) i++;
    while (j < m && y[j]! === next) j++;
    prev = next;
  }
  return total;
}

/** W1 / population standard deviation of the reference (np.std, ddof 0). */
export function normedWasserstein(reference: ArrayLike<number>, current: ArrayLike<number>, opts: { aSorted?: boolean; bSorted?: boolean } = {}): number {
  const n = reference.length;
  if (n === 0 || current.length === 0) return Number.NaN;
  let mean = 0;
  for (let k = 0; k < n; k++) mean += reference[k]!;
  mean /= n;
  let ss = 0;
  for (let k = 0; k < n; k++) ss += (reference[k]! - mean) ** 2;
  return wassersteinDistance(reference, current, opts) / Math.max(Math.sqrt(ss / n), WASSERSTEIN_MIN_NORM);
}
