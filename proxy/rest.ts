// REST forwarding: node:http server in front; to the upstream, the native HTTP/1.1 client
// (h1-upstream.ts) for bodiless and small gathered requests, else an undici Pool (keep-alive,
// streamed bodies both ways). undici over http-proxy: bench/proxy/compare.ts measures both
// (http-proxy when installed aside, docs/benchmarks.md); http-proxy also needs its own
// timeout/abort handling (node-http-proxy #1331, #1586), which undici's dispatch API gives directly.
import { createServer, IncomingMessage } from 'node:http';
import type { RequestListener, Server, ServerOptions, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { Dispatcher, Pool } from 'undici';
import { REQUEST_ID_HEADER, VARIANT_HEADER, VERSION_HEADER, flushedCloser, trackResponse } from '../common/index.ts';
import type { Api, RejectReason, Variant } from '../common/index.ts';
import type { ForwardDeps } from './request-path.ts';
import type { ReloadableTls } from '../common/tls.ts';
import { CREDENTIAL_HEADERS, credentialsOf } from './guard/index.ts';
import type { Admission, Guard, Ticket } from './guard/index.ts';
import { ProxyErrors, errorBody } from './errors.ts';
import type { UpstreamErrorKind } from './errors.ts';
import type { ErrorSpec } from '../common/index.ts';
import { restTargetOf, pinnedPath } from './rest-path.ts';
import { requestIdFrom } from './request-id.ts';
import { route } from './split.ts';
import type { Split } from './split.ts';
import type { RequestTrace } from './tracing.ts';
import type { H1Upstream, HeadLines, UpstreamHandler } from './h1-upstream.ts';
import type { FairShare, SlotWaiter } from './fair-share.ts';
import { RelayFront, TCHAR, TCHAR_CLASS, invalidChar } from './h1-front.ts';
import { headerList } from './h1-upstream.ts';
import { byShape, nameIn } from './header-names.ts';
import type { NameTable } from './header-names.ts';
import { GATHERED_BODY_BYTES } from './rest-client.ts';
import type { ClientHeaders, ClientRequest, ClientResponse } from './rest-client.ts';
import type { RestListener } from './listeners.ts';

export interface RestDeps extends ForwardDeps {
  /** Keep-alive pool to the REST upstream. */
  pool: Pool;
  /**
   * The native HTTP/1.1 client (h1-upstream.ts), used for requests with no body or a
   * gathered one when set (`rest.client: native`); streamed bodies always go through undici.
   */
  native?: H1Upstream | undefined;
  /** Per-model share of the upstream connections (fair-share.ts). */
  slots: FairShare;
  /** `draining`: responses say `connection: close`, so clients reconnect elsewhere. */
  lifecycle: { draining: boolean };
}

// Hop-by-hop headers are not forwarded (RFC 9110 §7.6.1); `host` is set by undici for the upstream.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/**
 * The header names the exchange looks at (header-names.ts): in a response (hop-by-hop, ours,
 * the version, the length, the date) and in a request (hop-by-hop, credentials, ours, the
 * length). Any other name is forwarded without being lower-cased.
 */
const RESPONSE_LINE_NAMES = byShape([...HOP_BY_HOP, REQUEST_ID_HEADER, VERSION_HEADER, 'content-length', 'date']);
const REQUEST_LINE_NAMES = byShape([...HOP_BY_HOP, ...CREDENTIAL_HEADERS, 'traceparent', 'x-forwarded-for', REQUEST_ID_HEADER, 'content-length']);
/**
 * Header lines (from the first on) whose characters node:http would write: token names,
 * values without control characters other than tab (latin1, so nothing above 0xFF).
 */
const WRITABLE_LINES = new RegExp(`[${TCHAR_CLASS}]+:[\\t\\x20-\\x7e\\x80-\\xff]*(?:\\r\\n[${TCHAR_CLASS}]+:[\\t\\x20-\\x7e\\x80-\\xff]*)*$`, 'y');
/** What String#trim takes off a latin1 header value (control bytes other than tab are refused before). */
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0xa0;

// The v2 JSON response names the version that served (`model_version`, KServe
// required_api.md §Inference Response JSON Object); it comes first in practice, so only the
// head of the body is scanned.
const V2_VERSION = /"model_version"\s*:\s*"((?:[^"\\]|\\.)*)"/;
const V2_SCAN_BYTES = 64 * 1024;
const TEE_APIS: ReadonlySet<Api> = new Set(['predict', 'classify', 'regress', 'infer']);

class BodyTooLarge extends Error {
  readonly code = 'PRX_BODY_TOO_LARGE';
}
class ClientAborted extends Error {
  readonly code = 'PRX_CLIENT_ABORTED';
}
class UpstreamTimeout extends Error {
  readonly code = 'PRX_TIMEOUT';
}
class ClientTimeout extends Error {
  readonly code = 'PRX_CLIENT_TIMEOUT';
}

const enum LineMode {
  Response,
  Get,
  Post,
}

/** The exchange a response belongs to, for Node's request timeout (see clientError). */
const EXCHANGE = Symbol('modelgate.restExchange');

