// The `rollouts:` section of modelgate.yaml → frozen RolloutSpec[]. Every problem is
// collected with its path and a fix (common/validate.ts); nothing below here sees YAML.
//
//   rollouts:
//     - model: fraud
//       canary: newest            # or a version: 2
//       stable: 1                 # optional; default: the proxy split's stable version
//       weights: [5, 25, 50, 100] # or stepWeight: 10 + maxWeight: 50 (Flagger's spelling)
//       interval: 1m
//       minRequests: 50
//       failureThreshold: 2
//       analysis:
//         slo: { maxBurnRate: 14.4, window: 1m, minEvents: 10 }
//         errors: { maxIncrease: 1 }          # percentage points above stable
//         latency: { maxP99Ratio: 2, confidence: 98, tolerance: 25, minDelta: 5ms, minSamples: 20 }
//         drift: { enabled: true }
//         accuracy: { minLabels: 200, confidence: 95, maxDecrease: 0 }   # labelled accuracy (truth:), off unless set
//       webhooks:
//         - { name: smoke, type: pre-rollout, url: "http://tests/run", timeout: 5s }
//       shadow: { share: 20, duration: 10m, minRequests: 500, compare: { maxDisagreement: 1 } }   # a first step of mirrored traffic (shadow/config.ts)
import { readShadowStep } from '../shadow/index.ts';
import { Issues, isRecord, join, readBoolean, readDuration, readNumber, readString } from '../common/index.ts';
import { suggestion } from '../common/suggest.ts';
import { WEBHOOK_TYPES } from './types.ts';
import type { AnalysisSpec, RolloutSpec, WebhookSpec, WebhookType } from './types.ts';

export const ROLLOUT_DEFAULTS = {
  // Flagger's examples analyse every minute (docs/gitbook/tutorials); one minute of traffic
  // is the unit a step is judged on.
  intervalMs: 60_000,
  // One failure in 50 requests is a 2% error ratio: fewer requests cannot tell 1% from 5%.
  minRequests: 50,
  // Flagger defaults to 1 (canary.go GetAnalysisThreshold); the issue asks that one blip
  // never rolls back, so two consecutive failed checks are needed.
  failureThreshold: 2,
  weights: [5, 25, 50, 100] as readonly number[],
  // The SRE workbook's page factor: a canary spending 2% of a 30-day budget per hour.
  maxBurnRate: 14.4,
  // slo/config.ts DEFAULT_MIN_EVENTS: fewer events than this cannot fire an alert either.
  sloMinEvents: 10,
  // Percentage points of error ratio the canary may add over stable.
  maxIncreasePoints: 1,
  // Twice stable's tail latency: Flagger's request-duration check is an absolute p99; a
  // ratio carries over between models of very different speeds.
  maxP99Ratio: 2,
  // Kayenta's judge: MannWhitneyClassifier(tolerance=0.25, confLevel=0.98) (see the
  // reference report, spinnaker/kayenta NetflixACAJudge.scala).
  confidencePercent: 98,
  tolerancePercent: 25,
  // Latency differences under 5 ms never fail: a sub-millisecond model jitters by multiples.
  minDeltaMs: 5,
  // The normal approximation of Mann-Whitney U is reasonable from ~20 per side
  // (Conover, Practical Nonparametric Statistics, §5.1).
  minSamples: 20,
  // Labelled rows per side before the accuracy check can judge: at 200 per side the z-test
  // tells 0.99 from 0.95 (power ~0.8 at alpha 0.05); closer accuracies need more labels.
  accuracyMinLabels: 200,
  accuracyConfidencePercent: 95,
  // Percentage points of accuracy the canary may lose before a significant difference fails.
  accuracyMaxDecreasePoints: 0,
  // A hook has to answer before the next tick; Flagger's webhook timeout is set per hook.
  webhookTimeoutMs: 5_000,
} as const;

