// tensorflow.serving.PredictionService over the shared inference core. Behaviour copied
// from TF Serving: tensorflow_serving/model_servers/prediction_service_impl.cc and
// servables/tensorflow/{predict,classification,regression,multi_inference}_util.cc,
// get_model_metadata_impl.cc.
import { DEFAULT_SIGNATURE, checkSignatureName, infer } from '../core/infer.ts';
import { SrvErr } from '../errors.ts';
import type { ServingHandle } from '../models/manager.ts';
import { classifyOutput, regressOutput } from '../rest/tf-codec.ts';
import type { Signature, TensorSpec } from '../runtime/types.ts';
import { dtypeInfo } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { checkAccepting, modelLabel, parseModelSpec, unary, type CallContext, type CallDeps, type MethodTable, type ModelSpecMsg, type ParsedSpec } from './calls.ts';
import { examplesToInputs, type InputMsg } from './examples.ts';
import { packAny } from './protos.ts';
import { shapeToProto, tensorFromProto, tensorToProto, type TensorProtoMsg } from './tensor-proto.ts';

export interface TfServiceOptions {
  /** Answer Predict with tensor_content bytes instead of typed *_val fields. */
  tensorContentOutputs?: boolean;
  /** Largest element count of one request tensor (INVALID_ARGUMENT above, before allocating). */
  maxTensorElements?: number;
}

const METHOD = {
  predict: 'tensorflow/serving/predict',
  classify: 'tensorflow/serving/classify',
  regress: 'tensorflow/serving/regress',
} as const;

/** Resolves the spec to a version and runs `fn` with the handle; always releases it. */
async function withHandle<T>(deps: CallDeps, ctx: CallContext, spec: ParsedSpec, fn: (h: ServingHandle) => Promise<T>): Promise<T> {
  ctx.model = modelLabel(deps.manager, spec.name);
  const h = deps.manager.acquire(spec.name, { version: spec.version, label: spec.label });
  try {
    ctx.version = String(h.version);
    return await fn(h);
  } finally {
    h.release();
  }
}

/** The effective ModelSpec sent back: the version that actually served (predict.proto). */
function servedSpec(h: ServingHandle, signatureName: string): ModelSpecMsg {
  return { name: h.model, version: { value: String(h.version) }, signature_name: signatureName || DEFAULT_SIGNATURE };
}

function tensorInfo(s: TensorSpec) {
  return { name: s.name, dtype: dtypeInfo(s.dtype).tf, tensor_shape: shapeToProto(s.shape) };
}

function signatureDef(sig: Signature) {
  return {
    inputs: Object.fromEntries(sig.inputs.map((s) => [s.name, tensorInfo(s)])),
    outputs: Object.fromEntries(sig.outputs.map((s) => [s.name, tensorInfo(s)])),
    method_name: METHOD.predict,
  };
}

function classificationResult(t: Tensor) {
  const [n, c] = [t.shape[0]!, t.shape[1]!];
  const d = t.data as Float32Array;
  const classifications = [];
  for (let k = 0; k < n; k++) {
    const classes = [];
    for (let j = 0; j < c; j++) classes.push({ label: String(j), score: d[k * c + j]! });
    classifications.push({ classes });
  }
  return { classifications };
}

function regressionResult(t: Tensor) {
  const d = t.data as Float32Array;
  const per = t.shape.length === 2 ? t.shape[1]! : 1;
  const regressions = [];
  for (let k = 0; k < t.shape[0]!; k++) regressions.push({ value: d[k * per]! });
  return { regressions };
}

async function runExamples(deps: CallDeps, ctx: CallContext, h: ServingHandle, input: InputMsg | null | undefined, kind: 'classify' | 'regress') {
  const { inputs } = examplesToInputs(input, h.signature);
  const output = kind === 'classify' ? classifyOutput(h.signature) : regressOutput(h.signature);
  const out = await infer(h, inputs, deps.metrics, { outputFilter: [output.name], deadlineMs: ctx.deadlineMs });
  const t = out.get(output.name)!;
  return kind === 'classify' ? classificationResult(t) : regressionResult(t);
}

interface PredictRequestMsg {
  model_spec?: ModelSpecMsg | null;
  inputs?: Record<string, TensorProtoMsg>;
  output_filter?: string[];
}

