// gRPC pass-through on node:http2 (h2c): every service and method, including streams, is
// forwarded frame by frame as raw bytes, with metadata, deadlines (grpc-timeout), status
// and trailers preserved. Only the inference services' model spec is read (grpc-wire.ts).
//
// Why not a @grpc/grpc-js Server: grpc-js dispatches only registered method paths
// (Server#_retrieveHandler in src/server.ts answers UNIMPLEMENTED for any other path, and
// there is no public catch-all), and it would decode and re-encode every message. Tests
// use grpc-js clients and servers on both sides to prove the wire stays compatible.
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, Http2Server, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { GrpcCode, VARIANT_HEADER, VERSION_HEADER } from '../common/index.ts';
import type { Api, Variant } from '../common/index.ts';
import type { ProxyConfig } from './config.ts';
import type { UpstreamErrorKind } from './errors.ts';
import { FrameReader, KNOWN_METHODS, frame, pinRequestVersion, readRequestModel, readResponseVersion, FRAME_HEADER_BYTES } from './grpc-wire.ts';
import type { MethodShape, ModelRef } from './grpc-wire.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Observers } from './observers.ts';
import type { Recorder } from './recorder.ts';
import { route } from './split.ts';
import type { Split } from './split.ts';
import type { Tracing } from './tracing.ts';

const { NGHTTP2_CANCEL } = http2.constants;

const CODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(GrpcCode).map(([k, v]) => [v, k]));
export const grpcCodeName = (code: number): string => CODE_NAMES[code] ?? String(code);

// Connection-specific headers are forbidden in HTTP/2 (RFC 9113 §8.2.2); node rejects them.
const FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);
const TEE_APIS: ReadonlySet<Api> = new Set(['predict', 'classify', 'regress', 'infer']);

/** grpc-timeout (PROTOCOL-HTTP2.md "Timeout"): digits then H, M, S, m, u, n. Returns ms. */
export function parseGrpcTimeout(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as 'H'];
  return n * unitMs;
}

export interface GrpcDeps {
  config: ProxyConfig;
  metrics: ProxyMetrics;
  observers: Observers;
  recorder: Recorder;
  tracing: Tracing;
  getSplit: (model: string) => Split | undefined;
  random: () => number;
}

