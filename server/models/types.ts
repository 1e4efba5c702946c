import type { VersionPolicy } from '../repository/policy.ts';
import type { LoadedModel } from '../runtime/types.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** Dynamic batching parameters, named as TF Serving's BatchingParameters (session_bundle_config.proto). */
export interface BatchingConfig {
  maxBatchSize: number;
  batchTimeoutMicros: number;
  maxEnqueuedBatches: number;
  numBatchThreads: number;
  allowedBatchSizes: number[];
  preferredBatchSizes: number[];
}

/** One served model, as the server's own config says it (internal form; YAML is parsed in server/config.ts). */
export interface ModelConfig {
  name: string;
  basePath: string;
  policy: VersionPolicy;
  /** Version labels such as stable → 1, canary → 2. */
  labels: Record<string, number>;
  batching?: BatchingConfig;
  /**
   * Worker threads that run this model, each with its own ONNX Runtime session (Triton's
   * instance_group count); 0 or undefined runs it on the event-loop thread.
   */
  workerThreads?: number;
  /**
   * Serve a new version even when its signature (input/output names, dtypes, shapes) differs
   * from the serving version's. Off by default: such a version is reported as failed and the
   * serving one stays.
   */
  allowSignatureChange?: boolean;
  /** Largest REST request body for this model, bytes; undefined: the server's --max_body_bytes. */
  maxBodyBytes?: number;
}

/** Runs a loaded version; the plain runner calls the runtime, the batcher queues and merges. */
export interface Runner {
  /** True when the runner observes inference time itself (the batcher times whole batches). */
  readonly recordsInference?: boolean;
  run(inputs: Map<string, Tensor>, outputNames: readonly string[], deadlineMs?: number): Promise<Map<string, Tensor>>;
  close(): Promise<void>;
}

export type RunnerFactory = (model: ModelConfig, version: number, loaded: LoadedModel) => Runner;

/** Runs warmup for a freshly loaded version before it becomes AVAILABLE. */
export type Warmup = (model: ModelConfig, version: number, versionDir: string, loaded: LoadedModel) => Promise<number>;