export function predictionServiceImpl(deps: CallDeps, opts: TfServiceOptions = {}): MethodTable {
  return {
    Predict: unary<PredictRequestMsg, unknown>(deps, 'predict', async (req, ctx) => {
      checkAccepting(deps);
      const spec = parseModelSpec(req.model_spec);
      return withHandle(deps, ctx, spec, async (h) => {
        checkSignatureName(spec.signatureName);
        const inputs = new Map<string, Tensor>();
        for (const [name, p] of Object.entries(req.inputs ?? {})) inputs.set(name, tensorFromProto(p, `input "${name}"`, opts.maxTensorElements));
        const out = await infer(h, inputs, deps.metrics, { outputFilter: req.output_filter, deadlineMs: ctx.deadlineMs });
        const outputs: Record<string, TensorProtoMsg> = {};
        for (const [name, t] of out) outputs[name] = tensorToProto(t, opts.tensorContentOutputs);
        return { model_spec: servedSpec(h, spec.signatureName), outputs };
      });
    }),

    GetModelMetadata: unary<{ model_spec?: ModelSpecMsg | null; metadata_field?: string[] }, unknown>(deps, 'metadata', async (req, ctx) => {
      const spec = parseModelSpec(req.model_spec);
      const fields = req.metadata_field ?? [];
      // get_model_metadata_impl.cc: at least one field, and only "signature_def" is known.
      if (fields.length === 0) throw SrvErr.SRV_ERR_INVALID_ARGUMENT('GetModelMetadataRequest must specify at least one metadata_field');
      for (const f of fields) if (f !== 'signature_def') throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`Metadata field ${f} is not supported`);
      return withHandle(deps, ctx, spec, async (h) => ({
        model_spec: { name: h.model, version: { value: String(h.version) }, signature_name: '' },
        metadata: {
          signature_def: packAny('tensorflow.serving.SignatureDefMap', { signature_def: { [DEFAULT_SIGNATURE]: signatureDef(h.signature) } }),
        },
      }));
    }),

    Classify: unary<{ model_spec?: ModelSpecMsg | null; input?: InputMsg | null }, unknown>(deps, 'classify', async (req, ctx) => {
      checkAccepting(deps);
      const spec = parseModelSpec(req.model_spec);
      return withHandle(deps, ctx, spec, async (h) => {
        checkSignatureName(spec.signatureName);
        return { model_spec: servedSpec(h, spec.signatureName), result: await runExamples(deps, ctx, h, req.input, 'classify') };
      });
    }),

    Regress: unary<{ model_spec?: ModelSpecMsg | null; input?: InputMsg | null }, unknown>(deps, 'regress', async (req, ctx) => {
      checkAccepting(deps);
      const spec = parseModelSpec(req.model_spec);
      return withHandle(deps, ctx, spec, async (h) => {
        checkSignatureName(spec.signatureName);
        return { model_spec: servedSpec(h, spec.signatureName), result: await runExamples(deps, ctx, h, req.input, 'regress') };
      });
    }),

    // multi_inference_util.cc: every task names the same model; each is a classify or a
    // regress on the shared input, answered in task order.
    MultiInference: unary<{ tasks?: { model_spec?: ModelSpecMsg | null; method_name?: string }[]; input?: InputMsg | null }, unknown>(deps, 'multi_inference', async (req, ctx) => {
      checkAccepting(deps);
      const tasks = req.tasks ?? [];
      if (tasks.length === 0) throw SrvErr.SRV_ERR_INVALID_ARGUMENT('MultiInferenceRequest has no tasks');
      const specs = tasks.map((t) => parseModelSpec(t.model_spec));
      if (new Set(specs.map((s) => s.name)).size > 1) throw SrvErr.SRV_ERR_INVALID_ARGUMENT('All ModelSpecs in a MultiInferenceRequest must access the same model name');
      const results = [];
      for (const [k, task] of tasks.entries()) {
        const spec = specs[k]!;
        const kind = task.method_name === METHOD.classify ? 'classify' : task.method_name === METHOD.regress ? 'regress' : undefined;
        if (!kind) throw SrvErr.SRV_ERR_UNIMPLEMENTED(`Unsupported signature method_name: ${task.method_name}; use ${METHOD.classify} or ${METHOD.regress}`);
        const result = await withHandle(deps, ctx, spec, async (h) => {
          checkSignatureName(spec.signatureName);
          const r = await runExamples(deps, ctx, h, req.input, kind);
          return kind === 'classify'
            ? { model_spec: servedSpec(h, spec.signatureName), classification_result: r }
            : { model_spec: servedSpec(h, spec.signatureName), regression_result: r };
        });
        results.push(result);
      }
      return { results };
    }),
  };
}
