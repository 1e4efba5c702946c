// The REST listener's relay front: a node:net server that parses the common request itself
// and hands everything else, with the bytes it has read, to a node:http server on the same
// socket. Why: on the compiled proxy node:http's server objects and streams are the largest
// part of the per-request cost that is not the two socket writes (docs/benchmarks.md, "REST
// on the compiled build"); the relay's request and response are two small objects over the
// socket, the head is parsed from one latin1 string and the response leaves in one write.
//
// The common request is what a model client sends: GET or POST, HTTP/1.1, origin-form path,
// one Host, at most one all-digit Content-Length up to 64 KiB, no Transfer-Encoding, no
// Expect, no Upgrade, Connection only `keep-alive` or `close`, header names that are RFC 9110
// tokens, values of visible ASCII, space and tab, every line ended by CRLF. Anything else,
// at the start of a request (the first on a connection or the next after a response), goes
// to node:http with the connection: obs-fold, bare LF, CL+TE, duplicate or signed lengths,
// other methods and versions, absolute-form, oversized heads, all get node:http's answer
// (test/proxy/h1-front.test.ts holds the hostile corpus). A connection handed over stays
// with node:http until it closes.
import { Server as NetServer } from 'node:net';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, Server } from 'node:http';
import { GATHERED_BODY_BYTES } from './rest-client.ts';
import { byShape, isOws, nameIn } from './header-names.ts';
import { headerList } from './h1-upstream.ts';
import { REQUEST_ID_HEADER } from '../common/index.ts';
import { readAsStream, readInto } from './socket-reads.ts';
import type { ClientHeaders, ClientRequest, ClientResponse } from './rest-client.ts';

export interface RelayFrontOptions {
  /** Takes the connections (with what was read of them) that the relay does not parse. */
  fallback: Server;
  /** A parsed request: the relay writes `res` to the client once the exchange calls it. */
  onRequest(req: ClientRequest, res: ClientResponse): void;
  /** The request was not received whole in `requestMs`: true when its exchange answered. */
  onRequestTimeout(res: ClientResponse): boolean;
  /** A request refused before it was parsed (here: a head not received in `headersMs`). */
  onClientError(httpStatus: number): void;
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
  maxHeaderBytes: number;
}

/** More header lines than this go to node:http (its own limit, maxHeadersCount, is 2000); far above any client. */
const MAX_HEADERS = 100;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** The header names parseCommonHead looks at: the framing and connection ones, and those the exchange reads (ClientHeaders). */
const LOOKED_AT = byShape(['content-length', 'transfer-encoding', 'expect', 'upgrade', 'te', 'host', 'connection', 'traceparent', 'x-forwarded-for', REQUEST_ID_HEADER]);
/** Headers whose duplicates node:http drops (IncomingMessage#_addHeaderLine); the rest are joined with ", ". */
const FIRST_WINS = new Set(['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires']);

/** A request head the relay serves, or undefined for one node:http should see. */
interface Head {
  method: 'GET' | 'POST';
  url: string;
  /** What the exchange reads of the headers (the rest is read from `text` when asked: RelayRequest.rawHeaders). */
  headers: ClientHeaders;
  contentLength: number;
  close: boolean;
  /** The head parsed, and where its header lines start. */
  text: string;
  from: number;
}

/** RFC 9110 §5.6.2 tchar, by char code (1 for a token character). */
export const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
/** tchar as a regular-expression class body. */
export const TCHAR_CLASS = "!#$%&'*+\\-.^_`|~0-9A-Za-z";
/**
 * Every character of a common head, checked in one native pass: the request line (GET or
 * POST, an origin-form target of visible ASCII, HTTP/1.1), then lines of a token name, a
 * colon and a value of visible ASCII, space and tab, CRLF between them. No CR or LF but the
 * line ends, no NUL, no byte above 0x7E, no line without a name (so no obs-fold).
 */
const COMMON_CHARS = new RegExp(`^(?:GET|POST) /[\\x21-\\x7e]* HTTP/1\\.1(?:\\r\\n[${TCHAR_CLASS}]+:[\\t\\x20-\\x7e]*)*$`);


