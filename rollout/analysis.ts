// The canary analysis: each check is a pure function of numbers the controller gathered
// for one interval, and answers pass / fail / inconclusive with the numbers it used.
// Inconclusive means "not enough evidence either way" (too few requests, no data, a
// source down); it never promotes and never rolls back (decide.ts).
import type { AnalysisSpec, Analysis, Check, CheckVerdict } from './types.ts';
import { sortedCopy } from '../common/sorted.ts';
import { hodgesLehmann, mannWhitneyU, normalSf, quantileSorted } from './stats.ts';

/** What the proxy saw of one version during the interval: split-routed requests only. */
export interface TrafficStats {
  version: string;
  requests: number;
  /** Server-side failures (see traffic.ts for which codes count). */
  errors: number;
  /** Latency sample, seconds (a uniform reservoir sample when there were many requests). */
  latencies: readonly number[];
  /** Requests that pinned this version (the client chose it): reported, never judged. */
  pinned?: { requests: number; errors: number };
}

/** One SLO's burn rate for the canary over the analysis window (slo/ SloEngine.burnRate). */
export interface BurnReading {
  slo: string;
  windowMs: number;
  bad: number;
  total: number;
  burnRate: number | null;
}

/** The drift area's comparison of canary and stable (predictions and inputs). */
export interface DriftComparison {
  verdict: 'pass' | 'drift' | 'inconclusive';
  reason: string;
  values?: Record<string, number | string | boolean | null>;
}

/** Labelled prediction rows of one version over the analysis window (truth/). */
export interface AccuracyCounts {
  labelled: number;
  correct: number;
}

const round = (x: number, digits = 6): number => (Number.isFinite(x) ? Number(x.toPrecision(digits)) : x);
const num = (x: number): number | null => (Number.isFinite(x) ? round(x) : null);

/** The canary must have served enough split-routed requests for anything to be concluded. */
export function checkTraffic(canary: TrafficStats, minRequests: number): Check {
  const values = { canaryRequests: canary.requests, minRequests, canaryPinnedRequests: canary.pinned?.requests ?? 0 };
  const pinned = canary.pinned?.requests ? ` (and ${canary.pinned.requests} pinned requests, not judged)` : '';
  if (canary.requests < minRequests) {
    return { name: 'traffic', verdict: 'inconclusive', reason: `canary ${canary.version} served ${canary.requests} requests, fewer than minRequests ${minRequests}; only split-routed requests count${pinned}`, values };
  }
  return { name: 'traffic', verdict: 'pass', reason: `canary served ${canary.requests} split-routed requests${pinned}`, values };
}

/**
 * The canary's own SLOs over the short window: fail when any SLO with at least
 * `minEvents` events burns its budget faster than `maxBurnRate`.
 */
export function checkSloBurn(readings: readonly BurnReading[], maxBurnRate: number, minEvents: number): Check {
  const values: Check['values'] = { maxBurnRate, minEvents };
  const enough = readings.filter((r) => r.total >= minEvents && r.burnRate !== null);
  for (const r of readings) {
    values[`${r.slo}.burnRate`] = r.burnRate === null ? null : round(r.burnRate);
    values[`${r.slo}.total`] = r.total;
  }
  const burning = enough.filter((r) => r.burnRate! > maxBurnRate);
  if (burning.length > 0) {
    const worst = burning.reduce((a, b) => (b.burnRate! > a.burnRate! ? b : a));
    return { name: 'slo-burn', verdict: 'fail', reason: `SLO ${worst.slo} burns at ${round(worst.burnRate!, 3)}x, above ${maxBurnRate}x (${worst.bad}/${worst.total} bad)`, values };
  }
  if (enough.length === 0) {
    return { name: 'slo-burn', verdict: 'inconclusive', reason: `no SLO of the canary has ${minEvents} events in the window`, values };
  }
  return { name: 'slo-burn', verdict: 'pass', reason: `every SLO burns at or below ${maxBurnRate}x`, values };
}

