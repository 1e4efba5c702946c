// One HTTP/2 connection on a node:net socket, read and written frame by frame (RFC 9113),
// for either side: `ServerConnection` (server.ts) faces clients, `ClientConnection`
// (client.ts) an upstream. What both sides share lives here: the frame reader and its
// limits, HPACK state, SETTINGS, PING, WINDOW_UPDATE and flow control in both directions,
// output batched into one socket write per turn of the event loop, GOAWAY.
//
// Memory is bounded by what we advertise: the peer may send at most `connectionWindow`
// bytes we have not delivered, and window is returned only as a stream's reader takes its
// bytes (a paused stream stops returning it). Output DATA waits in its stream while the
// socket holds more than `congestedBytes`; control frames that a peer provokes (PING and
// SETTINGS acknowledgements) end the connection once the socket holds `maxOutputBytes`.
import type { Socket } from 'node:net';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { HeaderListTooLarge, HpackDecoder, HpackEncoder, HpackError, MalformedField } from './hpack.ts';
import {
  DEFAULT_MAX_FRAME, DEFAULT_WINDOW, FRAME_HEADER, Flag, FrameType, H2Error, MAX_WINDOW, SETTINGS_ACK, Setting,
  frame, frameHeader, goaway, rstStream, settings, windowUpdate, writeFrameHeader,
} from './frames.ts';
import { H2StreamError } from './stream.ts';
import { StreamTable } from './stream-table.ts';
import type { H2Stream } from './stream.ts';

export interface ConnectionLimits {
  /** SETTINGS_MAX_FRAME_SIZE we advertise: larger frames are a FRAME_SIZE_ERROR. */
  maxFrameSize: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise (server side). */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise. */
  streamWindow: number;
  /** The connection window we open to. */
  connectionWindow: number;
  /** Decoded header list size (RFC 9113 §6.5.2 accounting); advertised as SETTINGS_MAX_HEADER_LIST_SIZE. */
  maxHeaderListSize: number;
  maxHeaderPairs: number;
  /** Encoded header block bytes across HEADERS and CONTINUATION frames. */
  maxHeaderBlockBytes: number;
  /** CONTINUATION frames in one header block. */
  maxContinuations: number;
  /** Streams the peer may reset (or have refused) in a burst, and per second after it. */
  resetBurst: number;
  resetsPerSecond: number;
  /** Frames that do no work (empty DATA, PRIORITY, PING, SETTINGS, unknown types) in a burst, and per second after it. */
  idleFrameBurst: number;
  idleFramesPerSecond: number;
  /** Socket bytes not yet sent above which DATA waits. */
  congestedBytes: number;
  /** Socket bytes not yet sent above which a peer that provokes more output is cut off. */
  maxOutputBytes: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  maxFrameSize: DEFAULT_MAX_FRAME,
  maxConcurrentStreams: 256,
  streamWindow: 1024 * 1024,
  connectionWindow: 4 * 1024 * 1024,
  maxHeaderListSize: 64 * 1024,
  maxHeaderPairs: 256,
  maxHeaderBlockBytes: 64 * 1024,
  maxContinuations: 64,
  // nghttp2's stream reset rate limit (1000 burst, 33 per second), which node:http2 uses.
  resetBurst: 1000,
  resetsPerSecond: 33,
  idleFrameBurst: 10_000,
  idleFramesPerSecond: 1000,
  congestedBytes: 1024 * 1024,
  maxOutputBytes: 16 * 1024 * 1024,
};