/**
 * Parses a request head (without its final CRLFCRLF) strictly; undefined for anything
 * outside the common case. Every character is checked first (COMMON_CHARS: names are
 * tokens; values visible ASCII, space or tab; the target visible ASCII), so a CR or LF
 * anywhere but a line end, a NUL or a byte above 0x7E sends the request to node:http.
 */
export function parseCommonHead(head: string): Head | undefined {
  if (!COMMON_CHARS.test(head)) return undefined;
  const len = head.length;
  let eol = head.indexOf('\r\n');
  if (eol < 0) eol = len;
  // Request line: method SP origin-form SP HTTP/1.1
  let method: 'GET' | 'POST';
  let at: number;
  if (head.startsWith('POST /')) (method = 'POST'), (at = 5);
  else if (head.startsWith('GET /')) (method = 'GET'), (at = 4);
  else return undefined;
  const sp = head.indexOf(' ', at);
  if (sp < 0 || sp + 9 !== eol) return undefined;
  const url = head.slice(at, sp);
  const h: ClientHeaders = { contentLength: 0, chunked: false, traceparent: undefined, forwardedFor: undefined, connection: undefined, requestId: undefined };
  let contentLength = -1;
  let host = 0;
  let close = false;
  let count = 0;
  const from = Math.min(eol + 2, len);
  for (let pos = from; pos < len; pos = eol + 2) {
    if (++count > MAX_HEADERS) return undefined;
    eol = head.indexOf('\r\n', pos);
    if (eol < 0) eol = len;
    // A token name before the first colon (COMMON_CHARS); only the names below are looked at.
    const colon = head.indexOf(':', pos);
    const name = nameIn(head, pos, colon, LOOKED_AT);
    if (name === undefined) continue;
    let vs = colon + 1;
    while (vs < eol && isOws(head.charCodeAt(vs))) vs++;
    let ve = eol;
    while (ve > vs && isOws(head.charCodeAt(ve - 1))) ve--;
    if (name === 'content-length') {
      // 1 to 15 digits, once (a sign, a list or a second length goes to node:http).
      if (contentLength >= 0 || ve === vs || ve - vs > 15) return undefined;
      let n = 0;
      for (let k = vs; k < ve; k++) {
        const d = head.charCodeAt(k) - 0x30;
        if (d < 0 || d > 9) return undefined;
        n = n * 10 + d;
      }
      contentLength = n;
    } else if (name === 'host') {
      if (++host > 1) return undefined;
    } else if (name === 'connection') {
      const value = head.slice(vs, ve);
      for (const t of value.toLowerCase().split(',')) {
        const token = t.trim();
        if (token === 'close') close = true;
        else if (token !== 'keep-alive' && token !== '') return undefined;
      }
      h.connection = h.connection === undefined ? value : `${h.connection}, ${value}`;
    } else if (name === 'traceparent') h.traceparent ??= head.slice(vs, ve);
    // Several X-Forwarded-For lines are one comma-separated list (RFC 9110 §5.3).
    else if (name === 'x-forwarded-for') h.forwardedFor = h.forwardedFor === undefined ? head.slice(vs, ve) : `${h.forwardedFor}, ${head.slice(vs, ve)}`;
    else if (name === REQUEST_ID_HEADER) h.requestId ??= head.slice(vs, ve);
    // transfer-encoding, expect, upgrade, te
    else return undefined;
  }
  if (host !== 1) return undefined;
  if (contentLength > GATHERED_BODY_BYTES) return undefined;
  if (method === 'GET' && contentLength > 0) return undefined;
  h.contentLength = Math.max(0, contentLength);
  return { method, url, headers: h, contentLength: h.contentLength, close, text: head, from };
}

/**
 * Node's `Date` header value, computed at most once a second (node:http caches it the same
 * way, lib/internal/http.js utcDate).
 */
let dateCache = '';
let dateSecond = -1;
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateCache = new Date(now).toUTCString();
  }
  return dateCache;
}

