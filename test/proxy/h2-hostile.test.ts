// Hostile HTTP/2 clients against the proxy's gRPC listener: a corpus any implementation of
// that listener must survive (today node:http2; a frame-level server on node:net is coming).
// Each case attacks with a raw client (h2-raw-client.ts), then checks
//   1. the attacking connection ends within a bounded time (GOAWAY and/or close), or the
//      offending stream is reset: the class of outcome (connection error vs stream error),
//      and for GOAWAY the spec error code where node:http2's is a clear one;
//   2. a fresh @grpc/grpc-js call through the proxy still succeeds;
//   3. where the attack could make the proxy buffer, its heap did not grow without bound
//      (the proxy runs in this process: heapUsed + arrayBuffers, sampled after a GC).
// What node:http2 did is written by each case (t.diagnostic) and in the comments.
//
// The corpus runs against both gRPC servers the proxy has (`grpc.server`): the frame-level
// one (proxy/h2), over h2c and over TLS, and node:http2. Where node:http2 fails a case, the case is marked `todo`
// for it with what node does: a lower stream id is ignored (9), no concurrent-stream limit
// (15), and the socket is left open after nghttp2's GOAWAY for a protocol error (19).
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import type { Proxy } from '../../proxy/index.ts';
import { TestCa, TlsDir } from '../helpers/certs.ts';
import { startProxy } from './helpers.ts';
import {
  DEFAULT_WINDOW,
  ErrorCode,
  FIRST_DYNAMIC_INDEX,
  Flag,
  FrameType,
  RawH2Client,
  Setting,
  continuationFrame,
  dataFrame,
  encodeHeaderBlock,
  errorName,
  grpcMessage,
  grpcRequest,
  headersFrame,
  indexedField,
  literalWithIndexing,
  literalWithoutIndexing,
  parseGoAway,
  pingFrame,
  rstCode,
  rstStreamFrame,
  settingsFrame,
  sleep,
} from './h2-raw-client.ts';
import type { Frame } from './h2-raw-client.ts';


const CLIENT_BODY_MS = 500;
const MiB = 1024 * 1024;
/** A heap (heapUsed + arrayBuffers) growth above this during an attack is "unbounded". */
const HEAP_BOUND = 48 * MiB;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// ---------------------------------------------------------------------------------------
// The upstream: a real grpc-js server.

const id = (b: Buffer) => b;
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path, requestStream, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id,
});
const ECHO = '/test.Hostile/Echo';
const HOLD = '/test.Hostile/Hold';
const BIG = '/test.Hostile/Big';
const PREDICT = '/tensorflow.serving.PredictionService/Predict';
const service: grpc.ServiceDefinition = {
  Echo: method(ECHO, false, false),
  /** Bidi: counted when it starts, never answers, counted again when cancelled. */
  Hold: method(HOLD, true, true),
  /** Server streaming: 1 MiB in 64 KiB messages, written as fast as the stream takes them. */
  Big: method(BIG, false, true),
};
const predictService: grpc.ServiceDefinition = { Predict: method(PREDICT, false, false) };
const BIG_CHUNK = Buffer.alloc(64 * 1024, 0x61);
const BIG_MESSAGES = 16;

const stats = { holdStarted: 0, holdCancelled: 0, bigStarted: 0, bigFinished: 0, predicts: 0 };
const holdActive = () => stats.holdStarted - stats.holdCancelled;

function startUpstream(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])),
    Hold: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      stats.holdStarted++;
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('cancelled', () => stats.holdCancelled++);
    },
    Big: async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      stats.bigStarted++;
      call.on('error', () => undefined);
      let cancelled = call.cancelled;
      const gone = new Promise<void>((r) => call.on('cancelled', () => ((cancelled = true), r())));
      for (let i = 0; i < BIG_MESSAGES && !cancelled; i++) {
        if (!call.write(BIG_CHUNK)) await Promise.race([once(call, 'drain'), gone]);
      }
      if (!cancelled) {
        call.end();
        stats.bigFinished++;
      }
    },
  });
  server.addService(predictService, {
    Predict: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      stats.predicts++;
      cb(null, call.request);
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve({ server, port }))),
  );
}

// ---------------------------------------------------------------------------------------
// Outcomes of an attack.

type Outcome =
  | { kind: 'goaway'; code: number; lastStreamId: number; closed: boolean }
  | { kind: 'closed' }
  | { kind: 'rst'; streamId: number; code: number }
  | { kind: 'none' };

const describeOutcome = (o: Outcome): string =>
  o.kind === 'goaway'
    ? `GOAWAY ${errorName(o.code)}(${o.code}) last-stream-id ${o.lastStreamId}, ${o.closed ? 'then closed' : 'socket left open'}`
    : o.kind === 'rst'
      ? `RST_STREAM ${errorName(o.code)}(${o.code}) on stream ${o.streamId}`
      : o.kind === 'closed'
        ? 'closed without GOAWAY'
        : 'nothing';

