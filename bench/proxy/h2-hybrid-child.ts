// Benchmark spike, not production code: a HYBRID unary-gRPC pass-through. Clients meet a
// node:http2 (h2c) server, as in proxy/grpc.ts (same server options, no Nagle); each
// incoming stream becomes a stream on a frame-level h2c connection to the upstream, the
// spike's code in h2-frame-relay.ts (its HPACK codec, frame writer, flow control), so there
// is no ClientHttp2Session / ClientHttp2Stream per call. Request headers (minus
// connection-specific ones), DATA and end go up; response headers, DATA and trailers come
// back (respond + waitForTrailers → 'wantTrailers' → sendTrailers, or respond with
// endStream for a Trailers-Only answer); RST_STREAM is mapped both ways. No modelgate
// features (labels, metrics, timeouts, admission), so it compares with h2-bare-child.ts and
// h2-frame-relay.ts. No backpressure: writes to either side are never paused (as the spike).
//   node --import tsx bench/proxy/h2-hybrid-child.ts UPSTREAM_HOST:PORT [UPSTREAM_CONNS]
// Prints "READY {port}". kill -USR2 prints open calls and upstream streams to stderr.
import http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { openUpstream, setUpstream, upstreamData, upstreamReset, upstreamStats } from './h2-frame-relay.ts';
import type { Headers, UpstreamSink, UpstreamStream } from './h2-frame-relay.ts';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
// Connection-specific headers are forbidden in HTTP/2 (RFC 9113 §8.2.2); as proxy/grpc.ts.
const FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);
const EMPTY = Buffer.alloc(0);
// proxy/grpc.ts createGrpcServer: maxSendHeaderBlockLength is config limits.maxHeaderBytes (default 16 KiB, proxy/config.ts).
const SERVER_OPTIONS = { maxHeaderListPairs: 256, maxSendHeaderBlockLength: 16 * 1024 };

/** The upstream's header list as a node:http2 headers object, connection-specific headers left out. */
function toObject(h: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i < h.length; i += 3) {
    const name = h[i] as string;
    if (FORBIDDEN.has(name)) continue;
    const value = h[i + 1] as string;
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had as string, value];
  }
  return out;
}

let open = 0;

/** One call: the client's stream on our node:http2 server, a stream on a frame-level upstream connection. */
class HybridCall implements UpstreamSink {
  up: UpstreamStream | undefined;
  trailers: OutgoingHttpHeaders | undefined;
  responded = false;
  done = false;

  constructor(readonly stream: ServerHttp2Stream) {}

  start(raw: string[], flags: number): void {
    const stream = this.stream;
    open++;
    const h: Headers = [];
    for (let i = 0; i < raw.length; i += 2) if (!FORBIDDEN.has(raw[i]!)) h.push(raw[i]!, raw[i + 1]!, false);
    // A request whose HEADERS ended the stream (no body) goes up ended too.
    const endNow = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    this.up = openUpstream(h, endNow, this);
    if (!this.up) {
      this.finish();
      stream.close(NGHTTP2_REFUSED_STREAM);
      return;
    }
    stream.on('error', () => undefined); // client resets surface as 'close'
    stream.on('wantTrailers', () => stream.sendTrailers(this.trailers ?? { 'grpc-status': '2' }));
    stream.on('data', (c: Buffer) => upstreamData(this.up!, c, false));
    stream.on('end', () => endNow || upstreamData(this.up!, EMPTY, true));
    stream.on('close', () => {
      // Closed before the upstream's answer ended: the client reset it (or went away).
      if (!this.done) upstreamReset(this.up!, stream.rstCode && stream.rstCode !== NGHTTP2_NO_ERROR ? stream.rstCode : NGHTTP2_CANCEL);
      this.finish();
    });
  }

  // UpstreamSink: called from the upstream connection's read; must not throw into it.
  headers(h: Headers, end: boolean): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    try {
      if (!this.responded) {
        this.responded = true;
        if (end) {
          stream.respond(toObject(h), { endStream: true }); // Trailers-Only
          this.finish();
        } else stream.respond(toObject(h), { waitForTrailers: true });
      } else {
        this.trailers = toObject(h);
        if (end) {
          this.finish();
          stream.end();
        }
      }
    } catch {
      this.fail(NGHTTP2_INTERNAL_ERROR);
    }
  }
  data(b: Buffer, end: boolean): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (b.length) stream.write(b); // a view into the upstream socket's read chunk (node does not reuse it)
    if (end) {
      this.finish();
      stream.end(); // no trailers from the upstream: 'wantTrailers' sends grpc-status UNKNOWN
    }
  }
  reset(code: number): void {
    this.fail(code);
  }

  private fail(code: number): void {
    this.finish();
    const stream = this.stream;
    if (!stream.destroyed && !stream.closed) stream.close(code);
  }
  private finish(): void {
    if (this.done) return;
    this.done = true;
    open--;
  }
}

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: h2-hybrid-child.ts UPSTREAM_HOST:PORT [UPSTREAM_CONNS]');

const server = http2.createServer(SERVER_OPTIONS);
server.on('stream', (stream: ServerHttp2Stream, _headers: IncomingHttpHeaders, flags: number, raw: string[]) => new HybridCall(stream).start(raw, flags));
server.on('connection', (socket: Socket) => socket.setNoDelay(true));
server.on('sessionError', () => undefined);
server.listen(0, '127.0.0.1', () => {
  setUpstream(upstream, Number(process.argv[3] ?? 1)); // connect ahead of the first call
  console.log(`READY ${JSON.stringify({ port: (server.address() as AddressInfo).port })}`);
});
process.on('SIGUSR2', () => {
  const s = upstreamStats();
  console.error(`h2-hybrid: ${open} open calls, ${s.connections} upstream connections with ${s.streams} open streams`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
