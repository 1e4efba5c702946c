// gRPC pass-through on node:http2 (h2c): every service and method, including streams, is
// forwarded frame by frame as raw bytes, with metadata, deadlines (grpc-timeout), status
// and trailers preserved. Only the inference services' model spec is read (grpc-wire.ts).
//
// Why not a @grpc/grpc-js Server: grpc-js dispatches only registered method paths
// (Server#_retrieveHandler in src/server.ts answers UNIMPLEMENTED for any other path, and
// there is no public catch-all), and it would decode and re-encode every message. Tests
// use grpc-js clients and servers on both sides to prove the wire stays compatible.
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, Http2Session, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { connect } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { GrpcCode, REQUEST_ID_HEADER, VARIANT_HEADER, VERSION_HEADER } from '../common/index.ts';
import type { Api, RejectReason, Variant } from '../common/index.ts';
import { CREDENTIAL_HEADERS, credentialsOf } from './guard/index.ts';
import type { Admission, Ticket } from './guard/index.ts';
import type { ClientTls, ReloadableTls } from '../common/tls.ts';
import type { UpstreamErrorKind } from './errors.ts';
import { FrameReader, KNOWN_METHODS, frame, pinRequestVersion, readRequestModel, readResponseVersion, FRAME_HEADER_BYTES } from './grpc-wire.ts';
import type { MethodShape, ModelRef } from './grpc-wire.ts';
import type { ForwardDeps } from './request-path.ts';
import { requestIdFrom } from './request-id.ts';
import { route } from './split.ts';
import type { RequestTrace } from './tracing.ts';
import { ClientStream, FrameServer, FrameTlsServer, ServerStream, connectH2Tls } from './h2/index.ts';
import type { ClientSide, StreamFailure, UpstreamSide } from './h2/index.ts';

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

export type GrpcDeps = ForwardDeps;

/**
 * What a call uses of its upstream stream: node:http2's ClientHttp2Stream, or the frame
 * client's (h2/stream.ts). Its events reach the call through hearUpstream().
 */
export interface UpstreamCallStream {
  /** True when nothing keeps the stream once it has closed (the frame-level ones); node:http2 keeps its streams until a full GC. */
  readonly unreachableOnClose?: boolean;
  readonly closed: boolean;
  readonly destroyed: boolean;
  write(chunk: Buffer): boolean;
  end(): void;
  close(code?: number): void;
  pause(): unknown;
  resume(): unknown;
}

/** What a call uses of a client's stream: the same, and the response side (node:http2's ServerHttp2Stream, or the frame server's; events through hearClient()). */
export interface ServerCallStream extends UpstreamCallStream {
  respond(headers: OutgoingHttpHeaders, options: { endStream?: boolean; waitForTrailers?: boolean }): void;
  sendTrailers(headers: OutgoingHttpHeaders): void;
  isPaused(): boolean;
}

/** The upstream: node:http2 (UpstreamSession) or frame-level (h2/client.ts FrameUpstream). */
export interface GrpcUpstream {
  get(): { request(headers: OutgoingHttpHeaders, options: { endStream: boolean }): UpstreamCallStream };
  close(): void;
}

/** The gRPC listener, whichever server: a net.Server that can send every connection GOAWAY, or cut them. */
export type GrpcListener = NetServer & {
  /** GOAWAY to every client connection: open calls run to their end, new ones are refused. */
  goawayAll(): void;
  /** Cuts every client connection. */
  destroyAll(): void;
};