const KEYS = ['model', 'canary', 'stable', 'weights', 'stepWeight', 'maxWeight', 'interval', 'minRequests', 'failureThreshold', 'analysis', 'webhooks', 'shadow'];
const ANALYSIS_KEYS = ['slo', 'errors', 'latency', 'drift', 'accuracy'];
const ACCURACY_KEYS = ['enabled', 'minLabels', 'confidence', 'maxDecrease'];
const SLO_KEYS = ['enabled', 'maxBurnRate', 'window', 'minEvents'];
const ERRORS_KEYS = ['enabled', 'maxIncrease'];
const LATENCY_KEYS = ['enabled', 'maxP99Ratio', 'confidence', 'tolerance', 'minDelta', 'minSamples'];
const DRIFT_KEYS = ['enabled'];
const WEBHOOK_KEYS = ['name', 'type', 'url', 'timeout', 'metadata'];

/** Unknown keys, with the closest known one by edit distance ("failureThreshhold" → "failureThreshold"). */
function checkKeys(raw: Record<string, unknown>, known: readonly string[], path: string, issues: Issues): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) issues.error(join(path, key), `unknown field "${key}"; ${suggestion(key, known)}`);
  }
}

export function validateRollouts(raw: unknown, path: string, issues: Issues): RolloutSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.error(path, 'must be a list of rollouts (each item starts with "- model: ...")');
    return [];
  }
  const out: RolloutSpec[] = [];
  const seen = new Map<string, number>();
  raw.forEach((item, i) => {
    const p = join(path, i);
    const spec = validateRollout(item, p, issues);
    if (!spec) return;
    const first = seen.get(spec.model);
    if (first !== undefined) {
      issues.error(join(p, 'model'), `model "${spec.model}" already has a rollout at ${join(path, first)}; one rollout per model`);
      return;
    }
    seen.set(spec.model, i);
    out.push(spec);
  });
  return Object.freeze(out) as RolloutSpec[];
}

/** Versions may be written as numbers in YAML (`stable: 1`). */
function readVersion(raw: Record<string, unknown>, key: string, path: string, issues: Issues): string | undefined {
  const v = raw[key];
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return String(v);
  return readString(raw, key, path, issues);
}

export function validateRollout(raw: unknown, path: string, issues: Issues): RolloutSpec | undefined {
  if (!isRecord(raw)) {
    issues.error(path, 'must be an object like {model: fraud, canary: newest, weights: [5, 25, 50, 100]}');
    return undefined;
  }
  checkKeys(raw, KEYS, path, issues);
  const model = readString(raw, 'model', path, issues, { required: true });
  const canaryText = readVersion(raw, 'canary', path, issues) ?? 'newest';
  const stable = readVersion(raw, 'stable', path, issues);
  if (stable !== undefined && canaryText === stable) issues.error(join(path, 'canary'), `canary and stable are both "${stable}"; the canary must be another version`);
  const weights = readWeights(raw, path, issues);
  const intervalMs = readDuration(raw, 'interval', path, issues, { default: ROLLOUT_DEFAULTS.intervalMs });
  if (intervalMs <= 0) issues.error(join(path, 'interval'), 'must be longer than 0s');
  const minRequests = readNumber(raw, 'minRequests', path, issues, { default: ROLLOUT_DEFAULTS.minRequests, min: 1, integer: true });
  const failureThreshold = readNumber(raw, 'failureThreshold', path, issues, { default: ROLLOUT_DEFAULTS.failureThreshold, min: 1, integer: true });
  if (failureThreshold === 1) issues.warn(join(path, 'failureThreshold'), 'with 1, a single failed check (one noisy interval) rolls back; 2 or more is safer');
  const analysis = readAnalysis(raw['analysis'], join(path, 'analysis'), issues);
  const webhooks = readWebhooks(raw['webhooks'], join(path, 'webhooks'), issues);
  const shadow = readShadowStep(raw['shadow'], join(path, 'shadow'), issues);
  if (model === undefined || weights === undefined) return undefined;
  return Object.freeze({
    model,
    canary: canaryText === 'newest' ? { kind: 'newest' as const } : { kind: 'version' as const, version: canaryText },
    ...(stable === undefined ? {} : { stable }),
    weights: Object.freeze(weights),
    intervalMs,
    minRequests,
    failureThreshold,
    analysis,
    webhooks,
    ...(shadow ? { shadow } : {}),
  });
}

