// Feasibility spike, not production code: a frame-level HTTP/2 (h2c) relay for unary gRPC on
// node:net, with no node:http2 on either side. Client connections are accepted on 127.0.0.1;
// their streams are multiplexed onto a few h2c connections to the upstream (client odd ids
// mapped to the upstream connection's own odd ids). HEADERS/CONTINUATION blocks are decoded
// with the receiving connection's HPACK state and re-encoded for the other side (literals
// without indexing, no Huffman, no dynamic table); DATA payloads are forwarded as they are
// with the stream id rewritten; RST_STREAM is mapped both ways; SETTINGS, PING and
// WINDOW_UPDATE are answered per connection. Peer flow-control windows are honoured (DATA
// is queued when a window is short); the relay advertises large windows and replenishes them
// as soon as it has read the bytes, so it buffers without bound if one side is slow.
//
// Not handled: TLS/ALPN, h2c upgrade from HTTP/1.1, server push, priorities (ignored),
// streaming-specific behaviour beyond frame forwarding (untested), stream-id exhaustion on
// an upstream connection (it is marked draining, not replaced before use), backpressure
// (reads are never paused; windows are replenished on read), SETTINGS_MAX_HEADER_LIST_SIZE,
// header validation (names, pseudo-headers, connection-specific headers pass as they are),
// the stream-state checks the spec asks of an endpoint (most protocol errors are ignored,
// not answered with RST_STREAM/GOAWAY), SETTINGS and PING timeouts, idle timeouts, graceful
// shutdown (no GOAWAY sent on exit), HPACK dynamic-table or Huffman encoding on output.
//
//   node --import tsx bench/proxy/h2-frame-relay.ts UPSTREAM_HOST:PORT [LISTEN_PORT] [UPSTREAM_CONNS]
// (LISTEN_PORT also from H2_RELAY_PORT, 0 = any; UPSTREAM_CONNS default 1.) Prints "READY {port}".
//   node --import tsx bench/proxy/h2-frame-relay.ts --self-test   (HPACK against RFC 7541 C.4)
// kill -USR2 prints the open streams per side to stderr.
//
// Imported (h2-hybrid-child.ts), it runs nothing: setUpstream() and openUpstream() give its
// upstream connections to a caller with its own client side (UpstreamSink).
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

// ---------------------------------------------------------------- HPACK (RFC 7541)

/** Code length of each symbol 0..256 in the HPACK Huffman code (RFC 7541 Appendix B). The code is canonical, so the lengths define it. */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
// Canonical decoding: the codes of length L are the consecutive range FIRST[L] .. FIRST[L]+COUNT[L]-1.
const HUFF_SYMS = [...HUFFMAN_LENGTHS.keys()].sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
const HUFF_FIRST = new Array<number>(31).fill(0);
const HUFF_COUNT = new Array<number>(31).fill(0);
const HUFF_OFFSET = new Array<number>(31).fill(0);
{
  let code = 0;
  let len = HUFFMAN_LENGTHS[HUFF_SYMS[0]!]!;
  HUFF_SYMS.forEach((s, i) => {
    const l = HUFFMAN_LENGTHS[s]!;
    code *= 2 ** (l - len);
    len = l;
    if (HUFF_COUNT[l] === 0) {
      HUFF_FIRST[l] = code;
      HUFF_OFFSET[l] = i;
    }
    HUFF_COUNT[l]!++;
    code++;
  });
}

function huffmanDecode(b: Buffer, start: number, end: number): string {
  let out = '';
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = b[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const k = code - HUFF_FIRST[len]!;
      if (len >= 5 && k >= 0 && k < HUFF_COUNT[len]!) {
        const sym = HUFF_SYMS[HUFF_OFFSET[len]! + k]!;
        if (sym === 256) throw new Error('hpack: EOS in string');
        out += String.fromCharCode(sym);
        code = 0;
        len = 0;
      }
      if (len > 30) throw new Error('hpack: bad huffman code');
    }
  }
  if (len > 7 || code !== 2 ** len - 1) throw new Error('hpack: bad huffman padding');
  return out;
}

