// gRPC message framing (grpc/grpc doc/PROTOCOL-HTTP2.md): each message is one
// compressed-flag byte and a 4-byte big-endian length, then the message.
import type { ServerHttp2Stream } from 'node:http2';
import { SrvErr } from '../errors.ts';
import type { Deadlines } from '../rest/deadlines.ts';
import type { MessageRead } from './timeout.ts';

const FRAME_HEADER = 5;

export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, FRAME_HEADER);
  return out;
}

/**
 * Reads the one request message of a call; rejects oversize messages as soon as their
 * length is known, and a message still incomplete at `timer`'s deadline.
 */
export function readMessage(stream: ServerHttp2Stream, max: number, timers: Deadlines, timer: MessageRead): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let declared = -1;
    const fail = (e: Error) => {
      timers.delete(timer);
      stream.removeAllListeners('data');
      reject(e);
    };
    timer.onExpire = () => fail(SrvErr.SRV_ERR_REQUEST_TIMEOUT(`${timer.what} while the request message was still arriving (${size} bytes received)`));
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
