// What every gRPC method shares, whatever carries it: errors from the SrvErr catalog, the
// client deadline, the request metrics (entrypoint "grpc", code = gRPC code name as
// common/outcome.ts defines the label), and reading a TF Serving ModelSpec.
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
  /** Absolute deadline (ms since epoch) the client set (grpc-timeout), if any. */
  deadlineMs?: number;
  /** Label values; set once the request names a model and a version resolves. */
  model: string;
  version: string;
}

export function newContext(deadlineMs: number | undefined): CallContext {
  return { deadlineMs, model: OVERFLOW_LABEL_VALUE, version: UNKNOWN_VERSION };
}

export interface CallDeps {
  manager: ModelManager;
  metrics: ServerMetrics;
  /** False while draining: inference calls are refused with UNAVAILABLE. */
  accepting: () => boolean;
}

/** The writing side of a server-streaming call. */
export interface StreamOut {
  write(message: unknown): void;
  end(): void;
  /** Called once when the call ends for any reason (client cancel, end, shutdown). */
  onClose(cb: () => void): void;
}

/** A method as the transport (transport.ts) runs it; the message objects are proto-loader's. */
export type Method =
  | { kind: 'unary'; fn: (req: any, ctx: CallContext) => Promise<unknown> }
  | { kind: 'stream'; fn: (req: any, ctx: CallContext, out: StreamOut) => void };

/** Implementations of one service's methods, by method name as in the .proto. */
export type MethodTable = Record<string, Method>;

type Api = 'predict' | 'classify' | 'regress' | 'multi_inference' | 'metadata' | 'status' | 'reload' | 'infer' | 'health';

/**
 * A unary method from a promise-returning handler. Every call except health probes is
 * counted and timed (entrypoint "grpc"); errors leave as ModelgateErrors, which carry the
 * gRPC status of the catalog entry.
 */
export function unary<Req, Res>(deps: CallDeps, api: Api, fn: (req: Req, ctx: CallContext) => Promise<Res>): Method {
  return {
    kind: 'unary',
    fn: async (req: Req, ctx: CallContext) => {
      const t0 = performance.now();
      const record = (code: number) => {
        if (api === 'health') return;
        const labels = { model: ctx.model, version: ctx.version, api, entrypoint: 'grpc' };
        deps.metrics.requests.inc({ ...labels, code: grpcCodeName(code) });
        deps.metrics.requestDuration.observe(labels, (performance.now() - t0) / 1000);
      };
      try {
        const res = await fn(req, ctx);
        record(GrpcCode.OK);
        return res;
      } catch (e) {
        const err = asModelgateError(e);
        record(err.grpc);
        throw err;
      }
    },
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
