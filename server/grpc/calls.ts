// What every gRPC method shares: the error → status mapping through the SrvErr catalog,
// the client deadline, the request metrics (entrypoint "grpc", code = gRPC code name as
// common/outcome.ts defines the label), and reading a TF Serving ModelSpec.
import type * as grpc from '@grpc/grpc-js';
import { GrpcCode, isModelgateError, type ModelgateError } from '../../common/errors.ts';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION } from '../../common/conventions.ts';
import { SrvErr } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ModelManager } from '../models/manager.ts';

const CODE_NAMES = new Map<number, string>(Object.entries(GrpcCode).map(([k, v]) => [v, k]));

export function grpcCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? 'UNKNOWN';
}

export function asModelgateError(e: unknown): ModelgateError {
  return isModelgateError(e) ? e : SrvErr.SRV_ERR_INTERNAL(`internal error: ${(e as Error)?.message ?? String(e)}`, e);
}

export interface CallContext {
  /** Absolute deadline (ms since epoch) the client set, if any. */
  deadlineMs?: number;
  /** Label values; set once the request names a model and a version resolves. */
  model: string;
  version: string;
}

export interface CallDeps {
  manager: ModelManager;
  metrics: ServerMetrics;
  /** False while draining: inference calls are refused with UNAVAILABLE. */
  accepting: () => boolean;
}

/** The `deadline` grpc-js reports as an absolute time in ms, or undefined when unset. */
export function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : Number(d);
  return Number.isFinite(ms) ? ms : undefined;
}

type Api = 'predict' | 'classify' | 'regress' | 'multi_inference' | 'metadata' | 'status' | 'reload' | 'infer' | 'health';

/**
 * Wraps a promise-returning handler as a grpc-js unary handler. Errors become gRPC
 * statuses from the catalog; every call except health probes is counted and timed.
 */
export function unary<Req, Res>(
  deps: CallDeps,
  api: Api,
  fn: (req: Req, ctx: CallContext) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const t0 = performance.now();
    const ctx: CallContext = { deadlineMs: deadlineOf(call as grpc.ServerUnaryCall<unknown, unknown>), model: OVERFLOW_LABEL_VALUE, version: UNKNOWN_VERSION };
    const record = (code: number) => {
      if (api === 'health') return;
      const labels = { model: ctx.model, version: ctx.version, api, entrypoint: 'grpc' };
      deps.metrics.requests.inc({ ...labels, code: grpcCodeName(code) });
      deps.metrics.requestDuration.observe(labels, (performance.now() - t0) / 1000);
    };
    let p: Promise<Res>;
    try {
      p = fn(call.request, ctx);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (res) => {
        record(GrpcCode.OK);
        callback(null, res);
      },
      (e) => {
        const err = asModelgateError(e);
        record(err.grpc);
        callback({ code: err.grpc, details: err.message } as grpc.ServiceError);
      },
    );
  };
}

/** Model label value: the name when configured, else the overflow value (bounded cardinality). */
export function modelLabel(manager: ModelManager, name: string): string {
  return manager.hasModel(name) ? name : OVERFLOW_LABEL_VALUE;
}

export interface ModelSpecMsg {
  name?: string;
  version?: { value?: string | number } | null;
  version_label?: string;
  signature_name?: string;
  version_choice?: 'version' | 'version_label';
}

export interface ParsedSpec {
  name: string;
  version?: number;
  label?: string;
  signatureName: string;
}

/** tensorflow.serving.ModelSpec (apis/model.proto): name, version or version_label, signature. */
export function parseModelSpec(spec: ModelSpecMsg | null | undefined): ParsedSpec {
  if (!spec || !spec.name) throw SrvErr.SRV_ERR_INVALID_ARGUMENT('Missing ModelSpec: set model_spec.name');
  const out: ParsedSpec = { name: spec.name, signatureName: spec.signature_name ?? '' };
  if (spec.version_choice === 'version' || (spec.version && spec.version_choice === undefined)) {
    const v = Number(spec.version?.value ?? 0);
    if (!Number.isSafeInteger(v) || v < 0) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`model_spec.version ${spec.version?.value} is not a version number`);
    out.version = v;
  } else if (spec.version_choice === 'version_label' && spec.version_label) {
    out.label = spec.version_label;
  }
  return out;
}

/** Refuses new inference work while the server drains (the health service already says NOT_SERVING). */
export function checkAccepting(deps: CallDeps): void {
  if (!deps.accepting()) throw SrvErr.SRV_ERR_UNAVAILABLE('Server is shutting down; retry on another replica');
}