/** Maps an undici/socket error to the kind counted in metrics and the error sent to the client. */
export function classifyUpstreamError(err: unknown): { kind: UpstreamErrorKind; spec: ErrorSpec } {
  const code = (err as { code?: string })?.code ?? '';
  if (err instanceof BodyTooLarge) return { kind: 'body_too_large', spec: ProxyErrors.PRX_ERR_BODY_TOO_LARGE };
  if (err instanceof ClientAborted) return { kind: 'client_abort', spec: ProxyErrors.PRX_ERR_UPSTREAM_UNAVAILABLE };
  if (err instanceof ClientTimeout) return { kind: 'client_timeout', spec: ProxyErrors.PRX_ERR_CLIENT_TIMEOUT };
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'PRX_TIMEOUT') {
    return { kind: 'timeout', spec: ProxyErrors.PRX_ERR_UPSTREAM_TIMEOUT };
  }
  if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNABORTED') {
    return { kind: 'connect', spec: ProxyErrors.PRX_ERR_UPSTREAM_UNAVAILABLE };
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED') {
    return { kind: 'reset', spec: ProxyErrors.PRX_ERR_UPSTREAM_UNAVAILABLE };
  }
  return { kind: 'protocol', spec: ProxyErrors.PRX_ERR_UPSTREAM_UNAVAILABLE };
}

function sendError(res: ClientResponse, spec: ErrorSpec, message: string, variant: Variant, requestId: string, close = false, extra?: Record<string, string>): number {
  const body = errorBody(spec.code, message);
  const headers: OutgoingHttpHeaders = { ...extra, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [VARIANT_HEADER]: variant, [REQUEST_ID_HEADER]: requestId };
  if (close) headers['connection'] = 'close';
  res.writeHead(spec.http, headers);
  res.end(body);
  return body.length;
}

/** Header names a `Connection` header lists, which are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === 'keep-alive' || v === 'close') return undefined;
  return new Set(v.split(',').map((t) => t.trim()).filter(Boolean));
}

/**
 * ClientHeaders read in one pass over `req.rawHeaders`: Node builds the `req.headers` object
 * lazily (IncomingMessage's `headers` getter), so the common path never builds it.
 */
function readClientHeaders(raw: string[]): ClientHeaders {
  const h: ClientHeaders = { contentLength: 0, chunked: false, traceparent: undefined, forwardedFor: undefined, connection: undefined, requestId: undefined };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Cheap first-letter filter: most headers match none of the five names.
    const c = name.charCodeAt(0) | 0x20;
    if (c !== 0x63 && c !== 0x74 && c !== 0x78) continue; // c, t, x
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (lower === 'content-length') h.contentLength = Number(value);
    else if (lower === 'transfer-encoding') h.chunked = true;
    else if (lower === 'traceparent') h.traceparent ??= value;
    // Several X-Forwarded-For lines are one comma-separated list (RFC 9110 §5.3).
    else if (lower === 'x-forwarded-for') h.forwardedFor = h.forwardedFor === undefined ? value : `${h.forwardedFor}, ${value}`;
    else if (lower === REQUEST_ID_HEADER) h.requestId ??= value;
    else if (lower === 'connection') h.connection = h.connection === undefined ? value : `${h.connection}, ${value}`;
  }
  return h;
}

/** The ERR_INVALID_CHAR node:http's writeHead throws, for the first header line from `from` it would refuse. */
function throwInvalidLine(text: string, from: number): never {
  for (let pos = from, eol = 0; pos < text.length; pos = eol + 2) {
    eol = text.indexOf('\r\n', pos);
    if (eol < 0) eol = text.length;
    const colon = text.indexOf(':', pos);
    for (let k = pos; k < colon; k++) if (TCHAR[text.charCodeAt(k)] !== 1) throw invalidChar(text.slice(pos, colon));
    for (let k = colon + 1; k < eol; k++) {
      const c = text.charCodeAt(k);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw invalidChar(text.slice(pos, colon));
    }
  }
  throw invalidChar(text.slice(from, text.indexOf(':', from)));
}

