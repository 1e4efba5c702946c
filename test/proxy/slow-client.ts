// A raw HTTP/1.1 client whose request body trickles in or stalls (slow-client tests).
import { connect } from 'node:net';
import { once } from 'node:events';

export interface SlowPost {
  /** Body pieces, each written after `gapMs`. */
  pieces: string[];
  gapMs: number;
  /** chunked transfer-encoding (streamed upstream by the proxy) instead of a content-length. */
  chunked?: boolean;
  /** Declared content-length when it should differ from the pieces sent (a stalled upload). */
  declaredLength?: number;
  /** Leave the body unfinished: no last chunk. */
  stall?: boolean;
}

/** A raw HTTP/1.1 POST whose body trickles in; resolves with the status and body of the answer. */
export async function slowPost(base: string, path: string, o: SlowPost): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  socket.setNoDelay(true);
  await once(socket, 'connect');
  let raw = '';
  socket.on('data', (d: Buffer) => (raw += d.toString('latin1')));
  socket.on('error', () => undefined);
  const ended = once(socket, 'close');
  const length = o.declaredLength ?? o.pieces.reduce((n, p) => n + Buffer.byteLength(p), 0);
  socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${o.chunked ? 'transfer-encoding: chunked' : `content-length: ${length}`}\r\n\r\n`);
  for (const piece of o.pieces) {
    await new Promise((r) => setTimeout(r, o.gapMs));
    if (socket.destroyed || raw.length > 0) break;
    socket.write(o.chunked ? `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n` : piece);
  }
  if (o.chunked && !o.stall && !socket.destroyed) socket.write('0\r\n\r\n');
  // The answer: a complete response (content-length) or the connection's end.
  for (;;) {
    const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(raw);
    const len = m ? /content-length: (\d+)/i.exec(m[2]!) : null;
    if (m && len && Buffer.byteLength(m[3]!, 'latin1') >= Number(len[1])) {
      socket.destroy();
      return { status: Number(m[1]), body: m[3]! };
    }
    if (socket.destroyed || socket.readableEnded) {
      if (!m) throw new Error(`connection closed without a response: ${JSON.stringify(raw)}`);
      return { status: Number(m[1]), body: m[3]! };
    }
    await Promise.race([once(socket, 'data'), ended]);
  }
}

/** `instances` JSON split into `n` pieces. */
export function pieces(n: number): string[] {
  const body = JSON.stringify({ instances: Array.from({ length: n * 4 }, (_, i) => i) });
  const size = Math.ceil(body.length / n);
  return Array.from({ length: n }, (_, i) => body.slice(i * size, (i + 1) * size)).filter(Boolean);
}
