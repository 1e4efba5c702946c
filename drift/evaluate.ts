// The pure core: compare a feature's current distribution with a reference one and turn
// per-feature results into a model-version verdict. No clocks, no I/O: values in, values out.
import type { DriftConfig, DriftMethod, FeatureConfig, FeatureKind } from './config.ts';
import { binCounts, quantileEdges } from './bins.ts';
import { chiSquareTwoSample, jensenShannonDistance, ksTwoSample, normedWasserstein, psi } from './stats/index.ts';
import { sortedCopy } from '../common/sorted.ts';

/** A numeric distribution as the comparison sees it: a baseline profile or a live sketch. */
export interface NumericSide {
  kind: 'numeric';
  count: number;
  sample: ArrayLike<number>;
  /** The same sample in ascending order, when the side keeps one (baselines do: sorted once, reused every evaluation). */
  sortedSample?: Float64Array;
  /** Bins and exact counts in them, when this side has them. */
  edges?: readonly number[];
  counts?: readonly number[];
  /** Distinct values (capped); undefined = count them in the sample. */
  distinct?: number;
}

export interface CategoricalSide {
  kind: 'categorical';
  count: number;
  categories: ReadonlyMap<string, number>;
}

export type Side = NumericSide | CategoricalSide;

/** The method chosen and what it measured, plus every other score cheap enough to report. */
export interface FeatureResult {
  feature: string;
  kind: FeatureKind;
  /** The method whose result decides `drifted`. */
  method: Exclude<DriftMethod, 'auto'>;
  /** The deciding number: the p-value for ks/chisquare, the distance for psi/js. */
  score: number;
  /** Drift when score < threshold (p-values) or score >= threshold (distances). */
  threshold: number;
  /** null = not decided (too few values, or a NaN). */
  drifted: boolean | null;
  /** All scores computed, by method: psi, js, wasserstein (distances), ks (D statistic), ks_p, chisquare (statistic), chisquare_p. */
  scores: Record<string, number>;
  referenceCount: number;
  currentCount: number;
  reason?: string;
}

export type Verdict = 'pass' | 'drift' | 'inconclusive';

export interface ModelVerdictResult {
  verdict: Verdict;
  reason: string;
  /** Test level each p-value was compared against (alpha / m under Bonferroni). */
  alpha: number;
  driftedFeatures: string[];
  features: FeatureResult[];
}

export interface CompareSettings {
  thresholds: DriftConfig['thresholds'];
  bins: number;
  smallReferenceRows: number;
  minSamples: number;
}

/** Number of distinct values at or below which a numeric feature is treated as discrete (Evidently: 5). */
const DISCRETE_MAX_DISTINCT = 5;

/**
 * The default method, after Evidently's `_get_default_stattest`
 * (evidently legacy/calculations/stattests/registry.py): with ≤ 1000 reference rows,
 * KS for numeric features with > 5 distinct values, chi-square for categorical and
 * low-cardinality ones (Evidently uses a Z-test for 2 values: the same test as a 2×2
 * chi-square without continuity correction, z² = χ²). Above 1000 rows, distances, because
 * tests flag practically irrelevant shifts at large N (evidently#50): Jensen-Shannon for
 * categories and, where Evidently uses normed Wasserstein for continuous values, Jensen-
 * Shannon over the baseline's quantile bins — the bins are what the streaming state keeps
 * exactly; a Wasserstein distance has to come from the reservoir, and between two
 * 1000-value samples it crossed its 0.1 threshold in 6 of 100 clean samples where JS
 * crossed in none (test/drift/detection.test.ts). `method: wasserstein` stays available.
 */
export function chooseMethod(kind: FeatureKind, referenceRows: number, distinct: number, smallReferenceRows: number): Exclude<DriftMethod, 'auto'> {
  if (referenceRows <= smallReferenceRows) {
    if (kind === 'categorical' || distinct <= DISCRETE_MAX_DISTINCT) return 'chisquare';
    return 'ks';
  }
  return 'js';
}