/** A connection error (RFC 9113 §5.4.1): GOAWAY with `code`, then the socket closes. */
export class ConnectionError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** A token bucket: `take()` is false once the burst is spent faster than the rate refills it. */
class Budget {
  #tokens: number;
  #at = performance.now();
  constructor(readonly burst: number, readonly perSecond: number) {
    this.#tokens = burst;
  }
  take(): boolean {
    if (this.#tokens >= 1) {
      this.#tokens--;
      return true;
    }
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** A decoded header list as node:http2 gives it: lowercase names, repeated fields joined with ", " (cookies "; "), :status a number. */
export function headerObject(list: readonly string[]): IncomingHttpHeaders {
  // A null-prototype object, as node:http2's: a field named `__proto__` or `constructor` is
  // a plain property. (A fast-mode object would be cheaper to fill for the usual fields, but
  // a client sending random field names would make V8 build a hidden class per field:
  // twice the cost per header list, measured.)
  const h: Record<string, string | string[] | number> = Object.create(null);
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    const had = h[name];
    if (had === undefined) h[name] = name === ':status' ? Number(value) : name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (had as string[]).push(value);
    else if (name[0] !== ':') h[name] = `${had as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return h as IncomingHttpHeaders;
}

/**
 * A header block's fields are well formed for its role (RFC 9113 §8.2, §8.3): pseudo-headers
 * before the others and only those of the role, none repeated, no connection-specific field,
 * `te` only "trailers"; trailers carry no pseudo-header. Returns what is wrong, or undefined.
 */
export function checkFields(list: readonly string[], kind: 'request' | 'response' | 'trailers'): string | undefined {
  let regular = false;
  let seen = 0;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    if (name.charCodeAt(0) === 58) {
      if (regular || kind === 'trailers') return `pseudo-header ${name} after regular fields or in trailers`;
      const bit = kind === 'request'
        ? name === ':method' ? 1 : name === ':scheme' ? 2 : name === ':path' ? 4 : name === ':authority' ? 8 : 0
        : name === ':status' ? 16 : 0;
      if (bit === 0) return `pseudo-header ${name} is not allowed here`;
      if (seen & bit) return `pseudo-header ${name} repeated`;
      seen |= bit;
      if (bit === 4 && list[i + 1] === '') return 'empty :path';
    } else {
      regular = true;
      if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
      if (name === 'te' && list[i + 1] !== 'trailers') return 'te other than "trailers"';
    }
  }
  if (kind === 'request' && (seen & 7) !== 7) return 'a request needs :method, :scheme and :path';
  if (kind === 'response' && !(seen & 16)) return 'a response needs :status';
  return undefined;
}

/** Connections with output gathered in this turn; written in one microtask. */
const dirty: H2Connection[] = [];
let flushQueued = false;
function flushAll(): void {
  flushQueued = false;
  for (let i = 0; i < dirty.length; i++) dirty[i]!.writeOut();
  dirty.length = 0;
}

export abstract class H2Connection {
  readonly sock: Socket;
  readonly limits: ConnectionLimits;
  /** Open streams by id (stream-table.ts: not a Map, whose rehashes kept finished calls alive through young-generation GCs). */
  readonly streams: StreamTable<H2Stream>;
  /** Streams with DATA waiting for a window or for the socket. */
  readonly blocked = new Set<H2Stream>();
  readonly decoder: HpackDecoder;
  readonly encoder = new HpackEncoder();
  /** What the peer lets us send on the connection, and on new streams. */
  sendWindow = DEFAULT_WINDOW;
  peerInitialWindow = DEFAULT_WINDOW;
  peerMaxFrame = DEFAULT_MAX_FRAME;
  peerMaxStreams = Infinity;
  /** What the peer may still send us on the connection; bytes delivered since the last WINDOW_UPDATE. */
  recvWindow: number;
  #consumed = 0;
  #out: Buffer[] = [];
  #outBytes = 0;
  #pending: Buffer | undefined;
  /** A header block being gathered across CONTINUATION frames. */
  #block: { stream: number; flags: number; parts: Buffer[]; bytes: number; frames: number } | undefined;
  #gotSettings = false;
  /** The peer's first SETTINGS has been applied. */
  #settled = false;
  #resets: Budget;
  #idle: Budget;
  /** We sent GOAWAY: no new streams; the socket ends once the open ones have. */
  goingAway = false;
  #dead = false;

  constructor(sock: Socket, limits: ConnectionLimits) {
    this.sock = sock;
    this.limits = limits;
    this.recvWindow = limits.connectionWindow;
    this.streams = new StreamTable(Math.min(limits.maxConcurrentStreams, 1024));
    this.decoder = new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: limits.maxHeaderListSize, maxHeaderPairs: limits.maxHeaderPairs });
    this.#resets = new Budget(limits.resetBurst, limits.resetsPerSecond);
    this.#idle = new Budget(limits.idleFrameBurst, limits.idleFramesPerSecond);
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.#onData(chunk));
    sock.on('drain', () => this.#onSocketDrain());
    sock.on('error', (err: NodeJS.ErrnoException) => this.#onSocketGone(err));
    sock.on('close', () => this.#onSocketGone(undefined));
  }

  /** Our SETTINGS and the connection window, sent first (after the preface on the client side). */
  protected sendPreamble(extra: ReadonlyArray<readonly [number, number]>): void {
    const l = this.limits;
    this.send(settings([
      [Setting.MAX_CONCURRENT_STREAMS, l.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, l.streamWindow],
      [Setting.MAX_FRAME_SIZE, l.maxFrameSize],
      [Setting.MAX_HEADER_LIST_SIZE, l.maxHeaderListSize],
      ...extra,
    ]));
    if (l.connectionWindow > DEFAULT_WINDOW) this.send(windowUpdate(0, l.connectionWindow - DEFAULT_WINDOW));
  }

  get congested(): boolean {
    return this.sock.writableLength > this.limits.congestedBytes;
  }
  get dead(): boolean {
    return this.#dead;
  }

  // ------------------------------------------------------------------ output

  send(b: Buffer): void {
    if (this.#dead) return;
    if (this.#out.length === 0) {
      dirty.push(this);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flushAll);
      }
    }
    this.#out.push(b);
    this.#outBytes += b.length;
  }

  writeOut(): void {
    const out = this.#out;
    if (out.length === 0) return;
    this.#out = [];
    const bytes = this.#outBytes;
    this.#outBytes = 0;
    if (this.#dead || this.sock.destroyed) return;
    if (out.length === 1) this.sock.write(out[0]!);
    else if (bytes <= 64 * 1024) this.sock.write(Buffer.concat(out, bytes));
    else {
      this.sock.cork();
      for (const b of out) this.sock.write(b);
      this.sock.uncork();
    }
  }

  /** Output the peer provoked (acknowledgements): refused once the peer is not reading. */
  #sendControl(b: Buffer): void {
    if (this.sock.writableLength + this.#outBytes > this.limits.maxOutputBytes) {
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'the peer does not read what it asks for');
    }
    this.send(b);
  }

  sendHeaders(stream: number, headers: OutgoingHttpHeaders, end: boolean): void {
    // Names are lowercase here: decoded ones are, and the relay's own are written so.
    const b = this.encoder.encodeObject(headers as Record<string, string | number | string[] | undefined>, FRAME_HEADER);
    const length = b.length - FRAME_HEADER;
    const flags = end ? Flag.END_STREAM : 0;
    if (length <= this.peerMaxFrame) {
      // The common case: one HEADERS frame, header and block in one buffer.
      this.send(writeFrameHeader(b, length, FrameType.HEADERS, flags | Flag.END_HEADERS, stream));
      return;
    }
    let type: number = FrameType.HEADERS;
    let f = flags;
    for (let off = FRAME_HEADER; ;) {
      const n = Math.min(b.length - off, this.peerMaxFrame);
      const last = off + n >= b.length;
      this.send(frameHeader(n, type, f | (last ? Flag.END_HEADERS : 0), stream));
      this.send(b.subarray(off, off + n));
      if (last) return;
      off += n;
      type = FrameType.CONTINUATION;
      f = 0;
    }
  }

  sendEmptyEnd(stream: number): void {
    this.send(frameHeader(0, FrameType.DATA, Flag.END_STREAM, stream));
  }

  sendReset(stream: number, code: number): void {
    this.send(rstStream(stream, code));
  }

  /** Writes what the windows and the socket allow of `s`'s queued DATA; then END_STREAM or trailers if end() was called. */
  flushStream(s: H2Stream): void {
    if (s.closed) return;
    const q = s.queue;
    while (s.queued > 0) {
      if (this.congested) {
        this.blocked.add(s);
        return;
      }
      const head = q[0]!;
      const left = head.length - s.headOffset;
      const n = Math.min(left, this.sendWindow, s.sendWindow, this.peerMaxFrame);
      if (n <= 0) {
        this.blocked.add(s);
        return;
      }
      this.send(frameHeader(n, FrameType.DATA, 0, s.id));
      this.send(s.headOffset === 0 && n === head.length ? head : head.subarray(s.headOffset, s.headOffset + n));
      this.sendWindow -= n;
      s.sendWindow -= n;
      s.queued -= n;
      if (n === left) {
        q.shift();
        s.headOffset = 0;
      } else s.headOffset += n;
    }
    this.blocked.delete(s);
    if (s.endPending && !s.localEnded) {
      s.endPending = false;
      s.finishLocal();
    }
    s.drained();
  }

  #flushBlocked(): void {
    for (const s of this.blocked) {
      if (this.congested) return;
      this.flushStream(s);
    }
  }

  #onSocketDrain(): void {
    this.#flushBlocked();
    for (const s of this.streams.values()) s.drained();
  }

  // ------------------------------------------------------------------ receiving window

  /** `n` bytes of `s` were delivered: return window to the peer once half of one is used. */
  consume(s: H2Stream, n: number): void {
    this.#consumed += n;
    if (this.#consumed >= this.limits.connectionWindow / 2) {
      this.send(windowUpdate(0, this.#consumed));
      this.recvWindow += this.#consumed;
      this.#consumed = 0;
    }
    s.consumed += n;
    if (s.consumed >= this.limits.streamWindow / 2 && !s.remoteEnded && !s.closed) {
      this.send(windowUpdate(s.id, s.consumed));
      s.recvWindow += s.consumed;
      s.consumed = 0;
    }
  }

  /** Bytes that reach no reader (padding, DATA of a stream that is gone) are returned at once. */
  release(n: number): void {
    this.#creditBack(n);
  }

  #creditBack(n: number): void {
    if (n === 0) return;
    this.#consumed += n;
    if (this.#consumed >= this.limits.connectionWindow / 2) {
      this.send(windowUpdate(0, this.#consumed));
      this.recvWindow += this.#consumed;
      this.#consumed = 0;
    }
  }

  // ------------------------------------------------------------------ reading

  #onData(chunk: Buffer): void {
    if (this.#dead) return;
    try {
      this.#read(chunk);
    } catch (err) {
      if (err instanceof ConnectionError) this.fatal(err.code, err.message);
      else this.fatal(H2Error.INTERNAL_ERROR, (err as Error).message);
    }
  }

  /** The preface, if this side expects one; returns the offset of the first frame, or -1 to wait for more bytes. */
  protected abstract readPreface(b: Buffer): number;

  #read(chunk: Buffer): void {
    let b = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    let off = this.readPreface(b);
    if (off < 0) {
      this.#pending = b;
      return;
    }
    const max = this.limits.maxFrameSize;
    while (b.length - off >= FRAME_HEADER) {
      const len = (b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!;
      if (len > max) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `a frame of ${len} bytes exceeds SETTINGS_MAX_FRAME_SIZE (${max})`);
      if (b.length - off < FRAME_HEADER + len) break;
      const type = b[off + 3]!;
      const flags = b[off + 4]!;
      const stream = b.readUInt32BE(off + 5) & 0x7fff_ffff;
      this.#frame(type, flags, stream, b.subarray(off + FRAME_HEADER, off + FRAME_HEADER + len));
      if (this.#dead) return;
      off += FRAME_HEADER + len;
    }
    if (off < b.length) this.#pending = off === 0 ? b : b.subarray(off);
  }

  #frame(type: number, flags: number, sid: number, p: Buffer): void {
    if (!this.#gotSettings) {
      if (type !== FrameType.SETTINGS || flags & Flag.ACK) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'the first frame must be SETTINGS');
      this.#gotSettings = true;
    }
    if (this.#block && type !== FrameType.CONTINUATION) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a header block was interrupted by another frame');
    switch (type) {
      case FrameType.DATA:
        return this.#onDataFrame(flags, sid, p);
      case FrameType.HEADERS:
        return this.#onHeadersFrame(flags, sid, p);
      case FrameType.CONTINUATION:
        return this.#onContinuation(flags, sid, p);
      case FrameType.PRIORITY:
        if (sid === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (p.length !== 5) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PRIORITY is 5 bytes');
        return this.#idleFrame();
      case FrameType.RST_STREAM:
        return this.#onReset(sid, p);
      case FrameType.SETTINGS:
        return this.#onSettings(flags, sid, p);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE is not allowed here');
      case FrameType.PING:
        if (sid !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream');
        if (p.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING is 8 bytes');
        if (flags & Flag.ACK) return;
        this.#idleFrame();
        return this.#sendControl(frame(FrameType.PING, Flag.ACK, 0, p));
      case FrameType.GOAWAY:
        if (sid !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (p.length < 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'GOAWAY is at least 8 bytes');
        return this.onGoaway(p.readUInt32BE(0) & 0x7fff_ffff, p.readUInt32BE(4));
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(sid, p);
      default:
        return this.#idleFrame(); // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  #idleFrame(): void {
    if (!this.#idle.take()) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'too many frames that do no work');
  }

  #onDataFrame(flags: number, sid: number, p: Buffer): void {
    if (sid === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    this.recvWindow -= p.length;
    if (this.recvWindow < 0) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    let data = p;
    if (flags & Flag.PADDED) {
      if (p.length < 1 || p[0]! >= p.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame');
      data = p.subarray(1, p.length - p[0]!);
    }
    const end = (flags & Flag.END_STREAM) !== 0;
    const s = this.streams.get(sid);
    if (!s) {
      if (this.isIdleStream(sid)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on stream ${sid}, which was never opened`);
      this.#creditBack(p.length); // a stream that ended or was reset: nobody reads it
      return;
    }
    this.#creditBack(p.length - data.length);
    if (s.remoteEnded) {
      this.#creditBack(data.length);
      return this.resetStream(s, H2Error.STREAM_CLOSED);
    }
    s.recvWindow -= p.length;
    if (s.recvWindow < 0) {
      this.#creditBack(data.length);
      return this.resetStream(s, H2Error.FLOW_CONTROL_ERROR);
    }
    if (!this.acceptsData(s)) {
      this.#creditBack(data.length);
      return this.resetStream(s, H2Error.PROTOCOL_ERROR);
    }
    if (data.length === 0 && !end) this.#idleFrame();
    s.receive(data, end);
  }

  #onHeadersFrame(flags: number, sid: number, p: Buffer): void {
    if (sid === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let start = 0;
    let end = p.length;
    if (flags & Flag.PADDED) {
      if (p.length < 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padded HEADERS without a pad length');
      start = 1;
      end -= p[0]!;
    }
    if (flags & Flag.PRIORITY) start += 5;
    if (end < start) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame');
    const part = p.subarray(start, end);
    if (part.length > this.limits.maxHeaderBlockBytes) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `a header block over ${this.limits.maxHeaderBlockBytes} bytes`);
    if (flags & Flag.END_HEADERS) return this.#headerBlock(sid, flags, part);
    this.#block = { stream: sid, flags, parts: [Buffer.from(part)], bytes: part.length, frames: 0 };
  }

  #onContinuation(flags: number, sid: number, p: Buffer): void {
    const b = this.#block;
    if (!b || b.stream !== sid) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without the HEADERS it continues');
    b.bytes += p.length;
    if (++b.frames > this.limits.maxContinuations || b.bytes > this.limits.maxHeaderBlockBytes) {
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `a header block over ${this.limits.maxHeaderBlockBytes} bytes or ${this.limits.maxContinuations} CONTINUATION frames`);
    }
    b.parts.push(Buffer.from(p));
    if (!(flags & Flag.END_HEADERS)) return;
    this.#block = undefined;
    this.#headerBlock(b.stream, b.flags, Buffer.concat(b.parts, b.bytes));
  }

  #headerBlock(sid: number, flags: number, block: Buffer): void {
    let list: string[] | undefined;
    let problem: 'too_large' | 'malformed' | undefined;
    try {
      list = this.decoder.decode(block);
    } catch (err) {
      if (err instanceof HeaderListTooLarge) problem = 'too_large';
      else if (err instanceof MalformedField) problem = 'malformed';
      else if (err instanceof HpackError) throw new ConnectionError(H2Error.COMPRESSION_ERROR, err.message);
      else throw err;
    }
    this.onHeaderBlock(sid, (flags & Flag.END_STREAM) !== 0, list, problem);
  }

  /** A complete, decoded header block (`list` undefined when `problem` says why it could not be used). */
  protected abstract onHeaderBlock(sid: number, end: boolean, list: string[] | undefined, problem: 'too_large' | 'malformed' | undefined): void;
  /** DATA may arrive on `s` now (an upstream's DATA only after its response headers). */
  protected acceptsData(_s: H2Stream): boolean {
    return true;
  }
  /** A stream id the peer could not have used yet. */
  protected abstract isIdleStream(sid: number): boolean;
  protected abstract onGoaway(lastStream: number, code: number): void;

  #onReset(sid: number, p: Buffer): void {
    if (sid === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM is 4 bytes');
    if (this.isIdleStream(sid)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `RST_STREAM on stream ${sid}, which was never opened`);
    const s = this.streams.get(sid);
    if (!s) return;
    this.countReset();
    const code = p.readUInt32BE(0);
    s.fail(code === H2Error.NO_ERROR || code === H2Error.CANCEL ? undefined : new H2StreamError(`stream reset by the peer (code ${code})`, 'ERR_HTTP2_STREAM_ERROR', code), code);
  }

  /** A stream the peer reset or we refused: too many, too fast, ends the connection (rapid reset). */
  countReset(): void {
    if (!this.#resets.take()) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'too many streams reset');
  }

  #onSettings(flags: number, sid: number, p: Buffer): void {
    if (sid !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (p.length !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS acknowledgement with a payload');
      return;
    }
    if (p.length % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS length is not a multiple of 6');
    if (!this.#settled) {
      this.#settled = true;
      this.peerMaxStreams = Infinity; // unless this first SETTINGS says otherwise (RFC 9113 §6.5.2: initially unlimited)
    }
    for (let i = 0; i < p.length; i += 6) {
      const id = p.readUInt16BE(i);
      const v = p.readUInt32BE(i + 2);
      if (id === Setting.HEADER_TABLE_SIZE) this.encoder.setPeerTableSize(v);
      else if (id === Setting.ENABLE_PUSH) {
        if (v > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH must be 0 or 1');
      } else if (id === Setting.MAX_CONCURRENT_STREAMS) this.peerMaxStreams = v;
      else if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (v > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
        const delta = v - this.peerInitialWindow;
        this.peerInitialWindow = v;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'a stream window above 2^31-1');
        }
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (v < DEFAULT_MAX_FRAME || v > 0xff_ffff) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
        this.peerMaxFrame = v;
      }
    }
    this.#idleFrame();
    this.#sendControl(SETTINGS_ACK);
    this.#flushBlocked();
  }

  #onWindowUpdate(sid: number, p: Buffer): void {
    if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE is 4 bytes');
    const inc = p.readUInt32BE(0) & 0x7fff_ffff;
    if (sid === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'the connection window above 2^31-1');
      return this.#flushBlocked();
    }
    if (this.isIdleStream(sid)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `WINDOW_UPDATE on stream ${sid}, which was never opened`);
    const s = this.streams.get(sid);
    if (!s) return;
    if (inc === 0) return this.resetStream(s, H2Error.PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) return this.resetStream(s, H2Error.FLOW_CONTROL_ERROR);
    this.flushStream(s);
  }

  /** A stream error (RFC 9113 §5.4.2): RST_STREAM with `code`; the stream's users see an error. */
  resetStream(s: H2Stream, code: number): void {
    this.sendReset(s.id, code);
    s.fail(new H2StreamError(`stream error (code ${code})`, 'ERR_HTTP2_STREAM_ERROR', code), code);
  }

  /** A stream closed: it leaves the table. */
  forget(s: H2Stream): void {
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.afterStreamClosed();
  }

  protected afterStreamClosed(): void {
    if (this.goingAway && this.streams.size === 0) this.endSocket();
  }

  /** Sends GOAWAY: the peer opens no more streams; the connection ends once the open ones have. */
  protected goaway(lastStream: number, code: number, debug?: string): void {
    if (this.goingAway) return;
    this.goingAway = true;
    this.send(goaway(lastStream, code, debug));
    if (this.streams.size === 0) this.endSocket();
  }

  protected endSocket(): void {
    if (this.#dead) return;
    this.writeOut();
    this.#dead = true;
    this.sock.end();
    // A peer that never closes its side does not hold the socket.
    setTimeout(() => this.sock.destroy(), 5000).unref();
  }

  /** A connection error: GOAWAY with `code`, every stream fails, the socket closes. */
  fatal(code: number, message: string): void {
    if (this.#dead) return;
    this.send(goaway(this.lastPeerStream(), code, message));
    this.writeOut();
    this.#dead = true;
    this.#failAll(new H2StreamError(`connection error: ${message}`, 'ERR_HTTP2_SESSION_ERROR', code));
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 1000).unref();
  }

  /** Cuts the connection now: every open stream fails. */
  destroy(): void {
    if (!this.sock.destroyed) this.sock.destroy();
    this.#onSocketGone(undefined);
  }

  protected abstract lastPeerStream(): number;

  #onSocketGone(err: NodeJS.ErrnoException | undefined): void {
    this.#dead = true;
    this.#out = [];
    this.#outBytes = 0;
    this.#failAll(new H2StreamError(err ? `connection failed: ${err.message}` : 'the connection closed', err?.code ?? 'ECONNRESET'));
    this.onClosed(err);
  }

  #failAll(err: H2StreamError): void {
    if (this.streams.size === 0) return;
    for (const s of [...this.streams.values()]) s.fail(err, H2Error.CANCEL);
  }

  protected onClosed(_err: NodeJS.ErrnoException | undefined): void {}
}

