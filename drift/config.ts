// The `drift:` section of modelgate.yaml: the user-facing shape, its validation and the
// internal model the rest of drift/ uses (nothing below this file sees YAML).
//
//   drift:
//     sampleRate: 1            # share of requests whose bodies are parsed (0..1)
//     window: 5m               # evaluation window; verdicts and the SLI are per window
//     minSamples: 500          # fewer rows than this in a window → inconclusive
//     baselineDir: baselines   # <dir>/<model>/<version>/drift-baseline.json
//     thresholds: { psi: 0.2, pValue: 0.05, js: 0.1, wasserstein: 0.1 }
//     verdict: bonferroni      # or { share: 0.5 }
//     models:
//       fraud:
//         baseline: { from: file }     # or { from: live, version: "1", window: 1h, minSamples: 1000 }
//         inputs:
//           - amount                                  # row key / input tensor name
//           - { name: merchant_risk, method: psi }       # auto | ks | chisquare | psi | js | wasserstein
//           - { name: pixel_3, input: x, column: 3 }  # column 3 of a [N, C] input
//         outputs:
//           - { name: fraud_probability, output: probabilities, column: 1 }
//           - { name: label, type: categorical }
import { Issues, checkKeys, isRecord, join, readBoolean, readDuration, readNumber, readString } from '../common/index.ts';

export type FeatureKind = 'numeric' | 'categorical';
/** `auto` picks by reference size and type, the way Evidently does (see evaluate.ts `chooseMethod`). */
export type DriftMethod = 'auto' | 'ks' | 'chisquare' | 'psi' | 'js' | 'wasserstein';
export const DRIFT_METHODS: readonly DriftMethod[] = ['auto', 'ks', 'chisquare', 'psi', 'js', 'wasserstein'];

export interface FeatureConfig {
  /** Feature name: the `feature` label, the key in reference rows and in the baseline. */
  name: string;
  source: 'input' | 'output';
  /** Input or output name in the request/response (row-object key, tensor name). */
  tensor: string;
  /** Column of a [N, C] tensor (or index into an array value of a row object). */
  column?: number;
  kind: FeatureKind;
  method: DriftMethod;
}

export type BaselineSource =
  | { from: 'file' }
  | { from: 'live'; /** version whose traffic is the reference; else the stable version set at run time */ version?: string; window: number; minSamples: number };

export interface ModelDriftConfig {
  model: string;
  features: FeatureConfig[];
  baseline: BaselineSource;
}

export interface DriftThresholds {
  /** PSI at or above this is drift. 0.2: between "moderate" (0.1) and "major" (0.25) in the usual PSI reading. */
  psi: number;
  /** p-value below this (after correction) is drift; the usual 5% test level (Evidently, Alibi Detect). */
  pValue: number;
  /** Jensen-Shannon distance at or above this is drift; Evidently's default for `jensenshannon`. */
  js: number;
  /** Normed Wasserstein distance (W1 / σ of the reference) at or above this is drift; Evidently's default for `wasserstein`. */
  wasserstein: number;
}

export type VerdictRule = { rule: 'bonferroni' } | { rule: 'share'; share: number };

export interface DriftConfig {
  enabled: boolean;
  sampleRate: number;
  /** Evaluation window, ms. */
  window: number;
  minSamples: number;
  /** Values kept per model×version×feature for KS (and to bin against a late baseline). */
  reservoirSize: number;
  /** Distinct categories counted per categorical feature before the rest fold into one. */
  maxCategories: number;
  /** Quantile bins per numeric feature in a baseline built here. */
  bins: number;
  /** Reference rows at or below which `auto` uses tests (KS/chi-square), above which distances. */
  smallReferenceRows: number;
  baselineDir: string;
  thresholds: DriftThresholds;
  verdict: VerdictRule;
  /** Bodies waiting to be parsed; beyond this, offers are dropped and counted. */
  maxQueue: number;
  models: ModelDriftConfig[];
}

