// The tensor every surface converts to and from: dtype (KServe spelling), shape, and a flat
// row-major typed array. BOOL is held as Uint8Array (0/1) and BYTES as string[] (binary
// values as latin1-free base64-decoded strings are kept as Uint8Array[] only by gRPC).
import { SrvErr } from '../errors.ts';
import { allocate, dtypeInfo, floatToHalf, halfToFloat, INT_RANGE, BIGINT_RANGE, type DType, type TensorData } from './dtype.ts';
import { formatFloat32, formatFloat64, type JsonValue } from './json.ts';

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const invalid = (msg: string) => SrvErr.SRV_ERR_INVALID_ARGUMENT(msg);

/** Infers the shape of a nested JSON list and checks it is rectangular. */
export function nestedShape(value: JsonValue, what: string): number[] {
  const shape: number[] = [];
  let v: JsonValue = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0]!;
  }
  // Verify every sub-list has the same length (TF: "The dimension of the tensor ... must be ...").
  const check = (node: JsonValue, dim: number): void => {
    if (dim === shape.length) {
      if (Array.isArray(node)) throw invalid(`${what}: expected a scalar at depth ${dim}, got a list (ragged tensor)`);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[dim]) {
      throw invalid(`${what}: ragged tensor; every list at depth ${dim} must have ${shape[dim]} elements`);
    }
    for (const c of node) check(c, dim + 1);
  };
  check(value, 0);
  return shape;
}

/** Writes one JSON scalar into data[i], strictly typed (TF Serving rejects 1.5 for an int input). */
export function setScalar(dtype: DType, data: TensorData, i: number, v: JsonValue, what: string): void {
  const info = dtypeInfo(dtype);
  switch (info.kind) {
    case 'float': {
      if (typeof v === 'bigint') v = Number(v);
      if (typeof v !== 'number') throw invalid(`${what}: expected a number for ${dtype}, got ${describe(v)}`);
      if (dtype === 'FP16') (data as Uint16Array)[i] = floatToHalf(v);
      else (data as Float32Array | Float64Array)[i] = v;
      return;
    }
    case 'int': {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw invalid(`${what}: expected an integer for ${dtype}, got ${describe(v)}`);
      }
      const [lo, hi] = INT_RANGE[dtype]!;
      if (v < lo || v > hi) throw invalid(`${what}: ${v} is out of range for ${dtype} [${lo}, ${hi}]`);
      (data as Int32Array)[i] = v;
      return;
    }
    case 'bigint': {
      let b: bigint;
      if (typeof v === 'bigint') b = v;
      else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
      else throw invalid(`${what}: expected an integer for ${dtype}, got ${describe(v)}`);
      const [lo, hi] = BIGINT_RANGE[dtype]!;
      if (b < lo || b > hi) throw invalid(`${what}: ${b} is out of range for ${dtype}`);
      (data as BigInt64Array)[i] = b;
      return;
    }
    case 'bool': {
      if (typeof v !== 'boolean') throw invalid(`${what}: expected true or false for BOOL, got ${describe(v)}`);
      (data as Uint8Array)[i] = v ? 1 : 0;
      return;
    }
    case 'bytes': {
      if (typeof v === 'string') (data as string[])[i] = v;
      else if (isB64(v)) (data as string[])[i] = Buffer.from(v.b64, 'base64').toString('latin1');
      else throw invalid(`${what}: expected a string or {"b64": ...} for BYTES, got ${describe(v)}`);
      return;
    }
  }
}

function isB64(v: JsonValue): v is { b64: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { b64?: unknown }).b64 === 'string';
}

function describe(v: JsonValue): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `"${v.length > 20 ? `${v.slice(0, 20)}…` : v}"`;
  return String(v);
}

/** Builds a tensor from a nested JSON list (or a scalar). */
export function fromNested(value: JsonValue, dtype: DType, what: string): Tensor {
  if (dtype !== 'BYTES' && isB64(value)) throw invalid(`${what}: {"b64": ...} is only allowed for string (BYTES) inputs`);
  const shape = nestedShape(value, what);
  const n = elementCount(shape);
  const data = allocate(dtype, n);
  let i = 0;
  const walk = (node: JsonValue, dim: number): void => {
    if (dim === shape.length) {
      setScalar(dtype, data, i++, node, what);
      return;
    }
    for (const c of node as JsonValue[]) walk(c, dim + 1);
  };
  walk(value, 0);
  return { dtype, shape, data };
}