/** One HTTP/2 session to the upstream, re-dialled after it closes (so a restarted upstream is used again). */
export class UpstreamSession {
  #session: ClientHttp2Session | undefined;
  readonly #authority: string;
  readonly #host: string;
  readonly #port: number;
  readonly #tls: ClientTls | undefined;
  /** With `tls`, the upstream is spoken to over TLS (ALPN h2), trusting `tls.ca` (else the system's roots). */
  constructor(hostPort: string, tls?: ClientTls) {
    this.#tls = tls;
    this.#authority = `${tls ? 'https' : 'http'}://${hostPort}`;
    const i = hostPort.lastIndexOf(':');
    this.#host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
    this.#port = Number(hostPort.slice(i + 1));
  }
  get(): ClientHttp2Session {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed) return s;
    // No Nagle: with many small messages in flight on one connection, Nagle's algorithm
    // meeting the peer's delayed ACK stalls frames for ~40 ms (RFC 896 / RFC 1122 §4.2.3.2).
    const fresh = http2.connect(this.#authority, { createConnection: () => this.#connect() });
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
  #connect(): Duplex {
    if (!this.#tls) return connect({ host: this.#host, port: this.#port, noDelay: true });
    const socket = connectH2Tls(this.#host, this.#port, this.#tls);
    socket.setNoDelay(true);
    return socket;
  }
}

/**
 * The gRPC listener. `frames`: the frame-level server of h2/, no node:http2 objects per
 * call, over TLS (ALPN h2) with `tls`; else node:http2. Either way `tls` reloads the
 * certificate of new connections.
 */
export function createGrpcServer(deps: GrpcDeps, upstream: GrpcUpstream, tls?: ReloadableTls): GrpcListener {
  const { config } = deps;
  if (config.grpc?.server === 'frames') {
    const options = { prefaceTimeoutMs: config.timeouts.headersMs, limits: { maxHeaderListSize: Math.max(config.limits.maxHeaderBytes, 16 * 1024) } };
    const onStream = (stream: ServerStream, headers: IncomingHttpHeaders) => new GrpcCall(deps, upstream, stream, headers).start();
    if (!tls) return new FrameServer(options, onStream);
    const server = new FrameTlsServer(options, tls.serverOptions(), onStream);
    tls.attach(server);
    return server;
  }
  const options = { maxHeaderListPairs: 256, maxSendHeaderBlockLength: config.limits.maxHeaderBytes };
  const secure = tls ? http2.createSecureServer({ ...options, ...tls.serverOptions(), handshakeTimeout: config.timeouts.headersMs }) : undefined;
  if (secure && tls) tls.attach(secure);
  // A secure HTTP/2 server has the same events and methods as a plaintext one for what follows.
  const server = secure ? (secure as unknown as http2.Http2Server) : http2.createServer(options);
  server.on('stream', (stream, headers) => new GrpcCall(deps, upstream, stream, headers).start());
  server.on('connection', (socket: Socket) => socket.setNoDelay(true)); // see UpstreamSession
  server.on('sessionError', () => undefined);
  const sessions = new Set<Http2Session>();
  server.on('session', (s: Http2Session) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return Object.assign(server as unknown as NetServer, {
    goawayAll: () => {
      for (const s of sessions) if (!s.closed && !s.destroyed) s.close();
    },
    destroyAll: () => {
      for (const s of sessions) s.destroy();
    },
  });
}

function headerValue(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

// for-in rather than Object.entries: no [key, value] array per header on every call
// (Object.entries was ~6% of this path's allocations in a sampling heap profile).
const copyHeaders = (h: IncomingHttpHeaders): OutgoingHttpHeaders => {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    const v = h[k];
    if (v !== undefined && !FORBIDDEN.has(k)) out[k] = v;
  }
  return out;
};

// A listener that captures nothing, for streams whose call is over (see GrpcCall#closed).
const ignore = (): void => undefined;
const CLIENT_EVENTS = ['wantTrailers', 'data', 'end', 'close', 'drain'] as const;
const UPSTREAM_EVENTS = ['response', 'data', 'trailers', 'end', 'error', 'close', 'drain'] as const;

/** Sends a client stream's events to `side`: the frame server's stream takes it as is, node:http2's through listeners. */
function hearClient(stream: ServerCallStream, side: ClientSide): void {
  if (stream instanceof ServerStream) return stream.hear(side);
  const s = stream as unknown as ServerHttp2Stream;
  s.on('error', ignore); // client resets surface as 'close'; never crash
  s.on('wantTrailers', () => side.trailersWanted());
  s.on('data', (chunk: Buffer) => side.clientData(chunk));
  s.on('end', () => side.clientEnd());
  s.on('drain', () => side.clientDrained());
  s.on('close', () => side.clientClosed(undefined));
}

/** The same for an upstream stream; node:http2's 'error' comes before its 'close' and is handed to upstreamClosed. */
function hearUpstream(up: UpstreamCallStream, side: UpstreamSide): void {
  if (up instanceof ClientStream) return up.hear(side);
  const s = up as unknown as ClientHttp2Stream;
  let error: StreamFailure | undefined;
  s.on('response', (h: IncomingHttpHeaders, flags: number) => side.upstreamResponse(h, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0));
  s.on('data', (chunk: Buffer) => side.upstreamData(chunk));
  s.on('trailers', (t: IncomingHttpHeaders) => side.upstreamTrailers(t));
  s.on('end', () => side.upstreamEnd());
  s.on('drain', () => side.upstreamDrained());
  s.on('error', (err: StreamFailure) => (error = err));
  s.on('close', () => side.upstreamClosed(error));
}

/**
 * One proxied call: a client stream on our server, a stream on the upstream session. It is
 * the listener of both (ClientSide, UpstreamSide): one object per call hears every event.
 */
class GrpcCall implements ClientSide, UpstreamSide {
  readonly #deps: GrpcDeps;
  readonly #upstream: GrpcUpstream;
  readonly #stream: ServerCallStream;
  readonly #headers: IncomingHttpHeaders;
  readonly #start = performance.now();
  readonly #method: string;
  readonly #shape: MethodShape | undefined;
  readonly #api: Api;
  readonly #span: RequestTrace | undefined;
  readonly #tee: boolean;
  /** The uniform draw that decided the tee (observers.ts BodySubscription). */
  #draw = 1;
  /** This call's id (request-id.ts): sent upstream, in the initial and trailing metadata, recorded. */
  readonly #id: string;
  /** Reads request messages (known methods only) to label and pin. */
  readonly #requestFrames: FrameReader | undefined;
  /** Reads the first response message, when its version or a body copy is wanted. */
  readonly #responseFrames: FrameReader | undefined;
  #up: UpstreamCallStream | undefined;
  #timer: NodeJS.Timeout | undefined;
  /**
   * Unary inference calls (the known methods but ModelStreamInfer): the client's time to
   * send its request is its own. Until its stream ends, only its deadline and
   * `timeouts.clientBody` (no byte for that long) run, and either ends the call CANCELLED as
   * a client_timeout; the upstream timeout starts once the request has been sent whole.
   */
  readonly #unary: boolean;
  #bodyTimer: NodeJS.Timeout | undefined;
  /** The client's deadline (performance.now() time), Infinity without grpc-timeout. */
  #deadlineAt = Infinity;
  /** When the client's request ended (unary calls); the outcome's duration starts there. */
  #receivedAt = -1;
  #ref: ModelRef | undefined;
  #variant: Variant = 'direct';
  /** The client named the version of a split model (RequestOutcome.pinned). */
  #clientPinned = false;
  #pinned: string | undefined;
  #reportedVersion: string | undefined;
  #requestBytes = 0;
  #responseBytes = 0;
  #firstRequest: Buffer | undefined;
  #firstResponse: Buffer | undefined;
  #respondedHeaders = false;
  #trailers: OutgoingHttpHeaders | undefined;
  #done = false;
  /** 'close' events seen: the client stream's and the upstream stream's. */
  #closes = 0;
  /** A write to the client's stream said to wait: the upstream stream is paused until it drains. */
  #waitClientDrain = false;
  /** The same, the other way. */
  #waitUpstreamDrain = false;
  /**
   * Admission (proxy/guard): request bytes held until the call is admitted (undefined once
   * it is, or without a guard), whether the client's stream ended meanwhile, who called,
   * why refused, the concurrency slot to return.
   */
  #held: Buffer[] | undefined;
  #heldEnd = false;
  #admitting = false;
  #identity: string | undefined;
  #rejected: RejectReason | undefined;
  #ticket: Ticket | undefined;

  constructor(deps: GrpcDeps, upstream: GrpcUpstream, stream: ServerCallStream, headers: IncomingHttpHeaders) {
    this.#deps = deps;
    this.#upstream = upstream;
    this.#stream = stream;
    this.#headers = headers;
    this.#method = headerValue(headers, ':path') ?? '';
    this.#shape = KNOWN_METHODS.get(this.#method);
    this.#unary = this.#shape !== undefined && !this.#method.endsWith('/ModelStreamInfer');
    this.#api = this.#shape?.api ?? 'other';
    this.#span = deps.tracing.start(this.#method, headerValue(headers, 'traceparent'));
    this.#id = requestIdFrom(headerValue(headers, REQUEST_ID_HEADER));
    const { config } = deps;
    this.#tee = this.#shape !== undefined && TEE_APIS.has(this.#api) && deps.observers.wantsBodies && deps.observers.tees((this.#draw = deps.random()));
    this.#requestFrames = this.#shape ? new FrameReader(config.limits.maxBodyBytes) : undefined;
    this.#responseFrames = this.#tee || (this.#shape && this.#shape.response.kind !== 'none') ? new FrameReader(config.limits.maxBodyBytes) : undefined;
  }

  start(): void {
    const { config, metrics } = this.#deps;
    const stream = this.#stream;
    metrics.started('grpc');
    hearClient(stream, this);
    const clientDeadlineMs = parseGrpcTimeout(headerValue(this.#headers, 'grpc-timeout'));
    if (this.#unary) {
      if (clientDeadlineMs !== undefined) {
        this.#deadlineAt = performance.now() + clientDeadlineMs;
        this.#timer = setTimeout(() => this.#failWith(GrpcCode.CANCELLED, `the client did not send its whole request within its deadline (${Math.round(clientDeadlineMs)} ms)`, 'client_timeout'), clientDeadlineMs);
      }
      this.#bodyTimer = setTimeout(() => {
        // Paused: the upstream is not taking the request (backpressure), not the client's fault.
        if (this.#stream.isPaused()) this.#failWith(GrpcCode.DEADLINE_EXCEEDED, `upstream did not take the request within ${config.timeouts.clientBodyMs} ms`, 'timeout');
        else this.#failWith(GrpcCode.CANCELLED, `the client sent no request bytes for ${config.timeouts.clientBodyMs} ms`, 'client_timeout');
      }, config.timeouts.clientBodyMs);
    } else {
      // Streams: the client's grpc-timeout when shorter, else the configured upstream timeout, from the start.
      const deadlineMs = Math.min(clientDeadlineMs ?? Infinity, config.timeouts.upstreamMs);
      this.#timer = setTimeout(() => this.#failWith(GrpcCode.DEADLINE_EXCEEDED, `upstream did not answer within ${Math.round(deadlineMs)} ms`, 'timeout'), deadlineMs);
    }

    if (!this.#deps.guard) return this.#open();
    // Admission needs the model: from the first request message, or none for the others.
    this.#held = [];
    if (!this.#requestFrames || this.#shape?.request.kind === 'none') this.#admit();
  }

  /** The admission stage (proxy/guard), once the model is known; the upstream call opens only when admitted. */
  #admit(): void {
    const guard = this.#deps.guard;
    if (!guard || this.#admitting || this.#done) return;
    this.#admitting = true;
    const shape = this.#shape;
    const ref = this.#ref;
    const model = shape === undefined ? undefined : shape.request.kind === 'none' ? '' : ref?.model;
    const a = guard.admit({ protocol: 'grpc', api: this.#api, model, version: ref?.version ?? ref?.label, ...credentialsOf((name) => headerValue(this.#headers, name)) });
    if (a instanceof Promise) void a.then((r) => this.#onAdmission(r));
    else this.#onAdmission(a);
  }

  #onAdmission(a: Admission): void {
    this.#identity = a.identity;
    if (!a.ok) {
      this.#rejected = a.reason;
      return this.#refuse(a.spec.grpc, a.message, a.headers);
    }
    this.#ticket = a.ticket;
    if (this.#done) return a.ticket?.done(0, false);
    this.#open();
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const b of held) this.#forward(b);
    const up = this.#up;
    if (this.#heldEnd && up && !up.closed && !up.destroyed) up.end();
  }

  /** Opens the upstream call and wires its events to the client's stream. */
  #open(): void {
    const out = copyHeaders(this.#headers);
    if (this.#span) out['traceparent'] = this.#span.traceparent;
    out[REQUEST_ID_HEADER] = this.#id;
    // Credentials the proxy checked are its own, not the upstream's.
    if (this.#deps.guard?.authenticates) for (const h of CREDENTIAL_HEADERS) delete out[h];
    let up: UpstreamCallStream;
    try {
      up = this.#upstream.get().request(out, { endStream: false });
    } catch {
      this.#failWith(GrpcCode.UNAVAILABLE, 'upstream unavailable (connect)', 'connect');
      return;
    }
    this.#up = up;
    hearUpstream(up, this);
  }

  // The client's stream (ClientSide).

  trailersWanted(): void {
    this.#stream.sendTrailers({ ...(this.#trailers ?? { 'grpc-status': String(GrpcCode.UNKNOWN) }), [REQUEST_ID_HEADER]: this.#id });
  }

  clientEnd(): void {
    if (this.#unary) this.#requestSent();
    const up = this.#up;
    if (up) {
      if (!up.closed && !up.destroyed) up.end();
    } else if (this.#held) {
      this.#heldEnd = true;
      this.#admit(); // a request with no message to read a model from
    }
  }

  clientDrained(): void {
    if (!this.#waitClientDrain) return;
    this.#waitClientDrain = false;
    this.#up?.resume();
  }

  clientClosed(): void {
    this.#onClientClose();
    this.#closed();
  }

  // The upstream's stream (UpstreamSide).

  upstreamTrailers(t: IncomingHttpHeaders): void {
    this.#trailers = copyHeaders(t);
  }

  upstreamDrained(): void {
    if (!this.#waitUpstreamDrain) return;
    this.#waitUpstreamDrain = false;
    this.#stream.resume();
  }

  upstreamClosed(err: StreamFailure | undefined): void {
    if (err) {
      const connect = err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENOTFOUND';
      this.#failWith(GrpcCode.UNAVAILABLE, `upstream unavailable (${connect ? 'connect' : 'reset'})`, connect ? 'connect' : 'reset');
    }
    // Closed without 'end' (RST_STREAM from upstream, session gone): unavailable.
    this.#failWith(GrpcCode.UNAVAILABLE, 'upstream unavailable (reset)', 'reset');
    this.#closed();
  }

  /**
   * Once both streams have closed, takes this call's listeners off node:http2's. It keeps a
   * closed stream's objects until a full GC (they survive every scavenge in between), and
   * with the listeners attached each stream also kept this call, its buffers and the other
   * side's stream: 12.7 KB per call survived scavenges before, 7.4 KB after (sampling heap
   * profile at 1000 rps; Proxy section of docs/benchmarks.md). Copying survivors is what
   * makes scavenges long, and scavenge pauses are most of the gRPC p99.
   */
  #closed(): void {
    if (++this.#closes < (this.#up ? 2 : 1)) return;
    // Frame-level streams (h2/) are unreachable once closed, and forget their listener.
    const stream = this.#stream;
    if (!stream.unreachableOnClose) for (const e of CLIENT_EVENTS) (stream as unknown as ServerHttp2Stream).removeAllListeners(e);
    const up = this.#up as unknown as ClientHttp2Stream | undefined;
    if (up && !this.#up!.unreachableOnClose) {
      for (const e of UPSTREAM_EVENTS) up.removeAllListeners(e);
      up.on('error', ignore);
    }
  }

  upstreamResponse(h: IncomingHttpHeaders, end: boolean): void {
    const headers = copyHeaders(h);
    headers[VARIANT_HEADER] = this.#variant;
    headers[REQUEST_ID_HEADER] = this.#id;
    const v = headerValue(h, VERSION_HEADER);
    if (v !== undefined) this.#reportedVersion = v;
    const stream = this.#stream;
    if (stream.closed || stream.destroyed || this.#done) return;
    this.#respondedHeaders = true;
    if (end) {
      // Trailers-Only (PROTOCOL-HTTP2.md): the status is in these headers.
      stream.respond(headers, { endStream: true });
      this.#finish(Number(headerValue(h, 'grpc-status') ?? GrpcCode.UNKNOWN));
    } else {
      stream.respond(headers, { waitForTrailers: true });
    }
  }

  // Response direction: raw bytes through; the first message is read only when needed.
  upstreamData(chunk: Buffer): void {
    this.#responseBytes += chunk.length;
    if (this.#responseFrames && this.#firstResponse === undefined) this.#readFirstResponse(chunk);
    const stream = this.#stream;
    if (stream.closed || stream.destroyed) return;
    if (!stream.write(chunk) && !this.#waitClientDrain) {
      this.#up!.pause();
      this.#waitClientDrain = true;
    }
  }

  #readFirstResponse(chunk: Buffer): void {
    try {
      const first = this.#responseFrames!.push(chunk)[0];
      if (!first) return;
      if (first.compressed) {
        this.#firstResponse = Buffer.alloc(0); // cannot read it without the codec
        return;
      }
      this.#firstResponse = Buffer.from(first.message);
      if (this.#shape && this.#reportedVersion === undefined) this.#reportedVersion = readResponseVersion(this.#shape, this.#firstResponse);
    } catch {
      this.#firstResponse = Buffer.alloc(0);
    }
  }

  upstreamEnd(): void {
    if (this.#done || !this.#respondedHeaders) return;
    const code = Number(this.#trailers?.['grpc-status'] ?? GrpcCode.UNKNOWN);
    if (!this.#stream.closed && !this.#stream.destroyed) this.#stream.end();
    this.#finish(code);
  }

  // Request direction: raw for unknown methods; for known ones, messages are read to label
  // the call and, when the split says so, re-framed with the version pinned.
  clientData(chunk: Buffer): void {
    this.#requestBytes += chunk.length;
    this.#bodyTimer?.refresh();
    const shape = this.#shape;
    if (!this.#requestFrames || !shape) return this.#forward(chunk);
    let messages;
    try {
      messages = this.#requestFrames.push(chunk);
    } catch {
      return this.#failWith(GrpcCode.RESOURCE_EXHAUSTED, `request message exceeds ${this.#deps.config.limits.maxBodyBytes} bytes`, 'body_too_large');
    }
    for (const { compressed, message } of messages) {
      if (compressed) {
        this.#forward(frame(message, true)); // unreadable without its codec: passed on as is
        continue;
      }
      if (this.#ref === undefined) this.#route(shape, message);
      this.#forward(this.#pinned !== undefined ? frame(pinRequestVersion(shape, message, this.#pinned)) : withPrefix(message));
    }
    if (this.#held && messages.length > 0) this.#admit();
  }

  #route(shape: MethodShape, message: Buffer): void {
    const ref = readRequestModel(shape, message);
    this.#ref = ref;
    if (this.#tee) this.#firstRequest = Buffer.from(message);
    if (!ref.model) return;
    const split = this.#deps.getSplit(ref.model);
    const sticky = split?.stickyHeader ? headerValue(this.#headers, split.stickyHeader) : undefined;
    const r = route(ref.model, split, ref, sticky, this.#deps.random);
    this.#variant = r.variant;
    this.#clientPinned = r.pinned;
    if (r.version !== undefined && r.version !== ref.version) this.#pinned = r.version;
  }

  #forward(buf: Buffer): void {
    // Not admitted yet: kept (a copy: frames may be views into a reused chunk) until it is.
    if (this.#held) return void this.#held.push(Buffer.from(buf));
    const up = this.#up;
    if (!up || up.closed || up.destroyed) return;
    if (!up.write(buf) && !this.#waitUpstreamDrain) {
      this.#stream.pause();
      this.#waitUpstreamDrain = true;
    }
  }

  /** Unary call, the request is all here: the upstream's time starts (bounded by the client's deadline). */
  #requestSent(): void {
    if (this.#done) return;
    this.#receivedAt = performance.now();
    clearTimeout(this.#bodyTimer);
    clearTimeout(this.#timer);
    const upstreamMs = this.#deps.config.timeouts.upstreamMs;
    const ms = Math.max(0, Math.min(upstreamMs, this.#deadlineAt - this.#receivedAt));
    this.#timer = setTimeout(() => this.#failWith(GrpcCode.DEADLINE_EXCEEDED, `upstream did not answer within ${Math.round(ms)} ms`, 'timeout'), ms);
  }

  /** A client that cancels or goes away cancels the upstream call. */
  #onClientClose(): void {
    if (this.#done) return;
    this.#deps.metrics.upstreamError('client_abort', 'grpc');
    const up = this.#up;
    if (up && !up.closed) up.close(NGHTTP2_CANCEL);
    this.#finish(GrpcCode.CANCELLED);
  }

  /** Ends the call with a status the proxy makes up (upstream failed or too slow). */
  #failWith(code: number, message: string, kind: UpstreamErrorKind): void {
    if (this.#done) return;
    this.#deps.metrics.upstreamError(kind, 'grpc');
    const up = this.#up;
    if (up && !up.closed) up.close(NGHTTP2_CANCEL);
    const stream = this.#stream;
    if (!stream.closed && !stream.destroyed) {
      const trailers = { 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) };
      if (!this.#respondedHeaders) {
        this.#respondedHeaders = true;
        // Trailers-Only response: the status in the only HEADERS frame.
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', [VARIANT_HEADER]: this.#variant, [REQUEST_ID_HEADER]: this.#id, ...trailers }, { endStream: true });
      } else {
        this.#trailers = trailers;
        stream.end();
      }
      // The client is still sending: ask it to stop, without error, once the answer is out
      // (RFC 9113 §8.1: RST_STREAM NO_ERROR after a complete response).
      if (kind === 'client_timeout') setImmediate(() => stream.closed || stream.close(http2.constants.NGHTTP2_NO_ERROR));
    }
    this.#finish(code);
  }

  /** Ends the call with the admission stage's refusal: nothing was sent upstream. */
  #refuse(code: number, message: string, headers: Record<string, string>): void {
    if (this.#done) return;
    this.#held = undefined;
    const stream = this.#stream;
    if (!stream.closed && !stream.destroyed) {
      this.#respondedHeaders = true;
      stream.respond({ ...headers, ':status': 200, 'content-type': 'application/grpc', [VARIANT_HEADER]: this.#variant, [REQUEST_ID_HEADER]: this.#id, 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
      setImmediate(() => stream.closed || stream.close(http2.constants.NGHTTP2_NO_ERROR));
    }
    this.#finish(code);
  }

  #finish(grpcCode: number): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#bodyTimer);
    this.#held = undefined;
    const { metrics, recorder } = this.#deps;
    metrics.ended('grpc');
    const shape = this.#shape;
    const model = shape === undefined ? undefined : shape.request.kind === 'none' ? '' : this.#ref?.model;
    // Unary calls: from the request's full receipt (0 when it never came whole), as REST.
    const durationSeconds = (performance.now() - (!this.#unary ? this.#start : this.#receivedAt < 0 ? performance.now() : this.#receivedAt)) / 1000;
    this.#ticket?.done(durationSeconds, grpcCode === GrpcCode.DEADLINE_EXCEEDED || grpcCode === GrpcCode.UNAVAILABLE);
    const bodies =
      this.#tee && this.#firstRequest && this.#firstResponse
        ? { requestBody: this.#firstRequest, responseBody: this.#firstResponse, contentType: 'application/grpc', method: this.#method, durationSeconds, draw: this.#draw }
        : undefined;
    recorder.record(
      {
        protocol: 'grpc', api: this.#api, model, reportedVersion: this.#reportedVersion, routedVersion: this.#pinned ?? this.#ref?.version,
        variant: this.#variant, pinned: this.#clientPinned, grpcCode, code: grpcCodeName(grpcCode), success: grpcCode === GrpcCode.OK,
        durationSeconds, requestBytes: this.#requestBytes, responseBytes: this.#responseBytes,
        requestId: this.#id, identity: this.#identity, rejected: this.#rejected,
      },
      this.#span,
      bodies,
    );
  }
}

function withPrefix(message: Buffer): Buffer {
  // `message` is a view into the original frame, so the 5 bytes before it are its prefix.
  if (message.byteOffset >= FRAME_HEADER_BYTES) {
    return Buffer.from(message.buffer, message.byteOffset - FRAME_HEADER_BYTES, message.length + FRAME_HEADER_BYTES);
  }
  return frame(message);
}
