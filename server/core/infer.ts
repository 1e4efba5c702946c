// The one inference path every surface (TF Serving REST, KServe REST, gRPC) goes through:
// check the decoded inputs against the signature, pick outputs, run (through the batcher
// when configured), and time it. Surfaces only decode and encode.
import { SrvErr } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ServingHandle } from '../models/manager.ts';
import type { Signature, TensorSpec } from '../runtime/onnx.ts';
import type { Tensor } from '../tensor/tensor.ts';

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
  for (const name of inputs.keys()) {
    if (!signature.inputs.some((s) => s.name === name)) {
      throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${name}" is not in the signature; inputs are: ${signature.inputs.map((s) => s.name).join(', ')}`);
    }
  }
  for (const spec of signature.inputs) {
    const t = inputs.get(spec.name);
    if (!t) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`Missing named input: ${spec.name}`);
    checkTensor(spec, t);
  }
}

function checkTensor(spec: TensorSpec, t: Tensor): void {
  if (t.dtype !== spec.dtype) {
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${spec.name}" expects ${spec.dtype}, got ${t.dtype}`);
  }
  const ok = t.shape.length === spec.shape.length && spec.shape.every((d, i) => d < 0 || d === t.shape[i]);
  if (!ok) {
    const want = spec.shape.map((d) => (d < 0 ? '-1' : String(d))).join(',');
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`input "${spec.name}" expects shape [${want}] (-1: any size), got ${shapeText(t.shape)}`);
  }
}

/** The outputs to compute: all, or the requested subset (unknown names rejected). */
export function selectOutputs(signature: Signature, filter: readonly string[] | undefined): string[] {
  const all = signature.outputs.map((o) => o.name);
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
 * Runs a checked request on the version the handle holds. The caller releases the handle.
 * Not an async function: the checks run synchronously and a failed one comes back as a
 * rejected promise, so the REST path pays for one promise per request (the run's), not
 * for an async frame around it (bench/server-rest-parts.ts).
 */
export function infer(handle: ServingHandle, inputs: Map<string, Tensor>, metrics: ServerMetrics, opts: InferOptions = {}): Promise<Map<string, Tensor>> {
  let outputs: string[];
  try {
    checkInputs(handle.signature, inputs);
    outputs = selectOutputs(handle.signature, opts.outputFilter);
    if (opts.deadlineMs !== undefined && Date.now() >= opts.deadlineMs) {
      throw SrvErr.SRV_ERR_DEADLINE_EXCEEDED('Deadline exceeded before the model ran');
    }
  } catch (e) {
    return Promise.reject(e);
  }
  if (handle.runner.recordsInference) return handle.runner.run(inputs, outputs, opts.deadlineMs);
  const series = metrics.inferenceSeries(handle.runner, handle.model, handle.version);
  const t0 = performance.now();
  const run = handle.runner.run(inputs, outputs, opts.deadlineMs);
  return run.then((result) => {
    series.observe((performance.now() - t0) / 1000);
    return result;
  });
}
