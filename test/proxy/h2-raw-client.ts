// A tiny raw HTTP/2 client on node:net for hostile-client tests (h2-hostile.test.ts): it
// writes frames exactly as told (valid or not) and parses what comes back, without any of
// the state checks a real client library would apply to itself.
//
//   const c = await RawH2Client.connect(proxy.grpcAddress!);
//   await c.handshake();                                   // preface + SETTINGS, waits for the server's
//   c.headers(1, encodeHeaderBlock(grpcRequest('127.0.0.1', '/svc/M')), { endStream: false });
//   const f = await c.waitFor((f) => f.type === FrameType.RST_STREAM, 2000);
//   const end = await c.waitForEnd(2000);                  // GOAWAY and/or close, or 'timeout'
//   c.destroy();
//
// HPACK here is only what a client needs to send (RFC 7541): integers, string literals
// without Huffman coding, literal fields without or with incremental indexing, indexed
// fields, table size updates. Response header blocks are not decoded.
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Socket } from 'node:net';
import { once } from 'node:events';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** RFC 9113 §7. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ErrorCode).map(([k, v]) => [v, k]));
export const errorName = (code: number): string => ERROR_NAMES[code] ?? `0x${code.toString(16)}`;

/** RFC 9113 §6.5.2. */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const FRAME_HEADER_BYTES = 9;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const DEFAULT_WINDOW = 65_535;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  /** The payload (for DATA frames, empty unless the client keeps data: see `keepData`). */
  payload: Buffer;
  /** The payload's length as the frame header says (also for DATA frames not kept). */
  length: number;
}

export interface GoAway {
  lastStreamId: number;
  errorCode: number;
  debug: string;
}

// ---------------------------------------------------------------------------------------
// Frame encoding (RFC 9113 §4.1). Nothing is checked: a caller may build any frame.

export function encodeFrame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0), lengthOverride?: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  const length = lengthOverride ?? payload.length;
  h.writeUIntBE(length & 0xffffff, 0, 3);
  h.writeUInt8(type & 0xff, 3);
  h.writeUInt8(flags & 0xff, 4);
  h.writeUInt32BE(streamId >>> 0, 5); // the reserved bit is whatever the caller put there
  return Buffer.concat([h, payload]);
}

export function settingsPayload(params: ReadonlyArray<readonly [number, number]>): Buffer {
  const b = Buffer.alloc(6 * params.length);
  params.forEach(([id, value], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return b;
}

export const settingsFrame = (params: ReadonlyArray<readonly [number, number]> = [], ack = false): Buffer =>
  encodeFrame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, ack ? Buffer.alloc(0) : settingsPayload(params));

export interface HeadersOptions {
  endStream?: boolean;
  /** Default true. */
  endHeaders?: boolean;
  /** A PRIORITY section (flag 0x20) in the HEADERS frame. */
  priority?: { dependsOn: number; weight: number; exclusive?: boolean };
}

export function headersFrame(streamId: number, block: Buffer, opts: HeadersOptions = {}): Buffer {
  let flags = 0;
  if (opts.endStream) flags |= Flag.END_STREAM;
  if (opts.endHeaders ?? true) flags |= Flag.END_HEADERS;
  let payload = block;
  if (opts.priority) {
    flags |= Flag.PRIORITY;
    payload = Buffer.concat([priorityPayload(opts.priority.dependsOn, opts.priority.weight, opts.priority.exclusive ?? false), block]);
  }
  return encodeFrame(FrameType.HEADERS, flags, streamId, payload);
}

export const continuationFrame = (streamId: number, block: Buffer, endHeaders: boolean): Buffer =>
  encodeFrame(FrameType.CONTINUATION, endHeaders ? Flag.END_HEADERS : 0, streamId, block);

export const dataFrame = (streamId: number, payload: Buffer, endStream = false): Buffer =>
  encodeFrame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, payload);

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code >>> 0);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, p);
}

export function pingFrame(data: Buffer = Buffer.alloc(8), ack = false): Buffer {
  return encodeFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment >>> 0);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, p);
}

