// A call's gRPC status: in trailers after the response messages (grpc-status, percent-encoded
// grpc-message), or headers-only ("trailers-only") for an error before any message.
import type { ServerHttp2Stream } from 'node:http2';

/** Percent-encodes grpc-message as the spec asks (bytes outside 0x20–0x7E, and '%'). */
export function encodeGrpcMessage(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// The status a started call ends with: OK unless an error came after the headers went out.
const ENDING = new WeakMap<ServerHttp2Stream, Record<string, string>>();

/** Starts an answer; its status (OK, or what sendError sets later) follows in trailers when the stream ends. */
export function respondOk(stream: ServerHttp2Stream): void {
  ENDING.set(stream, { 'grpc-status': '0', 'grpc-message': '' });
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(ENDING.get(stream)!));
}

/** Ends the call with `code`: trailers-only before any header, else in the trailers after what was sent. */
export function sendError(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  const trailers = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) };
  if (!stream.headersSent) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
  } else {
    ENDING.set(stream, trailers);
    stream.end();
  }
}
