// Reading an accepted node:net socket into a buffer the caller owns, as node's `onread`
// option does for a socket the caller creates (net.connect): each read lands in that one
// buffer and is handed to a callback, with no new 64 KiB allocation and no stream push per
// read. Why: on the REST relay each request is two reads, and the allocation, its release
// and the push were a measured part of the per-request cost (docs/benchmarks.md).
//
// node:net has no public way to ask this of a socket a server accepted. It is done the way
// the `onread` option does it (lib/net.js initSocketHandle; lib/internal/stream_base_commons.js
// onStreamRead reads the kBuffer / kBufferCb / kBufferGen fields of the socket): the stream
// handle is given the buffer with `useUserBuffer`, and the socket's fields are set. Every
// piece is checked first; where one is missing (another node), `readInto` says false and the
// caller reads 'data' events as before.
import { Socket } from 'node:net';

interface SocketFields {
  _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null;
  [field: symbol]: unknown;
}

/** node's own fields for `onread`, found by name on a plain Socket (they are null there). */
const probe = new Socket() as unknown as SocketFields;
const field = (name: string): symbol | undefined => Object.getOwnPropertySymbols(probe).find((s) => s.description === name && probe[s] === null);
const kBuffer = field('kBuffer');
const kBufferCb = field('kBufferCb');
const kBufferGen = field('kBufferGen');

/** `n` bytes were read into the buffer's start; false stops reading (as returning false from `onread`'s callback). */
export type ReadCallback = (n: number, buffer: Buffer) => boolean | void;

/**
 * From the next read on, `socket`'s bytes land in `buffer` and go to `onRead` (the view
 * `buffer.subarray(0, n)` is valid during the call only: copy what is kept). 'end', 'close'
 * and 'error' are emitted as before; pause() and resume() stop and start reading. false
 * (nothing changed) when this node does not have what it takes.
 */
export function readInto(socket: Socket, buffer: Buffer, onRead: ReadCallback): boolean {
  const s = socket as unknown as SocketFields;
  const handle = s._handle;
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return false;
  if (typeof handle?.useUserBuffer !== 'function' || s[kBuffer] !== null || s[kBufferGen] !== null) return false;
  handle.useUserBuffer(buffer);
  s[kBuffer] = buffer;
  s[kBufferCb] = onRead;
  return true;
}

/**
 * For a socket switched by `readInto` that goes on as a plain stream (handed to node:http):
 * each read is copied and pushed, which is what node does for a socket without a buffer of
 * its own. (node:http's parser reads the handle itself; this covers any read that still
 * reaches JavaScript, and 'data' listeners added later.)
 */
export function readAsStream(socket: Socket): void {
  const s = socket as unknown as SocketFields;
  if (kBuffer === undefined || kBufferCb === undefined || !s[kBuffer]) return;
  s[kBufferCb] = (n: number, buffer: Buffer): boolean => socket.push(Buffer.from(buffer.subarray(0, n)));
}
