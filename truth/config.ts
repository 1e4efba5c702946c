// The `truth:` section of modelgate.yaml: which predictions are kept for labels that arrive
// later (POST /api/v1/feedback), for how long, and where each model's prediction is in its
// response. Nothing below this file sees YAML.
//
//   truth:
//     sampleRate: 1          # share of each model's requests whose prediction is kept (independent of proxy.bodies.sampleRate)
//     ttl: 1h                # a prediction not labelled within this is dropped
//     maxEntries: 100000     # predictions kept at most; the oldest are evicted first
//     maxBatch: 1000         # feedback entries per POST
//     window: 1h             # accuracy per version is reported over this much prediction time
//     models:
//       fraud:
//         task: classification
//         predicted: label               # output holding the predicted class (else argmax of probabilities)
//         probabilities: probabilities   # output holding the class probabilities, [N, classes] (log loss)
//         classes: [legit, fraud]        # names of the classes by index (optional)
//       price:
//         task: regression
//         value: { output: y, column: 0 }  # output holding the predicted value
import { Issues, checkKeys, isRecord, join, readDuration, readNumber, readString } from '../common/index.ts';

/** Where one value is in the response: an output tensor (row key), optionally a column of it. */
export interface OutputRef {
  output: string;
  column?: number;
}

export interface ClassificationTruth {
  model: string;
  task: 'classification';
  /** Output holding the predicted class; absent: the argmax of `probabilities`. */
  predicted?: OutputRef;
  /** Output holding one probability per class ([N, classes]), for log loss and argmax. */
  probabilities?: { output: string; classes: number };
  /** Class names by index: labels and predictions may use either; reported by name. */
  classNames?: readonly string[];
}

export interface RegressionTruth {
  model: string;
  task: 'regression';
  value: OutputRef;
}

export type ModelTruth = ClassificationTruth | RegressionTruth;

export interface TruthConfig {
  /** Share (0..1) of the proxy's copied bodies whose predictions are stored. */
  sampleRate: number;
  ttlMs: number;
  maxEntries: number;
  maxBatch: number;
  /** Prediction-time window of the per-version scores, ms. */
  windowMs: number;
  models: ModelTruth[];
}

export const TRUTH_DEFAULTS = {
  sampleRate: 1,
  // Labels usually come within minutes (a chargeback within hours); an hour keeps the store
  // at maxEntries' size only under more than maxEntries/3600 s stored predictions per second.
  ttlMs: 60 * 60_000,
  // ~100k predictions at a few hundred bytes each: tens of MiB (docs/benchmarks.md, truth).
  maxEntries: 100_000,
  maxBatch: 1000,
  windowMs: 60 * 60_000,
} as const;

/** Classes a probability vector may have: beyond this, the vector is not read. */
export const MAX_CLASSES = 1000;

const TOP_KEYS = ['sampleRate', 'ttl', 'maxEntries', 'maxBatch', 'window', 'models'] as const;
const MODEL_KEYS = ['task', 'predicted', 'probabilities', 'classes', 'value'] as const;
const CLASSIFICATION_ONLY = ['predicted', 'probabilities', 'classes'] as const;

export function validateTruthSection(raw: unknown, path: string, issues: Issues): TruthConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping with `models:` and optional settings (sampleRate, ttl, maxEntries, maxBatch, window)');
    return undefined;
  }
  checkKeys(raw, TOP_KEYS, path, issues);
  const d = TRUTH_DEFAULTS;
  const cfg: TruthConfig = {
    sampleRate: readNumber(raw, 'sampleRate', path, issues, { default: d.sampleRate, min: 0, max: 1 }) ?? d.sampleRate,
    ttlMs: readDuration(raw, 'ttl', path, issues, { default: d.ttlMs }) ?? d.ttlMs,
    maxEntries: readNumber(raw, 'maxEntries', path, issues, { default: d.maxEntries, min: 1, max: 10_000_000, integer: true }) ?? d.maxEntries,
    maxBatch: readNumber(raw, 'maxBatch', path, issues, { default: d.maxBatch, min: 1, max: 100_000, integer: true }) ?? d.maxBatch,
    windowMs: readDuration(raw, 'window', path, issues, { default: d.windowMs }) ?? d.windowMs,
    models: [],
  };
  const models = raw['models'];
  const mp = join(path, 'models');
  if (!isRecord(models) || Object.keys(models).length === 0) {
    issues.error(mp, 'is required: a mapping of model name to { task: classification | regression, ... }');
    return cfg;
  }
  for (const [name, m] of Object.entries(models)) {
    const model = readModel(name, m, join(mp, name), issues);
    if (model) cfg.models.push(model);
  }
  return cfg;
}