function priorityPayload(dependsOn: number, weight: number, exclusive: boolean): Buffer {
  const p = Buffer.alloc(5);
  p.writeUInt32BE(((exclusive ? 0x80000000 : 0) | (dependsOn & 0x7fffffff)) >>> 0);
  p.writeUInt8((weight - 1) & 0xff, 4); // the wire carries weight - 1
  return p;
}

export const priorityFrame = (streamId: number, dependsOn: number, weight = 16, exclusive = false): Buffer =>
  encodeFrame(FrameType.PRIORITY, 0, streamId, priorityPayload(dependsOn, weight, exclusive));

export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastStreamId & 0x7fffffff);
  p.writeUInt32BE(code >>> 0, 4);
  return encodeFrame(FrameType.GOAWAY, 0, 0, Buffer.concat([p, Buffer.from(debug)]));
}

// ---------------------------------------------------------------------------------------
// HPACK (RFC 7541), encoder side only, no Huffman.

/** §5.1: `value` with an N-bit prefix; `high` holds the bits above the prefix in the first byte. */
export function hpackInteger(value: number, prefixBits: number, high = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([high | value]);
  const out = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** §5.2: a string literal, H = 0 (raw octets). */
export function hpackString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([hpackInteger(b.length, 7, 0x00), b]);
}

/** §6.2.2: literal header field without indexing, new name. */
export const literalWithoutIndexing = (name: string, value: string | Buffer): Buffer => Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);

/** §6.2.1: literal header field with incremental indexing, new name (the field enters the dynamic table). */
export const literalWithIndexing = (name: string, value: string | Buffer): Buffer => Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);

/** §6.1: indexed header field (1..61 static table, 62.. dynamic table, newest first). */
export const indexedField = (index: number): Buffer => hpackInteger(index, 7, 0x80);

/** §6.3: dynamic table size update. */
export const tableSizeUpdate = (size: number): Buffer => hpackInteger(size, 5, 0x20);

/** The first index of the dynamic table (the static table has 61 entries). */
export const FIRST_DYNAMIC_INDEX = 62;

/** A header block of literal fields without indexing, in the order given. */
export function encodeHeaderBlock(fields: ReadonlyArray<readonly [string, string | Buffer]>): Buffer {
  return Buffer.concat(fields.map(([n, v]) => literalWithoutIndexing(n, v)));
}

/** The request header fields of a gRPC call (PROTOCOL-HTTP2.md "Requests"), pseudo-headers first. */
export function grpcRequest(authority: string, path: string, extra: ReadonlyArray<readonly [string, string]> = []): Array<[string, string]> {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', authority],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra.map(([n, v]) => [n, v] as [string, string]),
  ];
}

/** A gRPC length-prefixed message (uncompressed). */
export function grpcMessage(message: Buffer): Buffer {
  const p = Buffer.alloc(5);
  p.writeUInt32BE(message.length, 1);
  return Buffer.concat([p, message]);
}

// ---------------------------------------------------------------------------------------
// Frame parsing.

export function parseGoAway(f: Frame): GoAway {
  return {
    lastStreamId: f.payload.length >= 4 ? f.payload.readUInt32BE(0) & 0x7fffffff : -1,
    errorCode: f.payload.length >= 8 ? f.payload.readUInt32BE(4) : -1,
    debug: f.payload.subarray(8).toString('latin1'),
  };
}

export function parseSettings(payload: Buffer): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i + 6 <= payload.length; i += 6) m.set(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
  return m;
}

export const rstCode = (f: Frame): number => (f.payload.length >= 4 ? f.payload.readUInt32BE(0) : -1);

