// One table for every dtype spelling modelgate meets: KServe v2 datatypes (used as the
// internal name), onnxruntime tensor types, and TensorFlow DataType (types.proto).
import type { Tensor as OrtTensor } from 'onnxruntime-node';

export type DType =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64'
  | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

export type OrtType = OrtTensor.Type;

export type TensorData =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | string[] | Uint8Array[];

export interface DTypeInfo {
  dtype: DType;
  ort: OrtType;
  /** TensorFlow DataType name and number (tensorflow/core/framework/types.proto). */
  tf: string;
  tfEnum: number;
  /** Bytes per element in raw little-endian form (tensor_content, raw_input_contents); 0 for BYTES. */
  bytes: number;
  kind: 'float' | 'int' | 'bigint' | 'bool' | 'bytes';
}

const TABLE: DTypeInfo[] = [
  { dtype: 'BOOL', ort: 'bool', tf: 'DT_BOOL', tfEnum: 10, bytes: 1, kind: 'bool' },
  { dtype: 'UINT8', ort: 'uint8', tf: 'DT_UINT8', tfEnum: 4, bytes: 1, kind: 'int' },
  { dtype: 'UINT16', ort: 'uint16', tf: 'DT_UINT16', tfEnum: 17, bytes: 2, kind: 'int' },
  { dtype: 'UINT32', ort: 'uint32', tf: 'DT_UINT32', tfEnum: 22, bytes: 4, kind: 'int' },
  { dtype: 'UINT64', ort: 'uint64', tf: 'DT_UINT64', tfEnum: 23, bytes: 8, kind: 'bigint' },
  { dtype: 'INT8', ort: 'int8', tf: 'DT_INT8', tfEnum: 6, bytes: 1, kind: 'int' },
  { dtype: 'INT16', ort: 'int16', tf: 'DT_INT16', tfEnum: 5, bytes: 2, kind: 'int' },
  { dtype: 'INT32', ort: 'int32', tf: 'DT_INT32', tfEnum: 3, bytes: 4, kind: 'int' },
  { dtype: 'INT64', ort: 'int64', tf: 'DT_INT64', tfEnum: 9, bytes: 8, kind: 'bigint' },
  { dtype: 'FP16', ort: 'float16', tf: 'DT_HALF', tfEnum: 19, bytes: 2, kind: 'float' },
  { dtype: 'FP32', ort: 'float32', tf: 'DT_FLOAT', tfEnum: 1, bytes: 4, kind: 'float' },
  { dtype: 'FP64', ort: 'float64', tf: 'DT_DOUBLE', tfEnum: 2, bytes: 8, kind: 'float' },
  { dtype: 'BYTES', ort: 'string', tf: 'DT_STRING', tfEnum: 7, bytes: 0, kind: 'bytes' },
];

const BY_DTYPE = new Map(TABLE.map((t) => [t.dtype, t]));
const BY_ORT = new Map(TABLE.map((t) => [t.ort as string, t]));
const BY_TF_ENUM = new Map(TABLE.map((t) => [t.tfEnum, t]));

export function dtypeInfo(d: DType): DTypeInfo {
  return BY_DTYPE.get(d)!;
}
export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && BY_DTYPE.has(s as DType);
}
export function fromOrtType(t: string): DTypeInfo | undefined {
  return BY_ORT.get(t);
}
export function fromTfEnum(n: number): DTypeInfo | undefined {
  return BY_TF_ENUM.get(n);
}

/** Allocates the typed array that holds `n` elements of `dtype` (FP16 as raw uint16 bits). */
export function allocate(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'BOOL': case 'UINT8': return new Uint8Array(n);
    case 'UINT16': case 'FP16': return new Uint16Array(n);
    case 'UINT32': return new Uint32Array(n);
    case 'UINT64': return new BigUint64Array(n);
    case 'INT8': return new Int8Array(n);
    case 'INT16': return new Int16Array(n);
    case 'INT32': return new Int32Array(n);
    case 'INT64': return new BigInt64Array(n);
    case 'FP32': return new Float32Array(n);
    case 'FP64': return new Float64Array(n);
    case 'BYTES': return new Array<string>(n).fill('');
  }
}

/** Integer range of each integer dtype, for strict input checking (TF Serving rejects out-of-range ints). */
export const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 4294967295],
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-2147483648, 2147483647],
};
export const BIGINT_RANGE: Partial<Record<DType, [bigint, bigint]>> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

/** IEEE 754 half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** float → IEEE 754 half bits (round to nearest even via float32 intermediate). */
export function floatToHalf(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}