/**
 * Canary against stable error ratio: fail when the canary's ratio exceeds stable's by more
 * than `maxIncrease` (a fraction: 0.01 = one percentage point). Both sides need
 * `minRequests`; a stable side with too few is inconclusive (the controller substitutes
 * the last stable window that had enough, e.g. at a 100% step).
 */
export function checkErrorRatio(canary: TrafficStats, stable: TrafficStats, maxIncrease: number, minRequests: number): Check {
  const cr = canary.requests > 0 ? canary.errors / canary.requests : NaN;
  const sr = stable.requests > 0 ? stable.errors / stable.requests : NaN;
  const values = {
    canaryErrors: canary.errors,
    canaryRequests: canary.requests,
    canaryErrorRatio: num(cr),
    stableErrors: stable.errors,
    stableRequests: stable.requests,
    stableErrorRatio: num(sr),
    difference: num(cr - sr),
    maxIncrease,
  };
  if (canary.requests < minRequests || stable.requests < minRequests) {
    return { name: 'error-ratio', verdict: 'inconclusive', reason: `too few requests to compare error ratios (canary ${canary.requests}, stable ${stable.requests}, need ${minRequests} each)`, values };
  }
  if (cr - sr > maxIncrease) {
    return { name: 'error-ratio', verdict: 'fail', reason: `canary error ratio ${pct(cr)} is ${pct(cr - sr)} above stable's ${pct(sr)} (allowed ${pct(maxIncrease)})`, values };
  }
  return { name: 'error-ratio', verdict: 'pass', reason: `canary error ratio ${pct(cr)} vs stable ${pct(sr)}`, values };
}

const pct = (x: number): string => `${round(x * 100, 3)}%`;
const ms = (s: number): string => `${round(s * 1000, 4)}ms`;

/**
 * The p99 rule needs this many samples on each side: below 100 values the "p99" is the
 * sample maximum, one stray request (a GC pause on a busy machine). The Mann-Whitney test
 * judges smaller samples on their whole distribution.
 */
export const P99_MIN_SAMPLES = 100;

export interface LatencyOptions {
  maxP99Ratio: number;
  /** Significance level of the one-sided Mann-Whitney test. */
  alpha: number;
  /** Relative shift (Hodges-Lehmann / stable median) a significant result must exceed to fail. */
  tolerance: number;
  /** Absolute differences below this (seconds) never fail: fast models jitter by multiples. */
  minDeltaSeconds: number;
  minSamples: number;
}

/**
 * Latency, canary against stable, two ways:
 * - p99 ratio: the tail Flagger's `request-duration` check looks at, relative to stable.
 * - Kayenta's judge approach (kayenta-judge MannWhitneyClassifier.scala): a Mann-Whitney
 *   U test on the samples, classified "high" only when it is significant AND the
 *   Hodges-Lehmann shift is a meaningful fraction (`tolerance`) of the baseline. Kayenta
 *   bands on the confidence interval of the shift; here the point estimate with a
 *   one-sided p-value, which needs no interval inversion and asks the same question.
 * Either one failing fails the check; both need `minDeltaSeconds` of absolute difference,
 * and the p99 rule needs P99_MIN_SAMPLES per side.
 */
