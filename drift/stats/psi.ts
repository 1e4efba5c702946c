// Population Stability Index over shared bins:
//   PSI = Σ (a_i − e_i) · ln(a_i / e_i),  e = reference share, a = current share.
// Conventional reading (Alibaba PAI docs; R scorecard::perf_psi): < 0.1 stable,
// 0.1–0.25 moderate shift, > 0.25 major shift. Our default drift threshold is 0.2.

import { histogramTotals } from './special.ts';

/**
 * Share given to a bin that is empty on one side, so ln(a/e) stays finite. 1e-4 is the
 * value Evidently substitutes (legacy/calculations/stattests/utils.py get_binned_data,
 * when the smallest non-empty share is above 1e-4). With 10 bins, one bin that holds 10%
 * on one side and nothing on the other contributes 0.1·ln(0.1/1e-4) ≈ 0.69 on its own,
 * so an emptied or newly filled bin always reads as drift. Shares are not renormalized
 * after the substitution (Evidently does not either).
 */
export const PSI_EMPTY_BIN_SHARE = 1e-4;

export function psi(reference: readonly number[], current: readonly number[], epsilon = PSI_EMPTY_BIN_SHARE): number {
  const { bins: k, nRef, nCur } = histogramTotals(reference, current);
  if (nRef === 0 || nCur === 0) return Number.NaN;
  let total = 0;
  for (let i = 0; i < k; i++) {
    const e = (reference[i] ?? 0) / nRef || epsilon;
    const a = (current[i] ?? 0) / nCur || epsilon;
    total += (a - e) * Math.log(a / e);
  }
  return total;
}