/** One HTTP/2 session to the upstream, re-dialled after it closes (so a restarted upstream is used again). */
export class UpstreamSession {
  #session: ClientHttp2Session | undefined;
  readonly #authority: string;
  readonly #host: string;
  readonly #port: number;
  constructor(hostPort: string) {
    this.#authority = `http://${hostPort}`;
    const i = hostPort.lastIndexOf(':');
    this.#host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
    this.#port = Number(hostPort.slice(i + 1));
  }
  get(): ClientHttp2Session {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed) return s;
    // No Nagle: with many small messages in flight on one connection, Nagle's algorithm
    // meeting the peer's delayed ACK stalls frames for ~40 ms (RFC 896 / RFC 1122 §4.2.3.2).
    const fresh = http2.connect(this.#authority, { createConnection: () => connect({ host: this.#host, port: this.#port, noDelay: true }) });
    fresh.on('error', () => undefined); // surfaced on each stream; a session error must not crash us
    fresh.on('close', () => {
      if (this.#session === fresh) this.#session = undefined;
    });
    fresh.on('goaway', () => {
      if (this.#session === fresh) this.#session = undefined;
    });
    fresh.unref();
    this.#session = fresh;
    return fresh;
  }
  close(): void {
    this.#session?.close();
    this.#session = undefined;
  }
}

export function createGrpcServer(deps: GrpcDeps, upstream: UpstreamSession): Http2Server {
  const server = http2.createServer({ maxHeaderListPairs: 256, maxSendHeaderBlockLength: deps.config.limits.maxHeaderBytes });
  server.on('stream', (stream, headers) => handleCall(deps, upstream, stream, headers));
  server.on('connection', (socket: Socket) => socket.setNoDelay(true)); // see UpstreamSession
  server.on('sessionError', () => undefined);
  return server;
}

function headerValue(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function handleCall(deps: GrpcDeps, upstream: UpstreamSession, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  const { config, metrics } = deps;
  const start = performance.now();
  metrics.inFlight.inc({ protocol: 'grpc' });
  stream.on('error', () => undefined); // client resets surface as 'close'; never crash

  const method = headerValue(headers, ':path') ?? '';
  const shape: MethodShape | undefined = KNOWN_METHODS.get(method);
  const api: Api = shape?.api ?? 'other';
  const span = deps.tracing.start(method, headerValue(headers, 'traceparent'));

  let ref: ModelRef | undefined; // from the first request message
  let variant: Variant = 'direct';
  let pinned: string | undefined;
  let reportedVersion: string | undefined;
  let requestBytes = 0;
  let responseBytes = 0;
  let firstRequest: Buffer | undefined;
  let firstResponse: Buffer | undefined;
  let done = false;
  let respondedHeaders = false;
  let upstreamTrailers: IncomingHttpHeaders | undefined;
  const tee = shape !== undefined && TEE_APIS.has(api) && deps.observers.wantsBodies && deps.random() < config.bodies.sampleRate;

  const finish = (grpcCode: number) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    metrics.inFlight.dec({ protocol: 'grpc' });
    const model = shape === undefined ? undefined : shape.request.kind === 'none' ? '' : ref?.model;
    const bodies = tee && firstRequest && firstResponse ? { requestBody: firstRequest, responseBody: firstResponse, contentType: 'application/grpc', method } : undefined;
    deps.recorder.record(
      {
        protocol: 'grpc', api, model, reportedVersion, routedVersion: pinned ?? ref?.version, variant, grpcCode,
        code: grpcCodeName(grpcCode), success: grpcCode === GrpcCode.OK, durationSeconds: (performance.now() - start) / 1000,
        requestBytes, responseBytes,
      },
      span,
      bodies,
    );
  };

  /** Ends the call with a status the proxy makes up (upstream failed or too slow). */
  const failWith = (code: number, message: string, kind: UpstreamErrorKind) => {
    if (done) return;
    metrics.upstreamError(kind, 'grpc');
    if (up && !up.closed) up.close(NGHTTP2_CANCEL);
    if (!stream.closed && !stream.destroyed) {
      const trailers = { 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) };
      if (!respondedHeaders) {
        respondedHeaders = true;
        // Trailers-Only response (PROTOCOL-HTTP2.md): status in the only HEADERS frame.
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', [VARIANT_HEADER]: variant, ...trailers }, { endStream: true });
      } else {
        upstreamTrailers = trailers;
        stream.end();
      }
    }
    finish(code);
  };

  // Deadline: the client's grpc-timeout when shorter, else the configured upstream timeout.
  const clientDeadline = parseGrpcTimeout(headerValue(headers, 'grpc-timeout'));
  const deadlineMs = Math.min(clientDeadline ?? Infinity, config.timeouts.upstreamMs);
  const timer = setTimeout(() => failWith(GrpcCode.DEADLINE_EXCEEDED, `upstream did not answer within ${Math.round(deadlineMs)} ms`, 'timeout'), deadlineMs);

  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !FORBIDDEN.has(k)) out[k] = v;
  }
  if (span) out['traceparent'] = span.traceparent;

  let up: ClientHttp2Stream | undefined;
  try {
    up = upstream.get().request(out, { endStream: false });
  } catch {
    failWith(GrpcCode.UNAVAILABLE, 'upstream unavailable (connect)', 'connect');
    return;
  }
  const upStream = up;

  upStream.on('response', (h, flags) => {
    const fromUpstream: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(h)) if (v !== undefined && !FORBIDDEN.has(k)) fromUpstream[k] = v;
    fromUpstream[VARIANT_HEADER] = variant;
    const v = headerValue(h, VERSION_HEADER);
    if (v !== undefined) reportedVersion = v;
    if (stream.closed || stream.destroyed || done) return;
    respondedHeaders = true;
    if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) {
      // Trailers-Only: the status is in these headers.
      stream.respond(fromUpstream, { endStream: true });
      finish(Number(headerValue(h, 'grpc-status') ?? GrpcCode.UNKNOWN));
    } else {
      stream.respond(fromUpstream, { waitForTrailers: true });
    }
  });
  stream.on('wantTrailers', () => {
    const t: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(upstreamTrailers ?? { 'grpc-status': String(GrpcCode.UNKNOWN) })) if (v !== undefined) t[k] = v;
    stream.sendTrailers(t);
  });

  // Response direction: raw bytes through; the first message is read only when needed.
  const wantFirstResponse = tee || shape?.response.kind !== 'none';
  const responseFrames = wantFirstResponse ? new FrameReader(config.limits.maxBodyBytes) : undefined;
  upStream.on('data', (chunk: Buffer) => {
    responseBytes += chunk.length;
    if (responseFrames && firstResponse === undefined) {
      try {
        const msgs = responseFrames.push(chunk);
        const first = msgs[0];
        if (first && !first.compressed) {
          firstResponse = Buffer.from(first.message);
          if (shape && reportedVersion === undefined) reportedVersion = readResponseVersion(shape, firstResponse);
        } else if (first) firstResponse = Buffer.alloc(0);
      } catch {
        firstResponse = Buffer.alloc(0);
      }
    }
    if (stream.closed || stream.destroyed) return;
    if (!stream.write(chunk)) {
      upStream.pause();
      stream.once('drain', () => upStream.resume());
    }
  });
  upStream.on('trailers', (t) => {
    upstreamTrailers = t;
  });
  upStream.on('end', () => {
    if (done || !respondedHeaders) return;
    const code = Number(headerValue(upstreamTrailers ?? {}, 'grpc-status') ?? GrpcCode.UNKNOWN);
    if (!stream.closed && !stream.destroyed) stream.end();
    finish(code);
  });
  upStream.on('error', (err: NodeJS.ErrnoException) => {
    const connect = err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENOTFOUND';
    failWith(GrpcCode.UNAVAILABLE, `upstream unavailable (${connect ? 'connect' : 'reset'})`, connect ? 'connect' : 'reset');
  });
  upStream.on('close', () => {
    // Closed without 'end' (RST_STREAM from upstream, session gone): unavailable.
    if (!done) failWith(GrpcCode.UNAVAILABLE, 'upstream unavailable (reset)', 'reset');
  });

  // A client that cancels or goes away cancels the upstream call.
  stream.on('close', () => {
    if (done) return;
    metrics.upstreamError('client_abort', 'grpc');
    if (!upStream.closed) upStream.close(NGHTTP2_CANCEL);
    finish(GrpcCode.CANCELLED);
  });

  // Request direction: raw for unknown methods; for known ones, messages are read to label
  // the call and, when the split says so, re-framed with the version pinned.
  const requestFrames = shape ? new FrameReader(config.limits.maxBodyBytes) : undefined;
  const forward = (buf: Buffer) => {
    if (upStream.closed || upStream.destroyed) return;
    if (!upStream.write(buf)) {
      stream.pause();
      upStream.once('drain', () => stream.resume());
    }
  };
  stream.on('data', (chunk: Buffer) => {
    requestBytes += chunk.length;
    if (!requestFrames || !shape) return forward(chunk);
    let msgs;
    try {
      msgs = requestFrames.push(chunk);
    } catch {
      return failWith(GrpcCode.RESOURCE_EXHAUSTED, `request message exceeds ${config.limits.maxBodyBytes} bytes`, 'body_too_large');
    }
    for (const { compressed, message } of msgs) {
      if (compressed) {
        // Cannot read a compressed message without its codec; pass it on as is.
        forward(reframeCompressed(message));
        continue;
      }
      if (ref === undefined) {
        ref = readRequestModel(shape, message);
        if (tee) firstRequest = Buffer.from(message);
        if (ref.model) {
          const split = deps.getSplit(ref.model);
          const sticky = split?.stickyHeader ? headerValue(headers, split.stickyHeader) : undefined;
          const r = route(ref.model, split, ref, sticky, deps.random);
          variant = r.variant;
          if (r.version !== undefined && r.version !== ref.version) pinned = r.version;
        }
      }
      forward(pinned !== undefined ? frame(pinRequestVersion(shape, message, pinned)) : withPrefix(message));
    }
  });
  stream.on('end', () => {
    if (!upStream.closed && !upStream.destroyed) upStream.end();
  });
}

function withPrefix(message: Buffer): Buffer {
  // `message` is a view into the original frame, so the 5 bytes before it are its prefix.
  if (message.byteOffset >= FRAME_HEADER_BYTES) {
    return Buffer.from(message.buffer, message.byteOffset - FRAME_HEADER_BYTES, message.length + FRAME_HEADER_BYTES);
  }
  return frame(message);
}

function reframeCompressed(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
  out[0] = 1;
  out.writeUInt32BE(message.length, 1);
  out.set(message, FRAME_HEADER_BYTES);
  return out;
}