/** Waits for GOAWAY, a close, or (with `streamId`) RST_STREAM on that stream; received frames from `from` on. */
async function outcome(c: RawH2Client, timeoutMs: number, streamId?: number, from = 0): Promise<Outcome> {
  const f = await c.waitFor((x) => x.type === FrameType.GOAWAY || (streamId !== undefined && x.type === FrameType.RST_STREAM && x.streamId === streamId), timeoutMs, from);
  if (f?.type === FrameType.GOAWAY) {
    await c.waitForClose(1000);
    const g = parseGoAway(f);
    return { kind: 'goaway', code: g.errorCode, lastStreamId: g.lastStreamId, closed: c.closed };
  }
  if (f) return { kind: 'rst', streamId: f.streamId, code: rstCode(f) };
  return c.closed ? { kind: 'closed' } : { kind: 'none' };
}

/**
 * A connection error: GOAWAY and/or the socket closed. A GOAWAY's code must be one of
 * `codes` when given: the spec's code, plus INTERNAL_ERROR where node:http2 sends that
 * instead (it does whenever node's own JS, not nghttp2, ends the session on a protocol
 * error). Whether the socket also closes after the GOAWAY is checked once, by its own case.
 */
function assertConnectionError(o: Outcome, codes?: readonly number[]): void {
  assert.ok(o.kind === 'goaway' || o.kind === 'closed', `a connection error was expected, got ${describeOutcome(o)}`);
  if (o.kind === 'goaway' && codes) assert.ok(codes.includes(o.code), `GOAWAY ${errorName(o.code)}, expected ${codes.map(errorName).join(' or ')}`);
}

/** A stream error on `streamId` with `code` (RST_STREAM), the connection still usable. */
function assertStreamError(o: Outcome, streamId: number, code?: number): void {
  assert.ok(o.kind === 'rst', `a stream error was expected, got ${describeOutcome(o)}`);
  assert.equal(o.streamId, streamId);
  if (code !== undefined) assert.equal(errorName(o.code), errorName(code), 'the RST_STREAM error code');
}

// ---------------------------------------------------------------------------------------
// Memory: the peak growth of the heap during an attack, sampled after a GC.

const heapNow = () => {
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
};