function firstHeader(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The REST listener: the relay front (h1-front.ts) over a node:http server that takes what
 * the relay does not parse, or (`rest.server: node`, and always with TLS) node:http alone.
 */
export function createRestListener(deps: RestDeps, tls?: ReloadableTls): RestListener {
  const server = createRestServer(deps, tls);
  if (tls || deps.config.rest?.server !== 'relay') return server;
  const { timeouts, limits } = deps.config;
  return new RelayFront({
    fallback: server,
    onRequest: (req, res) => serveRest(deps, req, res),
    onRequestTimeout: clientTimedOut,
    onClientError: (status) => recordClientError(deps, status),
    headersMs: timeouts.headersMs,
    requestMs: timeouts.requestMs,
    keepAliveMs: timeouts.keepAliveMs,
    maxHeaderBytes: limits.maxHeaderBytes,
  });
}

/** With `tls`, the listener speaks HTTPS, its certificate reloaded by `tls`. */
function createRestServer(deps: RestDeps, tls?: ReloadableTls): Server {
  const { config } = deps;
  // node:https's server is a node:http server over TLS: same events, timeouts and close methods.
  const create = tls
    ? (o: ServerOptions, h: RequestListener) => {
        // A TLS handshake gets the time a request head gets (node's default is 120 s).
        const s = createHttpsServer({ ...o, ...tls.serverOptions(), handshakeTimeout: config.timeouts.headersMs }, h);
        tls.attach(s);
        return s as unknown as Server;
      }
    : createServer;
  const server = create(
    {
      headersTimeout: config.timeouts.headersMs,
      requestTimeout: config.timeouts.requestMs,
      keepAliveTimeout: config.timeouts.keepAliveMs,
      maxHeaderSize: config.limits.maxHeaderBytes,
      // Node checks the two timeouts above only every connectionsCheckingInterval (30 s by
      // default), so a 10 s headers timeout could take 40 s; check at a quarter of it.
      connectionsCheckingInterval: Math.max(50, Math.min(config.timeouts.headersMs, config.timeouts.requestMs) / 4),
    },
    (req, res) => {
      trackResponse(req, res);
      serveRest(deps, req, res);
    },
  );
  flushedCloser(server);
  // Malformed requests, oversized headers (431) and slow clients (408) never reach the
  // handler; answer them like Node would, and count them.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // A TLS handshake that failed or timed out (node:https reports it here): there is no
    // HTTP to answer in, and an HTTP answer written into the handshake would keep the socket.
    if (err.code?.startsWith('ERR_TLS') || err.code?.startsWith('ERR_SSL')) return void socket.destroy();
    // Node's whole-request timeout (timeouts.request) on a request already being proxied:
    // the exchange answers it, as a client timeout, once.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && clientTimedOut((socket as Socket & { _httpMessage?: ServerResponse })._httpMessage)) return;
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (err.code !== 'ECONNRESET') recordClientError(deps, code);
    if (socket.writable && !(socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      const text = code === 431 ? 'Request Header Fields Too Large' : code === 408 ? 'Request Timeout' : 'Bad Request';
      socket.end(`HTTP/1.1 ${code} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });
  return server;
}

/** Proxies one request (from node:http's server or the relay front) to the REST upstream. */
export function serveRest(deps: RestDeps, req: ClientRequest, res: ClientResponse): void {
  new RestExchange(deps, req, res).start();
}

/** Node's request timeout (or the relay's) fired while `res`'s request was being received: true when its exchange answered it. */
export function clientTimedOut(res: ClientResponse | undefined): boolean {
  return (res as (ClientResponse & { [EXCHANGE]?: RestExchange }) | undefined)?.[EXCHANGE]?.clientTimedOut() === true;
}

/** Counts a request refused before it was parsed (malformed, oversized head, too slow). */
export function recordClientError(deps: ForwardDeps, httpStatus: number): void {
  deps.recorder.record(
    { protocol: 'rest', api: 'other', model: undefined, variant: 'direct', httpStatus, code: String(httpStatus), success: false, durationSeconds: 0, requestBytes: 0, responseBytes: 0 },
    undefined,
  );
}

/** Where a request goes: its labels from the path, and the path rewritten by the split. */
export interface RestPlan {
  api: Api;
  /** '' for server-level paths, undefined when the path is not a known API. */
  model: string | undefined;
  path: string;
  variant: Variant;
  routedVersion: string | undefined;
  /** The client named the version of a split model (RequestOutcome.pinned). */
  pinned?: boolean;
  /** The v2 body names the served version (scan it when there is no version header). */
  scanV2Body: boolean;
}

/** `header(name)`: a client header's first value; asked only when the split is sticky. */
export function planRest(url: string, header: (name: string) => string | undefined, getSplit: (m: string) => Split | undefined, random: () => number): RestPlan {
  const target = restTargetOf(url);
  if (!target) return { api: 'other', model: undefined, path: url, variant: 'direct', routedVersion: undefined, scanV2Body: false };
  const plan: RestPlan = { api: target.api, model: target.model, path: url, variant: 'direct', routedVersion: target.version, scanV2Body: target.dialect === 'kserve' && target.api === 'infer' };
  if (!target.model) return plan;
  const split = getSplit(target.model);
  const sticky = split?.stickyHeader ? header(split.stickyHeader) : undefined;
  const r = route(target.model, split, target, sticky, random);
  plan.variant = r.variant;
  if (r.pinned) plan.pinned = true;
  if (r.version !== undefined && r.version !== target.version) {
    plan.path = pinnedPath(target, r.version);
    plan.routedVersion = r.version;
  }
  return plan;
}

/**
 * One proxied request: the undici dispatch handler for the upstream side and the writer of
 * the client response. A class rather than a nest of closures: one allocation per request.
 *
 * Two clocks, so a slow client is never taken for a slow upstream: while the client sends
 * its body, only `timeouts.clientBody` runs (no byte for that long: 408, the client's fault);
 * the upstream timeout starts once the request has been received whole and handed upstream.
 * The recorded duration starts there too: it is the time the proxy and the upstream took.
 */
class RestExchange implements Dispatcher.DispatchHandler, UpstreamHandler, SlotWaiter {
  readonly #deps: RestDeps;
  readonly #req: ClientRequest;
  readonly #res: ClientResponse;
  readonly #plan: RestPlan;
  readonly #span: RequestTrace | undefined;
  /** The upstream timeout; set once the request has been received whole. */
  #timer: NodeJS.Timeout | undefined;
  /** The client body's idle timeout, while the body is being received. */
  #bodyTimer: NodeJS.Timeout | undefined;
  /** When the request was received whole (performance.now()); the outcome's duration starts here. */
  #receivedAt = -1;
  /** The per-model connection slot: none, waiting for one, or held. */
  #slot: 0 | 1 | 2 = 0;
  #body: Buffer | IncomingMessage | null = null;
  readonly #h: ClientHeaders;
  /** This request's id (request-id.ts): sent upstream, to the client, and recorded. */
  readonly #id: string;
  /** Body copies for the tee (sampled), undefined when not sampled. */
  #reqCopy: Buffer[] | undefined;
  /** The uniform draw that decided the tee (observers.ts BodySubscription). */
  #draw = 1;
  #resCopy: Buffer[] | undefined;
  #scan: Buffer[] | undefined;
  #scanBytes = 0;
  #requestBytes = 0;
  #responseBytes = 0;
  #status = 0;
  #reportedVersion: string | undefined;
  /** undici's abort for this request, from onConnect; undefined before it is dispatched. */
  #abortUpstream: ((err: Error) => void) | undefined;
  #upstreamAborted = false;
  #resume: (() => void) | undefined;
  /** The response was ended with its only chunk (see onData). */
  #ended = false;
  #declaredLength = -1;
  /** What #keptLines is cutting, and what it saw: a Content-Length in the request, a Date in the response. */
  #lineMode = LineMode.Response;
  #lengthSeen = false;
  #dateSeen = false;
  #codedSeen = false;
  #pendingAbort: Error | undefined;
  #dispatched = false;
  #done = false;
  /** Admission (proxy/guard): decided, who called, why refused, the concurrency slot to return. */
  #admitted = false;
  #identity: string | undefined;
  #rejected: RejectReason | undefined;
  #ticket: Ticket | undefined;

  constructor(deps: RestDeps, req: ClientRequest, res: ClientResponse) {
    this.#deps = deps;
    this.#req = req;
    this.#res = res;
    deps.metrics.started('rest');
    this.#h = req.clientHeaders ?? readClientHeaders(req.rawHeaders);
    this.#id = requestIdFrom(this.#h.requestId);
    this.#plan = planRest(req.url ?? '/', (name) => firstHeader(req.headers, name), deps.getSplit, deps.random);
    this.#span = deps.tracing.start(`${req.method} ${this.#plan.api}`, this.#h.traceparent);
    // Tee: sampled, only for inference calls, only when someone listens.
    if (deps.observers.wantsBodies && TEE_APIS.has(this.#plan.api) && deps.observers.tees((this.#draw = deps.random()))) {
      this.#reqCopy = [];
      this.#resCopy = [];
    }
    (res as ClientResponse & { [EXCHANGE]?: RestExchange })[EXCHANGE] = this;
  }

  /** The request is here whole: the upstream's time starts now. */
  #received(): void {
    this.#receivedAt = performance.now();
    if (this.#bodyTimer !== undefined) clearTimeout(this.#bodyTimer);
    // Our own timer rather than undici's headersTimeout: undici's coarse timers fire up to
    // ~1 s late, and a 504 should come at the configured time.
    if (!this.#done) this.#timer = setTimeout(() => this.#abort(new UpstreamTimeout()), this.#deps.config.timeouts.upstreamMs);
  }

  /** No body byte for `timeouts.clientBody`. */
  #onBodyIdle(): void {
    if (this.#done || this.#receivedAt >= 0) return;
    // A paused body is one the upstream side is not reading (no connection yet, or the
    // upstream applies backpressure): not the client's fault.
    if (this.#slot !== 0 && this.#req.isPaused()) return this.#abort(new UpstreamTimeout());
    this.#abort(new ClientTimeout());
  }

  /** Node's request timeout fired on this request: true when answered here. */
  clientTimedOut(): boolean {
    if (this.#done || this.#receivedAt >= 0) return false;
    this.#abort(new ClientTimeout());
    return true;
  }

  start(): void {
    const guard = this.#deps.guard;
    if (guard && !this.#admitted) return this.#admit(guard);
    const { config } = this.#deps;
    const req = this.#req;
    const contentLength = this.#h.contentLength;
    if (contentLength > config.limits.maxBodyBytes) {
      // Refuse before opening anything upstream; close so the unread body is not parsed.
      this.#fail(new BodyTooLarge());
      req.resume();
      return;
    }
    // A client that goes away cancels the upstream request (node-http-proxy #1586 leaked here).
    this.#res.on('close', () => this.#onClientClose());
    const chunked = this.#h.chunked;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && (contentLength > 0 || chunked);
    if (!hasBody) {
      this.#received();
      return this.#send(null);
    }
    const whole = req.receivedBody;
    if (whole !== undefined) {
      this.#requestBytes = whole.length;
      this.#copyRequest(whole);
      this.#received();
      return this.#send(whole);
    }
    this.#bodyTimer = setTimeout(() => this.#onBodyIdle(), config.timeouts.clientBodyMs);
    // Small bodies with a declared length are gathered first, so undici writes request head
    // and body in one writev (one syscall instead of two; socket writes are the largest cost
    // in a profile of this path). Larger or chunked bodies stream.
    if (contentLength > 0 && contentLength <= GATHERED_BODY_BYTES && !chunked) {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        this.#requestBytes += chunk.length;
        this.#bodyTimer?.refresh();
      });
      req.on('end', () => {
        if (this.#done) return;
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        this.#copyRequest(body);
        this.#received();
        this.#send(body);
      });
      return;
    }
    // Only node:http's requests stream: the relay front hands anything larger or chunked to it.
    if (!(req instanceof IncomingMessage)) return this.#fail(new Error('a streamed body reached the REST exchange outside node:http'));
    // Paused first so this listener does not start the flow before undici listens too
    // (undici resumes the body once it is writing: client-h1.js writeStream).
    req.pause();
    req.on('data', (chunk: Buffer) => {
      this.#requestBytes += chunk.length;
      this.#bodyTimer?.refresh();
      if (this.#requestBytes > config.limits.maxBodyBytes) return this.#abort(new BodyTooLarge());
      this.#copyRequest(chunk);
    });
    req.on('end', () => {
      if (!this.#done) this.#received();
    });
    this.#send(req);
  }

  /** The admission stage (proxy/guard): identity, rules, rate and concurrency limits, before anything goes upstream. */
  #admit(guard: Guard): void {
    this.#admitted = true;
    const target = restTargetOf(this.#req.url ?? '/');
    const credentials = credentialsOf((name) => firstHeader(this.#req.headers, name));
    const a = guard.admit({ protocol: 'rest', api: this.#plan.api, model: this.#plan.model, version: target?.version ?? target?.label, ...credentials });
    if (a instanceof Promise) void a.then((r) => this.#onAdmission(r));
    else this.#onAdmission(a);
  }

  #onAdmission(a: Admission): void {
    this.#identity = a.identity;
    if (a.ok) {
      this.#ticket = a.ticket;
      // Gone while a token was being checked: nothing to forward.
      if (this.#res.destroyed) return this.#fail(new ClientAborted());
      return this.start();
    }
    this.#rejected = a.reason;
    // The body is not read: a small one is drained, a large or chunked one cut (close).
    const close = this.#h.chunked || this.#h.contentLength > GATHERED_BODY_BYTES || this.#deps.lifecycle.draining;
    this.#responseBytes = sendError(this.#res, a.spec, a.message, this.#plan.variant, this.#id, close, a.headers);
    this.#req.resume();
    this.#finish(a.spec.http, false);
  }

  /** Takes this model's share of an upstream connection, then dispatches (now or when one frees). */
  #send(body: Buffer | IncomingMessage | null): void {
    this.#body = body;
    this.#slot = 1;
    if (this.#deps.slots.acquire(this.#plan.model ?? '', this)) this.onSlot();
  }

  onSlot(): void {
    this.#slot = 2;
    if (this.#done) return this.#releaseSlot();
    const body = this.#body;
    this.#body = null;
    this.#dispatch(body);
  }

  #releaseSlot(): void {
    const slot = this.#slot;
    this.#slot = 0;
    if (slot === 2) this.#deps.slots.release(this.#plan.model ?? '');
    else if (slot === 1) this.#deps.slots.cancel(this.#plan.model ?? '', this);
  }

  #dispatch(body: Buffer | IncomingMessage | null): void {
    this.#dispatched = true;
    const { config, native } = this.#deps;
    try {
      if (native && !(body instanceof IncomingMessage)) {
        const { headText, headFrom } = this.#req;
        const method = this.#req.method ?? 'GET';
        if (headText !== undefined && headFrom !== undefined) native.request({ path: this.#plan.path, method, headers: [], lines: this.#upstreamLines(headText, headFrom, method), body }, this);
        else native.request({ path: this.#plan.path, method, headers: this.#upstreamHeaders(), body }, this);
        return;
      }
      this.#deps.pool.dispatch(
        {
          path: this.#plan.path,
          method: this.#req.method ?? 'GET',
          headers: this.#upstreamHeaders(),
          body,
          // Backstops only; the timer is the real headers deadline.
          headersTimeout: config.timeouts.upstreamMs + 1000,
          bodyTimeout: config.timeouts.upstreamMs,
        },
        this,
      );
    } catch (err) {
      this.#fail(err);
    }
  }

  /** A flat [name, value, ...] list, names as the client sent them (undici takes this form too). */
  #upstreamHeaders(): string[] {
    const raw = this.#req.rawHeaders;
    const listed = connectionListed(this.#h.connection);
    const out: string[] = [];
    // Credentials the proxy checked are its own, not the upstream's.
    const strip = this.#deps.guard?.authenticates === true;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      // Most names need no look (content-type, user-agent, ...) unless a Connection header lists them.
      const lower = nameIn(name, 0, name.length, REQUEST_LINE_NAMES) ?? (listed === undefined ? undefined : name.toLowerCase());
      if (lower === undefined) {
        out.push(name, raw[i + 1]!);
        continue;
      }
      if (HOP_BY_HOP.has(lower) || listed?.has(lower) || (strip && CREDENTIAL_HEADERS.has(lower))) continue;
      // Set below from what was read: ours replaces the client's, the address is appended.
      if ((lower === 'traceparent' && this.#span) || lower === 'x-forwarded-for' || lower === REQUEST_ID_HEADER) continue;
      out.push(name, raw[i + 1]!);
    }
    if (this.#span) out.push('traceparent', this.#span.traceparent);
    out.push(REQUEST_ID_HEADER, this.#id);
    const from = this.#req.socket.remoteAddress;
    const xff = this.#h.forwardedFor;
    if (from) out.push('x-forwarded-for', xff ? `${xff}, ${from}` : from);
    else if (xff !== undefined) out.push('x-forwarded-for', xff);
    return out;
  }

  /**
   * #upstreamHeaders for a request the relay front parsed (GET or POST, no Connection
   * listing, every character checked): the client's header lines (#keptLines), then ours.
   * A POST keeps its Content-Length line (the body sent is exactly that long) or says 0 at
   * the end, as encodeRequest does; a GET's is dropped with the body it would announce.
   */
  #upstreamLines(text: string, from: number, method: string): string {
    this.#lineMode = method === 'GET' ? LineMode.Get : LineMode.Post;
    this.#lengthSeen = false;
    let lines = this.#keptLines(text, from, REQUEST_LINE_NAMES)!;
    if (this.#span) lines += `traceparent: ${this.#span.traceparent}\r\n`;
    lines += `${REQUEST_ID_HEADER}: ${this.#id}\r\n`;
    const address = this.#req.socket.remoteAddress;
    const xff = this.#h.forwardedFor;
    if (address) lines += `x-forwarded-for: ${xff ? `${xff}, ${address}` : address}\r\n`;
    else if (xff !== undefined) lines += `x-forwarded-for: ${xff}\r\n`;
    if (this.#lineMode === LineMode.Post && !this.#lengthSeen) lines += 'content-length: 0\r\n';
    return lines;
  }

  /**
   * The header lines of a head from `from` on, as they came, without those #dropLine drops;
   * `name: value` lines with other spacing are rewritten so (the way node:http writes a
   * trimmed value). Only `names` are looked at. A response head's
   * characters are checked as node:http checks what it writes (throws ERR_INVALID_CHAR like
   * writeHead); a request head's were checked by the relay front. undefined when #dropLine
   * gives up (a Connection header that lists other names: onHeaders handles those).
   */
  #keptLines(text: string, from: number, names: NameTable, index?: HeadLines): string | undefined {
    if (this.#lineMode === LineMode.Response && from < text.length) {
      WRITABLE_LINES.lastIndex = from;
      if (!WRITABLE_LINES.test(text)) throwInvalidLine(text, from);
    }
    let lines = '';
    let run = from; // where the current run of kept lines starts
    const at = index?.at;
    for (let pos = from, eol = 0, i = 0; pos < text.length; pos = eol + 2, i += 3) {
      let colon: number;
      if (at !== undefined) {
        colon = at[i + 1]!;
        eol = at[i + 2]!;
      } else {
        eol = text.indexOf('\r\n', pos);
        if (eol < 0) eol = text.length;
        colon = text.indexOf(':', pos);
      }
      const usual = eol > colon + 2 && text.charCodeAt(colon + 1) === 0x20 && !isSpace(text.charCodeAt(colon + 2)) && !isSpace(text.charCodeAt(eol - 1));
      const name = nameIn(text, pos, colon, names);
      if (name !== undefined) {
        const drop = this.#dropLine(name, text, colon, eol);
        if (drop === undefined) return undefined;
        if (drop) {
          lines += text.slice(run, pos);
          run = eol + 2;
          continue;
        }
      }
      if (!usual) {
        lines += `${text.slice(run, pos)}${text.slice(pos, colon)}: ${text.slice(colon + 1, eol).trim()}\r\n`;
        run = eol + 2;
      }
    }
    return run < text.length ? `${lines}${text.slice(run)}\r\n` : lines;
  }

  /** Whether #keptLines drops the line `lower: text[colon+1..eol]`; reads what the exchange needs of it. */
  #dropLine(lower: string, text: string, colon: number, eol: number): boolean | undefined {
    if (this.#lineMode !== LineMode.Response) {
      if (lower === 'content-length') {
        this.#lengthSeen = true;
        return this.#lineMode === LineMode.Get;
      }
      return HOP_BY_HOP.has(lower) || (lower === 'traceparent' && this.#span !== undefined) || lower === 'x-forwarded-for' || lower === REQUEST_ID_HEADER || (CREDENTIAL_HEADERS.has(lower) && this.#deps.guard?.authenticates === true);
    }
    if (HOP_BY_HOP.has(lower) || lower === REQUEST_ID_HEADER) {
      // A transfer coding with a length too: onHeaders removes the length (RFC 9112 §6.3 item 3).
      if (lower === 'transfer-encoding') {
        if (this.#declaredLength >= 0) return undefined;
        this.#codedSeen = true;
        return true;
      }
      return lower === 'connection' && connectionListed(text.slice(colon + 1, eol).trim()) ? undefined : true;
    }
    if (lower === 'content-length' && this.#codedSeen) return undefined;
    if (lower === 'date') this.#dateSeen = true;
    else if (lower === VERSION_HEADER) this.#reportedVersion ??= text.slice(colon + 1, eol).trim();
    else if (lower === 'content-length') this.#declaredLength = Number(text.slice(colon + 1, eol));
    return false;
  }

  #copyRequest(chunk: Buffer): void {
    if (!this.#reqCopy) return;
    if (this.#requestBytes > this.#deps.config.bodies.maxBytes) this.#dropCopies();
    else this.#reqCopy.push(chunk);
  }

  #dropCopies(): void {
    this.#reqCopy = undefined;
    this.#resCopy = undefined;
  }

  #onClientClose(): void {
    if (this.#res.writableFinished || this.#done) return;
    if (this.#dispatched) this.#abort(new ClientAborted());
    else this.#fail(new ClientAborted()); // still gathering the body: nothing upstream to cancel
  }

  #abort(e: Error): void {
    // Not sent upstream yet (gathering the body, or waiting for a connection): nothing to cancel.
    if (!this.#dispatched) return this.#fail(e);
    const abort = this.#abortUpstream;
    if (abort === undefined) this.#pendingAbort = e;
    else if (!this.#upstreamAborted) {
      this.#upstreamAborted = true;
      abort(e);
    }
  }

  // undici's own handler methods (onConnect, onHeaders, onData, onComplete, onError), not the
  // newer onRequestStart/onResponseStart set: for a handler with the newer methods
  // Dispatcher#dispatch adds an UnwrapHandler and a controller per request and parses the
  // raw response headers into an object (undici lib/handler/unwrap-handler.js,
  // lib/dispatcher/dispatcher-base.js); these get the raw headers, passed on as a list.

  onConnect(abort: (err?: Error) => void): void {
    this.#abortUpstream = abort;
    if (this.#pendingAbort) this.#abort(this.#pendingAbort);
  }

  /** `raw`: Buffers from undici, latin1 strings from the native client. */
  onHeaders(statusCode: number, raw: ReadonlyArray<Buffer | string>, resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational: not forwarded
    clearTimeout(this.#timer);
    if (this.#deps.lifecycle.draining) this.#res.shouldKeepAlive = false;
    this.#status = statusCode;
    this.#resume = resume;
    // latin1 both ways: header bytes pass through unchanged, whatever their encoding.
    let out: string[] = [];
    let connection: string | undefined;
    let coded = false;
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!;
      const v = raw[i + 1]!;
      const name = typeof n === 'string' ? n : n.toString('latin1');
      const value = typeof v === 'string' ? v : v.toString('latin1');
      const lower = nameIn(name, 0, name.length, RESPONSE_LINE_NAMES);
      if (lower === undefined) {
        out.push(name, value);
        continue;
      }
      if (lower === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
      else if (lower === 'transfer-encoding') coded = true;
      if (HOP_BY_HOP.has(lower) || lower === REQUEST_ID_HEADER) continue;
      if (lower === VERSION_HEADER) this.#reportedVersion ??= value;
      else if (lower === 'content-length') this.#declaredLength = Number(value);
      out.push(name, value);
    }
    // Both a transfer coding and a length: the coding frames the body, and the length is
    // removed before the message goes on (RFC 9112 §6.3 item 3); the body is re-framed here.
    const drop = coded ? new Set([...(connectionListed(connection) ?? []), 'content-length']) : connectionListed(connection);
    if (coded) this.#declaredLength = -1;
    if (drop) out = out.filter((_, i, a) => !drop.has((i % 2 === 0 ? a[i]! : a[i - 1]!).toLowerCase()));
    out.push(VARIANT_HEADER, this.#plan.variant, REQUEST_ID_HEADER, this.#id);
    if (this.#reportedVersion === undefined && this.#plan.scanV2Body) this.#scan = [];
    this.#res.writeHead(statusCode, out);
    return true;
  }

  /**
   * The native client's head. To the relay front, its header lines go as they came, the
   * dropped ones cut out (#keptLines); to node:http, as a list through onHeaders.
   */
  onHead(statusCode: number, head: string, from: number, resume: () => void, index?: HeadLines): void {
    const res = this.#res;
    this.#lineMode = LineMode.Response;
    this.#dateSeen = false;
    this.#codedSeen = false;
    const lines = res.writeHeadLines !== undefined && statusCode >= 200 ? this.#keptLines(head, from, RESPONSE_LINE_NAMES, index) : undefined;
    if (lines === undefined) {
      this.onHeaders(statusCode, headerList(head, from), resume);
      return;
    }
    clearTimeout(this.#timer);
    if (this.#deps.lifecycle.draining) res.shouldKeepAlive = false;
    this.#status = statusCode;
    this.#resume = resume;
    if (this.#reportedVersion === undefined && this.#plan.scanV2Body) this.#scan = [];
    res.writeHeadLines!(statusCode, `${lines}${VARIANT_HEADER}: ${this.#plan.variant}\r\n${REQUEST_ID_HEADER}: ${this.#id}\r\n`, this.#declaredLength >= 0, this.#dateSeen);
  }

  onData(chunk: Buffer): boolean {
    this.#responseBytes += chunk.length;
    if (this.#scan && this.#scanBytes < V2_SCAN_BYTES) {
      this.#scan.push(chunk);
      this.#scanBytes += chunk.length;
    }
    if (this.#resCopy) {
      if (this.#responseBytes > this.#deps.config.bodies.maxBytes) this.#dropCopies();
      else this.#resCopy.push(chunk);
    }
    // The whole body in one chunk (the common small response with a content-length): end
    // with it, so head and body leave in one write and no separate end() follows.
    if (this.#responseBytes === chunk.length && chunk.length === this.#declaredLength) {
      this.#ended = true;
      this.#res.end(chunk);
      return true;
    }
    if (!this.#res.write(chunk)) {
      this.#res.once('drain', this.#resume!);
      return false; // undici pauses reading this response until resume()
    }
    return true;
  }

  onComplete(): void {
    if (!this.#ended) this.#res.end();
    this.#finish(this.#status, this.#status >= 200 && this.#status < 400);
  }

  onError(err: Error): void {
    this.#fail(err);
  }

  #fail(err: unknown): void {
    const { config, metrics } = this.#deps;
    const { kind, spec } = classifyUpstreamError(err);
    metrics.upstreamError(kind, 'rest');
    if (kind === 'client_abort') return this.#finish(499, false); // nginx's "client closed request"; TF Serving maps CANCELLED to 499 too
    if (this.#res.headersSent) {
      // Headers already went out: the only honest signal left is to cut the response.
      this.#res.destroy();
      return this.#finish(this.#status, false);
    }
    const message =
      kind === 'timeout' ? `upstream did not answer within ${config.timeouts.upstreamMs} ms`
      : kind === 'body_too_large' ? `request body exceeds ${config.limits.maxBodyBytes} bytes`
      : kind === 'client_timeout' ? `the client sent no request body bytes for ${config.timeouts.clientBodyMs} ms (or not the whole request within ${config.timeouts.requestMs} ms)`
      : `upstream unavailable (${kind})`;
    // A body not read to its end: close, so its rest is not parsed as the next request.
    const close = kind === 'body_too_large' || kind === 'client_timeout' || this.#deps.lifecycle.draining;
    this.#responseBytes = sendError(this.#res, spec, message, this.#plan.variant, this.#id, close);
    this.#finish(spec.http, false);
  }

  #finish(httpStatus: number, success: boolean): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    if (this.#bodyTimer !== undefined) clearTimeout(this.#bodyTimer);
    this.#releaseSlot();
    const { metrics, recorder } = this.#deps;
    metrics.ended('rest');
    if (this.#scan && this.#reportedVersion === undefined) {
      const m = V2_VERSION.exec(Buffer.concat(this.#scan).toString('utf8'));
      if (m) this.#reportedVersion = m[1];
    }
    const p = this.#plan;
    // From the request's full receipt (the class comment); 0 for one never received whole.
    const durationSeconds = this.#receivedAt < 0 ? 0 : (performance.now() - this.#receivedAt) / 1000;
    this.#ticket?.done(durationSeconds, httpStatus === 502 || httpStatus === 503 || httpStatus === 504);
    const bodies =
      this.#reqCopy && this.#resCopy
        ? {
            requestBody: Buffer.concat(this.#reqCopy), responseBody: Buffer.concat(this.#resCopy), contentType: firstHeader(this.#req.headers, 'content-type') ?? '',
            path: (this.#req.url ?? '/').split('?', 1)[0]!, durationSeconds, draw: this.#draw,
          }
        : undefined;
    recorder.record(
      {
        protocol: 'rest', api: p.api, model: p.model, reportedVersion: this.#reportedVersion, routedVersion: p.routedVersion, variant: p.variant, pinned: p.pinned === true,
        httpStatus, code: String(httpStatus), success, durationSeconds,
        requestBytes: this.#requestBytes, responseBytes: this.#responseBytes, requestId: this.#id, identity: this.#identity, rejected: this.#rejected,
      },
      this.#span,
      bodies,
    );
  }
}
