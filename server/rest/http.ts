// The REST surface: TF Serving `/v1/...`, KServe v2 `/v2/...`, and `/metrics`, on one
// node:http server. Decoding and encoding live in the codecs; inference in core/infer.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION, VERSION_HEADER } from '../../common/conventions.ts';
import { isModelgateError, type ModelgateError } from '../../common/errors.ts';
import { checkSignatureName, DEFAULT_SIGNATURE, recordInference, startInference } from '../core/infer.ts';
import type { CounterSeries, HistogramSeries } from '../core/metric-series.ts';
import { SrvErr } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ModelManager, ServingHandle } from '../models/manager.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { parseJson, type JsonLimits } from '../tensor/json.ts';
import { dtypeInfo, type DType } from '../tensor/dtype.ts';
import { classifyOutput, decodeExamples, decodePredict, encodeClassify, encodePredict, encodeRegress, regressOutput, tfDims, type TfFormat } from './tf-codec.ts';
import { decodeInfer, encodeInfer, modelMetadata, type V2Request } from './kserve-codec.ts';
import { Deadlines, type Expirable } from './deadlines.ts';
import { parseRoute, type Route } from './routes.ts';

export interface RestOptions {
  /** Largest request body accepted, bytes (--max_body_bytes) → 413 above. */
  bodyLimitBytes: number;
  /** Per model limits that replace bodyLimitBytes (a model's max_body_bytes). */
  modelBodyLimits?: ReadonlyMap<string, number>;
  /** Time a client has to send its whole body, ms (--body_read_timeout) → 408. */
  bodyReadTimeoutMs: number;
  /** Requests with a body over LARGE_BODY_BYTES handled at once (--max_large_bodies); more → 503. */
  maxLargeBodies: number;
  /** Called when the last large request in progress has been answered (memory reclaim). */
  afterLargeBodies?: () => void;
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

type TfRoute = Extract<Route, { kind: 'tf' }>;
type V2ModelRoute = Extract<Route, { kind: 'v2-model' }>;

/**
 * One request's state, from arrival to answer. A class so every request has the same
 * shape; the inference path passes it along instead of capturing it in async frames.
 */
class Req implements Expirable {
  model: string = OVERFLOW_LABEL_VALUE;
  version: string = UNKNOWN_VERSION;
  api: Api = 'other';
  handle: ServingHandle | undefined = undefined;
  /** Answered (or failed, or expired): anything that arrives later is dropped. */
  done = false;
  /** What the inference result is encoded as (set before the run starts). */
  format: TfFormat = 'row';
  v2: V2Request | undefined = undefined;
  output = '';
  deadlinePrev: Expirable | undefined = undefined;
  deadlineNext: Expirable | undefined = undefined;
  deadlineLinked = false;
  /** performance.now() when the run started. */
  runT0 = 0;
  /** Holds one of the large-body slots until answered. */
  large = false;

  constructor(
    readonly res: ServerResponse,
    readonly t0: number,
    readonly deadlineMs: number,
    readonly onExpire: (r: Req) => void,
  ) {}

  expire(): void {
    this.onExpire(this);
  }
}

function send(res: ServerResponse, status: number, body: string, version?: number | string): void {
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (version !== undefined) headers[VERSION_HEADER] = typeof version === 'string' ? version : String(version);
  res.writeHead(status, headers);
  res.end(body);
}

export function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}

/**
 * A body over this size is "large": it holds one of the --max_large_bodies slots from the
 * moment it is known to be large (its content-length, or the bytes received) until it is
 * answered, so only a few multi-second JSON parses and encodes run at once.
 */
export const LARGE_BODY_BYTES = 1024 * 1024;

/** The body-read deadline of one request, on the shared deadline timer. */
class BodyRead implements Expirable {
  deadlinePrev: Expirable | undefined = undefined;
  deadlineNext: Expirable | undefined = undefined;
  deadlineLinked = false;
  constructor(
    readonly deadlineMs: number,
    readonly onExpire: () => void,
  ) {}

  expire(): void {
    this.onExpire();
  }
}

