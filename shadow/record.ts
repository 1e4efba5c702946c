// One captured exchange, as a line of a capture file (JSON Lines): what `capture:` writes and
// `modelgate replay` reads. REST bodies are kept as their text (exact: a 16-digit integer is
// not rounded by a parse), gRPC messages (and any body that is not UTF-8 text) as base64.
import { isRecord } from '../common/index.ts';

export const CAPTURE_FIELDS = ['time', 'requestId', 'model', 'version', 'variant', 'api', 'protocol', 'path', 'method', 'contentType', 'request', 'response', 'latency'] as const;
export type CaptureField = (typeof CAPTURE_FIELDS)[number];

export interface CaptureRecord {
  /** ISO 8601 time the answer was recorded. */
  time?: string;
  requestId?: string;
  model: string;
  /** The version that answered. */
  version?: string;
  variant?: string;
  api?: string;
  protocol: 'rest' | 'grpc';
  /** REST: the request path (`/v1/models/fraud:predict`). */
  path?: string;
  /** gRPC: the method path (`/tensorflow.serving.PredictionService/Predict`). */
  method?: string;
  contentType?: string;
  /** The request body as text (REST JSON). */
  request?: string;
  /** The request body (gRPC: the first message, without the 5-byte prefix), base64. */
  requestBase64?: string;
  response?: string;
  responseBase64?: string;
  /** The answer's latency at the proxy, milliseconds. */
  latencyMs?: number;
}

/** What the proxy hands over for each sampled exchange (a structural subset of its BodySample). */
export interface Exchange {
  model: string;
  version: string;
  api: string;
  protocol: 'rest' | 'grpc';
  requestBody: Uint8Array;
  responseBody: Uint8Array;
  contentType: string;
  method?: string;
  path?: string;
  requestId?: string;
  variant?: string;
  durationSeconds?: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function textOrUndefined(b: Uint8Array): string | undefined {
  try {
    return decoder.decode(b);
  } catch {
    return undefined;
  }
}

/**
 * The record of one exchange, with only the allowed fields. `keepInputs`, when given, keeps
 * only those inputs in a JSON request body (TF Serving row or columnar, KServe v2), so
 * personal data in other inputs is never written.
 */
export function toRecord(x: Exchange, fields: ReadonlySet<CaptureField>, now: Date, keepInputs?: ReadonlySet<string>): CaptureRecord {
  const r: CaptureRecord = { model: x.model, protocol: x.protocol };
  if (fields.has('time')) r.time = now.toISOString();
  if (fields.has('requestId') && x.requestId !== undefined) r.requestId = x.requestId;
  if (fields.has('version')) r.version = x.version;
  if (fields.has('variant') && x.variant !== undefined) r.variant = x.variant;
  if (fields.has('api')) r.api = x.api;
  if (fields.has('path') && x.path !== undefined) r.path = x.path;
  if (fields.has('method') && x.method !== undefined) r.method = x.method;
  if (fields.has('contentType')) r.contentType = x.contentType;
  if (fields.has('latency') && x.durationSeconds !== undefined) r.latencyMs = Math.round(x.durationSeconds * 1e6) / 1e3;
  const binary = x.protocol === 'grpc';
  // A gRPC message cannot be filtered by input here: with an inputs allowlist it is left
  // out whole rather than written with inputs the allowlist excludes.
  if (fields.has('request') && !(binary && keepInputs)) {
    const t = binary ? undefined : textOrUndefined(x.requestBody);
    if (t === undefined) r.requestBase64 = Buffer.from(x.requestBody).toString('base64');
    else r.request = keepInputs ? redactInputs(t, keepInputs) : t;
  }
  if (fields.has('response')) {
    const t = binary ? undefined : textOrUndefined(x.responseBody);
    if (t === undefined) r.responseBase64 = Buffer.from(x.responseBody).toString('base64');
    else r.response = t;
  }
  return r;
}

/** Keeps only the named inputs of a TF Serving or KServe v2 JSON request; a body of another shape is dropped whole ("{}"). */
export function redactInputs(body: string, keep: ReadonlySet<string>): string {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return '{}';
  }
  if (!isRecord(v)) return '{}';
  const pick = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => keep.has(k)));
  const out: Record<string, unknown> = {};
  if (Array.isArray(v['instances'])) out['instances'] = v['instances'].map((row) => (isRecord(row) ? pick(row) : keep.has('instances') ? row : null));
  else if (Array.isArray(v['inputs'])) out['inputs'] = v['inputs'].filter((t) => isRecord(t) && typeof t['name'] === 'string' && keep.has(t['name']));
  else if (isRecord(v['inputs'])) out['inputs'] = pick(v['inputs']);
  else return '{}';
  if (typeof v['signature_name'] === 'string') out['signature_name'] = v['signature_name'];
  return JSON.stringify(out);
}

/** Reads one line of a capture file; a reason string for a line that is not a record. */
export function parseRecord(line: string): CaptureRecord | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return `not JSON (${e instanceof Error ? e.message : String(e)})`;
  }
  if (!isRecord(v)) return 'not a JSON object';
  if (typeof v['model'] !== 'string' || v['model'] === '') return 'no "model"';
  if (v['protocol'] !== 'rest' && v['protocol'] !== 'grpc') return '"protocol" is neither "rest" nor "grpc"';
  for (const k of ['request', 'requestBase64', 'response', 'responseBase64', 'path', 'method', 'version', 'api', 'requestId', 'variant', 'time', 'contentType'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'string') return `"${k}" is not a string`;
  }
  if (v['latencyMs'] !== undefined && typeof v['latencyMs'] !== 'number') return '"latencyMs" is not a number';
  if (v['request'] === undefined && v['requestBase64'] === undefined) return 'no request body ("request" or "requestBase64"); capture with the request field';
  return v as unknown as CaptureRecord;
}

export function requestBytes(r: CaptureRecord): Buffer {
  return r.request !== undefined ? Buffer.from(r.request, 'utf8') : Buffer.from(r.requestBase64 ?? '', 'base64');
}

export function responseBytes(r: CaptureRecord): Buffer | undefined {
  return r.response !== undefined ? Buffer.from(r.response, 'utf8') : r.responseBase64 !== undefined ? Buffer.from(r.responseBase64, 'base64') : undefined;
}
