// From request/response bodies to feature values. Pure: bytes in, columns out; never throws.
//
// Understood shapes (request → response):
//   TF Serving REST, row format:      {"instances": [...]}         → {"predictions": [...]}
//   TF Serving REST, columnar format: {"inputs": {...} | [...]}    → {"outputs": {...} | [...]}
//     (tensorflow/serving: tensorflow_serving/g3doc/api_rest.md, "Specifying input tensors
//     in row format / columnar format"; a single unnamed input may be given bare.)
//   KServe v2 JSON: {"inputs": [{name, shape, datatype, data}]} → {"outputs": [same]}
//     (kserve: docs/predict-api/v2/required_api.md, "Inference Request JSON Object";
//     `data` is row-major, flat or nested.)
//   Decoded tensors from gRPC: {name, shape, values}[] — the gRPC side decodes TensorProto /
//   InferTensorContents and hands over the values.
// A feature is (tensor name, optional column): by key for row objects, by input name and
// column index for tensors. A row instance that is not an object is the value of the model's
// only input, taken to be the first input tensor the config names (same for outputs).
import { isRecord } from '../common/index.ts';
import type { FeatureConfig } from './config.ts';

export interface DecodedTensor {
  name: string;
  shape: readonly number[];
  /** Row-major values; numbers, bigints (int64), strings (BYTES) or booleans. */
  values: ArrayLike<unknown>;
}

export type Extracted =
  | { ok: true; rows: number; values: Map<string, unknown[]> }
  | { ok: false; reason: 'unparsable' | 'skipped'; detail: string };

/** A tensor-like source the features can be read from. */
interface Source {
  /** Value of `tensor` (optionally column `column`) for each row; undefined when the tensor is absent. */
  column(tensor: string, column: number | undefined): unknown[] | undefined;
}

/**
 * Content types that are surely not a JSON body. Anything else is tried as JSON: TF Serving
 * ignores the request's content type, so clients such as `curl -d` (which sends
 * application/x-www-form-urlencoded) are served, and their bodies must be seen too.
 */
const BINARY_TYPE = /^(?:application\/(?:octet-stream|grpc|x-protobuf|protobuf)|multipart\/|image\/|audio\/|video\/)/i;

export function extractJson(features: readonly FeatureConfig[], requestBody: Uint8Array | string, responseBody: Uint8Array | string, contentType?: string): Extracted {
  if (contentType && BINARY_TYPE.test(contentType)) return { ok: false, reason: 'unparsable', detail: `content-type ${contentType} is not JSON` };
  let request: unknown;
  let response: unknown;
  try {
    request = JSON.parse(text(requestBody));
    response = responseBody.length === 0 ? undefined : JSON.parse(text(responseBody));
  } catch (e) {
    return { ok: false, reason: 'unparsable', detail: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (isRecord(response) && 'error' in response) return { ok: false, reason: 'skipped', detail: 'error response' };
  const defaults = defaultTensors(features);
  const inputs = requestSource(request, defaults.input);
  const outputs = responseSource(response, defaults.output);
  if (!inputs && !outputs) return { ok: false, reason: 'unparsable', detail: 'neither a TF Serving nor a KServe v2 body' };
  return collect(features, inputs, outputs);
}

/**
 * Every output tensor of a JSON response (TF Serving row or columnar, KServe v2), row-major,
 * for comparing two answers to the same request (shadow traffic, replay). A single unnamed
 * output is named by its key (`predictions` / `outputs`). Undefined for a body that is not
 * such a response (an `{"error"}` body, another shape, invalid JSON). Never throws.
 */
export function responseTensors(responseBody: Uint8Array | string): DecodedTensor[] | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text(responseBody));
  } catch {
    return undefined;
  }
  if (!isRecord(body) || 'error' in body) return undefined;
  const predictions = body['predictions'];
  if (Array.isArray(predictions)) return rowTensors(predictions);
  const outputs = body['outputs'];
  if (outputs === undefined) return undefined;
  if (isKserveTensorList(outputs)) {
    return outputs.map((t) => {
      const flat = Array.isArray(t['data']) ? (t['data'] as unknown[]).flat(Infinity) : [];
      const shape = Array.isArray(t['shape']) ? (t['shape'] as unknown[]).map(Number) : [flat.length];
      return { name: t['name'] as string, shape, values: flat };
    });
  }
  const named: Record<string, unknown> = isRecord(outputs) ? outputs : { outputs };
  return Object.entries(named).map(([name, batch]) => batchTensor(name, Array.isArray(batch) ? batch : [batch]));
}

/** TF Serving row format: each row an object of outputs, or the bare value of the only output. */
function rowTensors(rows: unknown[]): DecodedTensor[] {
  if (rows.length > 0 && rows.every(isRecord)) {
    const names = Object.keys(rows[0] as Record<string, unknown>);
    return names.map((name) => batchTensor(name, rows.map((r) => (r as Record<string, unknown>)[name])));
  }
  return [batchTensor('predictions', rows)];
}

