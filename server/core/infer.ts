// The one inference path every surface (TF Serving REST, KServe REST, gRPC) goes through:
// check the decoded inputs against the signature, pick outputs, run (through the batcher
// when configured), and time it. Surfaces only decode and encode.
import { SrvErr } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ServingHandle } from '../models/manager.ts';
import type { Signature, TensorSpec } from '../runtime/types.ts';
import { elementCount, type Tensor } from '../tensor/tensor.ts';

/** TF Serving's only signature name for a model with one signature (an ONNX graph has one). */
export const DEFAULT_SIGNATURE = 'serving_default';

export function checkSignatureName(name: string | undefined): void {
  if (name !== undefined && name !== '' && name !== DEFAULT_SIGNATURE) {
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`Serving signature name: "${name}" not found in signature def`);
  }
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Rejects missing, unknown, mistyped or misshapen inputs with a message naming the input. */
export function checkInputs(signature: Signature, inputs: Map<string, Tensor>): void {
  // Plain loops: this runs per request, and a closure per some()/every() call adds up there.
  for (const name of inputs.keys()) {
    let known = false;
    for (const s of signature.inputs) if (s.name === name) known = true;
    if (!known) {
      throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${name}" is not in the signature; inputs are: ${signature.inputs.map((s) => s.name).join(', ')}`);
    }
  }
  for (const spec of signature.inputs) {
    const t = inputs.get(spec.name);
    if (!t) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`Missing named input: ${spec.name}`);
    checkTensor(spec, t);
  }
  for (const dim of sharedDimsOf(signature)) checkSharedDim(dim, inputs);
}

/** A free dimension the signature names in more than one place ("N" of every fraud input). */
interface SharedDim {
  name: string;
  /** [input name, axis] of each place it appears. */
  at: readonly (readonly [string, number])[];
}

/** Shared dimensions per loaded signature, computed once (signatures never change). */
const sharedDims = new WeakMap<Signature, readonly SharedDim[]>();

function sharedDimsOf(signature: Signature): readonly SharedDim[] {
  let dims = sharedDims.get(signature);
  if (!dims) {
    const byName = new Map<string, [string, number][]>();
    for (const spec of signature.inputs) {
      spec.dimNames?.forEach((n, axis) => {
        if (n === '' || spec.shape[axis] !== -1) return;
        const list = byName.get(n) ?? [];
        list.push([spec.name, axis]);
        byName.set(n, list);
      });
    }
    dims = [...byName].filter(([, at]) => at.length > 1).map(([name, at]) => ({ name, at }));
    sharedDims.set(signature, dims);
  }
  return dims;
}

/**
 * Every place a shared dimension appears must have the same size: a batch of 2 amounts and
 * 3 ages cannot be lined up, and ONNX Runtime would only find out inside the graph.
 */
function checkSharedDim(dim: SharedDim, inputs: Map<string, Tensor>): void {
  const [firstName, firstAxis] = dim.at[0]!;
  const size = inputs.get(firstName)!.shape[firstAxis]!;
  for (let i = 1; i < dim.at.length; i++) {
    const [name, axis] = dim.at[i]!;
    const other = inputs.get(name)!.shape[axis]!;
    if (other !== size) {
      throw SrvErr.SRV_ERR_INVALID_ARGUMENT(
        `inputs "${firstName}" and "${name}" share dimension ${dim.name} of the signature (the batch size when it is the first) but have ${size} and ${other} there; send the same number of rows for every input`,
      );
    }
  }
}

function checkTensor(spec: TensorSpec, t: Tensor): void {
  if (t.dtype !== spec.dtype) {
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${spec.name}" expects ${spec.dtype}, got ${t.dtype}`);
  }
  let ok = t.shape.length === spec.shape.length;
  for (let i = 0; ok && i < spec.shape.length; i++) ok = spec.shape[i]! < 0 || spec.shape[i] === t.shape[i];
  if (!ok) {
    const want = spec.shape.map((d) => (d < 0 ? '-1' : String(d))).join(',');
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${spec.name}" expects shape [${want}] (-1: any size), got ${shapeText(t.shape)}`);
  }
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${spec.name}" has shape ${shapeText(t.shape)}; dimensions are whole numbers >= 0`);
  }
  const n = elementCount(t.shape);
  if (t.data.length !== n) {
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${spec.name}" has shape ${shapeText(t.shape)}, which holds ${n} values, but ${t.data.length} were sent`);
  }
}

/** Every output name of a signature, computed once per loaded signature (signatures never change). */
const outputNames = new WeakMap<Signature, readonly string[]>();

/** The outputs to compute: all, or the requested subset (unknown names rejected). */
export function selectOutputs(signature: Signature, filter: readonly string[] | undefined): readonly string[] {
  let all = outputNames.get(signature);
  if (!all) {
    all = signature.outputs.map((o) => o.name);
    outputNames.set(signature, all);
  }
  if (!filter || filter.length === 0) return all;
  for (const f of filter) {
    if (!all.includes(f)) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`output "${f}" is not in the signature; outputs are: ${all.join(', ')}`);
  }
  return [...new Set(filter)];
}

export interface InferOptions {
  outputFilter?: readonly string[];
  /** Absolute deadline, ms since epoch (performance-independent wall clock). */
  deadlineMs?: number;
}

/**
 * Checks a request and starts it on the version the handle holds; the caller releases the
 * handle, and calls recordInference(..., t0) when the run succeeds (infer() does both).
 * Checks that fail come back as a rejected promise. The REST path calls this directly so
 * that the run's promise is the only one it waits on: a wrapping async function or .then
 * per layer was a measurable share of the per-request CPU (bench/server-rest.ts).
 */
export function startInference(handle: ServingHandle, inputs: Map<string, Tensor>, opts: InferOptions = {}): Promise<Map<string, Tensor>> {
  let outputs: readonly string[];
  try {
    checkInputs(handle.signature, inputs);
    outputs = selectOutputs(handle.signature, opts.outputFilter);
    if (opts.deadlineMs !== undefined && Date.now() >= opts.deadlineMs) {
      throw SrvErr.SRV_ERR_DEADLINE_EXCEEDED('Deadline exceeded before the model ran');
    }
  } catch (e) {
    return Promise.reject(e);
  }
  return handle.runner.run(inputs, outputs, opts.deadlineMs);
}

/** Observes a successful run's time (t0 from performance.now() before startInference), unless the runner times its own runs. */
export function recordInference(handle: ServingHandle, metrics: ServerMetrics, t0: number): void {
  if (handle.runner.recordsInference) return;
  metrics.inferenceSeries(handle.runner, handle.model, handle.version).observe((performance.now() - t0) / 1000);
}

/** Runs a checked request on the version the handle holds, and times it. The caller releases the handle. */
export async function infer(handle: ServingHandle, inputs: Map<string, Tensor>, metrics: ServerMetrics, opts: InferOptions = {}): Promise<Map<string, Tensor>> {
  const t0 = performance.now();
  const result = await startInference(handle, inputs, opts);
  recordInference(handle, metrics, t0);
  return result;
}
