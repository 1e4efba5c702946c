// gRPC over node:http2 (h2c), unary and server-streaming, for the methods of our services.
// The wire format is the gRPC spec's (grpc/grpc doc/PROTOCOL-HTTP2.md): POST to
// /<package.Service>/<Method>, content-type application/grpc, each message framed as one
// compressed-flag byte and a 4-byte big-endian length, the status in trailers
// (grpc-status, percent-encoded grpc-message), or headers-only ("trailers-only") for an
// error before any message. Deadlines arrive as grpc-timeout.
//
// Why not @grpc/grpc-js's Server: on the heavy model its per-call overhead was about three
// times node:http's for the same request over REST (see docs/benchmarks.md, batching);
// messages still go through proto-loader's (de)serializers, built from the protos in server/grpc/protos.
import http2 from 'node:http2';
import type { Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { GrpcCode } from '../../common/errors.ts';
import { SrvErr } from '../errors.ts';
import { Deadlines, type Expirable } from '../rest/deadlines.ts';
import { asModelgateError, newContext, type Method, type MethodTable } from './calls.ts';

/** The (de)serializers of one method, as proto-loader's service definitions carry them. */
interface WireMethod {
  path: string;
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(message: unknown): Buffer;
}

export interface ServiceBinding {
  definition: Record<string, WireMethod>;
  methods: MethodTable;
}

export interface TransportOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  services: ServiceBinding[];
  /**
   * Time a client has to send a call's request message, ms; the call's own deadline cuts
   * it earlier. A stalled upload is answered CANCELLED (the client's fault) and the stream
   * closed. Default 30 s.
   */
  messageReadTimeoutMs?: number;
  /** A connection with no call open for this long is closed with GOAWAY, ms. Default 120 s. */
  idleTimeoutMs?: number;
  /** Calls refused before any method ran (unknown method, oversize or malformed message), by gRPC code. */
  onRefused?: (code: number) => void;
}

export interface Transport {
  port: number;
  /** Stops taking connections and lets open calls finish; cuts what is left after graceMs. */
  close(graceMs: number): Promise<void>;
}

const FRAME_HEADER = 5;
const { NGHTTP2_NO_ERROR } = http2.constants;

/** grpc-timeout: an integer of at most 8 digits and a unit (H, M, S, m, u, n). */
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

export function parseGrpcTimeout(v: string | string[] | undefined, now: number): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return undefined;
  return now + Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]!;
}

/** Percent-encodes grpc-message as the spec asks (bytes outside 0x20–0x7E, and '%'). */
export function encodeGrpcMessage(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, FRAME_HEADER);
  return out;
}

function sendError(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  const trailers = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) };
  if (!stream.headersSent) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
  } else {
    stream.end();
  }
}

/** The read deadline of one request message, on the transport's shared deadline timer. */
class MessageRead implements Expirable {
  deadlinePrev: Expirable | undefined = undefined;
  deadlineNext: Expirable | undefined = undefined;
  deadlineLinked = false;
  onExpire: () => void = () => {};
  constructor(readonly deadlineMs: number) {}

  expire(): void {
    this.onExpire();
  }
}

/**
 * Reads the one request message of a call; rejects oversize messages as soon as their
 * length is known, and a message still incomplete at `timer`'s deadline.
 */
function readMessage(stream: ServerHttp2Stream, max: number, timers: Deadlines, timer: MessageRead, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let declared = -1;
    const fail = (e: Error) => {
      timers.delete(timer);
      stream.removeAllListeners('data');
      reject(e);
    };
    timer.onExpire = () => fail(SrvErr.SRV_ERR_REQUEST_TIMEOUT(`${what} while the request message was still arriving (${size} bytes received)`));
    timers.add(timer);
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (declared < 0 && size >= FRAME_HEADER) {
        const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (head[0] !== 0) return fail(SrvErr.SRV_ERR_UNIMPLEMENTED('compressed messages are not supported; send uncompressed (grpc-encoding identity)'));
        declared = head.readUInt32BE(1);
        if (declared > max) {
          // grpc-js's wording for the same limit.
          return fail(SrvErr.SRV_ERR_BODY_TOO_LARGE(`Received message larger than max (${declared} vs. ${max})`));
        }
      }
      if (size > FRAME_HEADER + Math.max(declared, 0) && declared >= 0) {
        return fail(SrvErr.SRV_ERR_UNIMPLEMENTED('this method takes exactly one request message'));
      }
    });
    stream.on('end', () => {
      timers.delete(timer);
      const all = Buffer.concat(chunks);
      if (all.length < FRAME_HEADER || all.length !== FRAME_HEADER + all.readUInt32BE(1)) {
        return reject(SrvErr.SRV_ERR_INVALID_ARGUMENT('the request is not one complete gRPC message'));
      }
      resolve(all.subarray(FRAME_HEADER));
    });
    stream.on('error', (e) => {
      timers.delete(timer);
      reject(e);
    });
  });
}