/** A batch-first list of row values as one tensor; rows of unequal size give shape [rows] and the flat values. */
function batchTensor(name: string, rows: unknown[]): DecodedTensor {
  const flat = rows.flat(Infinity);
  const width = rows.length === 0 ? 0 : flat.length / rows.length;
  const inner = rows.length > 0 && Array.isArray(rows[0]) && Number.isInteger(width) ? [width] : [];
  return { name, shape: [rows.length, ...inner], values: flat };
}

export function extractTensors(features: readonly FeatureConfig[], inputs: readonly DecodedTensor[], outputs: readonly DecodedTensor[]): Extracted {
  return collect(features, tensorSource(inputs.map((t) => ({ name: t.name, shape: t.shape, flat: t.values }))), tensorSource(outputs.map((t) => ({ name: t.name, shape: t.shape, flat: t.values }))));
}

function collect(features: readonly FeatureConfig[], inputs: Source | undefined, outputs: Source | undefined): Extracted {
  const values = new Map<string, unknown[]>();
  let rows = 0;
  for (const f of features) {
    const source = f.source === 'input' ? inputs : outputs;
    const col = source?.column(f.tensor, f.column);
    if (!col) continue;
    values.set(f.name, col);
    if (col.length > rows) rows = col.length;
  }
  if (values.size === 0) return { ok: false, reason: 'unparsable', detail: 'no configured feature found in the body' };
  return { ok: true, rows, values };
}

function text(b: Uint8Array | string): string {
  return typeof b === 'string' ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

function defaultTensors(features: readonly FeatureConfig[]): { input: string | undefined; output: string | undefined } {
  return { input: features.find((f) => f.source === 'input')?.tensor, output: features.find((f) => f.source === 'output')?.tensor };
}

function requestSource(body: unknown, defaultTensor: string | undefined): Source | undefined {
  if (!isRecord(body)) return undefined;
  if (Array.isArray(body['instances'])) return rowSource(body['instances'], defaultTensor);
  const inputs = body['inputs'];
  if (inputs === undefined) return undefined;
  if (isKserveTensorList(inputs)) return kserveSource(inputs);
  return columnarSource(inputs, defaultTensor);
}

function responseSource(body: unknown, defaultTensor: string | undefined): Source | undefined {
  if (!isRecord(body)) return undefined;
  if (Array.isArray(body['predictions'])) return rowSource(body['predictions'], defaultTensor);
  const outputs = body['outputs'];
  if (outputs === undefined) return undefined;
  if (isKserveTensorList(outputs)) return kserveSource(outputs);
  return columnarSource(outputs, defaultTensor);
}

/** KServe v2 tensors are objects with a name and data; TF columnar lists hold plain values. */
function isKserveTensorList(v: unknown): v is Record<string, unknown>[] {
  return Array.isArray(v) && v.length > 0 && v.every((t) => isRecord(t) && typeof t['name'] === 'string' && 'data' in t);
}

/** Picks one column out of a row's value (an array for a [N, C] tensor). */
function pick(v: unknown, column: number | undefined): unknown {
  if (column === undefined) return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
  return Array.isArray(v) ? v[column] : undefined;
}

function rowSource(instances: unknown[], defaultTensor: string | undefined): Source {
  return {
    column(tensor, column) {
      let found = false;
      const out = instances.map((inst) => {
        const v = isRecord(inst) ? inst[tensor] : tensor === defaultTensor ? inst : undefined;
        if (v !== undefined) found = true;
        return pick(v, column);
      });
      return found ? out : undefined;
    },
  };
}

function columnarSource(columns: unknown, defaultTensor: string | undefined): Source | undefined {
  const named: Record<string, unknown> | undefined = isRecord(columns) ? columns : defaultTensor !== undefined ? { [defaultTensor]: columns } : undefined;
  if (!named) return undefined;
  return {
    column(tensor, column) {
      const batch = named[tensor];
      if (batch === undefined) return undefined;
      // A columnar value is batch-first; a bare scalar is a batch of one.
      return Array.isArray(batch) ? batch.map((row) => pick(row, column)) : [pick(batch, column)];
    },
  };
}

function kserveSource(tensors: Record<string, unknown>[]): Source {
  return tensorSource(
    tensors.map((t) => ({
      name: t['name'] as string,
      shape: Array.isArray(t['shape']) ? (t['shape'] as unknown[]).map(Number) : [],
      flat: Array.isArray(t['data']) ? (t['data'] as unknown[]).flat(Infinity) : [],
    })),
  );
}

function tensorSource(tensors: { name: string; shape: readonly number[]; flat: ArrayLike<unknown> }[]): Source {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    column(tensor, column) {
      const t = byName.get(tensor);
      if (!t) return undefined;
      // Rows are the first dimension; a scalar tensor is one row. Each row holds `width` values.
      const rows = t.shape.length === 0 ? 1 : t.shape[0]!;
      let width = 1;
      for (let d = 1; d < t.shape.length; d++) width *= t.shape[d]!;
      if (!(rows >= 0) || !(width >= 1) || rows * width !== t.flat.length) return undefined;
      if (column !== undefined && column >= width) return undefined;
      if (column === undefined && width !== 1) return undefined;
      const c = column ?? 0;
      const out = new Array<unknown>(rows);
      for (let i = 0; i < rows; i++) out[i] = t.flat[i * width + c];
      return out;
    },
  };
}
