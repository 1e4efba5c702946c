// The client-facing side: an h2c listener (prior knowledge, as gRPC clients connect) on
// node:net, or its TLS twin on node:tls (ALPN h2), whose connections are read frame by frame
// (connection.ts). Each new request stream is handed to `onStream` with its headers as
// node:http2 would give them.
//
// What a client cannot do to it: send anything but the preface and SETTINGS first, or not
// within `prefaceTimeoutMs`; open streams out of order, more than advertised at once
// (REFUSED_STREAM), or reset them faster than the budget (rapid reset: GOAWAY
// ENHANCE_YOUR_CALM); send a header block over its byte or frame limits (CONTINUATION flood)
// or a decoded list over SETTINGS_MAX_HEADER_LIST_SIZE or its field count (RST_STREAM
// ENHANCE_YOUR_CALM, as nghttp2); send malformed fields (RST_STREAM PROTOCOL_ERROR); send DATA beyond
// the windows (FLOW_CONTROL_ERROR); make us buffer without reading (see connection.ts).
import { Server } from 'node:net';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http2';
import { ConnectionError, DEFAULT_LIMITS, H2Connection, checkFields, headerObject } from './connection.ts';
import type { ConnectionLimits } from './connection.ts';
import { H2Error, PREFACE, Setting } from './frames.ts';
import { NO_DATA, ServerStream } from './stream.ts';

export interface FrameServerOptions {
  limits?: Partial<ConnectionLimits>;
  /** The preface and first SETTINGS must arrive within this. */
  prefaceTimeoutMs: number;
}

export type StreamHandler = (stream: ServerStream, headers: IncomingHttpHeaders) => void;

export class ServerConnection extends H2Connection {
  readonly #onStream: StreamHandler;
  #prefaceLeft = PREFACE.length;
  #lastPeer = 0;
  #prefaceTimer: NodeJS.Timeout | undefined;

  constructor(sock: Socket, limits: ConnectionLimits, prefaceTimeoutMs: number, onStream: StreamHandler) {
    super(sock, limits);
    this.#onStream = onStream;
    this.#prefaceTimer = setTimeout(() => this.fatal(H2Error.SETTINGS_TIMEOUT, 'no connection preface in time'), prefaceTimeoutMs);
    this.#prefaceTimer.unref();
    this.sendPreamble([[Setting.ENABLE_PUSH, 0]]);
  }

  protected readPreface(b: Buffer): number {
    if (this.#prefaceLeft === 0) return 0;
    const at = PREFACE.length - this.#prefaceLeft;
    const n = Math.min(this.#prefaceLeft, b.length);
    if (PREFACE.compare(b, 0, n, at, at + n) !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 connection preface');
    this.#prefaceLeft -= n;
    if (this.#prefaceLeft > 0) return b.length; // all of it consumed, more preface to come
    clearTimeout(this.#prefaceTimer);
    return n;
  }

  protected isIdleStream(sid: number): boolean {
    return (sid & 1) === 1 && sid > this.#lastPeer;
  }

  protected lastPeerStream(): number {
    return this.#lastPeer;
  }

  protected onGoaway(): void {
    // The client opens no more streams; the open ones run to their end, then it closes.
  }

  protected onHeaderBlock(sid: number, end: boolean, list: string[] | undefined, problem: 'too_large' | 'malformed' | undefined): void {
    const s = this.streams.get(sid);
    if (s) {
      // Trailers from the client: they end the request; gRPC sends none, so they are dropped.
      if (s.remoteEnded) return this.resetStream(s, H2Error.STREAM_CLOSED);
      if (!end || problem || checkFields(list!, 'trailers')) return this.resetStream(s, H2Error.PROTOCOL_ERROR);
      s.receive(NO_DATA, true);
      return;
    }
    if ((sid & 1) === 0 || sid <= this.#lastPeer) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `a new stream ${sid} must be odd and above ${this.#lastPeer}`);
    this.#lastPeer = sid;
    if (this.goingAway || this.dead) return this.sendReset(sid, H2Error.REFUSED_STREAM);
    if (this.streams.size >= this.limits.maxConcurrentStreams) {
      this.countReset();
      return this.sendReset(sid, H2Error.REFUSED_STREAM);
    }
    if (problem === 'too_large') {
      // As nghttp2: RST_STREAM ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED.
      this.countReset();
      return this.sendReset(sid, H2Error.ENHANCE_YOUR_CALM);
    }
    if (problem || checkFields(list!, 'request') !== undefined) {
      this.countReset();
      return this.sendReset(sid, H2Error.PROTOCOL_ERROR);
    }
    const stream = new ServerStream(this, sid);
    this.streams.set(sid, stream);
    this.#onStream(stream, headerObject(list!));
    if (end && !stream.closed) stream.receive(NO_DATA, true);
  }

  /** Graceful: GOAWAY(NO_ERROR) naming the last stream taken; the socket ends once those are done. */
  shutdown(): void {
    this.goaway(this.#lastPeer, H2Error.NO_ERROR);
  }

  protected override onClosed(): void {
    clearTimeout(this.#prefaceTimer);
  }
}

/** What both listeners do with an accepted socket: a connection, kept in `sessions` until it closes. */
function adopt(sock: Socket, sessions: Set<ServerConnection>, limits: ConnectionLimits, options: FrameServerOptions, onStream: StreamHandler): void {
  const c = new ServerConnection(sock, limits, options.prefaceTimeoutMs, onStream);
  sessions.add(c);
  sock.on('close', () => sessions.delete(c));
}

/** An h2c listener: a net.Server whose connections speak HTTP/2 frame by frame. */
export class FrameServer extends Server {
  readonly sessions = new Set<ServerConnection>();

  constructor(options: FrameServerOptions, onStream: StreamHandler) {
    super({ noDelay: true });
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.on('connection', (sock: Socket) => adopt(sock, this.sessions, limits, options, onStream));
  }

  /** GOAWAY to every connection: open streams finish, new ones are refused, each closes when done. */
  goawayAll(): void {
    for (const c of this.sessions) c.shutdown();
  }

  /** Cuts every connection now. */
  destroyAll(): void {
    for (const c of this.sessions) c.destroy();
  }
}

/**
 * The same over TLS: ALPN must select `h2` (RFC 9113 §3.2; gRPC clients offer it), else the
 * connection is closed once the handshake is done; the handshake itself must finish within
 * `prefaceTimeoutMs`. `setSecureContext` (inherited) takes a renewed certificate for new
 * connections.
 */
export class FrameTlsServer extends TlsServer {
  readonly sessions = new Set<ServerConnection>();

  constructor(options: FrameServerOptions, tls: TlsOptions, onStream: StreamHandler) {
    super({ ...tls, ALPNProtocols: ['h2'], handshakeTimeout: options.prefaceTimeoutMs, noDelay: true } as TlsOptions);
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.on('secureConnection', (sock: TLSSocket) => {
      if (sock.alpnProtocol !== 'h2') return void sock.destroy();
      adopt(sock, this.sessions, limits, options, onStream);
    });
    // A failed or timed-out handshake (node reports it here and leaves the socket open).
    this.on('tlsClientError', (_err: Error, sock: TLSSocket) => sock.destroy());
  }

  goawayAll(): void {
    for (const c of this.sessions) c.shutdown();
  }

  destroyAll(): void {
    for (const c of this.sessions) c.destroy();
  }
}