export const DRIFT_DEFAULTS = {
  enabled: true,
  sampleRate: 1,
  window: 5 * 60_000,
  // 500: below 200 the KS test at alpha 0.05 misses a half-σ mean shift often (power ≈ 0.9
  // at n=200 vs a large reference); and 200 is not enough either: with a large baseline the default method is Jensen-Shannon over the
  // baseline's bins, whose estimate is biased upward on small samples. Clean traffic shaped
  // like the baseline was judged drifted in 42.5% of 200-row windows, 7.5% at 300, 1% at 400
  // and 0% at 500 (bench/drift-sli-noise.ts, docs/benchmarks.md).
  minSamples: 500,
  // 1000 values = 8 KiB per feature; KS against a 1000-value baseline sample resolves D ≈ 0.06 at alpha 0.05.
  reservoirSize: 1000,
  maxCategories: 100,
  // 10 quantile bins is the customary PSI layout (deciles).
  bins: 10,
  // Evidently's switch from tests to distances (legacy/calculations/stattests/registry.py _get_default_stattest).
  smallReferenceRows: 1000,
  baselineDir: 'baselines',
  thresholds: { psi: 0.2, pValue: 0.05, js: 0.1, wasserstein: 0.1 } as DriftThresholds,
  verdict: { rule: 'bonferroni' } as VerdictRule,
  // 1000 bodies of a few KiB each: a few MiB at most while parsing catches up.
  maxQueue: 1000,
  liveBaselineWindow: 60 * 60_000,
  liveBaselineMinSamples: 1000,
} as const;

const TOP_KEYS = ['enabled', 'sampleRate', 'window', 'minSamples', 'reservoirSize', 'maxCategories', 'bins', 'smallReferenceRows', 'baselineDir', 'thresholds', 'verdict', 'maxQueue', 'models'] as const;
const MODEL_KEYS = ['baseline', 'inputs', 'outputs'] as const;
const FEATURE_KEYS = ['name', 'input', 'output', 'column', 'type', 'method'] as const;

/** Validates the `drift:` section. Every problem goes to `issues` with its path; the result is always usable (defaults fill gaps). */
export function validateDriftSection(raw: unknown, path: string, issues: Issues): DriftConfig {
  if (raw === undefined || raw === null) return Object.freeze({ ...baseDefaults(), enabled: false, models: [] });
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping with `models:` and optional settings (sampleRate, window, thresholds, ...)');
    return { ...baseDefaults(), enabled: false, models: [] };
  }
  checkKeys(raw, TOP_KEYS, path, issues);
  const d = DRIFT_DEFAULTS;
  const cfg: DriftConfig = {
    enabled: readBoolean(raw, 'enabled', path, issues, d.enabled),
    sampleRate: readNumber(raw, 'sampleRate', path, issues, { default: d.sampleRate, min: 0, max: 1 }),
    window: readDuration(raw, 'window', path, issues, { default: d.window }),
    minSamples: readNumber(raw, 'minSamples', path, issues, { default: d.minSamples, min: 1, integer: true }),
    reservoirSize: readNumber(raw, 'reservoirSize', path, issues, { default: d.reservoirSize, min: 10, max: 100_000, integer: true }),
    maxCategories: readNumber(raw, 'maxCategories', path, issues, { default: d.maxCategories, min: 2, max: 10_000, integer: true }),
    bins: readNumber(raw, 'bins', path, issues, { default: d.bins, min: 2, max: 100, integer: true }),
    smallReferenceRows: readNumber(raw, 'smallReferenceRows', path, issues, { default: d.smallReferenceRows, min: 0, integer: true }),
    baselineDir: readString(raw, 'baselineDir', path, issues, { default: d.baselineDir }),
    thresholds: readThresholds(raw['thresholds'], join(path, 'thresholds'), issues),
    verdict: readVerdict(raw['verdict'], join(path, 'verdict'), issues),
    maxQueue: readNumber(raw, 'maxQueue', path, issues, { default: d.maxQueue, min: 1, integer: true }),
    models: readModels(raw['models'], join(path, 'models'), issues),
  };
  if (cfg.window <= 0) issues.error(join(path, 'window'), 'must be longer than 0, e.g. "5m"');
  if (cfg.sampleRate > 0 && cfg.sampleRate < 0.01) {
    issues.warn(join(path, 'sampleRate'), `is ${cfg.sampleRate}: a window may see fewer than minSamples (${cfg.minSamples}) rows and stay inconclusive; sampleRate is a share (0..1), not a percentage`);
  }
  return deepFreeze(cfg);
}

