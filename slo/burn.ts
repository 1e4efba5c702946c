// Burn-rate arithmetic as functions of counts. The generated Prometheus rules compute the
// same quantities in the same order (bad / total, then compare with factor × (1 − objective)),
// so in-process and Prometheus decisions agree to the last bit (see test/slo/parity.test.ts).

export interface WindowCounts {
  windowMs: number;
  bad: number;
  total: number;
}

/** bad / total, or null when there is no traffic (0/0 is "no data", not "healthy"). */
export function errorRatio(bad: number, total: number): number | null {
  return total > 0 ? bad / total : null;
}

/**
 * How many times faster than "exactly on budget" the budget is being spent: 1 spends the
 * whole budget in one period. (SRE Workbook, "Alerting on SLOs", burn rate.)
 */
export function burnRate(ratio: number | null, objective: number): number | null {
  return ratio === null ? null : ratio / (1 - objective);
}

/** The error ratio above which a window burns faster than `factor`. */
export function ratioThreshold(factor: number, objective: number): number {
  return factor * (1 - objective);
}

export type PairState = 'burning' | 'ok' | 'inconclusive';

/**
 * One multiwindow condition: both windows above the threshold, and both with at least
 * `minEvents` events so that one failure out of two requests at night does not page
 * (the low-traffic problem of slok/sloth#666). Too few events is inconclusive, not ok.
 */
export function pairState(long: WindowCounts, short: WindowCounts, factor: number, objective: number, minEvents: number): PairState {
  const lr = errorRatio(long.bad, long.total);
  const sr = errorRatio(short.bad, short.total);
  if (lr === null || sr === null || long.total < minEvents || short.total < minEvents) return 'inconclusive';
  const threshold = ratioThreshold(factor, objective);
  return lr > threshold && sr > threshold ? 'burning' : 'ok';
}

/**
 * Share of the period's error budget left: 1 untouched, 0 spent, negative overspent;
 * null without traffic.
 */
export function budgetRemaining(bad: number, total: number, objective: number): number | null {
  const ratio = errorRatio(bad, total);
  return ratio === null ? null : 1 - ratio / (1 - objective);
}

/**
 * A verdict from one window's counts, for rollout analysis: fail above `maxBurnRate`,
 * inconclusive below `minEvents` events (no data never passes), pass otherwise.
 */
export function burnVerdict(bad: number, total: number, objective: number, maxBurnRate: number, minEvents: number): 'pass' | 'fail' | 'inconclusive' {
  const rate = burnRate(errorRatio(bad, total), objective);
  if (rate === null || total < minEvents) return 'inconclusive';
  return rate > maxBurnRate ? 'fail' : 'pass';
}
