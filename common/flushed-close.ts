import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The response a client connection is serving now (the last request that arrived on it). */
const CURRENT = Symbol('modelgate.currentResponse');
type TrackedSocket = Socket & { [CURRENT]?: ServerResponse };

/** Marks `res` as what its connection is serving now; call first thing in the request handler. */
export function trackResponse(req: IncomingMessage, res: ServerResponse): void {
  (req.socket as TrackedSocket)[CURRENT] = res;
}

/**
 * Drain support for a node:http server. Node's closeIdleConnections() (which Server#close()
 * calls) takes a connection for idle as soon as its response has been end()ed, flushed or
 * not, and destroys it: a large answer to a slow reader loses its end (a 15 MB answer lost
 * its last megabytes). Here a connection is closed only once its current response (marked
 * with trackResponse) has finished and the socket's write buffer is empty; busy ones are
 * re-checked when that happens. The returned function replaces the server's
 * closeIdleConnections, so close() goes through it too; closeAllConnections() (the drain
 * timeout) still cuts everything.
 */
export function flushedCloser(server: Server): () => void {
  const sockets = new Set<TrackedSocket>();
  server.on('connection', (s: TrackedSocket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const waiting = new WeakSet<TrackedSocket>();
  const closeIfFlushed = (s: TrackedSocket): void => {
    if (s.destroyed || waiting.has(s)) return;
    const recheck = () => {
      waiting.delete(s);
      closeIfFlushed(s);
    };
    const res = s[CURRENT];
    if (res && !res.writableFinished && !res.destroyed) {
      waiting.add(s);
      res.once('close', recheck);
      return;
    }
    if (s.writableLength > 0) {
      waiting.add(s);
      s.once('drain', recheck);
      s.once('close', recheck);
      return;
    }
    // FIN after whatever the kernel still holds; the peer's close (or the drain timeout) ends it.
    s.end();
  };
  const closeAllFlushed = () => {
    for (const s of sockets) closeIfFlushed(s);
  };
  server.closeIdleConnections = closeAllFlushed;
  return closeAllFlushed;
}
