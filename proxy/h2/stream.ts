// One HTTP/2 stream of a frame-level connection (connection.ts), with the part of the
// node:http2 stream interface the gRPC relay uses: write()/end() under the peer's
// flow-control windows, pause()/resume() that stop returning window to the peer, close(code)
// that resets. Server streams add respond() and trailers (sendTrailers()). What node:http2
// emits as events ('data', 'end', 'drain', 'close', 'error'; 'wantTrailers' on server streams,
// 'response' and 'trailers' on client streams) goes to one listener object per stream
// (ClientSide / UpstreamSide, set with hear()): no EventEmitter, listener arrays or closures
// per call, which were about a sixth of what a proxied call allocated.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

/** What a stream needs of its connection (connection.ts H2Connection). */
export interface StreamHost {
  readonly peerInitialWindow: number;
  readonly limits: { readonly streamWindow: number };
  readonly congested: boolean;
  flushStream(s: H2Stream): void;
  consume(s: H2Stream, n: number): void;
  /** Bytes received that nobody will read: the connection window gets them back. */
  release(n: number): void;
  forget(s: H2Stream): void;
  sendReset(stream: number, code: number): void;
  sendHeaders(stream: number, headers: OutgoingHttpHeaders, end: boolean): void;
  sendEmptyEnd(stream: number): void;
}

/** For END_STREAM without DATA: receive() never keeps or passes on an empty chunk, so one serves all. */
export const NO_DATA = Buffer.alloc(0);

/** Bytes queued on a stream above which write() returns false (node's default highWaterMark). */
export const STREAM_HIGH_WATER = 16 * 1024;

/** An error on a stream: the peer reset it (`code` is the RST_STREAM code) or the connection failed (`code` a socket error code). */
export class H2StreamError extends Error {
  readonly code: string;
  readonly rstCode: number | undefined;
  constructor(message: string, code: string, rstCode?: number) {
    super(message);
    this.name = 'H2StreamError';
    this.code = code;
    this.rstCode = rstCode;
  }
}

/** What hears a stream a client opened on our listener (the gRPC call). */
export interface ClientSide {
  clientData(chunk: Buffer): void;
  clientEnd(): void;
  /** The stream takes writes again after write() returned false. */
  clientDrained(): void;
  /** The queued response data is out after respond(…, { waitForTrailers }): send the trailers now. */
  trailersWanted(): void;
  /** Closed: ended both ways, reset, or its connection gone (`err`, with the reset or socket code). */
  clientClosed(err: H2StreamError | undefined): void;
}

/** What hears a stream we opened on an upstream connection (the gRPC call). */
export interface UpstreamSide {
  /** The response headers (1xx ones are skipped); `end`: Trailers-Only, nothing follows. */
  upstreamResponse(headers: IncomingHttpHeaders, end: boolean): void;
  upstreamData(chunk: Buffer): void;
  upstreamTrailers(headers: IncomingHttpHeaders): void;
  upstreamEnd(): void;
  upstreamDrained(): void;
  /** Closed without upstreamEnd() first when reset or its connection is gone (`err`). */
  upstreamClosed(err: StreamFailure | undefined): void;
}

/** Why a stream closed: H2StreamError here, a socket or session error from node:http2. */
export type StreamFailure = Error & { readonly code?: string };

export abstract class H2Stream {
  /** Once closed, the connection holds no reference to it (stream-table.ts), nor does anything else here. */
  readonly unreachableOnClose = true;
  readonly id: number;
  readonly conn: StreamHost;
  /** What the peer lets us send on this stream. */
  sendWindow: number;
  /** What we let the peer send; returned as the receiver consumes it. */
  recvWindow: number;
  /** Bytes delivered since the last WINDOW_UPDATE for this stream. */
  consumed = 0;
  /** DATA waiting for a window (chunks; the head may be partly sent: `headOffset`). */
  queue: Buffer[] = [];
  headOffset = 0;
  queued = 0;
  /** end() was called: END_STREAM goes out once the queue is empty. */
  endPending = false;
  localEnded = false;
  remoteEnded = false;
  #closed = false;
  #paused = false;
  #inbox: Buffer[] | undefined;
  #inboxEnd = false;
  #endEmitted = false;
  #needDrain = false;
  rstCode: number | undefined;

  constructor(conn: StreamHost, id: number) {
    this.conn = conn;
    this.id = id;
    this.sendWindow = conn.peerInitialWindow;
    this.recvWindow = conn.limits.streamWindow;
  }

  get closed(): boolean {
    return this.#closed;
  }
  get destroyed(): boolean {
    return this.#closed;
  }