/** The method that decides a feature: the configured one, or `chooseMethod` for `auto`. */
export function resolveMethod(feature: FeatureConfig, reference: Side, s: Pick<CompareSettings, 'smallReferenceRows'>): Exclude<DriftMethod, 'auto'> {
  if (feature.method !== 'auto') {
    // Config validation rejects sample-based methods on categories; a baseline that disagrees with the config falls back.
    return reference.kind === 'categorical' && (feature.method === 'ks' || feature.method === 'wasserstein') ? 'chisquare' : feature.method;
  }
  const distinct = reference.kind === 'numeric' ? (reference.distinct ?? countDistinct(reference.sample)) : reference.categories.size;
  return chooseMethod(reference.kind, reference.count, distinct, s.smallReferenceRows);
}

export function compareFeature(feature: FeatureConfig, reference: Side, current: Side, s: CompareSettings, alpha: number): FeatureResult {
  const base = { feature: feature.name, kind: feature.kind, referenceCount: reference.count, currentCount: current.count };
  const scores: Record<string, number> = {};
  let method: Exclude<DriftMethod, 'auto'>;
  if (reference.kind === 'numeric' && current.kind === 'numeric') {
    method = resolveMethod(feature, reference, s);
    const { ref, cur } = numericHistograms(reference, current, s.bins);
    scores['psi'] = psi(ref, cur);
    scores['js'] = jensenShannonDistance(ref, cur);
    const chi = chiSquareTwoSample(ref, cur);
    scores['chisquare'] = chi.statistic;
    scores['chisquare_p'] = chi.pValue;
    if (reference.sample.length > 0 && current.sample.length > 0) {
      // Each sample sorted once for both sample-based statistics (the baseline's is cached).
      const ref = reference.sortedSample ?? sortedCopy(reference.sample);
      const cur = sortedCopy(current.sample);
      const ks = ksTwoSample(ref, cur, { aSorted: true, bSorted: true });
      scores['ks'] = ks.statistic;
      scores['ks_p'] = ks.pValue;
      scores['wasserstein'] = normedWasserstein(ref, cur, { aSorted: true, bSorted: true });
    }
  } else if (reference.kind === 'categorical' && current.kind === 'categorical') {
    method = resolveMethod(feature, reference, s);
    const { ref, cur } = categoricalHistograms(reference.categories, current.categories);
    scores['psi'] = psi(ref, cur);
    scores['js'] = jensenShannonDistance(ref, cur);
    const chi = chiSquareTwoSample(ref, cur);
    scores['chisquare'] = chi.statistic;
    scores['chisquare_p'] = chi.pValue;
  } else {
    return { ...base, method: 'js', score: Number.NaN, threshold: s.thresholds.js, drifted: null, scores, reason: `baseline has this feature as ${reference.kind}, config says ${current.kind}; rebuild the baseline` };
  }
  const isTest = method === 'ks' || method === 'chisquare';
  const score = isTest ? (scores[`${method}_p`] ?? Number.NaN) : (scores[method] ?? Number.NaN);
  const threshold = method === 'ks' || method === 'chisquare' ? alpha : s.thresholds[method];
  if (current.count < s.minSamples) {
    return { ...base, method, score, threshold, drifted: null, scores, reason: `${current.count} values < minSamples ${s.minSamples}` };
  }
  if (!Number.isFinite(score)) return { ...base, method, score, threshold, drifted: null, scores, reason: `${method} is undefined for these data` };
  return { ...base, method, score, threshold, drifted: isTest ? score < threshold : score >= threshold, scores };
}

/** Histograms of both sides over the reference's bins: exact counts where a side has them, else binned from its sample. */
function numericHistograms(reference: NumericSide, current: NumericSide, bins: number): { ref: readonly number[]; cur: readonly number[] } {
  const edges = reference.edges ?? quantileEdges(sortedCopy(reference.sample), bins);
  const ref = reference.edges && reference.counts ? reference.counts : binCounts(edges, reference.sample);
  const cur = current.counts && current.edges && sameArray(current.edges, edges) ? current.counts : binCounts(edges, current.sample);
  return { ref, cur };
}