function readWeights(raw: Record<string, unknown>, path: string, issues: Issues): number[] | undefined {
  const hasList = raw['weights'] !== undefined;
  const hasStep = raw['stepWeight'] !== undefined || raw['maxWeight'] !== undefined;
  if (hasList && hasStep) {
    issues.error(join(path, 'weights'), 'give either weights: [...] or stepWeight + maxWeight, not both');
    return undefined;
  }
  if (hasStep) {
    const step = readNumber(raw, 'stepWeight', path, issues, { required: true, min: 0.01, max: 100 });
    const max = readNumber(raw, 'maxWeight', path, issues, { required: true, min: 0.01, max: 100 });
    if (step === undefined || max === undefined) return undefined;
    if (step > max) {
      issues.error(join(path, 'stepWeight'), `stepWeight ${step} is above maxWeight ${max}`);
      return undefined;
    }
    // Flagger's stepping (pkg/controller/scheduler.go): +stepWeight per interval, capped at maxWeight.
    const out: number[] = [];
    for (let w = step; ; w += step) {
      const capped = Math.min(Number(w.toFixed(2)), max);
      out.push(capped);
      if (capped >= max) break;
    }
    return out;
  }
  if (!hasList) return [...ROLLOUT_DEFAULTS.weights];
  const list = raw['weights'];
  const p = join(path, 'weights');
  if (!Array.isArray(list) || list.length === 0) {
    issues.error(p, 'must be a non-empty list of percentages, e.g. [5, 25, 50, 100]');
    return undefined;
  }
  let ok = true;
  list.forEach((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0 || w > 100) {
      issues.error(join(p, i), `must be a percentage above 0 and at most 100, got ${JSON.stringify(w)}`);
      ok = false;
    } else if (i > 0 && w <= (list[i - 1] as number)) {
      issues.error(join(p, i), `weights must increase: ${w} follows ${JSON.stringify(list[i - 1])}`);
      ok = false;
    }
  });
  if (ok && list.every((w) => (w as number) <= 1)) issues.warn(p, `weights are percentages (0-100); [${list.join(', ')}] sends at most ${list.at(-1)}% of traffic; did you mean [${list.map((w) => (w as number) * 100).join(', ')}]?`);
  return ok ? (list as number[]) : undefined;
}

function sub(raw: unknown, path: string, keys: readonly string[], issues: Issues): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    issues.error(path, 'must be an object');
    return {};
  }
  checkKeys(raw, keys, path, issues);
  return raw;
}

function readAnalysis(raw: unknown, path: string, issues: Issues): AnalysisSpec {
  const a = sub(raw, path, ANALYSIS_KEYS, issues);
  const D = ROLLOUT_DEFAULTS;
  const slo = sub(a['slo'], join(path, 'slo'), SLO_KEYS, issues);
  const sp = join(path, 'slo');
  const errors = sub(a['errors'], join(path, 'errors'), ERRORS_KEYS, issues);
  const ep = join(path, 'errors');
  const lat = sub(a['latency'], join(path, 'latency'), LATENCY_KEYS, issues);
  const lp = join(path, 'latency');
  const drift = sub(a['drift'], join(path, 'drift'), DRIFT_KEYS, issues);
  const accuracy = readAccuracy(a['accuracy'], join(path, 'accuracy'), issues);
  let confidence = readNumber(lat, 'confidence', lp, issues, { default: D.confidencePercent, min: 0, max: 99.9999 });
  if (confidence < 50) {
    issues.error(join(lp, 'confidence'), confidence > 0 && confidence < 1 ? `is a percentage: write ${confidence * 100}, not ${confidence}` : `must be at least 50 (percent), got ${confidence}`);
    confidence = D.confidencePercent;
  }
  const tolerance = readNumber(lat, 'tolerance', lp, issues, { default: D.tolerancePercent, min: 0 });
  const maxIncrease = readNumber(errors, 'maxIncrease', ep, issues, { default: D.maxIncreasePoints, min: 0, max: 100 });
  return Object.freeze({
    slo: {
      enabled: readBoolean(slo, 'enabled', sp, issues, true),
      maxBurnRate: readNumber(slo, 'maxBurnRate', sp, issues, { default: D.maxBurnRate, min: 0 }),
      windowMs: readDuration(slo, 'window', sp, issues),
      minEvents: readNumber(slo, 'minEvents', sp, issues, { default: D.sloMinEvents, min: 1, integer: true }),
    },
    errors: { enabled: readBoolean(errors, 'enabled', ep, issues, true), maxIncrease: maxIncrease / 100 },
    latency: {
      enabled: readBoolean(lat, 'enabled', lp, issues, true),
      maxP99Ratio: readNumber(lat, 'maxP99Ratio', lp, issues, { default: D.maxP99Ratio, min: 1 }),
      alpha: 1 - confidence / 100,
      tolerance: tolerance / 100,
      minDeltaSeconds: readDuration(lat, 'minDelta', lp, issues, { default: D.minDeltaMs, allowZero: true }) / 1000,
      minSamples: readNumber(lat, 'minSamples', lp, issues, { default: D.minSamples, min: 2, integer: true }),
    },
    drift: { enabled: readBoolean(drift, 'enabled', join(path, 'drift'), issues, true) },
    accuracy,
  });
}