/** Incremental parser: feed bytes, get whole frames. */
export class FrameParser {
  #buf: Buffer = Buffer.alloc(0);
  /** Whether DATA payloads are kept (false: only their length, so big responses cost nothing). */
  constructor(readonly keepData = false) {}
  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const out: Frame[] = [];
    let off = 0;
    while (this.#buf.length - off >= FRAME_HEADER_BYTES) {
      const length = this.#buf.readUIntBE(off, 3);
      if (this.#buf.length - off < FRAME_HEADER_BYTES + length) break;
      const type = this.#buf.readUInt8(off + 3);
      const flags = this.#buf.readUInt8(off + 4);
      const streamId = this.#buf.readUInt32BE(off + 5) & 0x7fffffff;
      const start = off + FRAME_HEADER_BYTES;
      // A copy: the chunk this came from is not kept alive by the frame.
      const payload = type === FrameType.DATA && !this.keepData ? Buffer.alloc(0) : Buffer.from(this.#buf.subarray(start, start + length));
      out.push({ type, flags, streamId, payload, length });
      off = start + length;
    }
    this.#buf = off === this.#buf.length ? Buffer.alloc(0) : Buffer.from(this.#buf.subarray(off));
    return out;
  }
}

// ---------------------------------------------------------------------------------------
// The client.

export type EndResult =
  /** The server sent GOAWAY (and may or may not have closed the socket yet). */
  | { kind: 'goaway'; goaway: GoAway; closed: boolean }
  /** The socket closed with no GOAWAY seen. */
  | { kind: 'closed' }
  | { kind: 'timeout' };

export interface ConnectOptions {
  keepData?: boolean;
  /** Over TLS, trusting this CA (PEM), offering ALPN `alpn` (default ['h2']). */
  tls?: { ca: string; alpn?: string[] };
  /** Answer the server's SETTINGS with an ACK (default true). */
  autoAckSettings?: boolean;
}

export class RawH2Client {
  readonly socket: Socket;
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** Bytes received that are not frames of a connection (e.g. an HTTP/1.1 answer), when the first bytes were not a frame. */
  received = 0;
  goaway: GoAway | undefined;
  serverSettings: Map<number, number> | undefined;
  closed = false;
  /** The socket error, if any (ECONNRESET, EPIPE, ...). */
  error: Error | undefined;
  readonly #parser: FrameParser;
  readonly #autoAck: boolean;
  #waiters = new Set<() => void>();
  readonly #closedPromise: Promise<void>;

