// gRPC over node:http2 (h2c), unary and server-streaming, for the methods of our services.
// The wire format is the gRPC spec's (grpc/grpc doc/PROTOCOL-HTTP2.md): POST to
// /<package.Service>/<Method>, content-type application/grpc, each message framed
// (framing.ts), the status in trailers or trailers-only (trailers.ts). Deadlines arrive as
// grpc-timeout (timeout.ts). A call is served by dispatch.ts; connections are tracked by
// sessions.ts.
//
// Why not @grpc/grpc-js's Server: on the heavy model its per-call overhead was about three
// times node:http's for the same request over REST (see docs/benchmarks.md, batching);
// messages still go through proto-loader's (de)serializers, built from the protos in server/grpc/protos.
import http2 from 'node:http2';
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Deadlines } from '../rest/deadlines.ts';
import { Dispatcher, type ServiceBinding } from './dispatch.ts';
import { Sessions } from './sessions.ts';

export type { ServiceBinding } from './dispatch.ts';

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

export async function startTransport(opts: TransportOptions): Promise<Transport> {
  const readTimers = new Deadlines();
  const dispatcher = new Dispatcher(
    opts.services,
    { maxMessageBytes: opts.maxMessageBytes, messageReadTimeoutMs: opts.messageReadTimeoutMs ?? 30_000, onRefused: opts.onRefused },
    readTimers,
  );
  const sessions = new Sessions(opts.idleTimeoutMs ?? 120_000);
  const server: Http2Server = http2.createServer({
    // Room for many large requests in flight on one connection (the default is 10 MB).
    maxSessionMemory: 1024,
  });
  // Small frames (headers, one message, trailers) must leave at once: no Nagle delay.
  server.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
  server.on('session', (s) => sessions.add(s));
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => {});
    sessions.track(stream);
    dispatcher.serve(stream, headers);
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
      sessions.stopSweep();
      closing = new Promise<void>((resolve) => {
        server.close(() => {
          readTimers.close();
          resolve();
        });
        // GOAWAY: no new streams on open connections, open streams finish.
        sessions.closeAll(graceMs);
      });
      return closing;
    },
  };
}