/** Off unless the section is there (labels arrive late; a check without them would hold every step inconclusive). */
function readAccuracy(raw: unknown, path: string, issues: Issues): AnalysisSpec['accuracy'] {
  const D = ROLLOUT_DEFAULTS;
  const present = raw !== undefined && raw !== null;
  const a = sub(raw, path, ACCURACY_KEYS, issues);
  let confidence = readNumber(a, 'confidence', path, issues, { default: D.accuracyConfidencePercent, min: 0, max: 99.9999 });
  if (confidence < 50) {
    issues.error(join(path, 'confidence'), confidence > 0 && confidence < 1 ? `is a percentage: write ${confidence * 100}, not ${confidence}` : `must be at least 50 (percent), got ${confidence}`);
    confidence = D.accuracyConfidencePercent;
  }
  return {
    enabled: readBoolean(a, 'enabled', path, issues, present),
    minLabels: readNumber(a, 'minLabels', path, issues, { default: D.accuracyMinLabels, min: 1, integer: true }),
    alpha: 1 - confidence / 100,
    maxDecrease: readNumber(a, 'maxDecrease', path, issues, { default: D.accuracyMaxDecreasePoints, min: 0, max: 100 }) / 100,
  };
}

function readWebhooks(raw: unknown, path: string, issues: Issues): WebhookSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.error(path, 'must be a list of webhooks (each "- {name, type, url}")');
    return [];
  }
  const out: WebhookSpec[] = [];
  raw.forEach((item, i) => {
    const p = join(path, i);
    if (!isRecord(item)) {
      issues.error(p, 'must be an object like {name: smoke, type: pre-rollout, url: "http://..."}');
      return;
    }
    checkKeys(item, WEBHOOK_KEYS, p, issues);
    const name = readString(item, 'name', p, issues, { required: true });
    const type = readString(item, 'type', p, issues, { required: true });
    if (type !== undefined && !WEBHOOK_TYPES.includes(type as WebhookType)) {
      issues.error(join(p, 'type'), `must be one of ${WEBHOOK_TYPES.join(', ')}, got "${type}"`);
    }
    const url = readString(item, 'url', p, issues, { required: true });
    if (url !== undefined) {
      let ok = false;
      try {
        ok = ['http:', 'https:'].includes(new URL(url).protocol);
      } catch {
        ok = false;
      }
      if (!ok) issues.error(join(p, 'url'), `must be an http:// or https:// URL, got "${url}"`);
    }
    const timeoutMs = readDuration(item, 'timeout', p, issues, { default: ROLLOUT_DEFAULTS.webhookTimeoutMs });
    const metadata: Record<string, string> = {};
    const md = item['metadata'];
    if (md !== undefined) {
      if (!isRecord(md)) issues.error(join(p, 'metadata'), 'must be a map of strings');
      else for (const [k, v] of Object.entries(md)) {
        if (typeof v === 'string') metadata[k] = v;
        else issues.error(join(join(p, 'metadata'), k), `must be a string, got ${JSON.stringify(v)}`);
      }
    }
    if (name && type && url && WEBHOOK_TYPES.includes(type as WebhookType)) {
      out.push(Object.freeze({ name, type: type as WebhookType, url, timeoutMs, metadata: Object.freeze(metadata) }));
    }
  });
  return out;
}
