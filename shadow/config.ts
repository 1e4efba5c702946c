// The `capture:` section of modelgate.yaml: sampled request/response capture for replay.
//
//   capture:
//     dir: .modelgate-capture      # where capture.jsonl and its rotated files go
//     sample: 0.05                 # share of inference requests captured
//     models: [fraud]              # default: every model
//     fields: [time, requestId, model, version, api, protocol, path, method, contentType, request, response, latency]
//     inputs: [amount, merchant_risk]   # keep only these inputs of JSON request bodies
//     maxFileSize: 64MiB
//     maxFiles: 5
import { Issues, checkKeys, isRecord, join, readDuration, readNumber, readString } from '../common/index.ts';
import { readBytes } from '../common/validate.ts';
import { COMPARE_DEFAULTS, type CompareSettings, type OutputRule } from './compare.ts';
import { CAPTURE_FIELDS, type CaptureField } from './record.ts';

export interface CaptureConfig {
  dir: string;
  sample: number;
  models?: readonly string[];
  fields: readonly CaptureField[];
  inputs?: readonly string[];
  maxFileBytes: number;
  maxFiles: number;
}

export const CAPTURE_DEFAULTS = {
  dir: '.modelgate-capture',
  sample: 0.01,
  maxFileBytes: 64 * 1024 * 1024,
  maxFiles: 5,
} as const;

const KEYS = ['dir', 'sample', 'models', 'fields', 'inputs', 'maxFileSize', 'maxFiles'] as const;

/** Validates `capture:`; undefined when the section is absent (capture off). */
export function validateCapture(raw: unknown, path: string, issues: Issues): CaptureConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping, e.g. {dir: .modelgate-capture, sample: 0.05}');
    return undefined;
  }
  checkKeys(raw, KEYS, path, issues);
  const fields = readNames(raw, 'fields', path, issues);
  for (const [i, f] of (fields ?? []).entries()) {
    if (!(CAPTURE_FIELDS as readonly string[]).includes(f)) issues.error(join(join(path, 'fields'), i), `unknown field "${f}"; capture fields are ${CAPTURE_FIELDS.join(', ')}`);
  }
  if (fields && !fields.includes('request')) issues.warn(join(path, 'fields'), 'without "request", the captured lines cannot be replayed');
  const models = readNames(raw, 'models', path, issues);
  const inputs = readNames(raw, 'inputs', path, issues);
  const config: CaptureConfig = {
    dir: readString(raw, 'dir', path, issues, { default: CAPTURE_DEFAULTS.dir }),
    sample: readNumber(raw, 'sample', path, issues, { default: CAPTURE_DEFAULTS.sample, min: 0, max: 1 }),
    fields: (fields ?? [...CAPTURE_FIELDS]).filter((f): f is CaptureField => (CAPTURE_FIELDS as readonly string[]).includes(f)),
    maxFileBytes: readBytes(raw, 'maxFileSize', path, issues, { default: CAPTURE_DEFAULTS.maxFileBytes }),
    maxFiles: readNumber(raw, 'maxFiles', path, issues, { default: CAPTURE_DEFAULTS.maxFiles, min: 1, max: 1000, integer: true }),
  };
  if (models) config.models = models;
  if (inputs) config.inputs = inputs;
  return Object.freeze(config);
}