export async function startTransport(opts: TransportOptions): Promise<Transport> {
  const routes = new Map<string, { wire: WireMethod; method: Method }>();
  for (const { definition, methods } of opts.services) {
    for (const [name, method] of Object.entries(methods)) {
      const wire = definition[name];
      if (!wire) throw new Error(`no method ${name} in the service definition`);
      routes.set(wire.path, { wire, method });
    }
  }
  const messageReadTimeoutMs = opts.messageReadTimeoutMs ?? 30_000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 120_000;
  const readTimers = new Deadlines();
  /** Open connections: calls open on each, and since when it has had none. */
  const sessions = new Map<Http2Session, { open: number; idleSince: number }>();
  const server: Http2Server = http2.createServer({
    // Room for many large requests in flight on one connection (the default is 10 MB).
    maxSessionMemory: 1024,
  });
  // Small frames (headers, one message, trailers) must leave at once: no Nagle delay.
  server.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
  server.on('session', (s) => {
    sessions.set(s, { open: 0, idleSince: Date.now() });
    s.on('close', () => sessions.delete(s));
    s.on('error', () => {});
  });
  // Idle connections (no call open for idleTimeoutMs) get GOAWAY; one sweep for all of
  // them, so a call costs two counter updates, not a timer. The session is destroyed if
  // the peer has not closed it a few seconds later.
  const idleSweep = setInterval(() => {
    const now = Date.now();
    for (const [s, st] of sessions) {
      if (st.open > 0 || now - st.idleSince < idleTimeoutMs || s.closed || s.destroyed) continue;
      s.close();
      setTimeout(() => s.destroy(), 5000).unref();
    }
  }, Math.max(10, Math.min(idleTimeoutMs / 4, 5000)));
  idleSweep.unref();
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => {});
    const st = sessions.get(stream.session!);
    if (st) {
      st.open++;
      stream.once('close', () => {
        if (--st.open === 0) st.idleSince = Date.now();
      });
    }
    const route = routes.get(String(headers[':path']));
    if (headers[':method'] !== 'POST' || !String(headers['content-type'] ?? '').startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    if (!route) {
      sendError(stream, GrpcCode.UNIMPLEMENTED, `Method not found: ${headers[':path']}`);
      opts.onRefused?.(GrpcCode.UNIMPLEMENTED);
      return;
    }
    const now = Date.now();
    const ctx = newContext(parseGrpcTimeout(headers['grpc-timeout'], now));
    let readDone = false;
    let started = false;
    const byDeadline = ctx.deadlineMs !== undefined && ctx.deadlineMs < now + messageReadTimeoutMs;
    const timer = new MessageRead(byDeadline ? ctx.deadlineMs! : now + messageReadTimeoutMs);
    const what = byDeadline ? 'The call\'s deadline passed' : `No complete request message within ${messageReadTimeoutMs} ms`;
    readMessage(stream, opts.maxMessageBytes, readTimers, timer, what).then(
      (bytes) => {
        readDone = true;
        let req: unknown;
        try {
          req = route.wire.requestDeserialize(bytes);
        } catch (e) {
          throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`cannot parse the request message: ${(e as Error).message}`);
        }
        started = true;
        if (route.method.kind === 'unary') {
          return route.method.fn(req, ctx).then((res) => {
            if (stream.destroyed || stream.closed) return;
            stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
            stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
            stream.end(frame(route.wire.responseSerialize(res)));
          });
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
        const closers: (() => void)[] = [];
        stream.once('close', () => closers.splice(0).forEach((f) => f()));
        route.method.fn(req, ctx, {
          write: (m) => {
            if (!stream.destroyed && !stream.closed) stream.write(frame(route.wire.responseSerialize(m)));
          },
          end: () => {
            if (!stream.destroyed && !stream.closed) stream.end();
          },
          onClose: (f) => closers.push(f),
        });
        return undefined;
      },
    ).catch((e) => {
      const err = asModelgateError(e);
      sendError(stream, err.grpc, err.message);
      if (!started) opts.onRefused?.(err.grpc);
      // An oversize request may still be arriving: the answer is sent, stop the upload.
      if (!readDone && !stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
    });
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });

  let closing: Promise<void> | undefined;
  return {
    port,
    close(graceMs) {
      if (closing) return closing;
      clearInterval(idleSweep);
      closing = new Promise<void>((resolve) => {
        server.close(() => {
          readTimers.close();
          resolve();
        });
        // GOAWAY: no new streams on open connections, open streams finish.
        for (const s of sessions.keys()) s.close();
        const timer = setTimeout(() => {
          for (const s of sessions.keys()) s.destroy();
        }, graceMs);
        timer.unref();
      });
      return closing;
    },
  };
}
