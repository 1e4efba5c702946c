// A small keep-alive HTTP/1.1 client on node:net sockets for the REST proxy's common case:
// a request with no body or a gathered body, one request per socket at a time (no
// pipelining), head and body written in ONE socket.write. undici stays for streamed
// bodies (RestExchange decides per request). Why: a profile of the proxy put `writev` at 42%
// of its busy time and most of the rest in undici's parser and dispatch (docs/benchmarks.md
// "REST: where the time goes"); a single write and a head parsed from one latin1 string
// do less per request.
//
// Response framing follows RFC 9112 §6.3 (message body length): HEAD, 1xx, 204 and 304
// have no body; `transfer-encoding` ending in chunked → chunked (§7.1); else a valid
// `content-length`; else the body runs to connection close. Error `code`s are undici's /
// node's strings, so `classifyUpstreamError` in rest.ts counts them the same way.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { byShape, isOws, nameIn } from './header-names.ts';

/** What the client hands the upstream; names what RestExchange already implements for undici. */
export interface UpstreamHandler {
  onConnect(abort: (err?: Error) => void): void;
  /**
   * The response head as read: `head` is its latin1 text without the final CRLFCRLF, its
   * header lines from `from` on (each `name: value`, CRLF between them; the parser has
   * checked the framing headers and that no line is folded). `headerList(head, from)` gives
   * [name, value, ...]; a proxy can forward the lines as they are. `lines`, when given, says
   * where each line's name, colon and end are (HeadLines), valid during the call.
   */
  onHead(statusCode: number, head: string, from: number, resume: () => void, lines?: HeadLines): void;
  /** false: stop reading the socket until `resume()`. */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[]): void;
  onError(err: Error): void;
}

export interface UpstreamRequest {
  method: string;
  /** Origin-form request target, e.g. `/v1/models/m:predict`. */
  path: string;
  /** [name, value, ...]; hop-by-hop headers and `host` already removed by the caller. */
  headers: readonly string[];
  /**
   * Instead of `headers`: the header lines already serialized (`name: value` CRLF each, the
   * framing included: a content-length equal to the body's when there is a body), written as they are.
   */
  lines?: string | undefined;
  body: Buffer | null;
}

export interface H1UpstreamOptions {
  /** `http://host:port` (no path). */
  origin: string;
  /** Most sockets open at once; requests beyond wait in FIFO order (like undici Pool `connections`). */
  connections: number;
  connectTimeoutMs: number;
  /** No byte from the upstream for this long during a response → error (undici's bodyTimeout). */
  bodyTimeoutMs: number;
  /** Idle sockets are closed after this (undici Pool keepAliveTimeout). */
  idleTimeoutMs: number;
}

/** An error with undici/node's `code` strings (see classifyUpstreamError in rest.ts). */
export class UpstreamSocketError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

