// inference.GRPCInferenceService (KServe v2 / Open Inference Protocol,
// specification/protocol/open_inference_grpc.proto) over the shared inference core.
import { infer } from '../core/infer.ts';
import { SrvErr } from '../errors.ts';
import { modelMetadata } from '../rest/kserve-codec.ts';
import { checkAccepting, modelLabel, unary, type CallDeps, type MethodTable } from './calls.ts';
import { decodeInferInputs, encodeInferOutputs, type InferInputMsg } from './kserve-tensor.ts';

export interface KserveDeps extends CallDeps {
  isReady: () => boolean;
  serverName: string;
  serverVersion: string;
  /** Largest element count of one request tensor (INVALID_ARGUMENT above, before allocating). */
  maxTensorElements?: number;
}

/** The v2 protocol's version is a string; empty means "let the server choose". */
function parseVersion(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`model version "${v}" is not a version number`);
  return n;
}

interface ModelInferRequestMsg {
  model_name?: string;
  model_version?: string;
  id?: string;
  inputs?: InferInputMsg[];
  outputs?: { name: string }[];
  raw_input_contents?: Uint8Array[];
}

export function inferenceServiceImpl(deps: KserveDeps): MethodTable {
  const { manager } = deps;
  return {
    ServerLive: unary(deps, 'health', async () => ({ live: true })),
    ServerReady: unary(deps, 'health', async () => ({ ready: deps.isReady() })),
    ModelReady: unary<{ name?: string; version?: string }, unknown>(deps, 'health', async (req) => {
      const name = req.name ?? '';
      if (!manager.hasModel(name)) throw SrvErr.SRV_ERR_NOT_FOUND(`Model ${name} is not configured`);
      const v = parseVersion(req.version);
      const avail = manager.availableVersions(name);
      return { ready: v === undefined ? avail.length > 0 : avail.includes(v) };
    }),
    ServerMetadata: unary(deps, 'health', async () => ({ name: deps.serverName, version: deps.serverVersion, extensions: [] })),
    ModelMetadata: unary<{ name?: string; version?: string }, unknown>(deps, 'metadata', async (req, ctx) => {
      const name = req.name ?? '';
      ctx.model = modelLabel(manager, name);
      const h = manager.acquire(name, { version: parseVersion(req.version) });
      try {
        ctx.version = String(h.version);
        return modelMetadata(name, manager.availableVersions(name), h.signature);
      } finally {
        h.release();
      }
    }),
    ModelInfer: unary<ModelInferRequestMsg, unknown>(deps, 'infer', async (req, ctx) => {
      checkAccepting(deps);
      const name = req.model_name ?? '';
      ctx.model = modelLabel(manager, name);
      const h = manager.acquire(name, { version: parseVersion(req.model_version) });
      try {
        ctx.version = String(h.version);
        const raw = req.raw_input_contents ?? [];
        const inputs = decodeInferInputs(req.inputs ?? [], raw, deps.maxTensorElements);
        const filter = (req.outputs ?? []).map((o) => o.name);
        const out = await infer(h, inputs, deps.metrics, { outputFilter: filter, deadlineMs: ctx.deadlineMs });
        return { model_name: name, model_version: String(h.version), id: req.id ?? '', ...encodeInferOutputs(out, raw.length > 0) };
      } finally {
        h.release();
      }
    }),
  };
}
