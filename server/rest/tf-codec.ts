// TF Serving REST bodies ↔ tensors, following tensorflow_serving/util/json_tensor.cc and
// g3doc/api_rest.md: row format (`instances`) and columnar format (`inputs`) requests,
// `predictions` / `outputs` responses, classify and regress `examples`.
import { SrvErr } from '../errors.ts';
import type { Signature, TensorSpec } from '../runtime/types.ts';
import type { JsonValue } from '../tensor/json.ts';
import { allocate } from '../tensor/dtype.ts';
import { fromNested, nestedJson, stackRows, elementCount, type Tensor } from '../tensor/tensor.ts';

const invalid = (m: string) => SrvErr.SRV_ERR_INVALID_ARGUMENT(m);

export type TfFormat = 'row' | 'columnar';

export interface TfPredictRequest {
  format: TfFormat;
  signatureName?: string;
  inputs: Map<string, Tensor>;
}

function isObject(v: JsonValue | undefined): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isB64 = (v: JsonValue): boolean => isObject(v) && Object.keys(v).length === 1 && 'b64' in v;

export function decodePredict(body: JsonValue, signature: Signature): TfPredictRequest {
  if (!isObject(body)) throw invalid('Request body must be a JSON object');
  const sig = body.signature_name;
  if (sig !== undefined && typeof sig !== 'string') throw invalid('"signature_name" must be a string');
  const hasInstances = 'instances' in body;
  const hasInputs = 'inputs' in body;
  if (hasInstances && hasInputs) throw invalid("Request body has both 'instances' and 'inputs' keys; send one of them");
  if (!hasInstances && !hasInputs) throw invalid("Missing 'inputs' or 'instances' key");
  const inputs = hasInstances ? decodeRows(body.instances!, signature) : decodeColumns(body.inputs!, signature);
  return { format: hasInstances ? 'row' : 'columnar', signatureName: sig as string | undefined, inputs };
}

function decodeRows(instances: JsonValue, signature: Signature): Map<string, Tensor> {
  if (!Array.isArray(instances)) throw invalid("'instances' must be a list");
  if (instances.length === 0) throw invalid("'instances' is an empty list; send at least one instance");
  const specs = signature.inputs;
  if (specs.length === 1) {
    const fast = floatRows(instances, specs[0]!);
    if (fast) return new Map<string, Tensor>().set(specs[0]!.name, fast);
  }
  const named = instances.map((inst, k) => {
    if (isObject(inst) && !isB64(inst)) {
      const keys = Object.keys(inst);
      for (const key of keys) {
        if (!specs.some((s) => s.name === key)) throw invalid(`instances[${k}] has key "${key}", which is not an input; inputs are: ${specs.map((s) => s.name).join(', ')}`);
      }
      for (const s of specs) if (!(s.name in inst)) throw invalid(`instances[${k}] is missing input "${s.name}"`);
      return inst;
    }
    if (specs.length !== 1) {
      throw invalid(`instances[${k}] must be an object keyed by input name, because the model has ${specs.length} inputs (${specs.map((s) => s.name).join(', ')})`);
    }
    return { [specs[0]!.name]: inst };
  });
  const out = new Map<string, Tensor>();
  for (const s of specs) {
    const rows = named.map((inst, k) => fromNested(inst[s.name]!, s.dtype, `instances[${k}].${s.name}`));
    out.set(s.name, stackRows(rows, `input "${s.name}"`));
  }
  return out;
}

/**
 * The common row request, one float input whose instances are all numbers or all equally
 * long lists of numbers, built straight into one typed array. It yields the tensor the
 * general path (a tensor per row, then stackRows) yields; anything else, including every
 * malformed request, returns undefined and takes the general path and its error messages.
 * The general path cost ~1.4 µs per row of three floats (bench/server-rest-parts.ts).
 */