interface BodyLimits {
  limit: number;
  timeoutMs: number;
  timers: Deadlines;
  /** Called once when the body is known to be over LARGE_BODY_BYTES; false refuses it (503). */
  takeLarge: () => boolean;
}

/**
 * Reads the body up to the limit and calls `done` once: with the text, or with an error
 * (413 as soon as the limit is passed, 408 when the whole body has not arrived within the
 * body-read timeout, 503 when it is large and the large-body slots are taken). Callbacks
 * rather than a promise: one promise and one await less per request on the predict path.
 */
function readBody(req: IncomingMessage, lim: BodyLimits, done: (text: string | undefined, err?: unknown) => void): void {
  const { limit } = lim;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    done(undefined, SrvErr.SRV_ERR_BODY_TOO_LARGE(`Request body of ${declared} bytes is over the limit of ${limit} bytes`));
    return;
  }
  let large = Number.isFinite(declared) && declared > LARGE_BODY_BYTES;
  if (large && !lim.takeLarge()) {
    done(undefined, tooManyLarge());
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const stop = (err: unknown) => {
    req.removeAllListeners('data');
    req.resume();
    lim.timers.delete(timer);
    if (!settled) {
      settled = true;
      done(undefined, err);
    }
  };
  const timer = new BodyRead(Date.now() + lim.timeoutMs, () =>
    stop(SrvErr.SRV_ERR_REQUEST_TIMEOUT(`The request body did not arrive within ${lim.timeoutMs} ms (${size} bytes received); send it faster or raise --body_read_timeout (body_read_timeout_ms in the server: section)`)),
  );
  lim.timers.add(timer);
  // Listeners are inline arrows: in the compiled build a named function expression would
  // cost the same, but when the sources run through tsx (the tests) it is wrapped in
  // __name(), which defines a property per request (~0.5 µs in a CPU profile).
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > limit) return stop(SrvErr.SRV_ERR_BODY_TOO_LARGE(`Request body is over the limit of ${limit} bytes`));
    if (!large && size > LARGE_BODY_BYTES) {
      large = true;
      if (!lim.takeLarge()) return stop(tooManyLarge());
    }
    chunks.push(c);
  });
  req.on('end', () => {
    lim.timers.delete(timer);
    if (settled) return;
    settled = true;
    // Most bodies arrive in one chunk: decode it in place rather than copy it first.
    done((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'));
  });
  // A client that goes away mid-body makes node destroy the request with an 'aborted'
  // error (IncomingMessage._destroy in node:_http_incoming), so one 'error' listener
  // covers both; the deprecated 'aborted' event is not needed.
  req.on('error', (e) => {
    lim.timers.delete(timer);
    if (settled) return;
    settled = true;
    done(undefined, req.complete ? e : SrvErr.SRV_ERR_CANCELLED('client closed the request', e));
  });
}

function tooManyLarge(): ModelgateError {
  return SrvErr.SRV_ERR_UNAVAILABLE(`Too many requests with bodies over ${LARGE_BODY_BYTES} bytes in progress; retry shortly (--max_large_bodies)`);
}

/** Errors after which the rest of the request body is not read: the connection closes. */
const CLOSES_CONNECTION = new Set([408, 413]);

/** Parsed routes kept per method and path: parsing (regex, URL decoding) cost ~0.9 µs per request. */
const ROUTE_CACHE_MAX = 1024;

interface RestSeries {
  duration: HistogramSeries;
  byCode: Map<number, CounterSeries>;
}

export function createRestHandler(deps: RestDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { manager, metrics, options } = deps;
  const deadlines = new Deadlines();
  const bodyTimers = new Deadlines();
  let largeInFlight = 0;
  const bodyLimits = (model: string, r: Req): BodyLimits => ({
    limit: options.modelBodyLimits?.get(model) ?? options.bodyLimitBytes,
    timeoutMs: options.bodyReadTimeoutMs,
    timers: bodyTimers,
    takeLarge: () => {
      if (largeInFlight >= options.maxLargeBodies) return false;
      largeInFlight++;
      r.large = true;
      return true;
    },
  });
  const routes = new Map<string, Route>();
  const series = new Map<string, RestSeries>();

  const modelLabel = (name: string) => (manager.hasModel(name) ? name : OVERFLOW_LABEL_VALUE);

  /** Routes naming a configured model (or none) are cached; others are parsed each time, so a client cannot fill the cache. */
  function routeOf(method: string, path: string): Route {
    const key = `${method} ${path}`;
    const cached = routes.get(key);
    if (cached) return cached;
    const route = parseRoute(method, path);
    const model = route.kind === 'tf' || route.kind === 'v2-model' ? route.model : undefined;
    if (routes.size < ROUTE_CACHE_MAX && (model === undefined || manager.hasModel(model))) routes.set(key, route);
    return route;
  }

  /**
   * Counts and times a finished request; probes and scrapes are not counted. The series
   * are looked up once per (model, version, api) and status code, then kept.
   */
  function record(r: Req, status: number): void {
    if (r.api === 'metrics' || r.api === 'health') return;
    const key = `${r.model}\u0001${r.version}\u0001${r.api}`;
    let s = series.get(key);
    if (!s) {
      s = { duration: metrics.requestDuration.series({ model: r.model, version: r.version, api: r.api, entrypoint: 'rest' }), byCode: new Map() };
      series.set(key, s);
    }
    let c = s.byCode.get(status);
    if (!c) {
      c = metrics.requests.series({ model: r.model, version: r.version, api: r.api, entrypoint: 'rest', code: String(status) });
      s.byCode.set(status, c);
    }
    c.inc();
    s.duration.observe((performance.now() - r.t0) / 1000);
  }

  /** Handles release once (ServingHandle.release is idempotent), so r.handle stays readable after. */
  function release(r: Req): void {
    r.handle?.release();
    if (r.large) {
      r.large = false;
      if (--largeInFlight === 0) options.afterLargeBodies?.();
    }
  }

  function fail(r: Req, e: unknown): void {
    if (r.done) return;
    r.done = true;
    deadlines.delete(r);
    release(r);
    const err: ModelgateError = isModelgateError(e) ? e : SrvErr.SRV_ERR_INTERNAL(`internal error: ${(e as Error)?.message ?? String(e)}`, e);
    const res = r.res;
    if (!res.headersSent) {
      const version = r.version !== UNKNOWN_VERSION ? r.version : undefined;
      if (CLOSES_CONNECTION.has(err.http)) res.setHeader('connection', 'close');
      if (err.http === 503) res.setHeader('retry-after', '1');
      send(res, err.http, errorBody(err.message), version);
    } else {
      res.destroy();
    }
    record(r, err.http);
  }

  /**
   * The deadline covers the request from arrival (TF Serving: --rest_api_timeout_in_ms);
   * it is enforced while the model runs. The version is released at once, as before the
   * shared timer: a run that never returns must not keep its version from unloading.
   */
  function expire(r: Req): void {
    fail(r, SrvErr.SRV_ERR_DEADLINE_EXCEEDED(`Request did not finish within ${options.requestTimeoutMs} ms`));
  }

  function ok(r: Req, encode: (r: Req, out: Map<string, Tensor>) => string, out: Map<string, Tensor>): void {
    const h = r.handle!;
    recordInference(h, metrics, r.runT0); // the run finished, even if too late to answer
    if (r.done) return; // already answered 504 (and released): the late result is dropped
    deadlines.delete(r);
    let text: string;
    try {
      text = encode(r, out);
    } catch (e) {
      fail(r, e);
      return;
    }
    // Encoding a large output can itself take seconds: an answer past its deadline is a 504.
    if (Date.now() > r.deadlineMs) return expire(r);
    r.done = true;
    send(r.res, 200, text, r.version);
    release(r);
    record(r, 200);
  }

  /** Starts the run; the request is answered from its result, its error, or its deadline. */
  function run(r: Req, inputs: Map<string, Tensor>, encode: (r: Req, out: Map<string, Tensor>) => string, outputFilter?: readonly string[]): void {
    const h = r.handle!;
    // Reading and parsing a large body can use up the deadline: then nothing runs.
    if (Date.now() > r.deadlineMs) return expire(r);
    deadlines.add(r);
    r.runT0 = performance.now();
    startInference(h, inputs, { outputFilter, deadlineMs: r.deadlineMs }).then(
      (out) => ok(r, encode, out),
      (e: unknown) => fail(r, e),
    );
  }

  const encodeTf = (r: Req, out: Map<string, Tensor>): string => encodePredict(r.format, out);
  const encodeTfExamples = (r: Req, out: Map<string, Tensor>): string => {
    const t = out.get(r.output)!;
    return r.api === 'regress' ? encodeRegress(t) : encodeClassify(t);
  };
  const encodeV2 = (r: Req, out: Map<string, Tensor>): string => encodeInfer(r.handle!.model, r.handle!.version, r.v2!, out);

  /** POST :predict / :classify / :regress: the hot path, without async frames. */
  function tfPost(req: IncomingMessage, r: Req, route: TfRoute): void {
    r.model = modelLabel(route.model);
    r.api = route.verb;
    if (route.label !== undefined && route.version !== undefined) return fail(r, SrvErr.SRV_ERR_INVALID_ARGUMENT('Specify either a version or a label, not both'));
    readBody(req, bodyLimits(route.model, r), (text, err) => {
      if (text === undefined) return fail(r, err);
      try {
        const body = parseJson(text, options.json);
        const h = manager.acquire(route.model, route); // the route carries version and label
        r.handle = h;
        r.version = String(h.version);
        if (route.verb === 'predict') {
          const p = decodePredict(body, h.signature);
          checkSignatureName(p.signatureName);
          r.format = p.format;
          return run(r, p.inputs, encodeTf);
        }
        const ex = decodeExamples(body, h.signature);
        checkSignatureName(ex.signatureName);
        r.output = (route.verb === 'regress' ? regressOutput(h.signature) : classifyOutput(h.signature)).name;
        return run(r, ex.inputs, encodeTfExamples, [r.output]);
      } catch (e) {
        fail(r, e);
      }
    });
  }

  /** POST /v2/models/{m}[/versions/{v}]/infer. */
  function v2Infer(req: IncomingMessage, r: Req, route: V2ModelRoute): void {
    r.model = modelLabel(route.model);
    r.api = 'infer';
    readBody(req, bodyLimits(route.model, r), (text, err) => {
      if (text === undefined) return fail(r, err);
      try {
        const body = parseJson(text, options.json);
        const h = manager.acquire(route.model, route); // the route carries the version
        r.handle = h;
        r.version = String(h.version);
        r.v2 = decodeInfer(body, h.signature);
        return run(r, r.v2.inputs, encodeV2, r.v2.outputFilter);
      } catch (e) {
        fail(r, e);
      }
    });
  }

  /** Everything but inference: status, metadata, health, metrics. */
  async function handle(req: IncomingMessage, res: ServerResponse, route: Route, ctx: Req): Promise<void> {
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
        ctx.api = 'metadata';
        const h = manager.acquire(route.model, { version: route.version });
        try {
          ctx.version = String(h.version);
          return send(res, 200, JSON.stringify(modelMetadata(route.model, manager.availableVersions(route.model), h.signature)), h.version);
        } finally {
          h.release();
        }
      }
      case 'tf':
        return handleTfGet(res, route, ctx);
      case 'unknown':
        throw SrvErr.SRV_ERR_NOT_FOUND(`no route for ${req.method} ${req.url}`);
    }
  }

  function handleTfGet(res: ServerResponse, route: TfRoute, ctx: Req): void {
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

  return (req, res) => {
    const r = new Req(res, performance.now(), Date.now() + options.requestTimeoutMs, expire);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let route: Route;
    try {
      route = routeOf(req.method ?? 'GET', path);
    } catch (e) {
      return fail(r, e);
    }
    if (route.kind === 'tf' && route.method === 'POST') return tfPost(req, r, route);
    if (route.kind === 'v2-model' && route.what === 'infer') return v2Infer(req, r, route);
    handle(req, res, route, r).then(
      () => {
        r.done = true;
        record(r, res.statusCode);
      },
      (e) => fail(r, e),
    );
  };
}

function dtypeTf(d: DType): string {
  return dtypeInfo(d).tf;
}
