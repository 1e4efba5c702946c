// Sorting numbers for order statistics (quantiles, ranks, KS, Wasserstein).

/** An ascending copy of `values`; the input is left as it is. A Float64Array sorts numerically. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}
