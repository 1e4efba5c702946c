// Messages between the main thread (workers.ts) and an inference worker (onnx-worker.ts).
import type { DType, TensorData } from '../tensor/dtype.ts';
import type { Signature } from './onnx.ts';

export interface WireTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export interface WireError {
  /** A server error code (SrvErr), so the error keeps its HTTP status and gRPC code. */
  code: string;
  message: string;
}

export type ToWorker =
  | { type: 'load'; bytes: Uint8Array; intraOpThreads: number }
  | { type: 'run'; id: number; inputs: WireTensor[]; outputNames: readonly string[] }
  | { type: 'release' };

export type ToMain =
  | { type: 'loaded'; signature: Signature }
  | { type: 'load-failed'; error: WireError }
  | { type: 'result'; id: number; outputs: WireTensor[] }
  | { type: 'run-failed'; id: number; error: WireError };

/**
 * Tensor data that owns its whole ArrayBuffer. Structured cloning a typed array copies the
 * entire buffer behind it, and transferring one detaches the entire buffer: a view into a
 * larger buffer (a request body, Node's shared Buffer pool) is copied out first.
 */
export function ownedCopy(data: TensorData): TensorData {
  if (!ArrayBuffer.isView(data)) return data;
  const view = data as unknown as { buffer: ArrayBufferLike; byteOffset: number; byteLength: number; slice(): TensorData };
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) return data;
  // Buffer#slice is a view, not a copy; Uint8Array#slice on a plain typed array copies.
  return Buffer.isBuffer(data) ? new Uint8Array(data) : view.slice();
}
