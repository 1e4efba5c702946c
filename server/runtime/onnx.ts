// onnxruntime-node behind a small interface: load a model from bytes, describe its
// signature, run it with our Tensor type. Nothing else in the server imports onnxruntime.
import * as ort from 'onnxruntime-node';
import type { ModelgateError } from '../../common/errors.ts';
import { SrvErr } from '../errors.ts';
import { fromOrtType, dtypeInfo, type TensorData } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { LoadedModel, RuntimeOptions, Signature, TensorSpec } from './types.ts';

type Meta = { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] };

function specOf(m: Meta, where: string): TensorSpec {
  if (!m.isTensor || !m.type) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`${where} "${m.name}" is not a tensor; only tensor inputs and outputs are supported`);
  const info = fromOrtType(m.type);
  if (!info) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`${where} "${m.name}" has unsupported element type ${m.type}`);
  const dims = m.shape ?? [];
  return {
    name: m.name,
    dtype: info.dtype,
    shape: dims.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    dimNames: dims.map((d) => (typeof d === 'string' ? d : '')),
  };
}

/**
 * ONNX Runtime's own checks of the feeds before a graph runs (inference_session.cc
 * ValidateInputs / ValidateOutputs, the Tensor constructor and the feeds checks of
 * onnxruntime-node): a request the model cannot take, so the client's error, as TF Serving
 * answers INVALID_ARGUMENT for graph input errors.
 */
const ORT_INPUT_ERRORS: readonly RegExp[] = [
  /Invalid rank for input/i,
  /Got invalid dimensions for input/i,
  /Unexpected input data type/i,
  /Invalid Feed Input Name/i,
  /Invalid Output Name/i,
  /Missing Input:/i,
  /is missing in 'feeds'/i,
  /does not match data length/i,
];

/** Messages of graph nodes that failed on the sizes they were given (Concat, Add, MatMul, Reshape, ...). */
const SHAPE_FAILURE = /dimension|shape|broadcast|mismatch/i;

/**
 * The server error for a failed run. ONNX Runtime's input errors are INVALID_ARGUMENT (400);
 * so is a shape failure inside the graph when the request's inputs disagree in a leading
 * dimension the signature leaves free (a batch the graph cannot line up, e.g. in a Concat,
 * where the signature names the dimensions differently so it could not be checked before
 * the run). Everything else happened to a valid request: INTERNAL (500).
 */
export function runError(e: unknown, inputs: ReadonlyMap<string, { shape: readonly number[] }>, signature?: Signature): ModelgateError {
  const message = (e as Error)?.message ?? String(e);
  for (const re of ORT_INPUT_ERRORS) {
    if (re.test(message)) return SrvErr.SRV_ERR_INVALID_ARGUMENT(`the model rejected the input: ${message}`, e);
  }
  if (!SHAPE_FAILURE.test(message)) return SrvErr.SRV_ERR_INTERNAL(`model run failed: ${message}`, e);
  let first: [string, number] | undefined;
  for (const [name, t] of inputs) {
    if (t.shape.length === 0) continue;
    const spec = signature?.inputs.find((s) => s.name === name);
    if (spec && spec.shape[0] !== -1) continue;
    if (!first) first = [name, t.shape[0]!];
    else if (t.shape[0] !== first[1]) {
      return SrvErr.SRV_ERR_INVALID_ARGUMENT(
        `inputs disagree in their leading (batch) dimension: "${first[0]}" has ${first[1]}, "${name}" has ${t.shape[0]}; the model failed on them: ${message}`,
        e,
      );
    }
  }
  return SrvErr.SRV_ERR_INTERNAL(`model run failed: ${message}`, e);
}

function toOrt(t: Tensor): ort.Tensor {
  const type = dtypeInfo(t.dtype).ort;
  return new ort.Tensor(type, t.data as ort.Tensor.DataType, t.shape);
}

function fromOrt(t: ort.Tensor): Tensor {
  const info = fromOrtType(t.type);
  if (!info) throw SrvErr.SRV_ERR_INTERNAL(`model produced unsupported element type ${t.type}`);
  let data = t.data as TensorData;
  if (info.dtype === 'BOOL' && !(data instanceof Uint8Array)) data = Uint8Array.from(data as unknown as ArrayLike<number>);
  return { dtype: info.dtype, shape: [...t.dims], data };
}

/** Loads a model from the bytes of a .onnx file; throws SRV_ERR_INVALID_ARGUMENT on a bad file. */
export async function loadOnnx(bytes: Uint8Array, opts: RuntimeOptions = {}): Promise<LoadedModel> {
  if (opts.workerThreads && opts.workerThreads > 0) {
    const { loadOnnxInWorkers } = await import('./workers.ts');
    return loadOnnxInWorkers(bytes, opts.workerThreads, { intraOpThreads: opts.intraOpThreads });
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: opts.intraOpThreads ?? 0,
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`not a loadable ONNX model: ${(e as Error).message}`, e);
  }
  const s = session as unknown as { inputMetadata: Meta[]; outputMetadata: Meta[] };
  const signature: Signature = {
    inputs: s.inputMetadata.map((m) => specOf(m, 'input')),
    outputs: s.outputMetadata.map((m) => specOf(m, 'output')),
  };
  let released = false;
  return {
    signature,
    // Not async: the runtime's promise is the only one a request waits on (one promise
    // and one microtask hop less per run on the hot path).
    run(inputs, outputNames) {
      if (released) return Promise.reject(SrvErr.SRV_ERR_UNAVAILABLE('model version was unloaded'));
      const feeds: Record<string, ort.Tensor> = {};
      try {
        for (const [name, t] of inputs) feeds[name] = toOrt(t);
      } catch (e) {
        return Promise.reject(runError(e, inputs, signature));
      }
      return session.run(feeds, outputNames as string[]).then(
        (result) => {
          const out = new Map<string, Tensor>();
          for (const name of outputNames) out.set(name, fromOrt(result[name] as ort.Tensor));
          return out;
        },
        (e: unknown) => {
          throw runError(e, inputs, signature);
        },
      );
    },
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}