  write(chunk: Buffer): boolean {
    if (this.#closed || this.localEnded || this.endPending) return false;
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queued += chunk.length;
      this.conn.flushStream(this);
    }
    const ok = this.queued < STREAM_HIGH_WATER && !this.conn.congested;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  end(): void {
    if (this.#closed || this.localEnded || this.endPending) return;
    this.endPending = true;
    this.conn.flushStream(this);
  }

  /** Resets the stream (RST_STREAM `code`) unless it is closed. */
  close(code = 0): void {
    if (this.#closed) return;
    this.conn.sendReset(this.id, code);
    this.rstCode = code;
    this.markClosed();
  }

  pause(): this {
    this.#paused = true;
    return this;
  }
  resume(): this {
    if (!this.#paused) return this;
    this.#paused = false;
    if (this.#inbox || this.#inboxEnd) process.nextTick(() => this.#deliverInbox());
    return this;
  }
  isPaused(): boolean {
    return this.#paused;
  }

  /** DATA from the peer (`data` may be empty), END_STREAM when `end`. */
  receive(data: Buffer, end: boolean): void {
    if (end) this.remoteEnded = true;
    if (this.#paused || this.#inbox) {
      if (data.length > 0) (this.#inbox ??= []).push(data);
      if (end) this.#inboxEnd = true;
      return;
    }
    if (data.length > 0) {
      this.conn.consume(this, data.length);
      this.deliverData(data);
    }
    if (end) this.#emitEnd();
  }

  #deliverInbox(): void {
    while (this.#inbox && !this.#paused && !this.#closed) {
      const data = this.#inbox.shift()!;
      if (this.#inbox.length === 0) this.#inbox = undefined;
      this.conn.consume(this, data.length);
      this.deliverData(data);
    }
    if (!this.#inbox && !this.#paused && this.#inboxEnd) {
      this.#inboxEnd = false;
      this.#emitEnd();
    }
  }

  #emitEnd(): void {
    if (this.#endEmitted) return;
    this.#endEmitted = true;
    this.deliverEnd();
    this.closeIfDone();
  }

  /** The queue emptied below the high-water mark: 'drain' if a write() said to wait. */
  drained(): void {
    if (this.#needDrain && this.queued < STREAM_HIGH_WATER && !this.conn.congested) {
      this.#needDrain = false;
      this.deliverDrain();
    }
  }

  /** The queue is empty and end() was called: END_STREAM (or trailers) now. */
  abstract finishLocal(): void;
  protected abstract deliverData(data: Buffer): void;
  protected abstract deliverEnd(): void;
  protected abstract deliverDrain(): void;
  /** Called on the tick after the stream closed (as node:http2's 'close'); not for users of the stream. */
  abstract deliverClose(err: H2StreamError | undefined): void;

  /** END_STREAM on an empty DATA frame. */
  protected endWithEmptyData(): void {
    this.conn.sendEmptyEnd(this.id);
    this.localEnded = true;
    this.closeIfDone();
  }

  closeIfDone(): void {
    if (this.localEnded && this.remoteEnded && this.#endEmitted) this.markClosed();
  }

  /** The peer reset the stream, or the connection is gone (`err`). */
  fail(err: H2StreamError | undefined, rstCode?: number): void {
    if (this.#closed) return;
    this.rstCode = rstCode;
    this.markClosed(err);
  }

  markClosed(err?: H2StreamError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.queue = [];
    this.queued = 0;
    if (this.#inbox) {
      let n = 0;
      for (const b of this.#inbox) n += b.length;
      this.#inbox = undefined;
      this.conn.release(n);
    }
    this.conn.forget(this);
    process.nextTick(deliverClose, this, err);
  }
}

// nextTick with arguments: no closure per closed stream.
const deliverClose = (s: H2Stream, err: H2StreamError | undefined): void => s.deliverClose(err);

/** A stream a client opened on our listener. */
export class ServerStream extends H2Stream {
  #waitForTrailers = false;
  #responded = false;
  #side: ClientSide | undefined;

  /** Sets who hears this stream (one listener; before any DATA is read). */
  hear(side: ClientSide): void {
    this.#side = side;
  }
  protected deliverData(data: Buffer): void {
    this.#side?.clientData(data);
  }
  protected deliverEnd(): void {
    this.#side?.clientEnd();
  }
  protected deliverDrain(): void {
    this.#side?.clientDrained();
  }
  deliverClose(err: H2StreamError | undefined): void {
    const side = this.#side;
    this.#side = undefined;
    side?.clientClosed(err);
  }

  respond(headers: OutgoingHttpHeaders, options: { endStream?: boolean; waitForTrailers?: boolean } = {}): void {
    if (this.closed || this.#responded) return;
    this.#responded = true;
    const end = options.endStream === true;
    this.#waitForTrailers = options.waitForTrailers === true;
    this.conn.sendHeaders(this.id, headers, end);
    if (end) {
      this.localEnded = true;
      this.closeIfDone();
    }
  }

  sendTrailers(headers: OutgoingHttpHeaders): void {
    if (this.closed || this.localEnded) return;
    this.conn.sendHeaders(this.id, headers, true);
    this.localEnded = true;
    this.closeIfDone();
  }

  finishLocal(): void {
    if (this.#waitForTrailers) {
      this.#waitForTrailers = false;
      this.#side?.trailersWanted();
      // A listener that sent nothing: end the stream without trailers.
      if (!this.localEnded && !this.closed) this.endWithEmptyData();
      return;
    }
    this.endWithEmptyData();
  }
}

/** A stream we opened on an upstream connection. */
export class ClientStream extends H2Stream {
  #responded = false;
  #side: UpstreamSide | undefined;

  /** Sets who hears this stream (one listener; right after request()). */
  hear(side: UpstreamSide): void {
    this.#side = side;
  }
  protected deliverData(data: Buffer): void {
    this.#side?.upstreamData(data);
  }
  protected deliverEnd(): void {
    this.#side?.upstreamEnd();
  }
  protected deliverDrain(): void {
    this.#side?.upstreamDrained();
  }
  deliverClose(err: H2StreamError | undefined): void {
    const side = this.#side;
    this.#side = undefined;
    side?.upstreamClosed(err);
  }

  finishLocal(): void {
    this.endWithEmptyData();
  }

  /** A header block from the upstream: the response's, 1xx ones (skipped), or trailers. */
  onHeaders(headers: IncomingHttpHeaders, end: boolean): void {
    if (!this.#responded) {
      const status = headers[':status'] as unknown as number;
      if (status >= 100 && status < 200 && !end) return;
      this.#responded = true;
      this.#side?.upstreamResponse(headers, end);
    } else {
      this.#side?.upstreamTrailers(headers);
    }
    if (end) this.receive(NO_DATA, true);
  }

  get responded(): boolean {
    return this.#responded;
  }
}