/** node:http's checks on an outgoing header: the name a token, the value without controls other than tab. */
function validField(name: string, value: string): boolean {
  if (name.length === 0) return false;
  for (let k = 0; k < name.length; k++) if (TCHAR[name.charCodeAt(k)] !== 1) return false;
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** The relay's request: what RestExchange reads, over bytes the connection already parsed. */
class RelayRequest implements ClientRequest {
  readonly method: string;
  readonly url: string;
  readonly clientHeaders: ClientHeaders;
  readonly headText: string;
  readonly headFrom: number;
  readonly socket: Socket;
  /** Set when the body came whole with the head (the common small POST). */
  receivedBody: Buffer | undefined;
  #headers: IncomingHttpHeaders | undefined;
  #raw: string[] | undefined;
  #onData: ((chunk: Buffer) => void) | undefined;
  #onEnd: (() => void) | undefined;
  /** Body bytes that arrived before a 'data' listener did. */
  #held: Buffer[] = [];
  #ended = false;
  #discard = false;
  #flushScheduled = false;

  constructor(head: Head, socket: Socket) {
    this.method = head.method;
    this.url = head.url;
    this.clientHeaders = head.headers;
    this.headText = head.text;
    this.headFrom = head.from;
    this.socket = socket;
  }

  /** [name, value, ...] as sent, values without surrounding whitespace; built on first use. */
  get rawHeaders(): string[] {
    return (this.#raw ??= headerList(this.headText, this.headFrom));
  }

  /** Built on first use, like node's: lower-case names, duplicates dropped or joined as node:http does. */
  get headers(): IncomingHttpHeaders {
    if (this.#headers) return this.#headers;
    const h: Record<string, string | string[]> = {};
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      const prev = h[name];
      if (prev === undefined) h[name] = name === 'set-cookie' ? [value] : value;
      else if (name === 'set-cookie') (prev as string[]).push(value);
      else if (!FIRST_WINS.has(name)) h[name] = `${prev as string}, ${value}`;
    }
    return (this.#headers = h);
  }

  on(event: 'data' | 'end', fn: ((chunk: Buffer) => void) | (() => void)): this {
    if (event === 'data') this.#onData = fn as (chunk: Buffer) => void;
    else this.#onEnd = fn as () => void;
    // Delivered after the caller has added all its listeners (it adds 'data' then 'end').
    if (!this.#flushScheduled && (this.#held.length > 0 || this.#ended)) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
    return this;
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#discard) return;
    if (this.#onData) {
      const held = this.#held;
      this.#held = [];
      for (const c of held) this.#onData(c);
    }
    if (this.#ended && this.#onData && this.#onEnd) {
      const end = this.#onEnd;
      this.#onEnd = undefined;
      end();
    }
  }

  /** From the connection: body bytes, then the end. */
  push(chunk: Buffer): void {
    if (this.#discard) return;
    if (this.#onData && this.#held.length === 0 && !this.#flushScheduled) this.#onData(chunk);
    else this.#held.push(chunk);
  }

  end(): void {
    this.#ended = true;
    if (this.#discard) return;
    if (this.#held.length === 0 && !this.#flushScheduled && this.#onData && this.#onEnd) this.#flush();
  }

  /** The exchange will not read the body: it is read and dropped (it is at most 64 KiB). */
  resume(): this {
    this.#discard = true;
    this.#held = [];
    return this;
  }

  pause(): this {
    return this;
  }

  isPaused(): boolean {
    return false;
  }
}

/** The relay's response: head and body written to the socket, in one write when they come together. */
class RelayResponse implements ClientResponse {
  headersSent = false;
  writableFinished = false;
  shouldKeepAlive: boolean;
  readonly #conn: RelayConnection;
  #head: string | undefined;
  #chunked = false;
  #close = false;
  #onClose: (() => void) | undefined;

  constructor(conn: RelayConnection, keepAlive: boolean) {
    this.#conn = conn;
    this.shouldKeepAlive = keepAlive;
  }

  get destroyed(): boolean {
    return this.#conn.socket.destroyed;
  }

  /** The connection closes after this response (the client asked, the exchange did, or a drain). */
  get closes(): boolean {
    return this.#close || !this.shouldKeepAlive;
  }

  writeHead(status: number, headers: OutgoingHttpHeaders | string[]): this {
    this.#notSent();
    let lines = '';
    let length = false;
    let date = false;
    const list = Array.isArray(headers) ? headers : flatHeaders(headers);
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]!;
      const value = list[i + 1]!;
      if (!validField(name, value)) throw invalidChar(name);
      const n = name.length;
      if (n === 14 || n === 10 || n === 4) {
        const lower = name.toLowerCase();
        if (lower === 'content-length') length = true;
        else if (lower === 'connection') {
          if (value.toLowerCase().includes('close')) this.#close = true;
          continue; // written below, from the connection's state
        } else if (lower === 'date') date = true;
      }
      lines += `${name}: ${value}\r\n`;
    }
    return this.writeHeadLines(status, lines, length, date);
  }

  writeHeadLines(status: number, lines: string, length: boolean, date: boolean): this {
    this.#notSent();
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n${lines}`;
    if (!date) head += `Date: ${utcDate()}\r\n`;
    if (this.#conn.draining) this.shouldKeepAlive = false;
    head += this.closes ? 'Connection: close\r\n' : `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(this.#conn.keepAliveMs / 1000)}\r\n`;
    // RFC 9112 §6.3: 1xx, 204 and 304 have no body; otherwise without a length, chunked.
    if (!length && status >= 200 && status !== 204 && status !== 304) {
      this.#chunked = true;
      head += 'Transfer-Encoding: chunked\r\n';
    }
    this.#head = `${head}\r\n`;
    return this;
  }

  #notSent(): void {
    if (this.headersSent || this.#head !== undefined) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
  }

  write(chunk: Buffer): boolean {
    if (this.writableFinished) return false;
    const socket = this.#conn.socket;
    if (chunk.length === 0 && this.headersSent) return true;
    return socket.write(this.#frame(chunk, false));
  }

  end(chunk?: Buffer | string): this {
    if (this.writableFinished) return this;
    const body = chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#conn.socket.write(this.#frame(body, true));
    this.writableFinished = true;
    this.#conn.responded(this);
    return this;
  }

  /** The bytes to write: the head if not yet sent, the body (chunk-framed when chunked), and the last chunk at the end. */
  #frame(body: Buffer | undefined, last: boolean): Buffer {
    const head = this.headersSent ? '' : (this.#head ?? '');
    this.headersSent = true;
    const n = body?.length ?? 0;
    let pre = head;
    let post = '';
    if (this.#chunked) {
      if (n > 0) {
        pre += `${n.toString(16)}\r\n`;
        post = '\r\n';
      }
      if (last) post += '0\r\n\r\n';
    }
    const preLen = pre.length;
    const out = Buffer.allocUnsafe(preLen + n + post.length) as LatinBuffer;
    // latin1Write: the undocumented Buffer method Buffer#write ends in for 'latin1', without its argument parsing.
    out.latin1Write(pre, 0, preLen);
    if (n > 0) body!.copy(out, preLen);
    if (post.length > 0) out.latin1Write(post, preLen + n, post.length);
    return out;
  }

  on(_event: 'close', fn: () => void): this {
    this.#onClose = fn;
    return this;
  }

  once(_event: 'drain', fn: () => void): this {
    this.#conn.socket.once('drain', fn);
    return this;
  }

  destroy(): this {
    this.#conn.socket.destroy();
    return this;
  }

  /** The client went away while this response was current. */
  clientClosed(): void {
    const fn = this.#onClose;
    this.#onClose = undefined;
    fn?.();
  }
}

const enum Phase {
  /** Waiting for (the rest of) a request head. */
  Head,
  /** Reading a request body into the current request. */
  Body,
  /** The request was received whole; its response is not finished. */
  Busy,
  /** Handed to node:http, or closed. */
  Gone,
}

class RelayConnection {
  readonly socket: Socket;
  readonly #front: RelayFront;
  #buf: Buffer | undefined;
  #phase = Phase.Head;
  #req: RelayRequest | undefined;
  #res: RelayResponse | undefined;
  #bodyLeft = 0;
  /** The headers timeout (a head started but not finished) or the request timeout (a body not finished). */
  #timer: NodeJS.Timeout | undefined;
  /** The client sent FIN (see clientEnded). */
  #ended = false;
  #closeAfter = false;
  /** The response went out before the request body was in (see responded). */
  #answeredEarly = false;
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);
  /** Bytes read into the front's read buffer (socket-reads.ts): parsed, then what is kept is copied out. */
  readonly #onRead = (n: number, buffer: Buffer): void => {
    this.#data(buffer.subarray(0, n));
    if (this.#buf !== undefined) this.#buf = this.#front.own(this.#buf);
  };
  readonly #onEnd = (): void => this.#clientEnded();
  readonly #onClose = (): void => this.#closed();
  /** The front's sweep tick at which this connection last became idle (RelayFront#sweep). */
  idleTick: number;

  constructor(front: RelayFront, socket: Socket) {
    this.#front = front;
    this.socket = socket;
    if (!readInto(socket, front.readBuffer, this.#onRead)) socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('error', noop);
    this.idleTick = front.tick;
  }

  get keepAliveMs(): number {
    return this.#front.opts.keepAliveMs;
  }

  get draining(): boolean {
    return this.#front.draining;
  }

  /** No request in progress and nothing buffered. */
  get idle(): boolean {
    return this.#phase === Phase.Head && this.#buf === undefined;
  }

  #data(chunk: Buffer): void {
    if (this.#phase === Phase.Body) {
      const take = Math.min(this.#bodyLeft, chunk.length);
      this.#bodyLeft -= take;
      this.#req!.push(this.#front.own(take === chunk.length ? chunk : chunk.subarray(0, take)));
      if (this.#bodyLeft === 0) this.#bodyDone();
      if (take === chunk.length) return;
      chunk = chunk.subarray(take);
    }
    this.#buf = this.#buf === undefined ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.#phase === Phase.Head) this.#parse();
    // Pipelined bytes while busy: held until the response is done; a client that pushes
    // more than a head and a body ahead is not read until then.
    else if (this.#phase === Phase.Busy && this.#buf.length > this.#front.opts.maxHeaderBytes + GATHERED_BODY_BYTES) this.socket.pause();
  }

  #parse(): void {
    const buf = this.#buf;
    if (buf === undefined) return;
    const { maxHeaderBytes, headersMs } = this.#front.opts;
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      // What node:http refuses before the head ends (not a method, a bare LF) goes to it now.
      if (buf.length > maxHeaderBytes || !plausiblePrefix(buf)) return this.#handOver();
      // A head started: it must be whole within the headers timeout (not refreshed by trickled bytes).
      this.#timer ??= setTimeout(() => this.#headTimedOut(), headersMs);
      return;
    }
    if (end + 4 > maxHeaderBytes) return this.#handOver();
    const head = parseCommonHead(buf.toString('latin1', 0, end));
    if (head === undefined) return this.#handOver();
    this.#clearTimer();
    const rest = end + 4 < buf.length ? buf.subarray(end + 4) : undefined;
    this.#buf = undefined;
    const req = new RelayRequest(head, this.socket);
    const res = new RelayResponse(this, !head.close && !this.#ended);
    this.#req = req;
    this.#res = res;
    const length = head.contentLength;
    if (length > 0 && rest !== undefined && rest.length >= length) {
      // The whole body is here: handed over with the request, no body phase.
      req.receivedBody = this.#front.own(rest.length === length ? rest : rest.subarray(0, length));
      this.#phase = Phase.Busy;
      this.#bodyLeft = 0;
      if (rest.length > length) this.#buf = rest.subarray(length);
      this.#front.opts.onRequest(req, res);
      return;
    }
    if (length === 0) {
      // Pipelined bytes are kept before the exchange starts: it may answer at once.
      this.#phase = Phase.Busy;
      this.#buf = rest;
      this.#front.opts.onRequest(req, res);
      req.end();
      return;
    }
    // The body is still arriving: the request must be whole within the request timeout.
    this.#bodyLeft = length;
    this.#phase = Phase.Body;
    this.#timer = setTimeout(() => this.#requestTimedOut(), this.#front.opts.requestMs);
    this.#front.opts.onRequest(req, res);
    if (rest !== undefined && this.#phase === Phase.Body) this.#data(rest);
  }

  #bodyDone(): void {
    this.#clearTimer();
    this.#req?.end();
    if (this.#answeredEarly) this.#next();
    else this.#phase = Phase.Busy;
  }

  /** The current response has been written whole. */
  responded(res: RelayResponse): void {
    if (res !== this.#res || this.#phase === Phase.Gone) return;
    this.#res = undefined;
    if (res.closes || this.#ended || this.#closeAfter) {
      this.#clearTimer();
      this.#phase = Phase.Gone;
      this.socket.end();
      return;
    }
    // Answered before the body was in (a refusal): the body is read and dropped, then the next request.
    if (this.#phase === Phase.Body) this.#answeredEarly = true;
    else this.#next();
  }

  /** Ready for the next request on this connection. */
  #next(): void {
    this.#clearTimer();
    this.#answeredEarly = false;
    this.#req = undefined;
    this.#phase = Phase.Head;
    this.idleTick = this.#front.tick;
    if (this.socket.isPaused()) this.socket.resume();
    // Pipelined requests: the next one after this turn, so a burst cannot recurse.
    if (this.#buf !== undefined) setImmediate(() => this.#phase === Phase.Head && this.#parse());
  }

  /** Stops parsing and gives the socket, with the bytes read and not yet parsed, to node:http. */
  #handOver(): void {
    this.#clearTimer();
    this.#phase = Phase.Gone;
    const socket = this.socket;
    socket.removeListener('data', this.#onData);
    socket.removeListener('end', this.#onEnd);
    socket.removeListener('close', this.#onClose);
    socket.removeListener('error', noop);
    this.#front.forget(this);
    socket.pause();
    readAsStream(socket);
    if (this.#buf !== undefined) socket.unshift(this.#front.own(this.#buf));
    this.#buf = undefined;
    this.#front.opts.fallback.emit('connection', socket);
    // node:http's server reads the socket from here, the unshifted bytes first.
    process.nextTick(() => socket.resume());
  }

  #headTimedOut(): void {
    this.#timer = undefined;
    if (this.#phase !== Phase.Head) return;
    this.#front.opts.onClientError(408);
    this.#phase = Phase.Gone;
    this.socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }

  #requestTimedOut(): void {
    this.#timer = undefined;
    if (this.#phase !== Phase.Body) return;
    if (!this.#res || !this.#front.opts.onRequestTimeout(this.#res)) this.socket.destroy();
  }

  /**
   * The client sent FIN. As node:http does by default (httpAllowHalfOpen false): a request in
   * progress is aborted and the connection closed.
   */
  #clientEnded(): void {
    this.#ended = true;
    this.#clearTimer();
    const res = this.#res;
    this.#res = undefined;
    // A head or body cut short: node:http answers 400 (its parser fails at the end of input).
    const cut = (this.#phase === Phase.Head && this.#buf !== undefined) || (this.#phase === Phase.Body && res !== undefined && !res.headersSent);
    this.#phase = Phase.Gone;
    if (res && !res.writableFinished) res.clientClosed();
    if (cut && this.socket.writable) {
      this.#front.opts.onClientError(400);
      this.socket.end(BAD_REQUEST);
    } else this.socket.end();
  }

  #closed(): void {
    this.#clearTimer();
    this.#phase = Phase.Gone;
    this.#front.forget(this);
    const res = this.#res;
    this.#res = undefined;
    if (res && !res.writableFinished) res.clientClosed();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Drain: an idle connection closes now, a busy one after its response. */
  closeWhenIdle(): void {
    if (this.idle) {
      this.#phase = Phase.Gone;
      this.socket.end();
    } else this.#closeAfter = true;
  }
}

function noop(): void {}

/** An OutgoingHttpHeaders object as [name, value, ...] (a list value gives one line each). */
function flatHeaders(headers: OutgoingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(name, String(x));
    else out.push(name, String(v));
  }
  return out;
}

/** node:http's error for a header it will not write. */
export function invalidChar(name: string): TypeError {
  return Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
}

/** node's Buffer has latin1Write at run time; its type definitions do not list it. */
type LatinBuffer = Buffer & { latin1Write(s: string, offset: number, length: number): number };

/** node:http's answer (rest.ts clientError) to a request it cannot parse. */
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

/** The start of a head that could still be a common one: an upper-case method, and no LF without its CR. */
function plausiblePrefix(buf: Buffer): boolean {
  let i = 0;
  while (i < buf.length && buf[i]! >= 0x41 && buf[i]! <= 0x5a) i++;
  if (i < buf.length && (i === 0 || buf[i] !== 0x20)) return false;
  for (let j = buf.indexOf(10); j >= 0; j = buf.indexOf(10, j + 1)) if (j === 0 || buf[j - 1] !== 13) return false;
  return true;
}

/**
 * The relay front. Listens like a node:http server (listen, close, address) and closes
 * connections like one (closeIdleConnections, closeAllConnections), for its own connections
 * and those it handed to `fallback`.
 */
export class RelayFront extends NetServer {
  readonly opts: RelayFrontOptions;
  /** The one buffer every connection reads into (socket-reads.ts); 64 KiB, node's own read size. */
  readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  readonly #conns = new Set<RelayConnection>();
  draining = false;
  /**
   * Idle keep-alive connections are closed by one sweep for all of them (every quarter of
   * the keep-alive timeout) rather than a socket timer each, which node refreshes on every
   * read and write: a connection closes between 1 and 1.25 keep-alive timeouts after its last answer.
   */
  tick = 0;
  #sweep: NodeJS.Timeout | undefined;

  constructor(opts: RelayFrontOptions) {
    // allowHalfOpen, as node:http's server: the FIN is handled here (clientEnded), and a
    // handed-over socket behaves as node:http expects.
    super({ allowHalfOpen: true, noDelay: true });
    this.opts = opts;
    this.on('connection', (socket: Socket) => {
      this.#conns.add(new RelayConnection(this, socket));
    });
    // node:http starts its headers/request timeout checks when it listens; it never does here.
    this.on('listening', () => {
      opts.fallback.emit('listening');
      const step = Math.max(10, opts.keepAliveMs / 4);
      const ticks = Math.ceil(opts.keepAliveMs / step);
      this.#sweep = setInterval(() => this.#closeIdle(ticks), step).unref();
    });
    this.on('close', () => {
      clearInterval(this.#sweep);
      opts.fallback.close();
    });
  }

  #closeIdle(ticks: number): void {
    const now = ++this.tick;
    for (const c of this.#conns) {
      if (!c.idle) continue;
      // Still writing its last answer to a slow reader: not idle yet.
      if (c.socket.writableLength > 0) c.idleTick = now;
      else if (now - c.idleTick >= ticks) c.socket.destroy();
    }
  }

  /** `bytes`, copied when it is a view of the read buffer (which the next read overwrites). */
  own(bytes: Buffer): Buffer {
    return bytes.buffer === this.readBuffer.buffer ? Buffer.from(bytes) : bytes;
  }

  forget(conn: RelayConnection): void {
    this.#conns.delete(conn);
  }

  /** Idle connections close now, busy ones after their response; the handed-over ones as node:http closes them. */
  closeIdleConnections(): void {
    this.draining = true;
    for (const c of this.#conns) c.closeWhenIdle();
    this.opts.fallback.closeIdleConnections();
  }

  closeAllConnections(): void {
    for (const c of this.#conns) c.socket.destroy();
    this.opts.fallback.closeAllConnections();
  }
}