/** Builds a tensor from a flat JSON list with a given shape (KServe v2 allows flat `data`). */
export function fromFlat(values: JsonValue[], dtype: DType, shape: number[], what: string): Tensor {
  const n = elementCount(shape);
  if (values.length !== n) throw invalid(`${what}: shape [${shape.join(',')}] needs ${n} values, got ${values.length}`);
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) setScalar(dtype, data, i, values[i]!, what);
  return { dtype, shape, data };
}

/** Stacks per-row tensors of equal shape into one tensor with a new leading dimension. */
export function stackRows(rows: Tensor[], what: string): Tensor {
  const first = rows[0]!;
  const rowShape = first.shape;
  const per = elementCount(rowShape);
  const data = allocate(first.dtype, per * rows.length);
  rows.forEach((r, k) => {
    if (r.shape.length !== rowShape.length || r.shape.some((d, j) => d !== rowShape[j])) {
      throw invalid(`${what}: instance ${k} has shape [${r.shape.join(',')}], instance 0 has [${rowShape.join(',')}]; all instances must have the same shape`);
    }
    if (Array.isArray(data)) for (let j = 0; j < per; j++) (data as string[])[k * per + j] = (r.data as string[])[j]!;
    else (data as Float32Array).set(r.data as Float32Array, k * per);
  });
  return { dtype: first.dtype, shape: [rows.length, ...rowShape], data };
}

/** Writes element i as a JSON token. */
export function scalarJson(t: Tensor, i: number, bytesAsB64: boolean): string {
  const d = t.data;
  switch (t.dtype) {
    case 'FP32': return formatFloat32((d as Float32Array)[i]!);
    case 'FP64': return formatFloat64((d as Float64Array)[i]!);
    case 'FP16': return formatFloat32(halfToFloat((d as Uint16Array)[i]!));
    case 'BOOL': return (d as Uint8Array)[i] ? 'true' : 'false';
    case 'INT64': case 'UINT64': return (d as BigInt64Array)[i]!.toString();
    case 'BYTES': {
      const v = (d as (string | Uint8Array)[])[i]!;
      if (bytesAsB64) return JSON.stringify({ b64: Buffer.from(typeof v === 'string' ? Buffer.from(v, 'latin1') : v).toString('base64') });
      return JSON.stringify(typeof v === 'string' ? v : Buffer.from(v).toString('utf8'));
    }
    default: return String((d as Int32Array)[i]!);
  }
}

/**
 * Writes the sub-tensor that starts at flat offset `start` with shape `shape` as nested JSON.
 * Used for whole tensors (columnar / KServe) and for one row (TF row format).
 */
export function nestedJson(t: Tensor, start: number, shape: readonly number[], bytesAsB64: boolean): string {
  if (shape.length === 0) return scalarJson(t, start, bytesAsB64);
  if ((t.dtype === 'FP32' || t.dtype === 'FP64') && shape.length <= 2) return floatJson(t, start, shape);
  const parts: string[] = [];
  const inner = shape.slice(1);
  const step = elementCount(inner);
  for (let k = 0; k < shape[0]!; k++) parts.push(nestedJson(t, start + k * step, inner, bytesAsB64));
  return `[${parts.join(',')}]`;
}

/**
 * nestedJson for float tensors of rank 1 and 2 (most model outputs), one string built in
 * place: the general recursion allocates a parts array and a shape slice per row.
 */
function floatJson(t: Tensor, start: number, shape: readonly number[]): string {
  const d = t.data as Float32Array | Float64Array;
  const fmt = t.dtype === 'FP32' ? formatFloat32 : formatFloat64;
  const rows = shape[0]!;
  if (shape.length === 1) {
    let s = '[';
    for (let k = 0; k < rows; k++) s += k === 0 ? fmt(d[start + k]!) : `,${fmt(d[start + k]!)}`;
    return `${s}]`;
  }
  const width = shape[1]!;
  let s = '[';
  for (let k = 0; k < rows; k++) {
    s += k === 0 ? '[' : ',[';
    const base = start + k * width;
    for (let j = 0; j < width; j++) s += j === 0 ? fmt(d[base]!) : `,${fmt(d[base + j]!)}`;
    s += ']';
  }
  return `${s}]`;
}

/** Writes all elements flat, row-major (KServe v2 responses). */
export function flatJson(t: Tensor): string {
  const n = elementCount(t.shape);
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = scalarJson(t, i, false);
  return `[${parts.join(',')}]`;
}
