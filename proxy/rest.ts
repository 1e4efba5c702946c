// REST forwarding: node:http server in front, undici Pool to the upstream (keep-alive,
// streamed bodies both ways). undici over http-proxy: see bench/proxy/forwarders.ts and
// docs/benchmarks.md; http-proxy also needs its own timeout/abort handling (node-http-proxy
// #1331, #1586), which the undici dispatch API gives us directly.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { Dispatcher, Pool } from 'undici';
import { VARIANT_HEADER, VERSION_HEADER } from '../common/index.ts';
import type { Api, Variant } from '../common/index.ts';
import type { ProxyConfig } from './config.ts';
import { ProxyErrors, errorBody } from './errors.ts';
import type { UpstreamErrorKind } from './errors.ts';
import type { ErrorSpec } from '../common/index.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Observers } from './observers.ts';
import type { Recorder } from './recorder.ts';
import { parseRestPath, pinnedPath } from './rest-path.ts';
import { route } from './split.ts';
import type { Split } from './split.ts';
import type { Tracing } from './tracing.ts';

export interface RestDeps {
  config: ProxyConfig;
  pool: Pool;
  metrics: ProxyMetrics;
  observers: Observers;
  recorder: Recorder;
  tracing: Tracing;
  getSplit: (model: string) => Split | undefined;
  random: () => number;
}

// Hop-by-hop headers are not forwarded (RFC 9110 §7.6.1); `host` is set by undici for the upstream.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

// The v2 JSON response names the version that served (`model_version`, KServe
// required_api.md §Inference Response JSON Object); it comes first in practice, so only the
// head of the body is scanned.
const V2_VERSION = /"model_version"\s*:\s*"((?:[^"\\]|\\.)*)"/;
const V2_SCAN_BYTES = 64 * 1024;
const TEE_APIS: ReadonlySet<Api> = new Set(['predict', 'classify', 'regress', 'infer']);
// Bodies up to this size are gathered before forwarding (see `gather`); 64 KiB is the
// default socket high-water mark order of size, far below the body limit.
const SMALL_BODY_BYTES = 64 * 1024;

class BodyTooLarge extends Error {
  readonly code = 'PRX_BODY_TOO_LARGE';
}
class ClientAborted extends Error {
  readonly code = 'PRX_CLIENT_ABORTED';
}
class UpstreamTimeout extends Error {
  readonly code = 'PRX_TIMEOUT';
}

/** Maps an undici/socket error to the kind counted in metrics and the error sent to the client. */
export function classifyUpstreamError(err: unknown): { kind: UpstreamErrorKind; spec: ErrorSpec } {
  const code = (err as { code?: string })?.code ?? '';
  if (err instanceof BodyTooLarge) return { kind: 'body_too_large', spec: ProxyErrors.PRX_ERR_BODY_TOO_LARGE };
  if (err instanceof ClientAborted) return { kind: 'client_abort', spec: ProxyErrors.PRX_ERR_UPSTREAM_UNAVAILABLE };
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

function sendError(res: ServerResponse, spec: ErrorSpec, message: string, variant: Variant, close = false): number {
  const body = errorBody(spec.code, message);
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [VARIANT_HEADER]: variant };
  if (close) headers['connection'] = 'close';
  res.writeHead(spec.http, headers);
  res.end(body);
  return body.length;
}