const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'], [':scheme', 'http'], [':scheme', 'https'],
  [':status', '200'], [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'],
  ['accept-charset', ''], ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''], ['content-disposition', ''],
  ['content-encoding', ''], ['content-language', ''], ['content-length', ''], ['content-location', ''], ['content-range', ''], ['content-type', ''],
  ['cookie', ''], ['date', ''], ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''],
  ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''],
  ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];
const STATIC_EXACT = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC.forEach(([n, v], i) => {
  if (!STATIC_NAME.has(n)) STATIC_NAME.set(n, i + 1);
  if (v) STATIC_EXACT.set(`${n}\0${v}`, i + 1);
});

/** A header list as [name, value, neverIndexed, ...] (strings are latin1, so bytes round-trip). */
export type Headers = (string | boolean)[];

class HpackDecoder {
  private table: [string, string][] = []; // newest first
  private size = 0;
  private max = 4096; // our SETTINGS_HEADER_TABLE_SIZE is the default
  private pos = 0;

  decode(b: Buffer): Headers {
    const out: Headers = [];
    this.pos = 0;
    while (this.pos < b.length) {
      const first = b[this.pos]!;
      if (first & 0x80) {
        const [n, v] = this.entry(this.int(b, 7));
        out.push(n, v, false);
      } else if ((first & 0xe0) === 0x20) {
        const m = this.int(b, 5);
        if (m > 4096) throw new Error('hpack: table size update above the setting');
        this.max = m;
        this.evict(0);
      } else {
        const indexing = (first & 0xc0) === 0x40;
        const idx = this.int(b, indexing ? 6 : 4);
        const name = idx ? this.entry(idx)[0] : this.str(b);
        const value = this.str(b);
        if (indexing) this.add(name, value);
        out.push(name, value, (first & 0xf0) === 0x10);
      }
    }
    return out;
  }