function categoricalHistograms(reference: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>): { ref: number[]; cur: number[] } {
  const keys = [...new Set([...reference.keys(), ...current.keys()])].sort();
  return { ref: keys.map((k) => reference.get(k) ?? 0), cur: keys.map((k) => current.get(k) ?? 0) };
}

function sameArray(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function countDistinct(values: ArrayLike<number>): number {
  const seen = new Set<number>();
  for (let i = 0; i < values.length && seen.size <= DISCRETE_MAX_DISTINCT; i++) seen.add(values[i]!);
  return seen.size;
}

/**
 * The test level each feature's p-value is held to. Bonferroni (the Alibi Detect default
 * for feature-wise detectors, alibi_detect/cd/base.py): alpha / m over the m features
 * decided by a p-value, so the chance of any false alarm in a version stays ≤ alpha.
 * Distances (PSI, JS) have fixed thresholds and are not corrected.
 */
export function featureAlpha(config: Pick<DriftConfig, 'thresholds' | 'verdict'>, testedFeatures: number): number {
  const alpha = config.thresholds.pValue;
  return config.verdict.rule === 'bonferroni' ? alpha / Math.max(1, testedFeatures) : alpha;
}

/**
 * The model-version verdict: drift if any feature drifted (Bonferroni), or if at least
 * `share` of the decided features drifted (share rule, Evidently's drift_share = 0.5).
 * Inconclusive when nothing could be decided.
 */
export function modelVerdict(features: FeatureResult[], config: Pick<DriftConfig, 'thresholds' | 'verdict'>, alpha: number): ModelVerdictResult {
  const decided = features.filter((f) => f.drifted !== null);
  const driftedFeatures = decided.filter((f) => f.drifted).map((f) => f.feature);
  if (decided.length === 0) {
    const why = features.find((f) => f.reason)?.reason ?? 'no features';
    return { verdict: 'inconclusive', reason: `no feature could be decided (${why})`, alpha, driftedFeatures, features };
  }
  if (config.verdict.rule === 'share') {
    const share = driftedFeatures.length / decided.length;
    const drift = share >= config.verdict.share;
    return { verdict: drift ? 'drift' : 'pass', reason: `${driftedFeatures.length}/${decided.length} features drifted (share ${config.verdict.share})`, alpha, driftedFeatures, features };
  }
  return {
    verdict: driftedFeatures.length > 0 ? 'drift' : 'pass',
    reason: driftedFeatures.length > 0 ? `drifted: ${driftedFeatures.join(', ')}` : `${decided.length} features within thresholds`,
    alpha,
    driftedFeatures,
    features,
  };
}

/** One feature's reference and current distribution; either may be missing (feature not in the baseline / no values yet). */
export interface FeaturePair {
  f: FeatureConfig;
  ref: Side | undefined;
  cur: Side | undefined;
}

/**
 * Compares every feature that has both sides and decides the model version: the Bonferroni
 * m is the number of features decided by a p-value; fewer than minSamples rows in the
 * current sample makes the whole verdict inconclusive.
 */
export function judge(pairs: readonly FeaturePair[], rows: number, config: DriftConfig): ModelVerdictResult {
  const settings: CompareSettings = { thresholds: config.thresholds, bins: config.bins, smallReferenceRows: config.smallReferenceRows, minSamples: config.minSamples };
  const usable = pairs.filter((p): p is { f: FeatureConfig; ref: Side; cur: Side } => p.ref !== undefined && p.cur !== undefined);
  const tested = usable.filter((p) => {
    const m = resolveMethod(p.f, p.ref, settings);
    return m === 'ks' || m === 'chisquare';
  }).length;
  const alpha = featureAlpha(config, tested);
  const result = modelVerdict(usable.map((p) => compareFeature(p.f, p.ref, p.cur, settings, alpha)), config, alpha);
  if (rows < config.minSamples && result.verdict !== 'inconclusive') {
    return { ...result, verdict: 'inconclusive', reason: `${rows} rows < minSamples ${config.minSamples}` };
  }
  return result;
}