function baseDefaults(): Omit<DriftConfig, 'models' | 'enabled'> {
  const d = DRIFT_DEFAULTS;
  return {
    sampleRate: d.sampleRate, window: d.window, minSamples: d.minSamples, reservoirSize: d.reservoirSize,
    maxCategories: d.maxCategories, bins: d.bins, smallReferenceRows: d.smallReferenceRows, baselineDir: d.baselineDir,
    thresholds: { ...d.thresholds }, verdict: { ...d.verdict }, maxQueue: d.maxQueue,
  };
}

function readThresholds(raw: unknown, path: string, issues: Issues): DriftThresholds {
  const d = DRIFT_DEFAULTS.thresholds;
  if (raw === undefined || raw === null) return { ...d };
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping such as { psi: 0.2, pValue: 0.05, js: 0.1, wasserstein: 0.1 }');
    return { ...d };
  }
  checkKeys(raw, ['psi', 'pValue', 'js', 'wasserstein'], path, issues);
  const pValue = readNumber(raw, 'pValue', path, issues, { default: d.pValue, min: 0, max: 1 });
  if (pValue > 0.5) issues.warn(join(path, 'pValue'), `is ${pValue}: a test level is usually 0.01–0.1; it is a probability, not a percentage`);
  return {
    psi: readNumber(raw, 'psi', path, issues, { default: d.psi, min: 0 }),
    pValue,
    js: readNumber(raw, 'js', path, issues, { default: d.js, min: 0, max: Math.sqrt(Math.LN2) }),
    wasserstein: readNumber(raw, 'wasserstein', path, issues, { default: d.wasserstein, min: 0 }),
  };
}

function readVerdict(raw: unknown, path: string, issues: Issues): VerdictRule {
  if (raw === undefined || raw === null || raw === 'bonferroni') return { rule: 'bonferroni' };
  if (isRecord(raw)) {
    checkKeys(raw, ['share'], path, issues);
    const share = readNumber(raw, 'share', path, issues, { required: true, min: 0, max: 1 });
    if (share !== undefined && share <= 0) issues.error(join(path, 'share'), 'must be above 0 (0.5 = half the features drifted, as Evidently\'s drift_share)');
    return { rule: 'share', share: share ?? 0.5 };
  }
  issues.error(path, `must be "bonferroni" or { share: 0.5 }, got ${JSON.stringify(raw)}`);
  return { rule: 'bonferroni' };
}

function readModels(raw: unknown, path: string, issues: Issues): ModelDriftConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping from model name to { inputs, outputs, baseline }');
    return [];
  }
  const out: ModelDriftConfig[] = [];
  for (const [model, body] of Object.entries(raw)) {
    const mpath = join(path, model);
    if (!isRecord(body)) {
      issues.error(mpath, 'must be a mapping with `inputs:` and/or `outputs:`');
      continue;
    }
    checkKeys(body, MODEL_KEYS, mpath, issues);
    const features = [
      ...readFeatures(body['inputs'], 'input', join(mpath, 'inputs'), issues),
      ...readFeatures(body['outputs'], 'output', join(mpath, 'outputs'), issues),
    ];
    if (features.length === 0) issues.error(mpath, 'lists no features: add `inputs:` (e.g. [amount, merchant_risk]) and/or `outputs:`');
    const seen = new Set<string>();
    for (const f of features) {
      if (seen.has(f.name)) issues.error(mpath, `feature "${f.name}" is listed twice; give one of them another \`name:\``);
      seen.add(f.name);
    }
    out.push({ model, features, baseline: readBaseline(body['baseline'], join(mpath, 'baseline'), issues) });
  }
  return out;
}