  private entry(i: number): readonly [string, string] {
    const e = i === 0 ? undefined : i <= STATIC.length ? STATIC[i - 1] : this.table[i - STATIC.length - 1];
    if (!e) throw new Error(`hpack: bad index ${i}`);
    return e;
  }
  private add(name: string, value: string): void {
    const sz = name.length + value.length + 32;
    this.evict(sz);
    if (sz <= this.max) {
      this.table.unshift([name, value]);
      this.size += sz;
    }
  }
  private evict(room: number): void {
    while (this.table.length && this.size + room > this.max) {
      const [n, v] = this.table.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }
  private int(b: Buffer, prefix: number): number {
    const mask = (1 << prefix) - 1;
    let v = b[this.pos++]! & mask;
    if (v < mask) return v;
    let m = 0;
    for (;;) {
      if (this.pos >= b.length) throw new Error('hpack: truncated integer');
      const c = b[this.pos++]!;
      v += (c & 0x7f) * 2 ** m;
      m += 7;
      if (!(c & 0x80)) return v;
      if (m > 28) throw new Error('hpack: integer too large');
    }
  }
  private str(b: Buffer): string {
    if (this.pos >= b.length) throw new Error('hpack: truncated string');
    const huffman = b[this.pos]! & 0x80;
    const len = this.int(b, 7);
    const end = this.pos + len;
    if (end > b.length) throw new Error('hpack: truncated string');
    const s = huffman ? huffmanDecode(b, this.pos, end) : b.toString('latin1', this.pos, end);
    this.pos = end;
    return s;
  }
}

function writeInt(b: Buffer, pos: number, prefix: number, flags: number, v: number): number {
  const mask = (1 << prefix) - 1;
  if (v < mask) {
    b[pos++] = flags | v;
    return pos;
  }
  b[pos++] = flags | mask;
  v -= mask;
  while (v >= 0x80) {
    b[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  b[pos++] = v;
  return pos;
}
function writeStr(b: Buffer, pos: number, s: string): number {
  pos = writeInt(b, pos, 7, 0, s.length);
  return pos + b.write(s, pos, 'latin1');
}

/** Encodes with the static table only: indexed when name and value match, else a literal without indexing (never indexed kept). */
function hpackEncode(h: Headers, sizeUpdateToZero: boolean): Buffer {
  let cap = 1;
  for (let i = 0; i < h.length; i += 3) cap += (h[i] as string).length + (h[i + 1] as string).length + 12;
  const b = Buffer.allocUnsafe(cap);
  let pos = 0;
  if (sizeUpdateToZero) b[pos++] = 0x20;
  for (let i = 0; i < h.length; i += 3) {
    const name = h[i] as string;
    const value = h[i + 1] as string;
    const never = h[i + 2] as boolean;
    const exact = never ? undefined : STATIC_EXACT.get(`${name}\0${value}`);
    if (exact) {
      pos = writeInt(b, pos, 7, 0x80, exact);
      continue;
    }
    const ni = STATIC_NAME.get(name);
    pos = writeInt(b, pos, 4, never ? 0x10 : 0, ni ?? 0);
    if (!ni) pos = writeStr(b, pos, name);
    pos = writeStr(b, pos, value);
  }
  return b.subarray(0, pos);
}

// ---------------------------------------------------------------- frames and connections

const DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
const END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIORITY_FLAG = 0x20;
const PROTOCOL_ERROR = 1, INTERNAL_ERROR = 2, REFUSED_STREAM = 7, CANCEL = 8, COMPRESSION_ERROR = 9;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const CONN_WINDOW = 1 << 30; // what we let each peer send on a connection
const STREAM_WINDOW = 1 << 24; // our SETTINGS_INITIAL_WINDOW_SIZE
const MAX_STREAM_ID = 0x7fffffff;
const EMPTY = Buffer.alloc(0);

function frame(type: number, flags: number, sid: number, payload?: Buffer): Buffer {
  const len = payload ? payload.length : 0;
  const b = Buffer.allocUnsafe(9 + len);
  b[0] = len >>> 16;
  b[1] = (len >>> 8) & 0xff;
  b[2] = len & 0xff;
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(sid, 5);
  if (payload) payload.copy(b, 9);
  return b;
}
const u32 = (v: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const SETTINGS_OURS = (enablePush: boolean) => {
  const b = Buffer.alloc(enablePush ? 12 : 18);
  b.writeUInt16BE(3, 0); // MAX_CONCURRENT_STREAMS
  b.writeUInt32BE(10000, 2);
  b.writeUInt16BE(4, 6); // INITIAL_WINDOW_SIZE
  b.writeUInt32BE(STREAM_WINDOW, 8);
  if (!enablePush) b.writeUInt16BE(2, 12); // ENABLE_PUSH = 0 (to the upstream)
  return frame(SETTINGS, 0, 0, b);
};

/** Receives an upstream stream's frames when its client side is not a connection of this relay (h2-hybrid-child.ts). */
export interface UpstreamSink {
  headers(h: Headers, end: boolean): void;
  data(b: Buffer, end: boolean): void;
  /** RST_STREAM from the upstream, or its connection gone (INTERNAL_ERROR) or refusing the stream (REFUSED_STREAM). */
  reset(code: number): void;
}

/** One direction of a call: the stream `sid` on `conn`, which the relay writes to. */
interface Side {
  conn: Conn;
  sid: number;
  other: Side; // unused (null) when `sink` is set
  sink?: UpstreamSink;
  call: Call;
  win: number; // our send window for this stream on `conn`
  q: { buf: Buffer; end: boolean; h?: Headers }[] | null; // DATA waiting for `win` or the connection window, and HEADERS behind it
  recv: number; // bytes received on this stream since our last WINDOW_UPDATE for it
}
interface Call {
  client: Side | null; // null: an openUpstream() call
  up: Side;
  done: boolean;
}

/** Connections that have output gathered during the current read, written once at its end. */
const dirty: Conn[] = [];
function flushDirty(): void {
  for (const c of dirty) {
    const out = c.out;
    c.out = [];
    if (!c.sock.destroyed) c.sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }
  dirty.length = 0;
}

class Conn {
  readonly streams = new Map<number, Side>();
  readonly blocked = new Set<Side>();
  readonly dec = new HpackDecoder();
  out: Buffer[] = [];
  sendWindow = 65535;
  peerInitialWindow = 65535;
  peerMaxFrame = 16384;
  peerMaxStreams = Infinity;
  sizeUpdate = true; // emit a dynamic table size update (to 0) at the start of the next header block
  recvUnacked = 0;
  lastPeerSid = 0;
  nextSid = 1; // upstream side: our next stream id
  draining = false;
  private pending: Buffer | null = null;
  private prefaceLeft: number;
  private hdr: { sid: number; flags: number; parts: Buffer[] } | null = null;

  constructor(
    readonly sock: Socket,
    readonly isUpstream: boolean,
  ) {
    this.prefaceLeft = isUpstream ? 0 : PREFACE.length;
    sock.setNoDelay(true);
    if (isUpstream) this.send(PREFACE);
    this.send(SETTINGS_OURS(!isUpstream));
    this.send(frame(WINDOW_UPDATE, 0, 0, u32(CONN_WINDOW - 65535)));
    flushDirty();
    sock.on('data', (chunk: Buffer) => {
      try {
        this.read(chunk);
      } catch (e) {
        console.error(`h2-frame-relay: ${(e as Error).message}`);
        this.send(frame(GOAWAY, 0, 0, Buffer.concat([u32(this.lastPeerSid), u32(/hpack/.test((e as Error).message) ? COMPRESSION_ERROR : PROTOCOL_ERROR)])));
        flushDirty();
        sock.end();
      }
      flushDirty();
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      this.closed();
      flushDirty();
    });
  }

  send(b: Buffer): void {
    if (this.out.length === 0) dirty.push(this);
    this.out.push(b);
  }

  private read(chunk: Buffer): void {
    let b = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    if (this.prefaceLeft) {
      const n = Math.min(this.prefaceLeft, b.length);
      const at = PREFACE.length - this.prefaceLeft;
      if (!b.subarray(0, n).equals(PREFACE.subarray(at, at + n))) throw new Error('bad connection preface');
      this.prefaceLeft -= n;
      off = n;
    }
    while (b.length - off >= 9) {
      const len = (b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!;
      if (b.length - off < 9 + len) break;
      const sid = b.readUInt32BE(off + 5) & MAX_STREAM_ID;
      this.frame(b[off + 3]!, b[off + 4]!, sid, b.subarray(off + 9, off + 9 + len));
      off += 9 + len;
    }
    this.pending = off < b.length ? b.subarray(off) : null;
    if (this.pending && this.pending.length > 9 + 16384 + 1024) throw new Error('frame larger than SETTINGS_MAX_FRAME_SIZE');
  }

  private frame(type: number, flags: number, sid: number, p: Buffer): void {
    if (this.hdr && type !== CONTINUATION) throw new Error('expected CONTINUATION');
    switch (type) {
      case DATA: {
        this.recvUnacked += p.length;
        if (this.recvUnacked >= CONN_WINDOW / 2) {
          this.send(frame(WINDOW_UPDATE, 0, 0, u32(this.recvUnacked)));
          this.recvUnacked = 0;
        }
        const s = this.streams.get(sid);
        if (!s) return; // a stream already finished or reset: dropped
        const end = (flags & END_STREAM) !== 0;
        s.recv += p.length;
        if (s.recv >= STREAM_WINDOW / 2 && !end) {
          this.send(frame(WINDOW_UPDATE, 0, sid, u32(s.recv)));
          s.recv = 0;
        }
        const data = flags & PADDED ? p.subarray(1, p.length - p[0]!) : p;
        if (s.sink) s.sink.data(data, end);
        else sendData(s.other, data, end);
        if (end) ended(s);
        return;
      }
      case HEADERS: {
        let start = 0;
        let end = p.length;
        if (flags & PADDED) {
          start = 1;
          end -= p[0]!;
        }
        if (flags & PRIORITY_FLAG) start += 5;
        const part = p.subarray(start, end);
        if (flags & END_HEADERS) this.headers(sid, flags, part);
        else this.hdr = { sid, flags, parts: [Buffer.from(part)] };
        return;
      }
      case CONTINUATION: {
        if (!this.hdr || this.hdr.sid !== sid) throw new Error('unexpected CONTINUATION');
        this.hdr.parts.push(Buffer.from(p));
        if (flags & END_HEADERS) {
          const h = this.hdr;
          this.hdr = null;
          this.headers(h.sid, h.flags, Buffer.concat(h.parts));
        }
        return;
      }
      case RST_STREAM: {
        const s = this.streams.get(sid);
        if (s) {
          resetOther(s, p.readUInt32BE(0));
          remove(s.call);
        }
        return;
      }
      case SETTINGS: {
        if (flags & ACK) return;
        for (let i = 0; i + 6 <= p.length; i += 6) {
          const id = p.readUInt16BE(i);
          const v = p.readUInt32BE(i + 2);
          if (id === 1) this.sizeUpdate = true;
          else if (id === 3) this.peerMaxStreams = v;
          else if (id === 4) {
            for (const s of this.streams.values()) s.win += v - this.peerInitialWindow;
            this.peerInitialWindow = v;
          } else if (id === 5) this.peerMaxFrame = v;
        }
        this.send(frame(SETTINGS, ACK, 0));
        for (const s of this.blocked) flushSide(s);
        return;
      }
      case PING:
        if (!(flags & ACK)) this.send(frame(PING, ACK, 0, p));
        return;
      case WINDOW_UPDATE: {
        const inc = p.readUInt32BE(0) & MAX_STREAM_ID;
        if (sid === 0) {
          this.sendWindow += inc;
          for (const s of this.blocked) flushSide(s);
        } else {
          const s = this.streams.get(sid);
          if (s) {
            s.win += inc;
            flushSide(s);
          }
        }
        return;
      }
      case GOAWAY: {
        if (!this.isUpstream) return; // the client opens no more streams; its socket's close cleans up
        this.draining = true;
        const last = p.readUInt32BE(0) & MAX_STREAM_ID;
        for (const s of [...this.streams.values()]) {
          if (s.sid > last) {
            resetOther(s, REFUSED_STREAM);
            remove(s.call);
          }
        }
        if (this.streams.size === 0) this.sock.end();
        return;
      }
      case PUSH_PROMISE:
        throw new Error('PUSH_PROMISE with push disabled');
      default:
        return; // PRIORITY and unknown types
    }
  }

  private headers(sid: number, flags: number, block: Buffer): void {
    const h = this.dec.decode(block); // always, to keep the HPACK state in step
    const end = (flags & END_STREAM) !== 0;
    const s = this.streams.get(sid);
    if (s) {
      if (s.sink) s.sink.headers(h, end);
      else sendHeaders(s.other, h, end);
      if (end) ended(s);
      return;
    }
    if (this.isUpstream || sid <= this.lastPeerSid || !(sid & 1)) return; // a finished or reset stream
    this.lastPeerSid = sid;
    const up = pickUpstream();
    if (!up) {
      this.send(frame(RST_STREAM, 0, sid, u32(REFUSED_STREAM)));
      return;
    }
    const uid = up.nextSid;
    up.nextSid += 2;
    if (up.nextSid > MAX_STREAM_ID) up.draining = true;
    const call = newCall(this, sid, up, uid);
    this.streams.set(sid, call.up.other); // the client side
    const upSide = call.up;
    up.streams.set(uid, upSide);
    sendHeaders(upSide, h, end);
  }

  private closed(): void {
    if (this.isUpstream) upstreams.delete(this);
    for (const s of [...this.streams.values()]) {
      resetOther(s, this.isUpstream ? INTERNAL_ERROR : CANCEL);
      remove(s.call);
    }
  }
}

function newCall(client: Conn, cid: number, up: Conn, uid: number): Call {
  const call: Call = { done: false, client: null!, up: null! };
  const a: Side = { conn: client, sid: cid, call, win: client.peerInitialWindow, q: null, recv: 0, other: null! };
  const b: Side = { conn: up, sid: uid, call, win: up.peerInitialWindow, q: null, recv: 0, other: a };
  a.other = b;
  call.client = a;
  call.up = b;
  return call;
}

/** RST_STREAM (`code`) on the other side of `s`'s call. */
function resetOther(s: Side, code: number): void {
  if (s.sink) s.sink.reset(code);
  else s.other.conn.send(frame(RST_STREAM, 0, s.other.sid, u32(code)));
}

function sendHeaders(to: Side, h: Headers, end: boolean): void {
  if (to.q) return void to.q.push({ buf: EMPTY, end, h }); // trailers stay behind queued DATA
  writeHeaders(to, h, end);
}
function writeHeaders(to: Side, h: Headers, end: boolean): void {
  const c = to.conn;
  const block = hpackEncode(h, c.sizeUpdate);
  c.sizeUpdate = false;
  let flags = end ? END_STREAM : 0;
  let type = HEADERS;
  for (let off = 0; ; ) {
    const n = Math.min(block.length - off, c.peerMaxFrame);
    const last = off + n >= block.length;
    c.send(frame(type, flags | (last ? END_HEADERS : 0), to.sid, block.subarray(off, off + n)));
    if (last) return;
    off += n;
    type = CONTINUATION;
    flags = 0;
  }
}

function sendData(to: Side, data: Buffer, end: boolean): void {
  if (to.q) to.q.push({ buf: data, end });
  else {
    to.q = [{ buf: data, end }];
    flushSide(to);
  }
}

/** Writes what the stream and connection windows allow of `s`'s queued DATA. */
function flushSide(s: Side): void {
  const c = s.conn;
  const q = s.q;
  if (!q) return;
  while (q.length) {
    const item = q[0]!;
    if (item.h) {
      writeHeaders(s, item.h, item.end);
      q.shift();
      continue;
    }
    const n = Math.min(item.buf.length, c.sendWindow, s.win, c.peerMaxFrame);
    if (n < item.buf.length && n <= 0) {
      c.blocked.add(s);
      return;
    }
    const whole = n === item.buf.length;
    const hdr = Buffer.allocUnsafe(9);
    hdr[0] = n >>> 16;
    hdr[1] = (n >>> 8) & 0xff;
    hdr[2] = n & 0xff;
    hdr[3] = DATA;
    hdr[4] = whole && item.end ? END_STREAM : 0;
    hdr.writeUInt32BE(s.sid, 5);
    c.send(hdr);
    if (n) c.send(item.buf.subarray(0, n));
    c.sendWindow -= n;
    s.win -= n;
    if (whole) q.shift();
    else item.buf = item.buf.subarray(n);
  }
  s.q = null;
  c.blocked.delete(s);
  if (s.call.done) unmap(s);
}

/** `s`'s peer sent END_STREAM. A call is over when the upstream has ended its side. */
function ended(s: Side): void {
  if (s === s.call.up) remove(s.call);
}
function remove(call: Call): void {
  call.done = true;
  if (call.client && !call.client.q) unmap(call.client); // else once its queue is written (flushSide)
  if (!call.up.q) unmap(call.up);
}
function unmap(s: Side): void {
  s.conn.streams.delete(s.sid);
  s.conn.blocked.delete(s);
  s.q = null;
  if (s.conn.isUpstream && s.conn.draining && s.conn.streams.size === 0) s.conn.sock.end();
}

// ---------------------------------------------------------------- upstream pool and listener

let upHost = '';
let upPort = 0;
let UP_CONNS = 1;
const upstreams = new Set<Conn>();
let rr = 0;

function pickUpstream(): Conn | undefined {
  const live = [...upstreams].filter((c) => !c.draining);
  while (live.length < UP_CONNS) {
    const c = new Conn(connect(upPort, upHost), true);
    upstreams.add(c);
    live.push(c);
  }
  for (let i = 0; i < live.length; i++) {
    const c = live[(rr + i) % live.length]!;
    if (c.streams.size < c.peerMaxStreams) {
      rr = (rr + i + 1) % live.length;
      return c;
    }
  }
  return undefined;
}

/** The upstream (`host:port`) and how many connections to spread streams over; connects the first ones. */
export function setUpstream(hostPort: string, conns = 1): void {
  upHost = hostPort.slice(0, hostPort.lastIndexOf(':'));
  upPort = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  UP_CONNS = conns;
  pickUpstream();
}

// ---------------------------------------------------------------- API for a caller with its own client side

/** A stream opened by openUpstream(); its request direction goes through upstreamData / upstreamReset. */
export type UpstreamStream = Side;

let flushQueued = false;
/** Writes what the calls below gathered once the caller's current event (and its nextTicks) is over. */
function flushSoon(): void {
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(() => {
    flushQueued = false;
    flushDirty();
  });
}

/** Opens a stream on an upstream connection with `h` (pseudo-headers first) as its request headers; undefined when none has room. */
export function openUpstream(h: Headers, end: boolean, sink: UpstreamSink): UpstreamStream | undefined {
  const up = pickUpstream();
  if (!up) return undefined;
  const uid = up.nextSid;
  up.nextSid += 2;
  if (up.nextSid > MAX_STREAM_ID) up.draining = true;
  const call: Call = { done: false, client: null, up: null! };
  const s: Side = { conn: up, sid: uid, call, win: up.peerInitialWindow, q: null, recv: 0, other: null!, sink };
  call.up = s;
  up.streams.set(uid, s);
  sendHeaders(s, h, end);
  flushSoon();
  return s;
}

/** Request DATA (`end`: with END_STREAM), within the upstream's windows. */
export function upstreamData(s: UpstreamStream, data: Buffer, end: boolean): void {
  if (s.call.done) return;
  sendData(s, data, end);
  flushSoon();
}

/** RST_STREAM (`code`) to the upstream, unless its call is over. */
export function upstreamReset(s: UpstreamStream, code: number): void {
  if (s.call.done) return;
  s.conn.send(frame(RST_STREAM, 0, s.sid, u32(code)));
  remove(s.call);
  flushSoon();
}

/** Open streams and connections to the upstream (a leak check). */
export function upstreamStats(): { connections: number; streams: number } {
  return { connections: upstreams.size, streams: [...upstreams].reduce((a, c) => a + c.streams.size, 0) };
}

const MAIN = /h2-frame-relay\.ts$/.test(process.argv[1] ?? '');

if (MAIN && process.argv[2] === '--self-test') {
  // RFC 7541 C.4.1-C.4.3: three requests with Huffman strings on one decoder (dynamic table in use).
  const d = new HpackDecoder();
  const want = [
    ':method|GET|:scheme|http|:path|/|:authority|www.example.com',
    ':method|GET|:scheme|http|:path|/|:authority|www.example.com|cache-control|no-cache',
    ':method|GET|:scheme|https|:path|/index.html|:authority|www.example.com|custom-key|custom-value',
  ];
  ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf', '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'].forEach((hex, i) => {
    const h = d.decode(Buffer.from(hex, 'hex'));
    const got = h.filter((_, j) => j % 3 !== 2).join('|');
    if (got !== want[i]) throw new Error(`C.4.${i + 1}: ${got}`);
    const again = new HpackDecoder().decode(hpackEncode(h, true)).filter((_, j) => j % 3 !== 2).join('|');
    if (again !== want[i]) throw new Error(`re-encode C.4.${i + 1}: ${again}`);
  });
  console.log('hpack self-test ok');
  process.exit(0);
}
if (MAIN) {
  const [upstreamArg, portArg, connsArg] = process.argv.slice(2);
  if (!upstreamArg) throw new Error('usage: h2-frame-relay.ts UPSTREAM_HOST:PORT [LISTEN_PORT] [UPSTREAM_CONNS]');
  const clients = new Set<Conn>();
  const server = createServer((sock) => {
    const c = new Conn(sock, false);
    clients.add(c);
    sock.on('close', () => clients.delete(c));
  });
  // kill -USR2: open streams on each side (a leak check after a run).
  process.on('SIGUSR2', () => {
    const n = (s: Set<Conn>) => [...s].reduce((a, c) => a + c.streams.size, 0);
    console.error(`h2-frame-relay: ${clients.size} client connections with ${n(clients)} open streams, ${upstreams.size} upstream connections with ${n(upstreams)} open streams`);
  });
  server.listen(Number(portArg ?? process.env['H2_RELAY_PORT'] ?? 0), '127.0.0.1', () => {
    setUpstream(upstreamArg, Number(connsArg ?? 1)); // connect ahead of the first call
    console.log(`READY ${JSON.stringify({ port: (server.address() as AddressInfo).port })}`);
  });
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