function firstHeader(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export function createRestServer(deps: RestDeps): Server {
  const { config } = deps;
  const server = createServer(
    {
      headersTimeout: config.timeouts.headersMs,
      requestTimeout: config.timeouts.requestMs,
      keepAliveTimeout: config.timeouts.keepAliveMs,
      maxHeaderSize: config.limits.maxHeaderBytes,
      // Node checks the two timeouts above only every connectionsCheckingInterval (30 s by
      // default), so a 10 s headers timeout could take 40 s; check at a quarter of it.
      connectionsCheckingInterval: Math.max(50, Math.min(config.timeouts.headersMs, config.timeouts.requestMs) / 4),
    },
    (req, res) => handle(deps, req, res),
  );
  // Malformed requests, oversized headers (431) and slow clients (408) never reach the
  // handler; answer them like Node would, and count them.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (err.code !== 'ECONNRESET') {
      deps.recorder.record(
        { protocol: 'rest', api: 'other', model: undefined, variant: 'direct', httpStatus: code, code: String(code), success: false, durationSeconds: 0, requestBytes: 0, responseBytes: 0 },
        undefined,
      );
    }
    if (socket.writable && !(socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      const text = code === 431 ? 'Request Header Fields Too Large' : code === 408 ? 'Request Timeout' : 'Bad Request';
      socket.end(`HTTP/1.1 ${code} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });
  return server;
}

function handle(deps: RestDeps, req: IncomingMessage, res: ServerResponse): void {
  const { config, metrics } = deps;
  const start = performance.now();
  metrics.inFlight.inc({ protocol: 'rest' });
  const url = req.url ?? '/';
  const target = parseRestPath(url);
  let path = url;
  let variant: Variant = 'direct';
  let routedVersion = target?.version;
  if (target && target.model) {
    const split = deps.getSplit(target.model);
    const sticky = split?.stickyHeader ? firstHeader(req.headers, split.stickyHeader) : undefined;
    const r = route(target.model, split, target, sticky, deps.random);
    variant = r.variant;
    if (r.version !== undefined && r.version !== target.version) {
      path = pinnedPath(target, r.version);
      routedVersion = r.version;
    }
  }
  const api: Api = target?.api ?? 'other';
  const model = target ? target.model : undefined;
  const span = deps.tracing.start(`${req.method} ${api}`, firstHeader(req.headers, 'traceparent'));

  // Tee: sampled, only for inference calls, only when someone listens.
  const tee = deps.observers.wantsBodies && TEE_APIS.has(api) && deps.random() < config.bodies.sampleRate;
  const reqChunks: Buffer[] | undefined = tee ? [] : undefined;
  const resChunks: Buffer[] | undefined = tee ? [] : undefined;
  let teeOverflow = false;
  const teeMax = config.bodies.maxBytes;

  let requestBytes = 0;
  let responseBytes = 0;
  let status = 0;
  let reportedVersion: string | undefined;
  let scan: Buffer[] | undefined;
  let scanBytes = 0;
  let done = false;
  let controller: Dispatcher.DispatchController | undefined;
  let pendingAbort: Error | undefined;
  let dispatched = false;

  const abort = (e: Error) => {
    if (controller && !controller.aborted) controller.abort(e);
    else if (!controller) pendingAbort = e;
  };
  // Our own timer rather than undici's headersTimeout: undici's coarse timers fire up to
  // ~1 s late, and a 504 should come at the configured time.
  const timer = setTimeout(() => abort(new UpstreamTimeout()), config.timeouts.upstreamMs);

  const finish = (httpStatus: number, success: boolean) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    metrics.inFlight.dec({ protocol: 'rest' });
    if (scan && reportedVersion === undefined) {
      const m = V2_VERSION.exec(Buffer.concat(scan).toString('utf8'));
      if (m) reportedVersion = m[1];
    }
    const bodies =
      tee && !teeOverflow && reqChunks && resChunks
        ? { requestBody: Buffer.concat(reqChunks), responseBody: Buffer.concat(resChunks), contentType: firstHeader(req.headers, 'content-type') ?? '' }
        : undefined;
    deps.recorder.record(
      {
        protocol: 'rest', api, model, reportedVersion, routedVersion, variant, httpStatus,
        code: String(httpStatus), success, durationSeconds: (performance.now() - start) / 1000, requestBytes, responseBytes,
      },
      span,
      bodies,
    );
  };

  const fail = (err: unknown) => {
    const { kind, spec } = classifyUpstreamError(err);
    metrics.upstreamError(kind, 'rest');
    if (kind === 'client_abort') {
      finish(499, false); // nginx's "client closed request"; TF Serving maps CANCELLED to 499 too
      return;
    }
    if (!res.headersSent) {
      const message =
        kind === 'timeout' ? `upstream did not answer within ${config.timeouts.upstreamMs} ms`
        : kind === 'body_too_large' ? `request body exceeds ${config.limits.maxBodyBytes} bytes`
        : `upstream unavailable (${kind})`;
      responseBytes = sendError(res, spec, message, variant, kind === 'body_too_large');
      finish(spec.http, false);
    } else {
      // Headers already went out: the only honest signal left is to cut the response.
      res.destroy();
      finish(status, false);
    }
  };

  const contentLength = Number(req.headers['content-length'] ?? 0);
  if (contentLength > config.limits.maxBodyBytes) {
    // Refuse before opening anything upstream; close so the unread body is not parsed.
    fail(new BodyTooLarge());
    req.resume();
    return;
  }

  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    headers[k] = v;
  }
  if (span) headers['traceparent'] = span.traceparent;
  const forwardedFor = req.socket.remoteAddress;
  if (forwardedFor) headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${forwardedFor}` : forwardedFor;

  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && (contentLength > 0 || req.headers['transfer-encoding'] !== undefined);
  // Small bodies with a declared length are gathered first, so undici writes request head
  // and body in one writev (one syscall instead of two; socket writes are the largest cost
  // in a profile of this path). Larger or chunked bodies stream.
  const gather = hasBody && contentLength > 0 && contentLength <= SMALL_BODY_BYTES && req.headers['transfer-encoding'] === undefined;
  if (hasBody && !gather) {
    // Paused first so this listener does not start the flow before undici listens too
    // (undici resumes the body once it is writing: client-h1.js writeStream).
    req.pause();
    req.on('data', (chunk: Buffer) => {
      requestBytes += chunk.length;
      if (requestBytes > config.limits.maxBodyBytes) {
        abort(new BodyTooLarge());
        return;
      }
      if (reqChunks && !teeOverflow) {
        if (requestBytes > teeMax) teeOverflow = true;
        else reqChunks.push(chunk);
      }
    });
  }

  // A client that goes away cancels the upstream request (node-http-proxy #1586 leaked here).
  res.on('close', () => {
    if (res.writableFinished || done) return;
    if (dispatched) abort(new ClientAborted());
    else fail(new ClientAborted()); // still gathering the body: nothing upstream to cancel
  });

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c;
      if (pendingAbort) c.abort(pendingAbort);
    },
    onResponseStart(c, statusCode, upstreamHeaders) {
      if (statusCode < 200) return; // 1xx informational: not forwarded
      clearTimeout(timer);
      status = statusCode;
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(upstreamHeaders)) {
        if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      }
      out[VARIANT_HEADER] = variant;
      const vh = upstreamHeaders[VERSION_HEADER];
      reportedVersion = Array.isArray(vh) ? vh[0] : vh;
      if (reportedVersion === undefined && target?.dialect === 'kserve' && target.api === 'infer') scan = [];
      res.writeHead(statusCode, out);
      void c;
    },
    onResponseData(c, chunk) {
      responseBytes += chunk.length;
      if (scan && scanBytes < V2_SCAN_BYTES) {
        scan.push(chunk);
        scanBytes += chunk.length;
      }
      if (resChunks && !teeOverflow) {
        if (responseBytes > teeMax) teeOverflow = true;
        else resChunks.push(chunk);
      }
      if (!res.write(chunk)) {
        c.pause();
        res.once('drain', () => c.resume());
      }
    },
    onResponseEnd() {
      res.end();
      finish(status, status >= 200 && status < 400);
    },
    onResponseError(_c, err) {
      fail(err);
    },
  };

  const send = (body: Buffer | IncomingMessage | null) => {
    dispatched = true;
    try {
      deps.pool.dispatch(
        {
          path,
          method: req.method ?? 'GET',
          headers,
          body,
          // Backstops only; the timer above is the real headers deadline.
          headersTimeout: config.timeouts.upstreamMs + 1000,
          bodyTimeout: config.timeouts.upstreamMs,
        },
        handler,
      );
    } catch (err) {
      fail(err);
    }
  };
  if (!gather) return send(hasBody ? req : null);
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    requestBytes += chunk.length;
  });
  req.on('end', () => {
    if (done) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (reqChunks && body.length <= teeMax) reqChunks.push(body);
    else if (reqChunks) teeOverflow = true;
    send(body);
  });
}
