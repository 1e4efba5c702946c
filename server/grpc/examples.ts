// tensorflow.serving.Input (apis/input.proto: tf.Example lists, optionally with a shared
// context) → input tensors, for Classify, Regress and MultiInference. Like the REST
// classify/regress (server/rest/tf-codec.ts decodeExamples), this works for models whose
// inputs are all [N] tensors: each Example holds one value per input feature.
import { SrvErr } from '../errors.ts';
import type { Signature, TensorSpec } from '../runtime/types.ts';
import { allocate, dtypeInfo, floatToHalf } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';

interface FeatureMsg {
  kind?: 'bytes_list' | 'float_list' | 'int64_list';
  bytes_list?: { value?: Uint8Array[] } | null;
  float_list?: { value?: number[] } | null;
  int64_list?: { value?: (string | number)[] } | null;
}
interface ExampleMsg {
  features?: { feature?: Record<string, FeatureMsg> } | null;
}
export interface InputMsg {
  kind?: 'example_list' | 'example_list_with_context';
  example_list?: { examples?: ExampleMsg[] } | null;
  example_list_with_context?: { examples?: ExampleMsg[]; context?: ExampleMsg | null } | null;
}

const invalid = (m: string) => SrvErr.SRV_ERR_INVALID_ARGUMENT(m);

function oneValue(f: FeatureMsg, spec: TensorSpec, where: string): number | string | bigint {
  const list = f.kind === 'float_list' ? f.float_list?.value : f.kind === 'int64_list' ? f.int64_list?.value : f.bytes_list?.value;
  if (!list || list.length !== 1) throw invalid(`${where}: feature "${spec.name}" must hold exactly one value, got ${list?.length ?? 0}`);
  const v = list[0]!;
  const kind = dtypeInfo(spec.dtype).kind;
  if (kind === 'bytes') {
    if (f.kind !== 'bytes_list') throw invalid(`${where}: feature "${spec.name}" must be a bytes_list for ${spec.dtype}`);
    return Buffer.from(v as Uint8Array).toString('utf8');
  }
  if (f.kind === 'bytes_list') throw invalid(`${where}: feature "${spec.name}" must be a float_list or int64_list for ${spec.dtype}`);
  if (kind === 'bigint') {
    if (f.kind !== 'int64_list') throw invalid(`${where}: feature "${spec.name}" must be an int64_list for ${spec.dtype}`);
    return BigInt(v as string);
  }
  if (kind === 'int' && f.kind !== 'int64_list') throw invalid(`${where}: feature "${spec.name}" must be an int64_list for ${spec.dtype}`);
  return Number(v);
}

export function examplesToInputs(input: InputMsg | null | undefined, signature: Signature): { inputs: Map<string, Tensor>; count: number } {
  const withCtx = input?.kind === 'example_list_with_context' ? input.example_list_with_context : undefined;
  const examples = (withCtx ? withCtx.examples : input?.example_list?.examples) ?? [];
  if (examples.length === 0) throw invalid('Input is empty: send example_list or example_list_with_context with at least one Example');
  const context = withCtx?.context?.features?.feature ?? {};
  for (const s of signature.inputs) {
    if (s.shape.length !== 1) {
      throw SrvErr.SRV_ERR_UNIMPLEMENTED(`Classify/Regress need every input to be a [N] tensor; input "${s.name}" has rank ${s.shape.length}. Use Predict`);
    }
  }
  const inputs = new Map<string, Tensor>();
  for (const s of signature.inputs) {
    const data = allocate(s.dtype, examples.length);
    examples.forEach((ex, k) => {
      const f = ex.features?.feature?.[s.name] ?? context[s.name];
      if (!f) throw invalid(`examples[${k}] has no feature "${s.name}"`);
      const v = oneValue(f, s, `examples[${k}]`);
      // FP16 is held as raw half bits (server/tensor/dtype.ts).
      (data as unknown as (number | string | bigint)[])[k] = s.dtype === 'FP16' ? floatToHalf(v as number) : v;
    });
    inputs.set(s.name, { dtype: s.dtype, shape: [examples.length], data });
  }
  return { inputs, count: examples.length };
}
