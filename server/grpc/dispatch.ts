// One gRPC call on its stream: find its method by path, read and decode its request
// message, run the method, and answer with its response message(s) or its error.
import http2 from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { GrpcCode } from '../../common/errors.ts';
import { SrvErr } from '../errors.ts';
import type { Deadlines } from '../rest/deadlines.ts';
import { asModelgateError, newContext, type CallContext, type Method, type MethodTable } from './calls.ts';
import { frame, readMessage } from './framing.ts';
import { respondOk, sendError } from './trailers.ts';
import { messageReadDeadline, parseGrpcTimeout } from './timeout.ts';

const { NGHTTP2_NO_ERROR } = http2.constants;

/** The (de)serializers of one method, as proto-loader's service definitions carry them. */
export interface WireMethod {
  path: string;
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(message: unknown): Buffer;
}

export interface ServiceBinding {
  definition: Record<string, WireMethod>;
  methods: MethodTable;
}

interface MethodRoute {
  wire: WireMethod;
  method: Method;
}

export interface DispatchOptions {
  maxMessageBytes: number;
  messageReadTimeoutMs: number;
  /** Calls refused before any method ran (unknown method, oversize or malformed message), by gRPC code. */
  onRefused?: (code: number) => void;
}

export class Dispatcher {
  /** Methods by path, /<package.Service>/<Method>. */
  private readonly routes = new Map<string, MethodRoute>();

  constructor(
    services: readonly ServiceBinding[],
    private readonly opts: DispatchOptions,
    private readonly readTimers: Deadlines,
  ) {
    for (const { definition, methods } of services) {
      for (const [name, method] of Object.entries(methods)) {
        const wire = definition[name];
        if (!wire) throw new Error(`no method ${name} in the service definition`);
        this.routes.set(wire.path, { wire, method });
      }
    }
  }

  serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const { opts } = this;
    const route = this.routes.get(String(headers[':path']));
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
    const timer = messageReadDeadline(ctx.deadlineMs, now, opts.messageReadTimeoutMs);
    readMessage(stream, opts.maxMessageBytes, this.readTimers, timer).then(
      (bytes) => {
        readDone = true;
        let req: unknown;
        try {
          req = route.wire.requestDeserialize(bytes);
        } catch (e) {
          throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`cannot parse the request message: ${(e as Error).message}`);
        }
        started = true;
        return runMethod(stream, route, req, ctx);
      },
    ).catch((e) => {
      const err = asModelgateError(e);
      sendError(stream, err.grpc, err.message);
      if (!started) opts.onRefused?.(err.grpc);
      // An oversize request may still be arriving: the answer is sent, stop the upload.
      if (!readDone && !stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
    });
  }
}

/** Runs the method: a unary answer when its promise resolves, or a stream of messages it writes. */
function runMethod(stream: ServerHttp2Stream, route: MethodRoute, req: unknown, ctx: CallContext): Promise<void> | undefined {
  const { wire, method } = route;
  if (method.kind === 'unary') {
    return method.fn(req, ctx).then((res) => {
      if (stream.destroyed || stream.closed) return;
      // Encoded before the headers go out, so a message that cannot be encoded is a plain error.
      const message = frame(wire.responseSerialize(res));
      respondOk(stream);
      stream.end(message);
    });
  }
  respondOk(stream);
  const closers: (() => void)[] = [];
  stream.once('close', () => closers.splice(0).forEach((f) => f()));
  method.fn(req, ctx, {
    write: (m) => {
      if (!stream.destroyed && !stream.closed) stream.write(frame(wire.responseSerialize(m)));
    },
    end: () => {
      if (!stream.destroyed && !stream.closed) stream.end();
    },
    onClose: (f) => closers.push(f),
  });
  return undefined;
}