  private constructor(socket: Socket, opts: ConnectOptions) {
    this.socket = socket;
    this.#parser = new FrameParser(opts.keepData ?? false);
    this.#autoAck = opts.autoAckSettings ?? true;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => (this.error = err));
    this.#closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.#notify();
        resolve();
      }),
    );
  }

  static async connect(address: string, opts: ConnectOptions = {}): Promise<RawH2Client> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(i + 1));
    if (opts.tls) {
      const socket = tlsConnect({ host, port, ca: opts.tls.ca, ALPNProtocols: opts.tls.alpn ?? ['h2'], servername: 'localhost' });
      await once(socket, 'secureConnect');
      return new RawH2Client(socket, opts);
    }
    const socket = connect({ host, port });
    await once(socket, 'connect');
    return new RawH2Client(socket, opts);
  }

  #onData(chunk: Buffer): void {
    this.received += chunk.length;
    for (const f of this.#parser.push(chunk)) {
      this.frames.push(f);
      if (f.type === FrameType.GOAWAY) this.goaway = parseGoAway(f);
      if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) {
        this.serverSettings ??= parseSettings(f.payload);
        if (this.#autoAck && !this.socket.destroyed) this.socket.write(settingsFrame([], true));
      }
    }
    this.#notify();
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Writes bytes as they are. Returns false when the socket asks to wait for 'drain' (or is gone). */
  write(bytes: Buffer): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    return this.socket.write(bytes);
  }

  /** Writes and waits for the socket to take it (drain) or close. */
  async send(bytes: Buffer): Promise<boolean> {
    if (this.write(bytes)) return true;
    if (this.socket.destroyed) return false;
    await Promise.race([once(this.socket, 'drain').catch(() => undefined), this.#closedPromise]);
    return !this.socket.destroyed;
  }

  /**
   * Writes `count` copies of `frame` in batches, waiting for drain between batches, stopping
   * early when the socket closes or `deadlineMs` passes. Returns how many were written.
   */
  async flood(frame: Buffer | ((i: number) => Buffer), count: number, opts: { batch?: number; deadlineMs?: number; waitDrain?: boolean } = {}): Promise<number> {
    const batch = opts.batch ?? 1000;
    const end = Date.now() + (opts.deadlineMs ?? 10_000);
    let sent = 0;
    while (sent < count && !this.socket.destroyed && Date.now() < end) {
      const n = Math.min(batch, count - sent);
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) parts.push(typeof frame === 'function' ? frame(sent + i) : frame);
      const ok = this.write(Buffer.concat(parts));
      if (this.socket.destroyed) break;
      sent += n;
      if (!ok && (opts.waitDrain ?? true)) {
        const left = end - Date.now();
        if (left <= 0) break;
        await Promise.race([once(this.socket, 'drain').catch(() => undefined), this.#closedPromise, sleep(left)]);
      } else if (sent % (batch * 10) === 0) {
        await new Promise((r) => setImmediate(r)); // let the event loop (and the server in this process) run
      }
    }
    return sent;
  }

  preface(): boolean {
    return this.write(PREFACE);
  }
  settings(params: ReadonlyArray<readonly [number, number]> = [], ack = false): boolean {
    return this.write(settingsFrame(params, ack));
  }
  /** Preface and SETTINGS, then waits for the server's SETTINGS (ACKed automatically). */
  async handshake(params: ReadonlyArray<readonly [number, number]> = [], timeoutMs = 2000): Promise<Map<number, number>> {
    this.write(Buffer.concat([PREFACE, settingsFrame(params)]));
    const f = await this.waitFor((x) => x.type === FrameType.SETTINGS && !(x.flags & Flag.ACK), timeoutMs);
    if (!f) throw new Error(`no SETTINGS from the server within ${timeoutMs} ms${this.closed ? ' (closed)' : ''}`);
    return this.serverSettings!;
  }
  headers(streamId: number, block: Buffer, opts: HeadersOptions = {}): boolean {
    return this.write(headersFrame(streamId, block, opts));
  }
  continuation(streamId: number, block: Buffer, endHeaders: boolean): boolean {
    return this.write(continuationFrame(streamId, block, endHeaders));
  }
  data(streamId: number, payload: Buffer, endStream = false): boolean {
    return this.write(dataFrame(streamId, payload, endStream));
  }
  rstStream(streamId: number, code: number = ErrorCode.CANCEL): boolean {
    return this.write(rstStreamFrame(streamId, code));
  }
  ping(data?: Buffer, ack = false): boolean {
    return this.write(pingFrame(data, ack));
  }
  windowUpdate(streamId: number, increment: number): boolean {
    return this.write(windowUpdateFrame(streamId, increment));
  }
  priority(streamId: number, dependsOn: number, weight = 16, exclusive = false): boolean {
    return this.write(priorityFrame(streamId, dependsOn, weight, exclusive));
  }

  /** Stops reading the socket (the server's writes back up into its buffers). */
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }

  /** The first frame received (from `from` on) matching `pred`, or undefined on timeout or close. */
  async waitFor(pred: (f: Frame) => boolean, timeoutMs: number, from = 0): Promise<Frame | undefined> {
    const found = () => this.frames.slice(from).find(pred);
    return this.#wait(() => found() ?? (this.closed ? null : undefined), timeoutMs).then((r) => r ?? undefined);
  }

  /** Resolves true once the socket has closed, false after `timeoutMs`. */
  async waitForClose(timeoutMs: number): Promise<boolean> {
    return (await this.#wait(() => (this.closed ? true : undefined), timeoutMs)) ?? false;
  }

  /** The connection's end: GOAWAY (then waits up to `closeGraceMs` more for the close) or a close, or a timeout. */
  async waitForEnd(timeoutMs: number, closeGraceMs = 500): Promise<EndResult> {
    const r = await this.#wait(() => (this.goaway || this.closed ? true : undefined), timeoutMs);
    if (!r) return { kind: 'timeout' };
    if (this.goaway) {
      if (!this.closed) await this.waitForClose(closeGraceMs);
      return { kind: 'goaway', goaway: this.goaway, closed: this.closed };
    }
    return { kind: 'closed' };
  }

  /** Frames of one type (and stream, when given) received so far. */
  framesOf(type: number, streamId?: number): Frame[] {
    return this.frames.filter((f) => f.type === type && (streamId === undefined || f.streamId === streamId));
  }

  /** Polls `check` on every frame and close until it gives a value (not undefined) or the time is up. */
  #wait<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (v: T | undefined) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(v);
      };
      const waiter = () => {
        const v = check();
        if (v !== undefined) done(v);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
  /** Destroys the socket and waits for its close. */
  async close(): Promise<void> {
    this.socket.destroy();
    await this.#closedPromise;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