function readNames(raw: Record<string, unknown>, key: string, path: string, issues: Issues): string[] | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && s !== '')) {
    issues.error(join(path, key), `must be a non-empty list of names, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v as string[];
}

/** The shadow step of a rollout (`rollouts[].shadow`), validated by shadow/config.ts readShadowStep. */
export interface ShadowStepSpec {
  /** Share of the model's split-routed requests mirrored to the candidate, 0..1. */
  share: number;
  /** The step lasts at least this long. */
  durationMs: number;
  /** Compared requests needed before the step can pass or fail. */
  minRequests: number;
  compare: CompareSettings;
  /** Largest share of disagreeing rows that passes (0.01 = 1%). */
  maxDisagreement: number;
  /** Largest share of mirrored requests the candidate may fail. */
  maxCandidateErrors: number;
}

export const SHADOW_DEFAULTS = {
  sharePercent: 20,
  durationMs: 10 * 60_000,
  minRequests: 500,
  maxDisagreementPercent: 1,
  maxCandidateErrorsPercent: 1,
} as const;

const SHADOW_KEYS = ['share', 'duration', 'minRequests', 'compare'] as const;
const COMPARE_KEYS = ['outputs', 'absTolerance', 'relTolerance', 'maxDisagreement', 'maxCandidateErrors'] as const;
const OUTPUT_KEYS = ['output', 'column', 'kind', 'absTolerance', 'relTolerance'] as const;

/**
 * `rollouts[].shadow: { share: 20, duration: 10m, minRequests: 500, compare: {...} }`.
 * Percentages are written as percentages (share: 20, maxDisagreement: 1), as weights are.
 */
export function readShadowStep(raw: unknown, path: string, issues: Issues): ShadowStepSpec | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping like {share: 20, duration: 10m, minRequests: 500, compare: {maxDisagreement: 1}}');
    return undefined;
  }
  checkKeys(raw, SHADOW_KEYS, path, issues);
  const D = SHADOW_DEFAULTS;
  const share = readNumber(raw, 'share', path, issues, { default: D.sharePercent, min: 0.01, max: 100 });
  if (share > 0 && share <= 1 && raw['share'] !== undefined) issues.warn(join(path, 'share'), `is a percentage (0-100): ${share} mirrors ${share}% of requests; did you mean ${share * 100}?`);
  const durationMs = readDuration(raw, 'duration', path, issues, { default: D.durationMs });
  const minRequests = readNumber(raw, 'minRequests', path, issues, { default: D.minRequests, min: 1, integer: true });
  const cp = join(path, 'compare');
  const c = raw['compare'] ?? {};
  if (!isRecord(c)) {
    issues.error(cp, 'must be a mapping like {maxDisagreement: 1, outputs: [{output: label}]}');
    return undefined;
  }
  checkKeys(c, COMPARE_KEYS, cp, issues);
  const outputs: OutputRule[] = [];
  const rawOutputs = c['outputs'];
  if (rawOutputs !== undefined) {
    if (!Array.isArray(rawOutputs)) issues.error(join(cp, 'outputs'), 'must be a list like [{output: label}, {output: probabilities, column: 1, absTolerance: 0.01}] (or a list of output names)');
    else {
      rawOutputs.forEach((o, i) => {
        const op = join(join(cp, 'outputs'), i);
        if (typeof o === 'string' && o !== '') return void outputs.push({ output: o });
        if (!isRecord(o)) return void issues.error(op, `must be an output name or a mapping {output, column?, kind?, absTolerance?, relTolerance?}, got ${JSON.stringify(o)}`);
        checkKeys(o, OUTPUT_KEYS, op, issues);
        const output = readString(o, 'output', op, issues, { required: true });
        const column = readNumber(o, 'column', op, issues, { min: 0, integer: true });
        const kind = readString(o, 'kind', op, issues);
        if (kind !== undefined && kind !== 'class' && kind !== 'score') issues.error(join(op, 'kind'), `must be class or score, got ${JSON.stringify(kind)}`);
        const absTolerance = readNumber(o, 'absTolerance', op, issues, { min: 0 });
        const relTolerance = readNumber(o, 'relTolerance', op, issues, { min: 0 });
        if (output === undefined) return;
        outputs.push({
          output,
          ...(column !== undefined ? { column } : {}),
          ...(kind === 'class' || kind === 'score' ? { kind } : {}),
          ...(absTolerance !== undefined ? { absTolerance } : {}),
          ...(relTolerance !== undefined ? { relTolerance } : {}),
        });
      });
    }
  }
  return Object.freeze({
    share: share / 100,
    durationMs,
    minRequests,
    compare: Object.freeze({
      outputs: Object.freeze(outputs),
      absTolerance: readNumber(c, 'absTolerance', cp, issues, { default: COMPARE_DEFAULTS.absTolerance, min: 0 }),
      relTolerance: readNumber(c, 'relTolerance', cp, issues, { default: COMPARE_DEFAULTS.relTolerance, min: 0 }),
    }),
    maxDisagreement: readNumber(c, 'maxDisagreement', cp, issues, { default: D.maxDisagreementPercent, min: 0, max: 100 }) / 100,
    maxCandidateErrors: readNumber(c, 'maxCandidateErrors', cp, issues, { default: D.maxCandidateErrorsPercent, min: 0, max: 100 }) / 100,
  });
}
