// KServe v2 / Open Inference Protocol JSON ↔ tensors
// (kserve/open-inference-protocol specification/protocol/inference_rest.md).
import { SrvErr } from '../errors.ts';
import type { Signature } from '../runtime/types.ts';
import { isDType, type DType } from '../tensor/dtype.ts';
import type { JsonValue } from '../tensor/json.ts';
import { flatJson, fromFlat, type Tensor } from '../tensor/tensor.ts';

const invalid = (m: string) => SrvErr.SRV_ERR_INVALID_ARGUMENT(m);

export interface V2Request {
  id?: string;
  parameters?: Record<string, JsonValue>;
  inputs: Map<string, Tensor>;
  outputFilter?: string[];
}

function isObject(v: JsonValue | undefined): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function flatten(v: JsonValue, out: JsonValue[]): void {
  if (Array.isArray(v)) for (const c of v) flatten(c, out);
  else out.push(v);
}

export function decodeInfer(body: JsonValue, signature: Signature): V2Request {
  if (!isObject(body)) throw invalid('Request body must be a JSON object');
  if (body.id !== undefined && typeof body.id !== 'string') throw invalid('"id" must be a string');
  if (body.parameters !== undefined && !isObject(body.parameters)) throw invalid('"parameters" must be an object');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw invalid('"inputs" must be a non-empty list');
  const inputs = new Map<string, Tensor>();
  body.inputs.forEach((raw, k) => {
    const where = `inputs[${k}]`;
    if (!isObject(raw)) throw invalid(`${where} must be an object with name, shape, datatype and data`);
    const { name, shape, datatype, data } = raw;
    if (typeof name !== 'string') throw invalid(`${where}.name must be a string`);
    if (inputs.has(name)) throw invalid(`input "${name}" is given twice`);
    const spec = signature.inputs.find((s) => s.name === name);
    if (!spec) throw invalid(`input "${name}" is not in the model; inputs are: ${signature.inputs.map((s) => s.name).join(', ')}`);
    if (!isDType(datatype)) throw invalid(`${where}.datatype must be one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES; got ${JSON.stringify(datatype)}`);
    if (datatype !== spec.dtype) throw invalid(`input "${name}" expects datatype ${spec.dtype}, got ${datatype}`);
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
      throw invalid(`${where}.shape must be a list of non-negative integers`);
    }
    if (data === undefined) throw invalid(`${where}.data is required`);
    const flat: JsonValue[] = [];
    flatten(data, flat);
    inputs.set(name, fromFlat(flat, datatype as DType, shape as number[], `input "${name}"`));
  });
  let outputFilter: string[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw invalid('"outputs" must be a list of {name}');
    outputFilter = body.outputs.map((o, k) => {
      if (!isObject(o) || typeof o.name !== 'string') throw invalid(`outputs[${k}].name must be a string`);
      return o.name;
    });
  }
  return {
    id: body.id as string | undefined,
    parameters: body.parameters as Record<string, JsonValue> | undefined,
    inputs,
    outputFilter,
  };
}

export function encodeInfer(model: string, version: number, req: V2Request, outputs: Map<string, Tensor>): string {
  const parts = [...outputs].map(([name, t]) =>
    `{"name":${JSON.stringify(name)},"datatype":"${t.dtype}","shape":[${t.shape.join(',')}],"data":${flatJson(t)}}`,
  );
  const id = req.id !== undefined ? `,"id":${JSON.stringify(req.id)}` : '';
  return `{"model_name":${JSON.stringify(model)},"model_version":"${version}"${id},"outputs":[${parts.join(',')}]}`;
}

export function modelMetadata(model: string, versions: number[], signature: Signature): object {
  const t = (s: Signature['inputs'][number]) => ({ name: s.name, datatype: s.dtype, shape: s.shape });
  return {
    name: model,
    versions: versions.map(String),
    platform: 'onnx_onnxv1',
    inputs: signature.inputs.map(t),
    outputs: signature.outputs.map(t),
  };
}