function floatRows(instances: JsonValue[], spec: TensorSpec): Tensor | undefined {
  if (spec.dtype !== 'FP32' && spec.dtype !== 'FP64') return undefined;
  const n = instances.length;
  const first = instances[0];
  if (typeof first === 'number') {
    const data = allocate(spec.dtype, n) as Float32Array | Float64Array;
    for (let k = 0; k < n; k++) {
      const v = instances[k];
      if (typeof v !== 'number') return undefined;
      data[k] = v;
    }
    return { dtype: spec.dtype, shape: [n], data };
  }
  if (!Array.isArray(first) || first.length === 0) return undefined;
  const width = first.length;
  const data = allocate(spec.dtype, n * width) as Float32Array | Float64Array;
  for (let k = 0; k < n; k++) {
    const row = instances[k];
    if (!Array.isArray(row) || row.length !== width) return undefined;
    for (let j = 0; j < width; j++) {
      const v = row[j];
      if (typeof v !== 'number') return undefined;
      data[k * width + j] = v;
    }
  }
  return { dtype: spec.dtype, shape: [n, width], data };
}

function decodeColumns(inputs: JsonValue, signature: Signature): Map<string, Tensor> {
  const specs = signature.inputs;
  const out = new Map<string, Tensor>();
  if (isObject(inputs) && !isB64(inputs)) {
    for (const key of Object.keys(inputs)) {
      if (!specs.some((s) => s.name === key)) throw invalid(`'inputs' has key "${key}", which is not an input; inputs are: ${specs.map((s) => s.name).join(', ')}`);
    }
    for (const s of specs) {
      if (!(s.name in inputs)) throw invalid(`Missing named input: ${s.name} in 'inputs' object.`);
      out.set(s.name, fromNested(inputs[s.name]!, s.dtype, `inputs.${s.name}`));
    }
    return out;
  }
  if (specs.length !== 1) throw invalid(`'inputs' must be an object keyed by input name, because the model has ${specs.length} inputs`);
  out.set(specs[0]!.name, fromNested(inputs, specs[0]!.dtype, 'inputs'));
  return out;
}

/** BYTES outputs whose name ends in `_bytes` are written as {"b64": ...} (json_tensor.cc). */
const asB64 = (name: string) => name.endsWith('_bytes');

export function encodePredict(format: TfFormat, outputs: Map<string, Tensor>): string {
  const names = [...outputs.keys()];
  if (format === 'columnar') {
    if (names.length === 1) {
      const t = outputs.get(names[0]!)!;
      return `{"outputs":${nestedJson(t, 0, t.shape, asB64(names[0]!))}}`;
    }
    const parts = names.map((n) => {
      const t = outputs.get(n)!;
      return `${JSON.stringify(n)}:${nestedJson(t, 0, t.shape, asB64(n))}`;
    });
    return `{"outputs":{${parts.join(',')}}}`;
  }
  // Row format: every output is split along dimension 0, which must be the same for all.
  let batch = -1;
  for (const n of names) {
    const t = outputs.get(n)!;
    if (t.shape.length === 0) throw invalid(`output "${n}" is a scalar and cannot be returned in row format; send 'inputs' (columnar) instead`);
    if (batch === -1) batch = t.shape[0]!;
    else if (t.shape[0] !== batch) throw invalid(`outputs have different sizes in dimension 0 (${batch} and ${t.shape[0]}); send 'inputs' (columnar) instead`);
  }
  const rows: string[] = [];
  if (names.length === 1) {
    // One output: the list of its rows is the whole tensor written as nested JSON.
    const t = outputs.get(names[0]!)!;
    return `{"predictions":${nestedJson(t, 0, t.shape, asB64(names[0]!))}}`;
  }
  for (let k = 0; k < batch; k++) {
    const fields = names.map((n) => {
      const t = outputs.get(n)!;
      const inner = t.shape.slice(1);
      return `${JSON.stringify(n)}:${nestedJson(t, k * elementCount(inner), inner, asB64(n))}`;
    });
    rows.push(`{${fields.join(',')}}`);
  }
  return `{"predictions":[${rows.join(',')}]}`;
}

