// Messages between the main thread (workers.ts) and an inference worker (onnx-worker.ts).
import type { DType, TensorData } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Signature } from './types.ts';

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

/**
 * Tensors as sent over the port, each owning its buffer (ownedCopy). With `transfer`, the
 * buffers are listed for transfer instead of copy: only for tensors the sender never uses
 * again (a worker's outputs), never for a caller's inputs.
 */
export function toWire(tensors: ReadonlyMap<string, Tensor>, transfer?: ArrayBuffer[]): WireTensor[] {
  const wire: WireTensor[] = [];
  for (const [name, t] of tensors) {
    const data = ownedCopy(t.data);
    if (transfer && ArrayBuffer.isView(data)) transfer.push(data.buffer as ArrayBuffer);
    wire.push({ name, dtype: t.dtype, shape: t.shape, data });
  }
  return wire;
}

export function fromWire(wire: readonly WireTensor[]): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const t of wire) out.set(t.name, { dtype: t.dtype, shape: t.shape, data: t.data });
  return out;
}
