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
import { Issues, checkKeys, isRecord, join, readNumber, readString } from '../common/index.ts';
import { readBytes } from '../common/validate.ts';
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
