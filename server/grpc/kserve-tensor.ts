// KServe v2 / Open Inference Protocol gRPC tensors (open_inference_grpc.proto) ↔ Tensor:
// typed `InferTensorContents`, or `raw_input_contents` / `raw_output_contents` bytes
// (row-major, little-endian; BYTES elements each prefixed by a 4-byte little-endian
// length, Triton's convention in its grpc_service.proto comments).
import { SrvErr } from '../errors.ts';
import { allocate, dtypeInfo, isDType, type DType, type TensorData } from '../tensor/dtype.ts';
import { elementCount, type Tensor } from '../tensor/tensor.ts';
import { checkElementCount, DEFAULT_MAX_TENSOR_ELEMENTS, fromRawBytes, toRawBytes } from './tensor-proto.ts';

export interface InferContentsMsg {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: (string | number)[];
  uint_contents?: number[];
  uint64_contents?: (string | number)[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferInputMsg {
  name: string;
  datatype: string;
  shape: (string | number)[];
  contents?: InferContentsMsg | null;
}

export interface InferOutputMsg {
  name: string;
  datatype: string;
  shape: string[];
  parameters: Record<string, never>;
  contents?: InferContentsMsg;
}

const invalid = (m: string) => SrvErr.SRV_ERR_INVALID_ARGUMENT(m);

function contentsField(dtype: DType): keyof InferContentsMsg | undefined {
  switch (dtype) {
    case 'BOOL': return 'bool_contents';
    case 'INT8': case 'INT16': case 'INT32': return 'int_contents';
    case 'INT64': return 'int64_contents';
    case 'UINT8': case 'UINT16': case 'UINT32': return 'uint_contents';
    case 'UINT64': return 'uint64_contents';
    case 'FP32': return 'fp32_contents';
    case 'FP64': return 'fp64_contents';
    case 'BYTES': return 'bytes_contents';
    case 'FP16': return undefined; // the spec: FP16 travels only as raw content
  }
}

function readShape(shape: (string | number)[], what: string): number[] {
  return shape.map((d, i) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${what}: shape[${i}] is ${d}; sizes must be >= 0`);
    return n;
  });
}

/** BYTES raw form: for each element, 4-byte little-endian length then the bytes. */
function bytesFromRaw(buf: Uint8Array, n: number, what: string): string[] {
  const out: string[] = [];
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at < view.length) {
    if (at + 4 > view.length) throw invalid(`${what}: raw BYTES content is cut inside a length prefix`);
    const len = view.readUInt32LE(at);
    at += 4;
    if (at + len > view.length) throw invalid(`${what}: raw BYTES element ${out.length} runs past the end`);
    out.push(view.toString('utf8', at, at + len));
    at += len;
  }
  if (out.length !== n) throw invalid(`${what}: raw BYTES content has ${out.length} elements; the shape needs ${n}`);
  return out;
}

function bytesToRaw(values: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/**
 * Decodes the request's inputs. When `raw` has entries, it must hold one per input, in the
 * order of `inputs` (the spec), and typed contents are ignored.
 */
export function decodeInferInputs(inputs: readonly InferInputMsg[], raw: readonly Uint8Array[], maxElements = DEFAULT_MAX_TENSOR_ELEMENTS): Map<string, Tensor> {
  if (inputs.length === 0) throw invalid('ModelInferRequest has no inputs');
  if (raw.length > 0 && raw.length !== inputs.length) {
    throw invalid(`raw_input_contents has ${raw.length} entries for ${inputs.length} inputs; send one per input, in the same order`);
  }
  const out = new Map<string, Tensor>();
  inputs.forEach((inp, k) => {
    const what = `input "${inp.name}"`;
    if (out.has(inp.name)) throw invalid(`${what} is given twice`);
    if (!isDType(inp.datatype)) throw invalid(`${what}: datatype must be one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES; got ${JSON.stringify(inp.datatype)}`);
    const dtype = inp.datatype;
    const shape = readShape(inp.shape, what);
    const n = elementCount(shape);
    checkElementCount(shape, n, maxElements, what);
    if (raw.length > 0) {
      const data = dtype === 'BYTES' ? bytesFromRaw(raw[k]!, n, what) : fromRawBytes(dtypeInfo(dtype), raw[k]!, n, what);
      out.set(inp.name, { dtype, shape, data });
      return;
    }
    const field = contentsField(dtype);
    if (!field) throw invalid(`${what}: ${dtype} must be sent in raw_input_contents (the protocol has no typed field for it)`);
    const values = (inp.contents?.[field] ?? []) as ArrayLike<unknown>;
    if (values.length !== n) throw invalid(`${what}: shape [${shape.join(',')}] needs ${n} values in ${field}, got ${values.length}`);
    const data = allocate(dtype, n);
    const kind = dtypeInfo(dtype).kind;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (kind === 'bigint') (data as BigInt64Array)[i] = BigInt(v as string);
      else if (kind === 'bool') (data as Uint8Array)[i] = v ? 1 : 0;
      else if (kind === 'bytes') (data as string[])[i] = Buffer.from(v as Uint8Array).toString('utf8');
      else (data as Float32Array)[i] = v as number;
    }
    out.set(inp.name, { dtype, shape, data });
  });
  return out;
}

function typedContents(t: Tensor): InferContentsMsg {
  const field = contentsField(t.dtype)!;
  const d: TensorData = t.data;
  let values: unknown[];
  switch (dtypeInfo(t.dtype).kind) {
    case 'bigint': values = Array.from(d as BigInt64Array, String); break;
    case 'bool': values = Array.from(d as Uint8Array, (x) => x !== 0); break;
    case 'bytes': values = (d as (string | Uint8Array)[]).map((s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s))); break;
    default: values = Array.from(d as Float32Array);
  }
  return { [field]: values } as InferContentsMsg;
}

/**
 * Encodes outputs raw when the request came raw (or an output has no typed field, FP16),
 * typed otherwise: a client gets back the form it used.
 */
export function encodeInferOutputs(outputs: Map<string, Tensor>, raw: boolean): { outputs: InferOutputMsg[]; raw_output_contents: Buffer[] } {
  const useRaw = raw || [...outputs.values()].some((t) => contentsField(t.dtype) === undefined);
  const list: InferOutputMsg[] = [];
  const rawOut: Buffer[] = [];
  for (const [name, t] of outputs) {
    const msg: InferOutputMsg = { name, datatype: t.dtype, shape: t.shape.map(String), parameters: {} };
    if (useRaw) rawOut.push(t.dtype === 'BYTES' ? bytesToRaw(t.data as (string | Uint8Array)[]) : toRawBytes(t));
    else msg.contents = typedContents(t);
    list.push(msg);
  }
  return { outputs: list, raw_output_contents: rawOut };
}
