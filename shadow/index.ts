// Knowing a candidate is right, not only fast: pairwise comparison of answers to the same
// request (shadow traffic, replay), request capture, and the replay runner.
export { Comparison, COMPARE_DEFAULTS, judgeDivergence } from './compare.ts';
export type { CompareSettings, OutputRule, OutputKind, ComparisonSummary, ColumnSummary, Quantiles, PairResult, DivergenceThresholds, DivergenceVerdict } from './compare.ts';