export function checkLatency(canary: TrafficStats, stable: TrafficStats, o: LatencyOptions): Check {
  const c = sortedCopy(canary.latencies);
  const s = sortedCopy(stable.latencies);
  const values: Check['values'] = { canarySamples: c.length, stableSamples: s.length, maxP99Ratio: o.maxP99Ratio, alpha: o.alpha, tolerance: o.tolerance };
  if (c.length < o.minSamples || s.length < o.minSamples) {
    return { name: 'latency', verdict: 'inconclusive', reason: `too few latency samples (canary ${c.length}, stable ${s.length}, need ${o.minSamples} each)`, values };
  }
  const p99c = quantileSorted(c, 0.99);
  const p99s = quantileSorted(s, 0.99);
  const medC = quantileSorted(c, 0.5);
  const medS = quantileSorted(s, 0.5);
  // A zero stable p99 (clock resolution) must not make the ratio infinite.
  const ratio = p99c / Math.max(p99s, 1e-9);
  const mw = mannWhitneyU(c, s, 'greater');
  const shift = hodgesLehmann(c, s);
  const relShift = shift / Math.max(medS, 1e-9);
  Object.assign(values, {
    canaryP99: num(p99c),
    stableP99: num(p99s),
    p99Ratio: num(ratio),
    canaryMedian: num(medC),
    stableMedian: num(medS),
    u: mw.u,
    z: num(mw.z),
    pValue: num(mw.pValue),
    shift: num(shift),
    relativeShift: num(relShift),
  });
  const reasons: string[] = [];
  const tailJudged = c.length >= P99_MIN_SAMPLES && s.length >= P99_MIN_SAMPLES;
  values['p99Judged'] = tailJudged;
  if (tailJudged && ratio > o.maxP99Ratio && p99c - p99s > o.minDeltaSeconds) {
    reasons.push(`p99 ${ms(p99c)} is ${round(ratio, 3)}x stable's ${ms(p99s)} (allowed ${o.maxP99Ratio}x)`);
  }
  if (mw.pValue < o.alpha && relShift > o.tolerance && shift > o.minDeltaSeconds) {
    reasons.push(`latencies are higher (Mann-Whitney p=${round(mw.pValue, 3)} < ${o.alpha}; median shift ${ms(shift)}, ${pct(relShift)} of stable's median)`);
  }
  if (reasons.length > 0) return { name: 'latency', verdict: 'fail', reason: reasons.join('; '), values };
  return { name: 'latency', verdict: 'pass', reason: `p99 ${ms(p99c)} vs stable ${ms(p99s)}; Mann-Whitney p=${round(mw.pValue, 3)}`, values };
}

/** Drift between the versions, as the drift area judged it. A source that failed is inconclusive. */
export function checkDrift(result: DriftComparison | { error: string }): Check {
  if ('error' in result) return { name: 'drift', verdict: 'inconclusive', reason: `drift source unavailable: ${result.error}`, values: {} };
  const verdict: CheckVerdict = result.verdict === 'drift' ? 'fail' : result.verdict;
  return { name: 'drift', verdict, reason: result.reason, values: result.values ?? {} };
}

export interface AccuracyOptions {
  minLabels: number;
  /** Significance level of the one-sided test. */
  alpha: number;
  /** Accuracy (a fraction) the canary may lose before a significant difference fails. */
  maxDecrease: number;
}

/**
 * Labelled accuracy, canary against stable: a one-sided two-proportion z-test with the
 * pooled proportion (statsmodels proportions_ztest), H1 = the canary is less accurate.
 * Fails when significant at `alpha` and the difference exceeds `maxDecrease`; inconclusive
 * while either side has fewer than `minLabels` labelled rows (labels come late: the
 * window may hold none yet), or a source failed.
 */
export function checkAccuracy(result: { canary: AccuracyCounts; stable: AccuracyCounts } | { error: string }, o: AccuracyOptions): Check {
  if ('error' in result) return { name: 'accuracy', verdict: 'inconclusive', reason: `accuracy source unavailable: ${result.error}`, values: {} };
  const { canary: c, stable: s } = result;
  const pc = c.labelled > 0 ? c.correct / c.labelled : NaN;
  const ps = s.labelled > 0 ? s.correct / s.labelled : NaN;
  const values: Check['values'] = { canaryLabelled: c.labelled, canaryAccuracy: num(pc), stableLabelled: s.labelled, stableAccuracy: num(ps), minLabels: o.minLabels, alpha: o.alpha, maxDecrease: o.maxDecrease };
  if (c.labelled < o.minLabels || s.labelled < o.minLabels) {
    return { name: 'accuracy', verdict: 'inconclusive', reason: `too few labelled predictions to compare accuracy (canary ${c.labelled}, stable ${s.labelled}, need ${o.minLabels} each)`, values };
  }
  const pooled = (c.correct + s.correct) / (c.labelled + s.labelled);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / c.labelled + 1 / s.labelled));
  const diff = ps - pc;
  // Both sides all right (or all wrong): no variance, no evidence of a difference.
  const z = se > 0 ? diff / se : 0;
  const pValue = se > 0 ? normalSf(z) : 1;
  Object.assign(values, { z: num(z), pValue: num(pValue), difference: num(diff) });
  if (pValue < o.alpha && diff > o.maxDecrease) {
    return { name: 'accuracy', verdict: 'fail', reason: `canary accuracy ${pct(pc)} is below stable's ${pct(ps)} (z=${round(z, 3)}, p=${round(pValue, 3)} < ${round(o.alpha, 3)}; ${c.labelled} and ${s.labelled} labels)`, values };
  }
  return { name: 'accuracy', verdict: 'pass', reason: `canary accuracy ${pct(pc)} vs stable ${pct(ps)} (p=${round(pValue, 3)})`, values };
}