// Heads above this are refused: node's own maxHeaderSize default (16 KiB) ×4, so any head
// node:http would send back to our client fits.
const MAX_HEAD_BYTES = 64 * 1024;
// A chunk-size line (size + extensions) or a trailer line longer than this is refused.
const MAX_LINE_BYTES = 8 * 1024;
// RFC 9110 §9.2.2: these methods may be retried automatically after a connection failure.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
// Idle sockets are closed this long before the upstream's announced keep-alive timeout
// (undici's keepAliveTimeoutThreshold default is 1 s in the v6 docs, 2 s in v7).
const KEEP_ALIVE_MARGIN_MS = 1000;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** The headers that frame a response or the connection (#head). */
const FRAMING = byShape(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

/**
 * Where the header lines of a head are: for line i, `at[3i]` its start, `at[3i+1]` its
 * first colon, `at[3i+2]` its end (the CR of its CRLF, or the head's length); `count` lines.
 */
export interface HeadLines {
  readonly at: Int32Array;
  readonly count: number;
}

/** Heads with more header lines than this are given without HeadLines. */
const INDEXED_LINES = 64;

export interface ParserSink {
  /** `head` without its final CRLFCRLF; its header lines start at `from` (UpstreamHandler.onHead). */
  onHead(status: number, head: string, from: number): void;
  /** A view of the pushed chunk: valid during the call only (copy what is kept). */
  onBody(chunk: Buffer): void;
}

/**
 * Incremental HTTP/1.1 response parser. Pure: bytes in, callbacks out. `push` returns true
 * once the message is complete (`leftover` bytes followed it); `eof()` at connection end.
 * Throws UpstreamSocketError with an HPE_* code (llhttp's names) on malformed input.
 */
export class ResponseParser {
  #sink: ParserSink;
  #state = State.Done;
  #noBody = false;
  #pending: Buffer | undefined;
  #line = '';
  #remaining = 0;
  /** The connection may carry another request after this response. */
  keepAlive = false;
  /** Bytes after the end of the message in the last push (the socket is then not reusable). */
  leftover = 0;
  /** Any byte of the response seen (a retry is only safe before). */
  started = false;
  /** `Keep-Alive: timeout=N` of the last response in ms, -1 when absent (RFC 2068 §19.7.1.1). */
  keepAliveHintMs = -1;
  /** The last head's lines, as #head found them; undefined when there were more than INDEXED_LINES. */
  lines: HeadLines | undefined;
  readonly #index = { at: new Int32Array(3 * INDEXED_LINES), count: 0 };

  constructor(sink: ParserSink) {
    this.#sink = sink;
  }

  /** Expect a new response; `method` decides whether a body can follow (HEAD never has one). */
  start(method: string): void {
    this.#state = State.Head;
    this.#noBody = method === 'HEAD';
    this.#pending = undefined;
    this.#line = '';
    this.#remaining = 0;
    this.keepAlive = false;
    this.leftover = 0;
    this.started = false;
    this.keepAliveHintMs = -1;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /** The body is delimited by the connection's end. */
  get untilClose(): boolean {
    return this.#state === State.UntilClose;
  }

  push(chunk: Buffer): boolean {
    if (chunk.length > 0) this.started = true;
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      switch (this.#state) {
        case State.Head: {
          const buf = this.#pending ? Buffer.concat([this.#pending, chunk.subarray(off)]) : off === 0 ? chunk : chunk.subarray(off);
          const from = this.#pending ? Math.max(0, this.#pending.length - 3) : 0;
          const end = buf.indexOf(CRLFCRLF, from);
          if (end === -1) {
            if (buf.length > MAX_HEAD_BYTES) throw new UpstreamSocketError('upstream response head too large', 'HPE_HEADER_OVERFLOW');
            // A copy: `chunk` may be a view of a read buffer the socket reuses (Conn).
            this.#pending = this.#pending === undefined ? Buffer.from(buf) : buf;
            return false;
          }
          // Bytes of `chunk` consumed: the head's end minus what was pending before.
          const consumed = end + 4 - (this.#pending?.length ?? 0);
          this.#pending = undefined;
          if (end + 4 > MAX_HEAD_BYTES) throw new UpstreamSocketError('upstream response head too large', 'HPE_HEADER_OVERFLOW');
          this.#head(buf.toString('latin1', 0, end));
          off += consumed;
          break;
        }
        case State.Length: {
          const n = Math.min(this.#remaining, len - off);
          this.#sink.onBody(off === 0 && n === len ? chunk : chunk.subarray(off, off + n));
          off += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.Done;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.#remaining, len - off);
          this.#sink.onBody(chunk.subarray(off, off + n));
          off += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers: {
          const nl = chunk.indexOf(0x0a, off);
          const stop = nl === -1 ? len : nl;
          this.#line += chunk.toString('latin1', off, stop);
          if (this.#line.length > MAX_LINE_BYTES) throw new UpstreamSocketError('upstream chunk line too long', 'HPE_INVALID_CHUNK_SIZE');
          off = nl === -1 ? len : nl + 1;
          if (nl !== -1) {
            const line = this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line;
            this.#line = '';
            this.#lineDone(line);
          }
          break;
        }
        case State.UntilClose:
          this.#sink.onBody(off === 0 ? chunk : chunk.subarray(off));
          off = len;
          break;
        case State.Done:
          this.leftover = len - off;
          return true;
      }
    }
    return this.#state === State.Done;
  }

  /** The connection ended: true when that ends the message (a body that runs to close). */
  eof(): boolean {
    if (this.#state === State.UntilClose) {
      this.#state = State.Done;
      return true;
    }
    return this.#state === State.Done;
  }

  #lineDone(line: string): void {
    if (this.#state === State.ChunkDataEnd) {
      if (line !== '') throw new UpstreamSocketError('upstream chunk not followed by CRLF', 'HPE_INVALID_CHUNK_SIZE');
      this.#state = State.ChunkSize;
    } else if (this.#state === State.ChunkSize) {
      // chunk-size [ chunk-ext ] (RFC 9112 §7.1.1); extensions are ignored.
      const semi = line.indexOf(';');
      const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new UpstreamSocketError(`invalid chunk size ${JSON.stringify(hex)}`, 'HPE_INVALID_CHUNK_SIZE');
      const size = parseInt(hex, 16);
      if (size === 0) this.#state = State.Trailers;
      else {
        this.#remaining = size;
        this.#state = State.ChunkData;
      }
    } else if (line === '') {
      // Trailers are read and dropped: node:http re-frames the client response and
      // RestExchange forwards none (undici's onComplete trailers were not forwarded either).
      this.#state = State.Done;
    }
  }

  #head(head: string): void {
    let eol = head.indexOf('\r\n');
    if (eol < 0) eol = head.length;
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
    const { http10, code } = statusLine(head.slice(0, eol));
    const from = Math.min(eol + 2, head.length);
    let length = -1;
    let chunked = false;
    let otherCoding = false;
    let close = http10;
    // One pass over the lines; the framing headers are read in place, each line's place kept.
    const at = this.#index.at;
    let count = 0;
    for (let pos = from; pos < head.length; pos = eol + 2) {
      eol = head.indexOf('\r\n', pos);
      if (eol < 0) eol = head.length;
      const colon = head.indexOf(':', pos);
      // No obs-fold (RFC 9112 §5.2: a proxy may reject it) and no empty names.
      const first = head.charCodeAt(pos);
      if (colon <= pos || colon > eol || first === 0x20 || first === 0x09) throw new UpstreamSocketError('invalid upstream header line', 'HPE_INVALID_HEADER_TOKEN');
      if (count < INDEXED_LINES) {
        at[3 * count] = pos;
        at[3 * count + 1] = colon;
        at[3 * count + 2] = eol;
      }
      count++;
      const name = nameIn(head, pos, colon, FRAMING);
      if (name === undefined) continue;
      // The value without surrounding whitespace (OWS, RFC 9110 §5.6.3), read in place.
      let vs = colon + 1;
      let ve = eol;
      while (vs < ve && isOws(head.charCodeAt(vs))) vs++;
      while (ve > vs && isOws(head.charCodeAt(ve - 1))) ve--;
      if (name === 'content-length') {
        // 1 to 15 digits; repeated identical values are one length, different ones an error (§6.3 item 5).
        let n = ve > vs && ve - vs <= 15 ? 0 : -1;
        for (let k = vs; k < ve && n >= 0; k++) {
          const d = head.charCodeAt(k) - 0x30;
          n = d >= 0 && d <= 9 ? n * 10 + d : -1;
        }
        if (n < 0 || (length !== -1 && length !== n)) throw new UpstreamSocketError('invalid upstream content-length', 'HPE_UNEXPECTED_CONTENT_LENGTH');
        length = n;
      } else if (name === 'keep-alive') {
        this.keepAliveHintMs = keepAliveTimeoutMs(head, vs, ve, this.keepAliveHintMs);
      } else if (name === 'connection') {
        if (!http10 && ve - vs === 10 && head.startsWith('keep-alive', vs)) continue; // node:http's and most servers' value
        const v = head.slice(vs, ve).toLowerCase();
        if (/(^|,)\s*close\s*(,|$)/.test(v)) close = true;
        else if (http10 && /(^|,)\s*keep-alive\s*(,|$)/.test(v)) close = false;
      } else {
        const last = head.slice(vs, ve).toLowerCase().split(',').pop()!.trim();
        chunked = last === 'chunked';
        otherCoding = !chunked;
      }
    }
    if (code < 200) {
      // 101 would switch protocols, which this client never asks for.
      if (code === 101) throw new UpstreamSocketError('unexpected 101 from upstream', 'HPE_INVALID_CONSTANT');
      return; // 1xx informational: skipped, the final response follows (RFC 9110 §15.2)
    }
    this.keepAlive = !close;
    this.#index.count = count;
    this.lines = count <= INDEXED_LINES ? this.#index : undefined;
    this.#sink.onHead(code, head, from);
    if (this.#noBody || code === 204 || code === 304) this.#state = State.Done;
    else if (chunked) {
      this.#state = State.ChunkSize;
      // Both framings: chunked wins and the connection is not reused (RFC 9112 §6.3 item 3).
      if (length !== -1) this.keepAlive = false;
    } else if (otherCoding) {
      this.#state = State.UntilClose;
      this.keepAlive = false;
    } else if (length >= 0) {
      this.#remaining = length;
      this.#state = length === 0 ? State.Done : State.Length;
    } else {
      this.#state = State.UntilClose;
      this.keepAlive = false;
    }
  }
}

/** status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). */
function statusLine(line: string): { http10: boolean; code: number } {
  // The common `HTTP/1.1 ddd ...` read by character; anything else through the full pattern.
  if (line.startsWith('HTTP/1.1 ') && (line.length === 12 || line.charCodeAt(12) === 0x20)) {
    const a = line.charCodeAt(9) - 48;
    const b = line.charCodeAt(10) - 48;
    const c = line.charCodeAt(11) - 48;
    if (a >= 0 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9) return { http10: false, code: a * 100 + b * 10 + c };
  }
  const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(line);
  if (!m) throw new UpstreamSocketError(`invalid upstream status line ${JSON.stringify(line.slice(0, 64))}`, 'HPE_INVALID_CONSTANT');
  return { http10: m[1] === '0', code: Number(m[2]) };
}

/** The header lines of a head from `from` (UpstreamHandler.onHead) as [name, value, ...], values without surrounding whitespace. */
export function headerList(head: string, from: number): string[] {
  const raw: string[] = [];
  for (let pos = from, eol = 0; pos < head.length; pos = eol + 2) {
    eol = head.indexOf('\r\n', pos);
    if (eol < 0) eol = head.length;
    const colon = head.indexOf(':', pos);
    raw.push(head.slice(pos, colon), head.slice(colon + 1, eol).trim());
  }
  return raw;
}

/** The last Keep-Alive value read and its timeout: an upstream sends the same one every time. */
let lastKeepAlive = '';
let lastKeepAliveMs = -1;
/** `Keep-Alive: timeout=N` (value `head[vs..ve)`) in ms, else `otherwise`. */
function keepAliveTimeoutMs(head: string, vs: number, ve: number, otherwise: number): number {
  if (ve - vs !== lastKeepAlive.length || !head.startsWith(lastKeepAlive, vs)) {
    lastKeepAlive = head.slice(vs, ve);
    const t = /(?:^|[,\s])timeout\s*=\s*(\d+)/i.exec(lastKeepAlive);
    lastKeepAliveMs = t ? Number(t[1]) * 1000 : -1;
  }
  return lastKeepAliveMs >= 0 ? lastKeepAliveMs : otherwise;
}

/** One request in flight or waiting for a socket. */
class Pending {
  readonly req: UpstreamRequest;
  readonly handler: UpstreamHandler;
  conn: Conn | undefined;
  retried = false;
  done = false;
  #client: H1Upstream;

  constructor(client: H1Upstream, req: UpstreamRequest, handler: UpstreamHandler) {
    this.#client = client;
    this.req = req;
    this.handler = handler;
  }

  /** Resumes reading this request's socket; a no-op once the socket serves another request. */
  readonly resume = (): void => {
    const conn = this.conn;
    if (conn && conn.req === this) conn.socket.resume();
  };

  /** Cancels the request: its socket is destroyed (never reused mid-response), onError follows. */
  readonly abort = (err: Error = new UpstreamSocketError('request aborted', 'UND_ERR_ABORTED')): void => {
    if (this.done) return;
    this.done = true;
    const conn = this.conn;
    if (conn) {
      conn.req = undefined;
      conn.socket.destroy();
    } else this.#client.dequeue(this);
    this.handler.onError(err);
  };
}

/** One upstream socket: its listeners are attached once, not per request. */
class Conn implements ParserSink {
  readonly socket: Socket;
  readonly parser: ResponseParser;
  req: Pending | undefined;
  /** Served a response before: a failure before any response byte may be a stale keep-alive socket. */
  reused = false;
  connected = false;
  /** The client's sweep tick of this socket's last activity, and how many ticks of quiet it is allowed (H1Upstream#sweep). */
  activeTick = 0;
  limitTicks = 0;
  readonly #client: H1Upstream;
  readonly #opts: H1UpstreamOptions;

  constructor(client: H1Upstream, opts: H1UpstreamOptions, host: string, port: number) {
    this.#client = client;
    this.#opts = opts;
    this.parser = new ResponseParser(this);
    // Reads land in the client's one read buffer (node's `onread`) instead of a new 64 KiB
    // allocation and a stream push each: the parser copies what it keeps (the head as a
    // string, an unfinished head, the body chunks it hands on).
    this.socket = connect({ host, port, noDelay: true, onread: { buffer: client.readBuffer, callback: (n: number, buf: Uint8Array) => this.#onData((buf as Buffer).subarray(0, n)) !== false } });
    // The connect timeout is the socket's own; once connected the client's sweep takes over.
    this.socket.setTimeout(opts.connectTimeoutMs);
    this.socket.on('connect', () => {
      this.connected = true;
      this.socket.setTimeout(0);
      this.quiet(this.req ? client.bodyTicks : client.ticksFor(opts.idleTimeoutMs));
    });
    this.socket.on('end', () => this.#onEnd());
    this.socket.on('timeout', () => this.#onTimeout());
    this.socket.on('error', (err) => this.#failed(err));
    this.socket.on('close', () => this.#onClose());
  }

  send(p: Pending): void {
    this.req = p;
    p.conn = this;
    this.parser.start(p.req.method);
    if (this.connected) this.quiet(this.#client.bodyTicks);
    this.socket.write(encodeRequest(p.req, this.#client.hostHeader));
  }

  onHead(status: number, head: string, from: number): void {
    const p = this.req;
    if (p) p.handler.onHead(status, head, from, p.resume, this.parser.lines);
  }

  onBody(chunk: Buffer): void {
    const p = this.req;
    // A copy: `chunk` is a view of the shared read buffer, and the handler may keep it.
    if (p && !p.done && p.handler.onData(Buffer.from(chunk)) === false) this.socket.pause();
  }

  /** From now, `ticks` sweeps without a byte time the socket out. */
  quiet(ticks: number): void {
    this.activeTick = this.#client.tick;
    this.limitTicks = ticks;
  }

  /** Bytes read into the shared read buffer (`chunk` is a view of it). */
  #onData(chunk: Buffer): boolean | void {
    this.activeTick = this.#client.tick;
    const p = this.req;
    if (!p) {
      // Bytes nobody asked for (an idle socket): the connection is out of step; drop it.
      this.socket.destroy();
      return;
    }
    let complete: boolean;
    try {
      complete = this.parser.push(chunk);
    } catch (err) {
      this.#failed(err as Error);
      return;
    }
    // An abort from a handler callback (client went away) has already torn this down.
    if (this.req !== p || p.done) return;
    if (complete) this.#complete(p, this.parser.keepAlive && this.parser.leftover === 0);
  }

  #complete(p: Pending, reusable: boolean): void {
    p.done = true;
    this.req = undefined;
    this.reused = true;
    if (!reusable) this.socket.destroy();
    // Paused for this response's backpressure: the response is over (its last bytes are in
    // the client response's buffer), so the next one must be read.
    else if (this.socket.isPaused()) this.socket.resume();
    p.handler.onComplete([]);
    if (reusable && !this.socket.destroyed) this.#client.release(this);
  }

  #onEnd(): void {
    const p = this.req;
    if (p && !p.done && this.parser.eof()) return this.#complete(p, false);
    this.#failed(new UpstreamSocketError('upstream closed the connection', 'UND_ERR_SOCKET'));
  }

  /** No byte for its allowed time (the sweep), or no connection within the connect timeout (the socket's). */
  timedOut(): void {
    this.#onTimeout();
  }

  #onTimeout(): void {
    if (!this.connected) this.#failed(new UpstreamSocketError('connect timeout', 'UND_ERR_CONNECT_TIMEOUT'));
    else if (this.req) this.#failed(new UpstreamSocketError('upstream body timeout', 'UND_ERR_BODY_TIMEOUT'));
    else this.socket.destroy(); // idle too long: close quietly
  }

  #onClose(): void {
    this.#client.forget(this);
    if (this.req) this.#failed(new UpstreamSocketError('upstream closed the connection', 'UND_ERR_SOCKET'));
  }

  /** The socket is unusable: it goes, and the request on it fails or is retried once. */
  #failed(err: Error): void {
    const p = this.req;
    this.req = undefined;
    this.socket.destroy();
    this.#client.forget(this);
    if (!p || p.done) return;
    p.conn = undefined;
    // A keep-alive socket the upstream closed while we picked it fails before any response
    // byte. Retried once, on a new socket, for idempotent methods only: a POST may have
    // reached the upstream (RFC 9110 §9.2.2; undici and node:http do not retry it either).
    if (this.reused && !this.parser.started && !p.retried && IDEMPOTENT.has(p.req.method)) {
      p.retried = true;
      this.#client.dispatch(p);
      return;
    }
    p.done = true;
    p.handler.onError(err);
  }
}

/** Head and body in one Buffer, so one socket.write (one syscall) carries the request. */
export function encodeRequest(req: UpstreamRequest, host: string): Buffer {
  let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${host}\r\n`;
  const body = req.body;
  if (req.lines !== undefined) return withBody(`${head}${req.lines}\r\n`, body);
  // The length written is always that of the body sent, in the client's header's place and
  // spelling: a GET's body is not forwarded, so a client's `content-length: 5` on it would
  // leave the upstream waiting. POST/PUT/PATCH without a body say 0 (RFC 9110 §8.6, as
  // undici does), so the upstream does not wait for one.
  const length = body ? body.length : req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? 0 : -1;
  let lengthSent = false;
  const h = req.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (length >= 0 && !lengthSent) head += `${name}: ${length}\r\n`;
      lengthSent = true;
      continue;
    }
    head += `${name}: ${h[i + 1]!}\r\n`;
  }
  if (length >= 0 && !lengthSent) head += `content-length: ${length}\r\n`;
  head += '\r\n';
  return withBody(head, body);
}

function withBody(head: string, body: Buffer | null): Buffer {
  if (!body || body.length === 0) return Buffer.from(head, 'latin1');
  // Header values come from node's latin1 rawHeaders (or our own ASCII), so latin1 writes
  // their bytes back unchanged (latin1Write: what Buffer#write ends in, without its argument parsing).
  const out = Buffer.allocUnsafe(head.length + body.length) as Buffer & { latin1Write(s: string, offset: number, length: number): number };
  out.latin1Write(head, 0, head.length);
  body.copy(out, head.length);
  return out;
}

/** Keep-alive HTTP/1.1 client to one origin. */
export class H1Upstream {
  readonly hostHeader: string;
  /** The one buffer every socket of this client reads into (Conn); 64 KiB, node's own read size. */
  readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  readonly #host: string;
  readonly #port: number;
  readonly #opts: H1UpstreamOptions;
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  readonly #queue: Pending[] = [];
  #closed = false;
  /**
   * Body and idle timeouts are checked by one sweep over the sockets every `#stepMs` rather
   * than a socket timer each, which node re-creates on every setTimeout and refreshes on
   * every read and write: a timeout fires up to one step late.
   */
  tick = 0;
  readonly #stepMs: number;
  readonly bodyTicks: number;
  #sweep: NodeJS.Timeout | undefined;

  constructor(opts: H1UpstreamOptions) {
    const u = new URL(opts.origin);
    if (u.protocol !== 'http:') throw new Error(`H1Upstream speaks plain http only, got ${opts.origin}`);
    this.#opts = opts;
    this.#host = u.hostname.replace(/^\[|\]$/g, '');
    this.#port = Number(u.port || 80);
    this.hostHeader = u.host;
    this.#stepMs = Math.max(10, Math.min(opts.bodyTimeoutMs, opts.idleTimeoutMs, 1000) / 8);
    this.bodyTicks = this.ticksFor(opts.bodyTimeoutMs);
  }

  /** Sweeps that make `ms` (at least one). */
  ticksFor(ms: number): number {
    return Math.max(1, Math.ceil(ms / this.#stepMs));
  }

  #tickOver(): void {
    const now = ++this.tick;
    for (const c of this.#all) if (c.connected && now - c.activeTick >= c.limitTicks) c.timedOut();
  }

  /** Sockets open now (idle or busy); for tests and stats. */
  get sockets(): number {
    return this.#all.size;
  }

  request(req: UpstreamRequest, handler: UpstreamHandler): void {
    const p = new Pending(this, req, handler);
    handler.onConnect(p.abort);
    if (p.done) return; // aborted from onConnect (a timeout already pending)
    if (this.#closed) {
      p.done = true;
      handler.onError(new UpstreamSocketError('client closed', 'UND_ERR_CLOSED'));
      return;
    }
    this.dispatch(p);
  }

  /** @internal Sends on an idle socket, a new one, or queues. */
  dispatch(p: Pending): void {
    let conn: Conn | undefined;
    while ((conn = this.#idle.pop()) !== undefined) {
      if (!conn.socket.destroyed && conn.socket.writable && !conn.socket.readableEnded) break;
    }
    if (conn === undefined) {
      if (this.#all.size >= this.#opts.connections) {
        this.#queue.push(p);
        return;
      }
      conn = new Conn(this, this.#opts, this.#host, this.#port);
      this.#all.add(conn);
      this.#sweep ??= setInterval(() => this.#tickOver(), this.#stepMs).unref();
    }
    conn.send(p);
  }

  /** @internal A socket finished a response and may carry the next request. */
  release(conn: Conn): void {
    const next = this.#queue.shift();
    if (next) return conn.send(next);
    // An upstream that says how long it keeps an idle socket (node:http sends `Keep-Alive:
    // timeout=5`) closes it then; closing ours a second earlier keeps a request from being
    // written into that close, which for a POST could not be retried. undici does the same
    // (Pool keepAliveTimeoutThreshold).
    const hint = conn.parser.keepAliveHintMs;
    conn.quiet(this.ticksFor(hint > 0 ? Math.min(this.#opts.idleTimeoutMs, Math.max(hint - KEEP_ALIVE_MARGIN_MS, hint / 2)) : this.#opts.idleTimeoutMs));
    this.#idle.push(conn);
  }

  /** @internal A socket is gone. */
  forget(conn: Conn): void {
    if (!this.#all.delete(conn)) return;
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
    // A slot freed: a waiting request gets a new socket.
    const next = this.#queue.shift();
    if (next && !this.#closed) this.dispatch(next);
  }

  /** @internal */
  dequeue(p: Pending): void {
    const i = this.#queue.indexOf(p);
    if (i !== -1) this.#queue.splice(i, 1);
  }

  /** Destroys every socket; waiting requests fail with UND_ERR_CLOSED. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const p of this.#queue.splice(0)) {
      p.done = true;
      p.handler.onError(new UpstreamSocketError('client closed', 'UND_ERR_CLOSED'));
    }
    for (const c of [...this.#all]) c.socket.destroy();
  }
}