function readModel(name: string, raw: unknown, path: string, issues: Issues): ModelTruth | undefined {
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping such as { task: classification, predicted: label } or { task: regression, value: y }');
    return undefined;
  }
  checkKeys(raw, MODEL_KEYS, path, issues);
  const task = readString(raw, 'task', path, issues, { required: true });
  // Both tasks' fields are read (and checked) whatever the task; a field of the other task is an error.
  const value = raw['value'] === undefined ? undefined : readRef(raw['value'], join(path, 'value'), issues);
  if (task === 'regression') {
    for (const k of CLASSIFICATION_ONLY) if (raw[k] !== undefined) issues.error(join(path, k), `is for task: classification; a regression model names its output with value:`);
    if (!value) {
      if (raw['value'] === undefined) issues.error(join(path, 'value'), 'is required: the output holding the predicted value, e.g. `value: y` or `value: { output: y, column: 0 }`');
      return undefined;
    }
    return { model: name, task: 'regression', value };
  }
  if (task !== 'classification') {
    if (task !== undefined) issues.error(join(path, 'task'), `must be classification or regression, got ${JSON.stringify(task)}`);
    return undefined;
  }
  if (raw['value'] !== undefined) issues.error(join(path, 'value'), 'is for task: regression; a classifier names its output with predicted: (or probabilities: with classes:)');
  const out: ClassificationTruth = { model: name, task: 'classification' };
  if (raw['predicted'] !== undefined) {
    const ref = readRef(raw['predicted'], join(path, 'predicted'), issues);
    if (ref) out.predicted = ref;
  }
  const names = raw['classes'];
  if (names !== undefined) {
    if (!Array.isArray(names) || names.length < 2 || names.length > MAX_CLASSES || !names.every((n) => typeof n === 'string' && n !== '') || new Set(names).size !== names.length) {
      issues.error(join(path, 'classes'), `must list at least 2 distinct class names (strings), index 0 first, e.g. [legit, fraud]`);
    } else out.classNames = names as string[];
  }
  const probs = raw['probabilities'];
  if (probs !== undefined) {
    if (typeof probs !== 'string' || probs === '') issues.error(join(path, 'probabilities'), 'must name the output holding one probability per class, e.g. `probabilities: probabilities`');
    else if (!out.classNames) issues.error(join(path, 'classes'), 'is required with probabilities: name the classes by index (e.g. [legit, fraud]), so the vector\'s length is known');
    else out.probabilities = { output: probs, classes: out.classNames.length };
  }
  if (!out.predicted && !out.probabilities && raw['predicted'] === undefined && probs === undefined) {
    issues.error(path, 'needs `predicted:` (the output holding the predicted class) or `probabilities:` with `classes:` (argmax)');
  }
  return out;
}

function readRef(raw: unknown, path: string, issues: Issues): OutputRef | undefined {
  if (typeof raw === 'string' && raw !== '') return { output: raw };
  if (isRecord(raw)) {
    checkKeys(raw, ['output', 'column'], path, issues);
    const output = readString(raw, 'output', path, issues, { required: true });
    const column = readNumber(raw, 'column', path, issues, { min: 0, integer: true });
    if (output === undefined) return undefined;
    return column === undefined ? { output } : { output, column };
  }
  if (raw !== undefined) issues.error(path, `must be an output name or { output, column }, got ${JSON.stringify(raw)}`);
  return undefined;
}
