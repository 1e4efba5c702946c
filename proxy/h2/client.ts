// The upstream-facing side: connections to one upstream, h2c or TLS with ALPN h2, read frame
// by frame (connection.ts), with node:http2's ClientHttp2Session#request shape so the gRPC
// relay can use either. Streams go to the newest connection with room; a connection that is told
// GOAWAY, runs out of stream ids or closes is replaced by a new one on the next request.
import { connect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { ClientTls } from '../../common/tls.ts';
import type { OutgoingHttpHeaders } from 'node:http2';
import { ConnectionError, DEFAULT_LIMITS, H2Connection, checkFields, headerObject } from './connection.ts';
import type { ConnectionLimits } from './connection.ts';
import { H2Error, MAX_STREAM_ID, PREFACE, Setting } from './frames.ts';
import { ClientStream, H2StreamError } from './stream.ts';

export class ClientConnection extends H2Connection {
  #nextStream = 1;
  #gotGoaway = false;
  readonly #onGone: (c: ClientConnection) => void;

  constructor(sock: Socket, limits: ConnectionLimits, onGone: (c: ClientConnection) => void) {
    super(sock, limits);
    this.#onGone = onGone;
    // Until the upstream's SETTINGS say otherwise (RFC 9113 §6.5.2 recommends at least 100).
    this.peerMaxStreams = 100;
    this.send(PREFACE);
    this.sendPreamble([[Setting.ENABLE_PUSH, 0]]);
  }

  /** Takes no new streams: told GOAWAY, out of stream ids, closing or gone. */
  get full(): boolean {
    return this.#gotGoaway || this.goingAway || this.dead || this.#nextStream > MAX_STREAM_ID || this.streams.size >= this.peerMaxStreams;
  }
  get retired(): boolean {
    return this.#gotGoaway || this.goingAway || this.dead || this.#nextStream > MAX_STREAM_ID;
  }

  request(headers: OutgoingHttpHeaders, end: boolean): ClientStream {
    const id = this.#nextStream;
    this.#nextStream += 2;
    const s = new ClientStream(this, id);
    this.streams.set(id, s);
    this.sendHeaders(id, headers, end);
    if (end) {
      s.localEnded = true;
    }
    return s;
  }

  protected readPreface(): number {
    return 0;
  }

  protected isIdleStream(sid: number): boolean {
    return (sid & 1) === 0 || sid >= this.#nextStream;
  }

  protected lastPeerStream(): number {
    return 0; // the upstream opens no streams (push is off)
  }

  protected onHeaderBlock(sid: number, end: boolean, list: string[] | undefined, problem: 'too_large' | 'malformed' | undefined): void {
    const s = this.streams.get(sid) as ClientStream | undefined;
    if (!s) {
      if (this.isIdleStream(sid)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `HEADERS on stream ${sid}, which we never opened`);
      return; // a stream we reset: its answer is dropped
    }
    if (s.remoteEnded) return this.resetStream(s, H2Error.STREAM_CLOSED);
    if (problem || checkFields(list!, s.responded ? 'trailers' : 'response') !== undefined || (s.responded && !end)) {
      return this.resetStream(s, H2Error.PROTOCOL_ERROR);
    }
    s.onHeaders(headerObject(list!), end);
  }

  protected override acceptsData(s: ClientStream): boolean {
    return s.responded;
  }

  protected onGoaway(lastStream: number, code: number): void {
    this.#gotGoaway = true;
    const err = new H2StreamError(`the upstream sent GOAWAY (code ${code})`, 'ERR_HTTP2_GOAWAY_SESSION', H2Error.REFUSED_STREAM);
    for (const s of [...this.streams.values()]) if (s.id > lastStream) s.fail(err, H2Error.REFUSED_STREAM);
    if (this.streams.size === 0) this.endSocket();
    this.#onGone(this);
  }

  protected override afterStreamClosed(): void {
    if (this.retired && this.streams.size === 0) this.endSocket();
  }

  protected override onClosed(): void {
    this.#onGone(this);
  }

  close(): void {
    this.goaway(0, H2Error.NO_ERROR);
  }
}

export interface FrameUpstreamOptions {
  limits?: Partial<ConnectionLimits>;
  /**
   * TLS to the upstream: its certificate checked against `ca` (else the system's roots) for
   * `servername` (else the host, unless it is an IP address), ALPN h2 required.
   */
  tls?: ClientTls;
}

/**
 * A TLS connection offering ALPN h2 to `host:port`, its certificate checked for
 * `tls.servername` (else `host`, unless it is an IP address). Shared with node:http2's client (grpc.ts).
 */
export function connectH2Tls(host: string, port: number, tls: ClientTls): TLSSocket {
  return tlsConnect({ host, port, ALPNProtocols: ['h2'], servername: tls.servername ?? (isIP(host) ? undefined : host), ...tls });
}

/** Streams to one upstream (`host:port`, h2c or TLS), over as many connections as their stream limits need. */
export class FrameUpstream {
  readonly #host: string;
  readonly #port: number;
  readonly #limits: ConnectionLimits;
  readonly #tls: ClientTls | undefined;
  #conns: ClientConnection[] = [];
  #closed = false;

  constructor(hostPort: string, options: FrameUpstreamOptions = {}) {
    const i = hostPort.lastIndexOf(':');
    this.#host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
    this.#port = Number(hostPort.slice(i + 1));
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#tls = options.tls;
  }

  /** node:http2's session shape: `get().request(headers, { endStream })`. */
  get(): this {
    return this;
  }

  request(headers: OutgoingHttpHeaders, options: { endStream?: boolean } = {}): ClientStream {
    if (this.#closed) throw new Error('the upstream client is closed');
    return this.#connection().request(headers, options.endStream === true);
  }

  #connection(): ClientConnection {
    for (let i = this.#conns.length - 1; i >= 0; i--) {
      const c = this.#conns[i]!;
      if (!c.full) return c;
    }
    const sock = this.#tls ? this.#secureSocket(this.#tls) : connect({ host: this.#host, port: this.#port, noDelay: true });
    sock.unref(); // as node:http2's session: an idle upstream connection keeps no process alive
    const c = new ClientConnection(sock, this.#limits, (gone) => {
      const at = this.#conns.indexOf(gone);
      if (at >= 0 && gone.retired) this.#conns.splice(at, 1);
    });
    this.#conns.push(c);
    return c;
  }

  /** A TLS socket; the preface and first frames written before the handshake wait for it. */
  #secureSocket(tls: ClientTls): TLSSocket {
    const sock = connectH2Tls(this.#host, this.#port, tls);
    sock.once('secureConnect', () => {
      // RFC 9113 §3.2: h2 over TLS is chosen by ALPN; anything else is not HTTP/2.
      if (sock.alpnProtocol !== 'h2') sock.destroy(Object.assign(new Error(`the upstream did not select h2 by ALPN (${sock.alpnProtocol || 'none'})`), { code: 'ERR_HTTP2_ALPN' }));
    });
    return sock;
  }

  /** Open connections and streams (a leak check). */
  stats(): { connections: number; streams: number } {
    return { connections: this.#conns.length, streams: this.#conns.reduce((n, c) => n + c.streams.size, 0) };
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#conns) c.close();
    this.#conns = [];
  }
}
