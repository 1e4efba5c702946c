// What a loaded model is to the rest of the server, whichever runtime holds it: its
// signature and run/release (LoadedModel), and how to load it (RuntimeOptions). Types only,
// shared by the in-thread runtime (onnx.ts), the worker-thread runtime (workers.ts), their
// message protocol (worker-protocol.ts) and every caller.
import type { DType } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';

export interface TensorSpec {
  name: string;
  dtype: DType;
  /** Dimensions; -1 where the model leaves a dimension free (a dim_param such as "N"). */
  shape: number[];
  /**
   * The dim_param name of each free dimension ("N"), '' where the dimension is fixed or
   * unnamed. Inputs that share a name must agree in that dimension (core/infer.ts checks).
   */
  dimNames?: string[];
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
