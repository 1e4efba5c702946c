// Quantile bins shared by baselines and live sketches. A numeric baseline stores the
// interior cut points of its quantile bins; live traffic is counted into the same bins, so
// PSI / Jensen-Shannon / chi-square compare like with like and counts merge by addition.
/**
 * Interior cut points at the k/bins quantiles (k = 1 … bins−1) of an ascending sample.
 * Each cut point is an observed value — the lower order statistic, numpy.quantile's
 * method='lower' — not an interpolation between two (numpy's default, and
 * simple-statistics' quantileSorted): for a discrete feature an interpolated cut (0.2
 * between 0 and 1) would make a bin no value can fall in. Repeated cut points are dropped,
 * so failed_logins (mostly 0) gets one bin per value.
 */
export function quantileEdges(sorted: ArrayLike<number>, bins: number): number[] {
  const n = sorted.length;
  if (n === 0) return [];
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const q = sorted[Math.floor(((n - 1) * k) / bins)]!;
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
  }
  return edges;
}

/**
 * Bin of x: bin k holds edges[k−1] < x <= edges[k] (right-closed, open-ended at both
 * extremes), so there are edges.length + 1 bins. Right-closed keeps a discrete value that
 * equals a cut point in the bin of its own value.
 */
export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function binCounts(edges: readonly number[], values: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) counts[binIndex(edges, values[i]!)]!++;
  return counts;
}

export function sameEdges(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