// ---- classify / regress ------------------------------------------------------------------
// TF Serving runs these on tf.Example signatures. Here they work on models whose inputs are
// all rank-1 [N] tensors: each example's features (merged over `context`) become one row.

export function decodeExamples(body: JsonValue, signature: Signature): { signatureName?: string; inputs: Map<string, Tensor>; count: number } {
  if (!isObject(body)) throw invalid('Request body must be a JSON object');
  const examples = body.examples;
  const context = body.context;
  if (!Array.isArray(examples) || examples.length === 0) throw invalid("'examples' must be a non-empty list of feature objects");
  if (context !== undefined && !isObject(context)) throw invalid("'context' must be an object of features");
  for (const s of signature.inputs) {
    if (s.shape.length !== 1) {
      throw SrvErr.SRV_ERR_UNIMPLEMENTED(`classify/regress need every input to be a [N] tensor; input "${s.name}" has rank ${s.shape.length}. Use :predict`);
    }
  }
  const inputs = new Map<string, Tensor>();
  for (const s of signature.inputs) {
    const col = examples.map((ex, k) => {
      if (!isObject(ex)) throw invalid(`examples[${k}] must be an object of features`);
      const v = ex[s.name] ?? (context as Record<string, JsonValue> | undefined)?.[s.name];
      if (v === undefined) throw invalid(`examples[${k}] has no feature "${s.name}"`);
      return Array.isArray(v) ? (v.length === 1 ? v[0]! : v) : v;
    });
    inputs.set(s.name, fromNested(col, s.dtype, `feature "${s.name}"`));
  }
  return { signatureName: body.signature_name as string | undefined, inputs, count: examples.length };
}

function scoresOutput(signature: Signature): TensorSpec | undefined {
  return signature.outputs.find((o) => (o.dtype === 'FP32' || o.dtype === 'FP64') && o.shape.length === 2);
}

export function regressOutput(signature: Signature): TensorSpec {
  const o = signature.outputs.find((x) => (x.dtype === 'FP32' || x.dtype === 'FP64') && (x.shape.length === 1 || (x.shape.length === 2 && x.shape[1] === 1)));
  if (!o) throw SrvErr.SRV_ERR_UNIMPLEMENTED('regress needs a float output of shape [N] or [N,1]; this model has none. Use :predict');
  return o;
}

export function classifyOutput(signature: Signature): TensorSpec {
  const o = scoresOutput(signature);
  if (!o) throw SrvErr.SRV_ERR_UNIMPLEMENTED('classify needs a float scores output of shape [N,C]; this model has none. Use :predict');
  return o;
}

/** `{"results": [v, ...]}` — the response key is "results" (kClassifyRegressResponseKey). */
export function encodeRegress(t: Tensor): string {
  const n = t.shape[0]!;
  const vals: string[] = [];
  for (let k = 0; k < n; k++) vals.push(nestedJson(t, k * (t.shape.length === 2 ? t.shape[1]! : 1), [], false));
  return `{"results":[${vals.join(',')}]}`;
}

/** `{"results": [[["0", 0.9], ["1", 0.1]], ...]}`: class labels are the column indices. */
export function encodeClassify(t: Tensor): string {
  const [n, c] = [t.shape[0]!, t.shape[1]!];
  const rows: string[] = [];
  for (let k = 0; k < n; k++) {
    const pairs: string[] = [];
    for (let j = 0; j < c; j++) pairs.push(`["${j}",${nestedJson(t, k * c + j, [], false)}]`);
    rows.push(`[${pairs.join(',')}]`);
  }
  return `{"results":[${rows.join(',')}]}`;
}

// ---- status and metadata ---------------------------------------------------------------

export function tfDims(shape: readonly number[]): { dim: { size: string; name: string }[]; unknown_rank: boolean } {
  return { dim: shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false };
}
