// Public surface of the inference server.
export { startServer, SERVER_VERSION } from './server.ts';
export type { StartOptions, RunningServer } from './server.ts';
export { configFromFlags, readModels, readModelConfigFile, SERVE_FLAGS } from './config.ts';
export type { ServerConfig } from './config.ts';
export { ModelManager } from './models/manager.ts';
export type { ServingHandle, VersionStatus } from './models/manager.ts';
export type { ModelConfig, BatchingConfig, Runner, RunnerFactory } from './models/types.ts';
export type { VersionPolicy } from './repository/policy.ts';
export { aspiredVersions } from './repository/policy.ts';
export { SrvErr } from './errors.ts';
export { ServerMetrics } from './metrics.ts';
export { infer, checkInputs, selectOutputs, checkSignatureName, DEFAULT_SIGNATURE } from './core/infer.ts';
export { loadOnnx } from './runtime/onnx.ts';
export type { LoadedModel, Signature, TensorSpec } from './runtime/onnx.ts';
export type { Tensor } from './tensor/tensor.ts';
export type { DType } from './tensor/dtype.ts';
