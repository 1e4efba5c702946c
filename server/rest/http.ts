// The REST surface: TF Serving `/v1/...`, KServe v2 `/v2/...`, and `/metrics`, on one
// node:http server. Decoding and encoding live in the codecs; inference in core/infer.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION, VERSION_HEADER } from '../../common/conventions.ts';
import { isModelgateError, type ModelgateError } from '../../common/errors.ts';
import { checkSignatureName, DEFAULT_SIGNATURE, infer } from '../core/infer.ts';
import { SrvErr } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ModelManager, ServingHandle } from '../models/manager.ts';
import { parseJson, type JsonLimits } from '../tensor/json.ts';
import { dtypeInfo, type DType } from '../tensor/dtype.ts';
import { classifyOutput, decodeExamples, decodePredict, encodeClassify, encodePredict, encodeRegress, regressOutput, tfDims } from './tf-codec.ts';
import { decodeInfer, encodeInfer, modelMetadata } from './kserve-codec.ts';
import { parseRoute, type Route } from './routes.ts';

export interface RestOptions {
  /** Largest request body accepted, bytes (default 64 MiB) → 413 above. */
  bodyLimitBytes: number;
  /** Per-request processing deadline, ms (TF Serving: --rest_api_timeout_in_ms, 30000) → 504. */
  requestTimeoutMs: number;
  json: JsonLimits;
  serverName: string;
  serverVersion: string;
}

export interface RestDeps {
  manager: ModelManager;
  metrics: ServerMetrics;
  registry: Registry;
  options: RestOptions;
  /** False while starting or draining: /v2/health/ready answers 503. */
  isReady: () => boolean;
}

type Api = 'predict' | 'classify' | 'regress' | 'infer' | 'status' | 'metadata' | 'health' | 'metrics' | 'other';

interface Ctx {
  model: string;
  version: string;
  api: Api;
}

function send(res: ServerResponse, status: number, body: string, version?: number): void {
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (version !== undefined) headers[VERSION_HEADER] = String(version);
  res.writeHead(status, headers);
  res.end(body);
}

export function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}