class MemoryWatch {
  readonly #base: { heap: number; rss: number };
  #peak: { heap: number; rss: number };
  readonly #timer: NodeJS.Timeout;
  constructor(everyMs = 100) {
    gc();
    this.#base = heapNow();
    this.#peak = { ...this.#base };
    this.#timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): void {
    gc();
    const m = heapNow();
    this.#peak = { heap: Math.max(this.#peak.heap, m.heap), rss: Math.max(this.#peak.rss, m.rss) };
  }
  /** Stops sampling; the peak growth over the start. */
  stop(): { heap: number; rss: number } {
    clearInterval(this.#timer);
    this.sample();
    return { heap: this.#peak.heap - this.#base.heap, rss: this.#peak.rss - this.#base.rss };
  }
}

const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

function assertHeapBounded(t: TestContext, growth: { heap: number; rss: number }, bound = HEAP_BOUND): void {
  t.diagnostic(`peak growth: heap+buffers ${mb(growth.heap)}, rss ${mb(growth.rss)}`);
  assert.ok(growth.heap < bound, `heap grew by ${mb(growth.heap)} (bound ${mb(bound)})`);
}

// ---------------------------------------------------------------------------------------

// The frame-level server runs the corpus twice: over h2c and over TLS (ALPN h2).
for (const [server, overTls] of [['frames', false], ['frames', true], ['http2', false]] as const) describe(`a hostile HTTP/2 client does not take the gRPC listener down (${server} server${overTls ? ', TLS' : ''})`, () => {
  let upstream: grpc.Server;
  let proxy: Proxy;
  let address: string;
  const clients: RawH2Client[] = [];
  const Client = grpc.makeGenericClientConstructor(service, 'Hostile');
  const ca = overTls ? TestCa.create('hostile-test CA') : undefined;
  let certDir: TlsDir | undefined;

  before(async () => {
    const up = await startUpstream();
    upstream = up.server;
    certDir = ca ? await TlsDir.create() : undefined;
    const tls = ca && certDir ? { tls: await certDir.putPair(ca.issue()) } : {};
    ({ proxy } = await startProxy({
      grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${up.port}`, server, client: server, ...tls },
      timeouts: { upstream: '5s', clientBody: `${CLIENT_BODY_MS}ms` },
    }));
    address = proxy.grpcAddress!;
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await proxy.close();
    upstream.forceShutdown();
    await certDir?.remove();
  });

  async function rawClient(opts: Parameters<typeof RawH2Client.connect>[1] = {}): Promise<RawH2Client> {
    const c = await RawH2Client.connect(address, ca ? { ...opts, tls: { ca: ca.cert } } : opts);
    clients.push(c);
    return c;
  }
  /** A raw client past the handshake. */
  async function opened(params: ReadonlyArray<readonly [number, number]> = []): Promise<RawH2Client> {
    const c = await rawClient();
    await c.handshake(params);
    return c;
  }
  const request = (path: string, extra: ReadonlyArray<readonly [string, string]> = []) => encodeHeaderBlock(grpcRequest(address, path, extra));

  /** A fresh grpc-js client's unary call through the proxy. */
  async function assertProxyServes(): Promise<void> {
    const credentials = ca ? grpc.credentials.createSsl(Buffer.from(ca.cert)) : grpc.credentials.createInsecure();
    const client = new Client(address, credentials) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
    try {
      const res = await new Promise<Buffer>((resolve, reject) =>
        (client['Echo'] as (r: Buffer, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void)(
          Buffer.from('still-here'), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r!)),
        ),
      );
      assert.equal(res.toString(), 'echo:still-here');
    } finally {
      client.close();
    }
  }

  // 1 -------------------------------------------------------------------------------------
  test('a connection that starts with an HTTP/1.1 request instead of the preface is ended', { timeout: 15_000 }, async (t) => {
    const c = await rawClient();
    c.write(Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n', 'latin1'));
    const o = await outcome(c, 3000);
    t.diagnostic(`${server}: ${describeOutcome(o)}; ${c.received} bytes back`);
    // node:http2: its SETTINGS, then GOAWAY INTERNAL_ERROR last-stream-id 0, then closes.
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR, ErrorCode.INTERNAL_ERROR]);
    await assertProxyServes();
  });

  test('a connection that starts with random bytes instead of the preface is ended', { timeout: 15_000 }, async (t) => {
    const c = await rawClient();
    // A fixed "random" sequence (xorshift), so a failure is repeatable.
    let x = 0x9e3779b9;
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      junk[i] = x & 0xff;
    }
    c.write(junk);
    const o = await outcome(c, 3000);
    t.diagnostic(`${server}: ${describeOutcome(o)}; ${c.received} bytes back`);
    // node:http2: its SETTINGS, then GOAWAY INTERNAL_ERROR last-stream-id 0, then closes.
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR, ErrorCode.INTERNAL_ERROR]);
    await assertProxyServes();
  });

  // 2 -------------------------------------------------------------------------------------
  test('a connection whose first frame after the preface is not SETTINGS is ended with PROTOCOL_ERROR', { timeout: 15_000 }, async (t) => {
    const c = await rawClient();
    c.preface();
    c.write(pingFrame(Buffer.from('notsetts')));
    const o = await outcome(c, 3000);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    // node:http2: GOAWAY INTERNAL_ERROR last-stream-id 0, then closes.
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR, ErrorCode.INTERNAL_ERROR]);
    await assertProxyServes();
  });

  // 3 -------------------------------------------------------------------------------------
  test('a frame larger than SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    const max = c.serverSettings!.get(Setting.MAX_FRAME_SIZE) ?? 16_384;
    c.headers(1, request(HOLD));
    c.data(1, Buffer.alloc(max + 1024, 0x62));
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`server MAX_FRAME_SIZE ${max}; ${server}: ${describeOutcome(o)}`);
    // node:http2 (nghttp2): GOAWAY FRAME_SIZE_ERROR last-stream-id 1 (the socket stays open: see the last case).
    assertConnectionError(o, [ErrorCode.FRAME_SIZE_ERROR]);
    await assertProxyServes();
  });

  // 4 -------------------------------------------------------------------------------------
  test('rapid reset (CVE-2023-44487): up to 5000 HEADERS+RST_STREAM pairs reach the upstream as at most ~1000 calls (the reset budget), all cancelled', { timeout: 30_000 }, async (t) => {
    const c = await opened();
    const startedBefore = stats.holdStarted;
    const watch = new MemoryWatch();
    const block = request(HOLD);
    const PAIRS = 5000;
    const sent = await c.flood((i) => Buffer.concat([headersFrame(2 * i + 1, block), rstStreamFrame(2 * i + 1, ErrorCode.CANCEL)]), PAIRS, { batch: 100, deadlineMs: 10_000 });
    const o = await outcome(c, 3000);
    // Whatever reached the upstream is cancelled there once the dust settles.
    const deadline = Date.now() + 5000;
    while (holdActive() > 0 && Date.now() < deadline) await sleep(50);
    const growth = watch.stop();
    const reached = stats.holdStarted - startedBefore;
    t.diagnostic(`sent ${sent}/${PAIRS} pairs; ${server}: ${describeOutcome(o)}; upstream saw ${reached} calls, ${holdActive()} still active`);
    // node:http2: GOAWAY INTERNAL_ERROR with last-stream-id ~2001 (nghttp2's reset rate limit,
    // a burst of 1000), the upstream saw ~1060 calls, all cancelled within the wait.
    assert.ok(o.kind !== 'rst');
    if (o.kind === 'goaway') assertConnectionError(o, [ErrorCode.ENHANCE_YOUR_CALM, ErrorCode.INTERNAL_ERROR]);
    assert.ok(o.kind !== 'none' || holdActive() === 0, 'the connection ends, or every call it opened is cancelled');
    assert.equal(holdActive(), 0, 'no call of the attack is left open upstream');
    // Bounded by the reset budget (a burst of 1000, nghttp2's and the frames server's), however
    // many pairs the client got out before the GOAWAY: 4000-5000 over h2c, ~1400 over TLS,
    // where each pair costs the attacker more and the connection ends sooner.
    assert.ok(reached <= 1200 && reached < sent, `the upstream saw ${reached} of ${sent} calls`);
    assertHeapBounded(t, growth);
    await assertProxyServes();
  });

  // 5 -------------------------------------------------------------------------------------
  test('a CONTINUATION flood (CVE-2024-27983) is cut before 10 MB are sent, or costs bounded memory', { timeout: 30_000 }, async (t) => {
    const c = await opened();
    const watch = new MemoryWatch();
    // Valid HPACK all along (so the decoder has no reason to stop but the flood itself).
    const field = literalWithoutIndexing('x-flood', 'f'.repeat(200));
    const piece = Buffer.concat(Array.from({ length: Math.floor(16_000 / field.length) }, () => field));
    c.headers(1, request(HOLD), { endHeaders: false });
    const TOTAL = Math.ceil((10 * MiB) / piece.length);
    const sent = await c.flood(continuationFrame(1, piece, false), TOTAL, { batch: 8, deadlineMs: 10_000 });
    const o = await outcome(c, 3000);
    const growth = watch.stop();
    const resets = c.framesOf(FrameType.RST_STREAM, 1).map((f) => errorName(rstCode(f)));
    t.diagnostic(`sent ${sent}/${TOTAL} CONTINUATION frames (${mb(sent * piece.length)}); RST_STREAM on stream 1: ${resets.join(', ') || 'none'}; ${server}: ${describeOutcome(o)}`);
    // node:http2: RST_STREAM ENHANCE_YOUR_CALM on stream 1 once the header list passes its
    // limit, then GOAWAY INTERNAL_ERROR and a close after ~240 of the 663 frames (~3.6 MB
    // written, part of it still in socket buffers).
    assert.ok(sent < TOTAL || growth.heap < HEAP_BOUND, 'either cut before the end or bounded');
    assertConnectionError(o);
    assertHeapBounded(t, growth);
    await assertProxyServes();
  });

  // 6 -------------------------------------------------------------------------------------
  test('an HPACK bomb (a 4000-byte table entry referenced 4000 times) is refused as a stream error without decoding 16 MB', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    const watch = new MemoryWatch();
    // Stream 1: a whole call whose header block puts a 4000-byte entry into the dynamic table.
    c.headers(1, Buffer.concat([request(ECHO), literalWithIndexing('x-bomb', 'b'.repeat(4000))]));
    c.data(1, grpcMessage(Buffer.from('one')), true);
    const ended = (sid: number) => (f: Frame) => f.streamId === sid && (f.type === FrameType.RST_STREAM || (f.flags & Flag.END_STREAM) !== 0);
    const first = await c.waitFor(ended(1), 3000);
    // Stream 3: the entry once, by index: an ordinary call (proves the index names the entry).
    c.headers(3, Buffer.concat([request(ECHO), indexedField(FIRST_DYNAMIC_INDEX)]));
    c.data(3, grpcMessage(Buffer.from('two')), true);
    const second = await c.waitFor(ended(3), 3000);
    // Stream 5: the entry 4000 times (4 KB on the wire, 16 MB decoded).
    const from = c.frames.length;
    c.headers(5, Buffer.concat([request(ECHO), ...Array.from({ length: 4000 }, () => indexedField(FIRST_DYNAMIC_INDEX))]), { endStream: true });
    const o = await outcome(c, 3000, 5, from);
    const growth = watch.stop();
    const said = (f: Frame | undefined) => (!f ? 'nothing' : f.type === FrameType.RST_STREAM ? `RST_STREAM ${errorName(rstCode(f))}` : 'answered');
    t.diagnostic(`stream 1: ${said(first)}; stream 3: ${said(second)}; stream 5: ${server}: ${describeOutcome(o)}`);
    assert.equal(said(first), 'answered', 'a 4000-byte header (entered in the table) is within limits');
    assert.equal(said(second), 'answered', 'the entry referenced once is within limits');
    // node:http2: streams 1 and 3 answered; stream 5 RST_STREAM ENHANCE_YOUR_CALM (its header
    // list limits), the connection kept. A stream error: the client's other calls live on.
    assertStreamError(o, 5, ErrorCode.ENHANCE_YOUR_CALM);
    assertHeapBounded(t, growth);
    await assertProxyServes();
  });

  // 7 -------------------------------------------------------------------------------------
  test('a header list of 1000 small fields is refused', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    const extra = Array.from({ length: 1000 }, (_, i) => [`x-h${i}`, 'v'] as const);
    c.headers(1, request(ECHO, extra), { endStream: true });
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    // node:http2: RST_STREAM ENHANCE_YOUR_CALM (more than maxHeaderListPairs), connection kept.
    assertStreamError(o, 1, ErrorCode.ENHANCE_YOUR_CALM);
    await assertProxyServes();
  });

  test('a header with a 100 KB value is refused', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    const block = request(ECHO, [['x-big', 'v'.repeat(100 * 1024)]]);
    // Split over HEADERS + CONTINUATION frames of 16 KB.
    const parts: Buffer[] = [];
    for (let off = 0; off < block.length; off += 16_000) parts.push(block.subarray(off, off + 16_000));
    c.write(headersFrame(1, parts[0]!, { endHeaders: parts.length === 1, endStream: true }));
    parts.slice(1).forEach((p, i) => c.write(continuationFrame(1, p, i === parts.length - 2)));
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`${parts.length} frames; ${server}: ${describeOutcome(o)}`);
    // node:http2 (nghttp2's HPACK decoder refuses a field over 64 KB): GOAWAY COMPRESSION_ERROR;
    // the frames server refuses the block's size before decoding it: ENHANCE_YOUR_CALM.
    assertConnectionError(o, [server === 'http2' ? ErrorCode.COMPRESSION_ERROR : ErrorCode.ENHANCE_YOUR_CALM]);
    await assertProxyServes();
  });

  // 8 -------------------------------------------------------------------------------------
  test('CONTINUATION on another stream than its HEADERS is a PROTOCOL_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    const block = request(HOLD);
    c.headers(1, block.subarray(0, 10), { endHeaders: false });
    c.continuation(3, block.subarray(10), true);
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR]);
    await assertProxyServes();
  });

  test('CONTINUATION without a HEADERS before it is a PROTOCOL_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    c.continuation(1, request(HOLD), true);
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR]);
    await assertProxyServes();
  });

  test('a DATA frame inside a header block is a PROTOCOL_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    const block = request(HOLD);
    c.headers(1, block.subarray(0, 10), { endHeaders: false });
    c.data(1, grpcMessage(Buffer.from('x')));
    c.continuation(1, block.subarray(10), true);
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR]);
    await assertProxyServes();
  });

  // 9 -------------------------------------------------------------------------------------
  test('HEADERS on an even (server-initiated) stream id is a PROTOCOL_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    c.headers(2, request(ECHO), { endStream: true });
    const o = await outcome(c, 3000, 2);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    // node:http2: GOAWAY INTERNAL_ERROR last-stream-id 0, then closes.
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR, ErrorCode.INTERNAL_ERROR]);
    await assertProxyServes();
  });

  // RFC 9113 §5.1.1: an unexpected (lower) stream id MUST be a connection error PROTOCOL_ERROR.
  test('HEADERS on a stream id lower than one already used is a PROTOCOL_ERROR for the connection', {
    timeout: 15_000,
    todo: server === 'http2' ? 'node:http2: ignores the HEADERS on stream 3 after stream 5 (nghttp2 takes it for a stream it closed): no GOAWAY, no RST_STREAM, the call never starts, the connection stays' : false,
  }, async (t) => {
    const c = await opened();
    const startedBefore = stats.holdStarted;
    c.headers(5, request(HOLD));
    c.headers(3, request(HOLD));
    const o = await outcome(c, 2000, 3);
    await sleep(100);
    t.diagnostic(`${server}: ${describeOutcome(o)}; the upstream saw ${stats.holdStarted - startedBefore} calls`);
    c.destroy();
    assert.ok(stats.holdStarted - startedBefore <= 1, 'stream 3 never becomes a call');
    await assertProxyServes();
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR]);
    await assertProxyServes();
  });

  // 10 ------------------------------------------------------------------------------------
  test('DATA on a stream that was never opened is a PROTOCOL_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    c.data(1, grpcMessage(Buffer.from('x')));
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR]);
    await assertProxyServes();
  });

  test('DATA on stream 0 is a PROTOCOL_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    c.data(0, grpcMessage(Buffer.from('x')));
    const o = await outcome(c, 3000);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR]);
    await assertProxyServes();
  });

  // 11 ------------------------------------------------------------------------------------
  test('WINDOW_UPDATE with increment 0 on the connection is a PROTOCOL_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    c.windowUpdate(0, 0);
    const o = await outcome(c, 3000);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    // node:http2: GOAWAY INTERNAL_ERROR last-stream-id 0, then closes.
    assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR, ErrorCode.INTERNAL_ERROR]);
    await assertProxyServes();
  });

  test('WINDOW_UPDATE with increment 0 on an open stream is a PROTOCOL_ERROR for that stream', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    c.headers(1, request(HOLD));
    c.windowUpdate(1, 0);
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    // node:http2: GOAWAY INTERNAL_ERROR last-stream-id 1, then closes: a connection error where
    // the RFC asks for a stream error (§6.9), which it allows (§5.4.1). Either is accepted.
    assert.ok(o.kind !== 'none', 'refused');
    if (o.kind === 'rst') assertStreamError(o, 1, ErrorCode.PROTOCOL_ERROR);
    else assertConnectionError(o, [ErrorCode.PROTOCOL_ERROR, ErrorCode.INTERNAL_ERROR]);
    c.destroy();
    await assertProxyServes();
  });

  test('WINDOW_UPDATE that takes the connection window past 2^31-1 is a FLOW_CONTROL_ERROR for the connection', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    c.windowUpdate(0, 0x7fffffff);
    const o = await outcome(c, 3000);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    // node:http2: GOAWAY INTERNAL_ERROR last-stream-id 0, then closes.
    assertConnectionError(o, [ErrorCode.FLOW_CONTROL_ERROR, ErrorCode.INTERNAL_ERROR]);
    await assertProxyServes();
  });

  test('WINDOW_UPDATE that takes a stream window past 2^31-1 is a FLOW_CONTROL_ERROR for that stream', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    c.headers(1, request(HOLD));
    c.windowUpdate(1, 0x7fffffff);
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`${server}: ${describeOutcome(o)}`);
    // node:http2: RST_STREAM FLOW_CONTROL_ERROR on stream 1, the connection kept.
    assertStreamError(o, 1, ErrorCode.FLOW_CONTROL_ERROR);
    c.destroy();
    await assertProxyServes();
  });

  // 12 ------------------------------------------------------------------------------------
  test('DATA beyond the flow-control window the server advertised is a FLOW_CONTROL_ERROR', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    const streamWindow = c.serverSettings!.get(Setting.INITIAL_WINDOW_SIZE) ?? DEFAULT_WINDOW;
    // The connection window: 65535 plus any WINDOW_UPDATE on stream 0 so far.
    await sleep(50);
    const connWindow = DEFAULT_WINDOW + c.framesOf(FrameType.WINDOW_UPDATE, 0).reduce((n, f) => n + (f.payload.readUInt32BE(0) & 0x7fffffff), 0);
    const window = Math.min(streamWindow, connWindow);
    const total = Math.max(streamWindow, connWindow) + 128 * 1024;
    c.headers(1, request(HOLD));
    const frames: Buffer[] = [];
    for (let n = 0; n < total; n += 16_000) frames.push(dataFrame(1, Buffer.alloc(Math.min(16_000, total - n), 0x63)));
    c.write(Buffer.concat(frames)); // all at once: no WINDOW_UPDATE can be waited for
    const o = await outcome(c, 3000, 1);
    t.diagnostic(`windows: stream ${streamWindow}, connection ${connWindow}; sent ${total} bytes (${total - window} over); ${server}: ${describeOutcome(o)}`);
    // node:http2: RST_STREAM FLOW_CONTROL_ERROR on stream 1 (nghttp2 had already credited the
    // connection window back). Both windows are overrun, so a connection error
    // FLOW_CONTROL_ERROR is as right (RFC 9113 §6.9.1) and is accepted too.
    assert.ok(o.kind !== 'none', 'refused');
    if (o.kind === 'rst') assertStreamError(o, 1, ErrorCode.FLOW_CONTROL_ERROR);
    else assertConnectionError(o, [ErrorCode.FLOW_CONTROL_ERROR, ErrorCode.INTERNAL_ERROR]);
    c.destroy();
    await assertProxyServes();
  });

  // 13 ------------------------------------------------------------------------------------
  test('a flood of 100k PINGs from a client that reads nothing ends its connection, in bounded memory', { timeout: 30_000 }, async (t) => {
    const c = await opened();
    c.pause();
    const watch = new MemoryWatch();
    const sent = await c.flood((i) => pingFrame(Buffer.from(String(i).padStart(8, '0'))), 100_000, { batch: 1000, deadlineMs: 5000 });
    c.resume();
    const o = await outcome(c, 5000);
    const growth = watch.stop();
    t.diagnostic(`sent ${sent} PINGs, ${c.framesOf(FrameType.PING).length} ACKs read; ${server}: ${describeOutcome(o)}`);
    // node:http2: closed without GOAWAY after ~21k frames (nghttp2's limit on queued ACKs).
    assertConnectionError(o, [ErrorCode.ENHANCE_YOUR_CALM]);
    assertHeapBounded(t, growth);
    await assertProxyServes();
  });

  test('a flood of 100k SETTINGS from a client that reads nothing ends its connection, in bounded memory', { timeout: 30_000 }, async (t) => {
    const c = await opened();
    c.pause();
    const watch = new MemoryWatch();
    const sent = await c.flood(settingsFrame([[Setting.ENABLE_PUSH, 0]]), 100_000, { batch: 1000, deadlineMs: 5000 });
    c.resume();
    const o = await outcome(c, 5000);
    const growth = watch.stop();
    t.diagnostic(`sent ${sent} SETTINGS, ${c.framesOf(FrameType.SETTINGS).filter((f) => f.flags & Flag.ACK).length} ACKs read; ${server}: ${describeOutcome(o)}`);
    // node:http2: closed without GOAWAY after ~21k frames (nghttp2's limit on queued ACKs).
    assertConnectionError(o, [ErrorCode.ENHANCE_YOUR_CALM]);
    assertHeapBounded(t, growth);
    await assertProxyServes();
  });

  // 14 ------------------------------------------------------------------------------------
  test('a flood of 100k empty DATA frames (CVE-2019-9518) on an open stream ends the connection', { timeout: 30_000 }, async (t) => {
    const c = await opened();
    const watch = new MemoryWatch();
    c.headers(1, request(HOLD));
    const sent = await c.flood(dataFrame(1, Buffer.alloc(0)), 100_000, { batch: 1000, deadlineMs: 8000 });
    const o = await outcome(c, 5000, 1);
    const growth = watch.stop();
    t.diagnostic(`sent ${sent} empty DATA frames; ${server}: ${describeOutcome(o)}`);
    // node:http2: GOAWAY INTERNAL_ERROR then a close (maxSessionInvalidFrames, 1000), ~20k frames written.
    assertConnectionError(o, [ErrorCode.ENHANCE_YOUR_CALM, ErrorCode.PROTOCOL_ERROR, ErrorCode.INTERNAL_ERROR]);
    assertHeapBounded(t, growth);
    await assertProxyServes();
  });

  // 15 ------------------------------------------------------------------------------------
  /** What case 15's attack saw, for its second half. */
  let concurrency: { max: number | undefined; opened: number; reached: number; refused: number; outcome: Outcome } | undefined;

  test('2000 streams opened at once on one connection are all cancelled upstream when it goes, in bounded memory', { timeout: 30_000 }, async (t) => {
    const c = await opened();
    const max = c.serverSettings!.get(Setting.MAX_CONCURRENT_STREAMS);
    const N = max === undefined || max > 2000 ? 2000 : max + 100;
    const startedBefore = stats.holdStarted;
    const watch = new MemoryWatch();
    const block = request(HOLD);
    const sent = await c.flood((i) => headersFrame(2 * i + 1, block), N, { batch: 100, deadlineMs: 8000 });
    await sleep(1000);
    const reached = stats.holdStarted - startedBefore;
    const refusals = new Set<number>([ErrorCode.REFUSED_STREAM, ErrorCode.PROTOCOL_ERROR, ErrorCode.ENHANCE_YOUR_CALM]);
    const refused = c.framesOf(FrameType.RST_STREAM).filter((f) => refusals.has(rstCode(f))).length;
    const o = await outcome(c, 10);
    concurrency = { max, opened: sent, reached, refused, outcome: o };
    t.diagnostic(`server MAX_CONCURRENT_STREAMS ${max ?? 'absent (unlimited)'}; opened ${sent}; upstream saw ${reached}, ${refused} refused by RST_STREAM; connection: ${describeOutcome(o)}`);
    await c.close();
    // Whatever was opened is cancelled upstream once the attacker is gone.
    const deadline = Date.now() + 5000;
    while (holdActive() > 0 && Date.now() < deadline) await sleep(50);
    const growth = watch.stop();
    assert.equal(holdActive(), 0, 'no call is left open upstream after the attacker closed');
    assertHeapBounded(t, growth);
    await assertProxyServes();
  });

  // RFC 9113 §5.1.2: streams over the advertised limit get PROTOCOL_ERROR or REFUSED_STREAM.
  // Unlimited (no MAX_CONCURRENT_STREAMS), one connection may hold any number of upstream
  // calls: at most 1000 are accepted here as "bounded".
  test('streams beyond SETTINGS_MAX_CONCURRENT_STREAMS (or beyond 1000 when unlimited) are refused', {
    todo: server === 'http2' ? 'node:http2: advertises no MAX_CONCURRENT_STREAMS (unlimited) and forwards all 2000 streams of one connection upstream, refusing none' : false,
  }, (t) => {
    assert.ok(concurrency, 'the case before ran');
    const { max, opened: n, reached, refused, outcome: o } = concurrency;
    t.diagnostic(`MAX_CONCURRENT_STREAMS ${max ?? 'absent'}; opened ${n}, upstream saw ${reached}, refused ${refused}; ${describeOutcome(o)}`);
    const bound = max === undefined || max > 1000 ? 1000 : max;
    assert.ok(reached <= bound || o.kind === 'goaway' || o.kind === 'closed', `the upstream saw ${reached} concurrent calls from one connection (bound ${bound})`);
    if (max !== undefined && max < n) assert.ok(refused >= n - max, `${refused} of the ${n - max} streams over the limit refused`);
  });

  // 16 ------------------------------------------------------------------------------------
  test('a client that never reads its 200 large responses does not make the proxy buffer them', { timeout: 30_000 }, async (t) => {
    // Windows wide open: only the client not reading its socket holds the proxy back.
    const c = await opened([[Setting.INITIAL_WINDOW_SIZE, 0x7fffffff]]);
    c.windowUpdate(0, 0x7fffffff - DEFAULT_WINDOW);
    c.pause();
    const watch = new MemoryWatch(200);
    const bigBefore = stats.bigStarted;
    const bigFinishedBefore = stats.bigFinished;
    const block = request(BIG);
    const msg = grpcMessage(Buffer.from('go'));
    const CALLS = 200;
    for (let i = 0; i < CALLS; i++) c.write(Buffer.concat([headersFrame(2 * i + 1, block), dataFrame(2 * i + 1, msg, true)]));
    const started = Date.now();
    while (stats.bigStarted - bigBefore < CALLS && Date.now() - started < 5000) await sleep(50);
    await sleep(2000); // the upstream writes as fast as it is let
    await assertProxyServes(); // others are served meanwhile
    const growth = watch.stop();
    const finished = stats.bigFinished - bigFinishedBefore;
    t.diagnostic(`upstream started ${stats.bigStarted - bigBefore} of ${CALLS} calls (${mb(CALLS * BIG_MESSAGES * BIG_CHUNK.length)} of responses), ${finished} wrote their whole answer`);
    // node:http2: ~33 MiB peak alone, up to ~45 MiB after the cases before (per-stream
    // buffers on both sides, ~160 KB a call, not 1 MiB), and the upstream held back: the
    // backpressure reaches it. Buffering the answers would be 200 MiB.
    assertHeapBounded(t, growth, 96 * MiB);
    assert.ok(finished < CALLS / 2, `${finished} of ${CALLS} upstream calls could write 1 MiB to a client that reads nothing`);
    await c.close();
    await assertProxyServes();
  });

  // 17 ------------------------------------------------------------------------------------
  test('a unary call whose client sends HEADERS and then nothing is ended by the client body timeout', { timeout: 15_000 }, async (t) => {
    const c = await opened();
    const sentAt = Date.now();
    c.headers(1, request(PREDICT));
    const f = await c.waitFor((x) => x.streamId === 1 && (x.type === FrameType.RST_STREAM || (x.type === FrameType.HEADERS && (x.flags & Flag.END_STREAM) !== 0)), CLIENT_BODY_MS + 3000);
    const elapsed = Date.now() - sentAt;
    await sleep(100);
    const s1 = c.frames.filter((x: Frame) => x.streamId === 1).map((x) => (x.type === FrameType.RST_STREAM ? `RST_STREAM ${errorName(rstCode(x))}` : `${Object.entries(FrameType).find(([, v]) => v === x.type)?.[0]}${x.flags & Flag.END_STREAM ? ' END_STREAM' : ''}`));
    t.diagnostic(`after ${elapsed} ms; stream 1: ${s1.join(', ') || 'nothing'}; connection: ${c.goaway ? 'GOAWAY' : c.closed ? 'closed' : 'open'}`);
    // node:http2 listener: after ~500 ms a Trailers-Only HEADERS with END_STREAM (grpc-status
    // CANCELLED from the proxy's body timer), then RST_STREAM NO_ERROR; the connection stays.
    assert.ok(f, 'the call is ended (trailers with END_STREAM, or RST_STREAM)');
    assert.ok(elapsed >= CLIENT_BODY_MS * 0.8, `not before the body timeout (${elapsed} ms)`);
    assert.ok(!c.closed && !c.goaway, 'a stream matter: the connection stays');
    await assertProxyServes();
  });

  // 18 ------------------------------------------------------------------------------------
  test('a connection that sends the preface and then nothing does not keep others from being served', { timeout: 15_000 }, async (t) => {
    const c = await rawClient();
    c.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), settingsFrame()]));
    const o = await outcome(c, 3000);
    t.diagnostic(`within 3 s, ${server}: ${describeOutcome(o)}; frames back: ${c.frames.map((f) => f.type).join(',')}`);
    // node:http2: answers with its SETTINGS and the SETTINGS ACK, then keeps the connection
    // open (no idle timeout on the listener's sessions): nothing else within 3 s. Only that
    // others are still served is asserted.
    assert.ok(o.kind !== 'rst');
    await assertProxyServes();
  });

  // 19 ------------------------------------------------------------------------------------
  // A GOAWAY for a protocol error says the connection is over; an endpoint that keeps the
  // socket open after it keeps a file descriptor per attacker for as long as the attacker likes.
  test('a connection the listener sent GOAWAY PROTOCOL_ERROR is also closed by the listener', {
    timeout: 15_000,
    todo: server === 'http2' ? 'node:http2: after the GOAWAY nghttp2 sends for a protocol error (DATA on stream 0, CONTINUATION misuse, DATA on an idle stream, an oversized frame), the socket stays open (seen for 20 s) until the client closes it' : false,
  }, async (t) => {
    const c = await opened();
    c.data(0, grpcMessage(Buffer.from('x')));
    const f = await c.waitFor((x) => x.type === FrameType.GOAWAY, 3000);
    const closed = await c.waitForClose(2000);
    t.diagnostic(`${server}: ${f ? `GOAWAY ${errorName(parseGoAway(f).errorCode)}` : 'no GOAWAY'}, socket ${closed ? 'closed' : 'still open 2 s later'}`);
    c.destroy();
    assert.ok(closed || (!f && c.closed), 'the socket is closed within 2 s of the GOAWAY');
  });
});
