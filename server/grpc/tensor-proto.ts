// tensorflow.TensorProto (tensorflow/core/framework/tensor.proto) ↔ Tensor, as proto-loader
// hands messages over (snake_case, int64 as strings, enums by name, bytes as Buffer).
// Every encoding a client may send is read: raw little-endian `tensor_content`, or the
// typed `*_val` field of the dtype, where fewer values than the shape needs are completed
// by repeating the last one (one value fills the whole tensor) and none means zeros, as
// TensorFlow's FromProtoField does (tensorflow/core/framework/tensor.cc).
import { SrvErr } from '../errors.ts';
import { allocate, dtypeInfo, fromTfEnum, type DTypeInfo, type TensorData } from '../tensor/dtype.ts';
import { elementCount, type Tensor } from '../tensor/tensor.ts';

export interface TensorShapeMsg {
  dim?: { size?: string | number; name?: string }[];
  unknown_rank?: boolean;
}

/** The fields of TensorProto that modelgate reads and writes. */
export interface TensorProtoMsg {
  dtype?: string;
  tensor_shape?: TensorShapeMsg | null;
  version_number?: number;
  tensor_content?: Uint8Array;
  half_val?: number[];
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: (string | number)[];
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: (string | number)[];
}

const invalid = (m: string) => SrvErr.SRV_ERR_INVALID_ARGUMENT(m);

/**
 * Default largest element count of one request tensor: a float32 tensor as large as the
 * default 64 MiB message. The server passes grpc_max_message_bytes / 4, or
 * --max_tensor_elements.
 */
export const DEFAULT_MAX_TENSOR_ELEMENTS = (64 * 1024 * 1024) / 4;

/**
 * Refuses a shape whose element count is over `max` before anything is allocated: a
 * 30-byte message may declare [1e12] (and a typed field with one value fills the whole
 * shape, tensor.cc FromProtoField), which would otherwise allocate what the shape says.
 */
export function checkElementCount(shape: readonly number[], n: number, max: number, what: string): void {
  if (!(n <= max)) {
    throw invalid(`${what}: shape [${shape.join(',')}] has ${n} elements, over the limit of ${max} per tensor (--max_tensor_elements)`);
  }
}

/** DataType enum names (types.proto) → our dtype table. */
const BY_TF_NAME: Map<string, DTypeInfo> = (() => {
  const m = new Map<string, DTypeInfo>();
  for (let n = 1; n <= 30; n++) {
    const info = fromTfEnum(n);
    if (info) m.set(info.tf, info);
  }
  return m;
})();

export function dtypeFromTfName(name: string | undefined, what: string): DTypeInfo {
  const info = name ? BY_TF_NAME.get(name) : undefined;
  if (!info) throw invalid(`${what}: unsupported dtype ${name ?? 'DT_INVALID'}; supported: ${[...BY_TF_NAME.keys()].join(', ')}`);
  return info;
}

