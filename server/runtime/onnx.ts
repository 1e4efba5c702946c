// onnxruntime-node behind a small interface: load a model from bytes, describe its
// signature, run it with our Tensor type. Nothing else in the server imports onnxruntime.
import * as ort from 'onnxruntime-node';
import { SrvErr } from '../errors.ts';
import { fromOrtType, dtypeInfo, type DType, type TensorData } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';

export interface TensorSpec {
  name: string;
  dtype: DType;
  /** Dimensions; -1 where the model leaves a dimension free (a dim_param such as "N"). */
  shape: number[];
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface LoadedModel {
  signature: Signature;
  run(inputs: Map<string, Tensor>, outputNames: readonly string[]): Promise<Map<string, Tensor>>;
  release(): Promise<void>;
}

export interface RuntimeOptions {
  /** Threads ORT uses inside one run; 0 lets ORT pick (all cores). */
  intraOpThreads?: number;
  /**
   * Worker threads that run the model, each with its own session (workers.ts); 0 or
   * undefined runs it on the calling thread.
   */
  workerThreads?: number;
}

type Meta = { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] };

function specOf(m: Meta, where: string): TensorSpec {
  if (!m.isTensor || !m.type) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`${where} "${m.name}" is not a tensor; only tensor inputs and outputs are supported`);
  const info = fromOrtType(m.type);
  if (!info) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`${where} "${m.name}" has unsupported element type ${m.type}`);
  return {
    name: m.name,
    dtype: info.dtype,
    shape: (m.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  };
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
        return Promise.reject(SrvErr.SRV_ERR_INTERNAL(`model run failed: ${(e as Error).message}`, e));
      }
      return session.run(feeds, outputNames as string[]).then(
        (result) => {
          const out = new Map<string, Tensor>();
          for (const name of outputNames) out.set(name, fromOrt(result[name] as ort.Tensor));
          return out;
        },
        (e: unknown) => {
          throw SrvErr.SRV_ERR_INTERNAL(`model run failed: ${(e as Error).message}`, e);
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