/** One failing check fails the analysis; otherwise one inconclusive check makes it inconclusive. */
export function combine(checks: readonly Check[]): CheckVerdict {
  if (checks.some((c) => c.verdict === 'fail')) return 'fail';
  if (checks.length === 0 || checks.some((c) => c.verdict === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

/** Everything the controller gathered for one interval. `burn`/`drift` are absent when not configured. */
export interface AnalysisInputs {
  atMs: number;
  windowMs: number;
  canary: TrafficStats;
  stable: TrafficStats;
  burn?: readonly BurnReading[] | { error: string };
  drift?: DriftComparison | { error: string };
  accuracy?: { canary: AccuracyCounts; stable: AccuracyCounts } | { error: string };
}

/** Runs every enabled check of the spec on one interval's inputs. */
export function analyze(spec: AnalysisSpec, minRequests: number, inputs: AnalysisInputs): Analysis {
  const checks: Check[] = [checkTraffic(inputs.canary, minRequests)];
  const notes: string[] = [];
  if (spec.slo.enabled) {
    if (inputs.burn === undefined) notes.push('slo-burn: no SLO engine attached');
    else if ('error' in inputs.burn) checks.push({ name: 'slo-burn', verdict: 'inconclusive', reason: `SLO source unavailable: ${inputs.burn.error}`, values: {} });
    else if (inputs.burn.length === 0) notes.push('slo-burn: no SLO covers this model');
    else checks.push(checkSloBurn(inputs.burn, spec.slo.maxBurnRate, spec.slo.minEvents));
  }
  if (spec.errors.enabled) checks.push(checkErrorRatio(inputs.canary, inputs.stable, spec.errors.maxIncrease, minRequests));
  if (spec.latency.enabled) checks.push(checkLatency(inputs.canary, inputs.stable, spec.latency));
  if (spec.drift.enabled) {
    if (inputs.drift === undefined) notes.push('drift: no drift source attached');
    else checks.push(checkDrift(inputs.drift));
  }
  if (spec.accuracy?.enabled) {
    if (inputs.accuracy === undefined) notes.push('accuracy: no labels source attached (truth: section)');
    else checks.push(checkAccuracy(inputs.accuracy, spec.accuracy));
  }
  const pinned = pinnedNote(inputs.canary, inputs.stable);
  if (pinned) notes.push(pinned);
  return { verdict: combine(checks), atMs: inputs.atMs, windowMs: inputs.windowMs, checks, notes };
}

/** Pinned traffic, reported beside the analysis (never judged): it is the clients' choice. */
export function pinnedNote(canary: TrafficStats, stable: TrafficStats): string | undefined {
  const c = canary.pinned ?? { requests: 0, errors: 0 };
  const s = stable.pinned ?? { requests: 0, errors: 0 };
  if (c.requests === 0 && s.requests === 0) return undefined;
  return `pinned requests (clients named the version; counted in metrics and SLOs, not judged here): canary ${canary.version} ${c.requests} (${c.errors} server errors), stable ${stable.version} ${s.requests} (${s.errors} server errors)`;
}
