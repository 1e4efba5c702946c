// Tensor plumbing for dynamic batching: a key that says which requests may share a batch,
// concatenation along dimension 0, padding up to an allowed size, and the split back.
import { SrvErr } from '../errors.ts';
import { allocate, type TensorData } from '../tensor/dtype.ts';
import { elementCount, type Tensor } from '../tensor/tensor.ts';

/**
 * Requests can share a batch when every input has the same dtype and the same dimensions
 * after the first, and they ask for the same outputs (the run computes one output list).
 */
export function batchKey(inputs: Map<string, Tensor>, outputNames: readonly string[]): string {
  const parts: string[] = [];
  for (const name of [...inputs.keys()].sort()) {
    const t = inputs.get(name)!;
    parts.push(`${name}:${t.dtype}:${t.shape.slice(1).join('x')}`);
  }
  parts.push(`->${outputNames.join(',')}`);
  return parts.join('|');
}

/**
 * Rows (size of dimension 0) of a request. Every input must agree: a batch is cut along
 * dimension 0 of all inputs at once. Scalars cannot be batched.
 */
export function rowsOf(inputs: Map<string, Tensor>): number {
  let rows = -1;
  for (const [name, t] of inputs) {
    if (t.shape.length === 0) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${name}" is a scalar; batching needs a batch dimension`);
    if (rows === -1) rows = t.shape[0]!;
    else if (t.shape[0] !== rows) {
      throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`inputs disagree in dimension 0 (${rows} and ${t.shape[0]} for "${name}"); batching needs the same batch size for all inputs`);
    }
  }
  return rows;
}

/**
 * Concatenates same-named inputs along dimension 0, then repeats the first row until the
 * batch has `paddedRows` rows. Padding with a real row (not zeros) keeps the padded rows
 * numerically harmless for any model (no log(0) or division by zero); their outputs are
 * dropped by `splitRows`.
 */
export function concatRows(parts: readonly Tensor[], paddedRows: number): Tensor {
  const first = parts[0]!;
  const inner = first.shape.slice(1);
  const per = elementCount(inner);
  const total = parts.reduce((n, p) => n + p.shape[0]!, 0);
  const data = allocate(first.dtype, per * paddedRows);
  let offset = 0;
  for (const p of parts) {
    copyInto(data, p.data, offset);
    offset += p.shape[0]! * per;
  }
  for (let r = total; r < paddedRows; r++) {
    copyRange(data, first.data, 0, per, r * per);
  }
  return { dtype: first.dtype, shape: [paddedRows, ...inner], data };
}

/** Cuts an output of the batch back into the callers' row ranges. */
export function splitRows(t: Tensor, rowCounts: readonly number[], outputName: string): Tensor[] {
  if (t.shape.length === 0) throw SrvErr.SRV_ERR_INTERNAL(`output "${outputName}" is a scalar and cannot be split back to batched requests; turn batching off for this model`);
  const inner = t.shape.slice(1);
  const per = elementCount(inner);
  const out: Tensor[] = [];
  let row = 0;
  for (const n of rowCounts) {
    const data = allocate(t.dtype, n * per);
    copyRange(data, t.data, row * per, (row + n) * per, 0);
    out.push({ dtype: t.dtype, shape: [n, ...inner], data });
    row += n;
  }
  if (row > t.shape[0]!) {
    throw SrvErr.SRV_ERR_INTERNAL(`output "${outputName}" has ${t.shape[0]} rows but the batch had ${row}; the model does not keep dimension 0, turn batching off for it`);
  }
  return out;
}

/**
 * The size a batch of `rows` runs at: the smallest allowed size that holds it (TF
 * Serving pads up to the next entry of allowed_batch_sizes, batching_session.cc), or
 * `rows` itself when no sizes are configured.
 */
export function paddedSize(rows: number, allowed: readonly number[]): number {
  if (allowed.length === 0) return rows;
  for (const a of allowed) if (a >= rows) return a;
  return rows;
}

function copyInto(dst: TensorData, src: TensorData, at: number): void {
  if (Array.isArray(dst)) {
    const s = src as unknown[];
    for (let i = 0; i < s.length; i++) (dst as unknown[])[at + i] = s[i];
  } else {
    (dst as Float32Array).set(src as Float32Array, at);
  }
}

function copyRange(dst: TensorData, src: TensorData, from: number, to: number, at: number): void {
  if (Array.isArray(dst)) {
    const s = src as unknown[];
    for (let i = from; i < to; i++) (dst as unknown[])[at + i - from] = s[i];
  } else {
    (dst as Float32Array).set((src as Float32Array).subarray(from, to), at);
  }
}