function readFeatures(raw: unknown, source: 'input' | 'output', path: string, issues: Issues): FeatureConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.error(path, `must be a list of ${source} names or { name, ${source}, column, type, method }`);
    return [];
  }
  const out: FeatureConfig[] = [];
  raw.forEach((item, i) => {
    const fpath = join(path, i);
    if (typeof item === 'string' && item !== '') {
      out.push({ name: item, source, tensor: item, kind: defaultKind(source, item), method: 'auto' });
      return;
    }
    if (!isRecord(item)) {
      issues.error(fpath, `must be a name or { name, ${source}, column, type, method }, got ${JSON.stringify(item)}`);
      return;
    }
    checkKeys(item, FEATURE_KEYS, fpath, issues);
    const other = source === 'input' ? 'output' : 'input';
    if (item[other] !== undefined) issues.error(join(fpath, other), `an entry under ${source}s names its tensor with \`${source}:\`, not \`${other}:\``);
    const name = readString(item, 'name', fpath, issues, { required: true }) ?? `#${i}`;
    const tensor = readString(item, source, fpath, issues, { default: name });
    const column = readNumber(item, 'column', fpath, issues, { min: 0, integer: true });
    const type = item['type'];
    let kind: FeatureKind = defaultKind(source, tensor);
    if (type !== undefined) {
      if (type === 'numeric' || type === 'categorical') kind = type;
      else issues.error(join(fpath, 'type'), `must be "numeric" or "categorical", got ${JSON.stringify(type)}`);
    }
    let method: DriftMethod = 'auto';
    const m = item['method'];
    if (m !== undefined) {
      if (typeof m === 'string' && (DRIFT_METHODS as readonly string[]).includes(m)) method = m as DriftMethod;
      else issues.error(join(fpath, 'method'), `must be one of ${DRIFT_METHODS.join(', ')}, got ${JSON.stringify(m)}`);
    }
    if (kind === 'categorical' && (method === 'ks' || method === 'wasserstein')) issues.error(join(fpath, 'method'), `${method} needs a numeric feature; use chisquare or js for categories`);
    const f: FeatureConfig = { name, source, tensor, kind, method };
    if (column !== undefined) f.column = column;
    out.push(f);
  });
  return out;
}

/** Outputs named like a class label are categorical unless said otherwise; everything else numeric. */
function defaultKind(source: 'input' | 'output', tensor: string): FeatureKind {
  return source === 'output' && /^(label|labels|class|classes|class_ids?)$/i.test(tensor) ? 'categorical' : 'numeric';
}

function readBaseline(raw: unknown, path: string, issues: Issues): BaselineSource {
  if (raw === undefined || raw === null || raw === 'file') return { from: 'file' };
  if (raw === 'live') return { from: 'live', window: DRIFT_DEFAULTS.liveBaselineWindow, minSamples: DRIFT_DEFAULTS.liveBaselineMinSamples };
  if (!isRecord(raw)) {
    issues.error(path, `must be "file", "live" or { from: live, version, window, minSamples }, got ${JSON.stringify(raw)}`);
    return { from: 'file' };
  }
  checkKeys(raw, ['from', 'version', 'window', 'minSamples'], path, issues);
  const from = raw['from'] ?? 'file';
  if (from === 'file') {
    for (const k of ['version', 'window', 'minSamples']) {
      if (raw[k] !== undefined) issues.warn(join(path, k), 'only applies to `from: live`; a file baseline is built by `modelgate baseline`');
    }
    return { from: 'file' };
  }
  if (from !== 'live') {
    issues.error(join(path, 'from'), `must be "file" or "live", got ${JSON.stringify(from)}`);
    return { from: 'file' };
  }
  const v = raw['version'];
  const version = typeof v === 'number' ? String(v) : readString(raw, 'version', path, issues);
  const out: BaselineSource = {
    from: 'live',
    window: readDuration(raw, 'window', path, issues, { default: DRIFT_DEFAULTS.liveBaselineWindow }),
    minSamples: readNumber(raw, 'minSamples', path, issues, { default: DRIFT_DEFAULTS.liveBaselineMinSamples, min: 1, integer: true }),
  };
  if (version !== undefined) out.version = version;
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