export function shapeFromProto(s: TensorShapeMsg | null | undefined, what: string): number[] {
  if (!s) return [];
  if (s.unknown_rank) throw invalid(`${what}: tensor_shape has unknown_rank; send the actual shape`);
  return (s.dim ?? []).map((d, i) => {
    const n = Number(d.size ?? 0);
    if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${what}: dimension ${i} has size ${d.size}; sizes must be >= 0`);
    return n;
  });
}

export function shapeToProto(shape: readonly number[]): { dim: { size: string; name: string }[]; unknown_rank: boolean } {
  return { dim: shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false };
}

/** Copies little-endian bytes into a fresh, aligned typed array of `n` elements. */
export function fromRawBytes(info: DTypeInfo, bytes: Uint8Array, n: number, what: string): TensorData {
  if (info.bytes === 0) throw invalid(`${what}: ${info.tf} cannot be sent as raw bytes`);
  if (bytes.length !== n * info.bytes) {
    throw invalid(`${what}: raw content has ${bytes.length} bytes; shape and ${info.tf} need ${n * info.bytes}`);
  }
  const data = allocate(info.dtype, n) as Exclude<TensorData, string[] | Uint8Array[]>;
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  return data;
}

/** The raw little-endian bytes of a numeric tensor (no copy). */
export function toRawBytes(t: Tensor): Buffer {
  const d = t.data as Exclude<TensorData, string[] | Uint8Array[]>;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

type Values = ArrayLike<number | string | boolean | Uint8Array>;

function typedValues(info: DTypeInfo, p: TensorProtoMsg): Values {
  switch (info.dtype) {
    case 'FP32': return p.float_val ?? [];
    case 'FP64': return p.double_val ?? [];
    case 'FP16': return p.half_val ?? [];
    case 'INT8': case 'INT16': case 'INT32': case 'UINT8': case 'UINT16': return p.int_val ?? [];
    case 'UINT32': return p.uint32_val ?? [];
    case 'INT64': return p.int64_val ?? [];
    case 'UINT64': return p.uint64_val ?? [];
    case 'BOOL': return p.bool_val ?? [];
    case 'BYTES': return p.string_val ?? [];
  }
}

function put(data: TensorData, i: number, v: number | string | boolean | Uint8Array, info: DTypeInfo): void {
  switch (info.kind) {
    case 'bigint': (data as BigInt64Array)[i] = BigInt(v as string); return;
    case 'bool': (data as Uint8Array)[i] = v ? 1 : 0; return;
    // DT_STRING elements are arbitrary bytes; the runtime takes strings, read as UTF-8.
    case 'bytes': (data as string[])[i] = Buffer.from(v as Uint8Array).toString('utf8'); return;
    default: (data as Float32Array)[i] = v as number;
  }
}

export function tensorFromProto(p: TensorProtoMsg, what: string, maxElements = DEFAULT_MAX_TENSOR_ELEMENTS): Tensor {
  const info = dtypeFromTfName(p.dtype, what);
  const shape = shapeFromProto(p.tensor_shape, what);
  const n = elementCount(shape);
  checkElementCount(shape, n, maxElements, what);
  if (p.tensor_content && p.tensor_content.length > 0) {
    return { dtype: info.dtype, shape, data: fromRawBytes(info, p.tensor_content, n, what) };
  }
  const values = typedValues(info, p);
  if (values.length > n) {
    throw invalid(`${what}: ${values.length} values do not fit shape [${shape.join(',')}] (${n} elements)`);
  }
  const data = allocate(info.dtype, n);
  for (let i = 0; i < values.length; i++) put(data, i, values[i]!, info);
  // tensor.cc FromProtoField: fewer values than elements → the last value fills the rest.
  if (values.length > 0) for (let i = values.length; i < n; i++) put(data, i, values[values.length - 1]!, info);
  return { dtype: info.dtype, shape, data };
}

/**
 * Writes a tensor the way TF Serving answers Predict by default (Tensor::AsProtoField: the
 * typed field), or as `tensor_content` bytes when `raw` is set (AsProtoTensorContent).
 */
export function tensorToProto(t: Tensor, raw = false): TensorProtoMsg {
  const info = dtypeInfo(t.dtype);
  const msg: TensorProtoMsg = { dtype: info.tf, tensor_shape: shapeToProto(t.shape) };
  if (raw && info.bytes > 0) {
    msg.tensor_content = toRawBytes(t);
    return msg;
  }
  const d = t.data;
  switch (t.dtype) {
    case 'FP32': msg.float_val = Array.from(d as Float32Array); break;
    case 'FP64': msg.double_val = Array.from(d as Float64Array); break;
    case 'FP16': msg.half_val = Array.from(d as Uint16Array); break;
    case 'INT8': case 'INT16': case 'INT32': case 'UINT8': case 'UINT16': msg.int_val = Array.from(d as Int32Array); break;
    case 'UINT32': msg.uint32_val = Array.from(d as Uint32Array); break;
    case 'INT64': msg.int64_val = Array.from(d as BigInt64Array, String); break;
    case 'UINT64': msg.uint64_val = Array.from(d as BigUint64Array, String); break;
    case 'BOOL': msg.bool_val = Array.from(d as Uint8Array, (x) => x !== 0); break;
    case 'BYTES': msg.string_val = (d as (string | Uint8Array)[]).map((s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s))); break;
  }
  return msg;
}