/** Reads the body up to the limit; rejects with 413 as soon as the limit is passed. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(SrvErr.SRV_ERR_BODY_TOO_LARGE(`Request body of ${declared} bytes is over the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(SrvErr.SRV_ERR_BODY_TOO_LARGE(`Request body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    // Most bodies arrive in one chunk: decode it in place rather than copy it first.
    req.on('end', () => resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8')));
    req.on('error', reject);
    req.on('aborted', () => reject(SrvErr.SRV_ERR_CANCELLED('client closed the request')));
  });
}

export function createRestHandler(deps: RestDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { manager, metrics, options } = deps;

  const modelLabel = (name: string) => (manager.hasModel(name) ? name : OVERFLOW_LABEL_VALUE);

  function withDeadline<T>(p: Promise<T>): Promise<T> {
    // One promise and one timer per request (Promise.race + finally allocated three more
    // promises on the hot path: bench/server-rest-parts.ts).
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(SrvErr.SRV_ERR_DEADLINE_EXCEEDED(`Request did not finish within ${options.requestTimeoutMs} ms`)), options.requestTimeoutMs);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, route: Route, ctx: Ctx, deadlineMs: number): Promise<void> {
    switch (route.kind) {
      case 'metrics': {
        ctx.api = 'metrics';
        const text = await deps.registry.metrics();
        res.writeHead(200, { 'content-type': deps.registry.contentType });
        res.end(text);
        return;
      }
      case 'v2-server': {
        ctx.api = route.what === 'metadata' ? 'metadata' : 'health';
        if (route.what === 'metadata') return send(res, 200, JSON.stringify({ name: options.serverName, version: options.serverVersion, extensions: [] }));
        if (route.what === 'live') return send(res, 200, JSON.stringify({ live: true }));
        const ready = deps.isReady();
        return send(res, ready ? 200 : 503, JSON.stringify({ ready }));
      }
      case 'v2-model': {
        ctx.model = modelLabel(route.model);
        if (route.what === 'ready') {
          ctx.api = 'health';
          if (!manager.hasModel(route.model)) throw SrvErr.SRV_ERR_NOT_FOUND(`Model ${route.model} is not configured`);
          const avail = manager.availableVersions(route.model);
          const ready = route.version === undefined ? avail.length > 0 : avail.includes(route.version);
          return send(res, ready ? 200 : 503, JSON.stringify({ name: route.model, ready }));
        }
        if (route.what === 'metadata') {
          ctx.api = 'metadata';
          const h = manager.acquire(route.model, { version: route.version });
          try {
            ctx.version = String(h.version);
            return send(res, 200, JSON.stringify(modelMetadata(route.model, manager.availableVersions(route.model), h.signature)), h.version);
          } finally {
            h.release();
          }
        }
        ctx.api = 'infer';
        const body = parseJson(await readBody(req, options.bodyLimitBytes), options.json);
        const h = manager.acquire(route.model, { version: route.version });
        try {
          ctx.version = String(h.version);
          const v2 = decodeInfer(body, h.signature);
          const out = await withDeadline(infer(h, v2.inputs, metrics, { outputFilter: v2.outputFilter, deadlineMs }));
          return send(res, 200, encodeInfer(route.model, h.version, v2, out), h.version);
        } finally {
          h.release();
        }
      }
      case 'tf':
        return handleTf(req, res, route, ctx, deadlineMs);
      case 'unknown':
        throw SrvErr.SRV_ERR_NOT_FOUND(`no route for ${req.method} ${req.url}`);
    }
  }

  async function handleTf(req: IncomingMessage, res: ServerResponse, route: Extract<Route, { kind: 'tf' }>, ctx: Ctx, deadlineMs: number): Promise<void> {
    ctx.model = modelLabel(route.model);
    ctx.api = route.verb;
    if (route.label !== undefined && route.version !== undefined) throw SrvErr.SRV_ERR_INVALID_ARGUMENT('Specify either a version or a label, not both');
    if (route.verb === 'status') {
      if (!manager.hasModel(route.model)) throw SrvErr.SRV_ERR_NOT_FOUND(`Could not find any versions of model ${route.model}`);
      // GetModelStatus looks only at the version; a label request lists every version
      // (get_model_status_impl.cc checks has_version() alone).
      const list = manager.status(route.model, route.version);
      const body = {
        model_version_status: list.map((s) => ({
          version: String(s.version),
          state: s.state,
          status: { error_code: s.errorCode, error_message: s.errorMessage },
        })),
      };
      return send(res, 200, JSON.stringify(body));
    }
    if (route.verb === 'metadata') {
      const h = manager.acquire(route.model, { version: route.version, label: route.label });
      try {
        ctx.version = String(h.version);
        const tensorInfo = (s: { name: string; dtype: DType; shape: number[] }) => ({
          dtype: dtypeTf(s.dtype),
          tensor_shape: tfDims(s.shape),
          name: s.name,
        });
        const body = {
          model_spec: { name: route.model, signature_name: '', version: String(h.version) },
          metadata: {
            signature_def: {
              signature_def: {
                [DEFAULT_SIGNATURE]: {
                  inputs: Object.fromEntries(h.signature.inputs.map((s) => [s.name, tensorInfo(s)])),
                  outputs: Object.fromEntries(h.signature.outputs.map((s) => [s.name, tensorInfo(s)])),
                  method_name: 'tensorflow/serving/predict',
                  defaults: {},
                },
              },
            },
          },
        };
        return send(res, 200, JSON.stringify(body), h.version);
      } finally {
        h.release();
      }
    }
    const body = parseJson(await readBody(req, options.bodyLimitBytes), options.json);
    const h: ServingHandle = manager.acquire(route.model, { version: route.version, label: route.label });
    try {
      ctx.version = String(h.version);
      if (route.verb === 'predict') {
        const p = decodePredict(body, h.signature);
        checkSignatureName(p.signatureName);
        const out = await withDeadline(infer(h, p.inputs, metrics, { deadlineMs }));
        return send(res, 200, encodePredict(p.format, out), h.version);
      }
      const ex = decodeExamples(body, h.signature);
      checkSignatureName(ex.signatureName);
      const output = route.verb === 'regress' ? regressOutput(h.signature) : classifyOutput(h.signature);
      const out = await withDeadline(infer(h, ex.inputs, metrics, { outputFilter: [output.name], deadlineMs }));
      const t = out.get(output.name)!;
      return send(res, 200, route.verb === 'regress' ? encodeRegress(t) : encodeClassify(t), h.version);
    } finally {
      h.release();
    }
  }

  return (req, res) => {
    const t0 = performance.now();
    const deadlineMs = Date.now() + options.requestTimeoutMs;
    const ctx: Ctx = { model: OVERFLOW_LABEL_VALUE, version: UNKNOWN_VERSION, api: 'other' };
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let route: Route;
    try {
      route = parseRoute(req.method ?? 'GET', path);
    } catch (e) {
      return fail(res, e, ctx, metrics, t0);
    }
    // TF Serving routes skip handle()'s switch: one async frame less on the predict path.
    const work = route.kind === 'tf' ? handleTf(req, res, route, ctx, deadlineMs) : handle(req, res, route, ctx, deadlineMs);
    work.then(
      () => record(metrics, ctx, t0, res.statusCode),
      (e) => fail(res, e, ctx, metrics, t0),
    );
  };
}

/**
 * Counts and times a finished request; probes and scrapes are not counted. A module-level
 * function rather than a closure per request, and label objects written out rather than
 * spread: prom-client hashes the labels on every call, and the spread copy about doubled
 * the cost of inc() (bench/server-rest-parts.ts).
 */
function record(metrics: ServerMetrics, ctx: Ctx, t0: number, status: number): void {
  if (ctx.api === 'metrics' || ctx.api === 'health') return;
  metrics.requests.inc({ model: ctx.model, version: ctx.version, api: ctx.api, entrypoint: 'rest', code: String(status) });
  metrics.requestDuration.observe({ model: ctx.model, version: ctx.version, api: ctx.api, entrypoint: 'rest' }, (performance.now() - t0) / 1000);
}

function fail(res: ServerResponse, e: unknown, ctx: Ctx, metrics: ServerMetrics, t0: number): void {
  const err: ModelgateError = isModelgateError(e) ? e : SrvErr.SRV_ERR_INTERNAL(`internal error: ${(e as Error)?.message ?? String(e)}`, e);
  if (!res.headersSent) {
    const version = ctx.version !== UNKNOWN_VERSION ? Number(ctx.version) : undefined;
    if (err.http === 413) res.setHeader('connection', 'close');
    send(res, err.http, errorBody(err.message), version);
  } else {
    res.destroy();
  }
  record(metrics, ctx, t0, err.http);
}

function dtypeTf(d: DType): string {
  return dtypeInfo(d).tf;
}
