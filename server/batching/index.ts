// Public surface of dynamic batching.
export { Batcher } from './batcher.ts';
export type { BatcherOptions, RunFn } from './batcher.ts';
export { batchingRunnerFactory } from './factory.ts';
export { batchKey, concatRows, paddedSize, rowsOf, splitRows } from './tensors.ts';
