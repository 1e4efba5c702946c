// Graceful shutdown of the proxy: readiness goes 503 at once, the REST and gRPC listeners
// stop accepting, requests in flight finish (REST responses say `connection: close`, gRPC
// sessions get GOAWAY), idle keep-alive connections close; what is still open after the
// timeout is cut. Then the admin API closes, and then, in order, what `after` lists (the
// upstream clients, then the request path's flush: every request has ended by then).
import type { Server } from 'node:net';
import type { Listeners } from './listeners.ts';

export interface DrainParts {
  /** Set at the start of the drain: readiness answers 503, REST responses close their connection. */
  lifecycle: { draining: boolean };
  listeners: Listeners;
  /** Stops background work (status polling) as the drain starts. */
  stopBackground(): void;
  /** Closed in this order once the listeners have. */
  after: ReadonlyArray<() => Promise<void>>;
  /** `timeouts.drain`. */
  defaultTimeoutMs: number;
}

export interface Drainer {
  /** Runs the shutdown once; calling it again returns the same promise. */
  drain(timeoutMs?: number): Promise<void>;
  /** Like drain(0): cuts what is in flight; during a drain, cuts it short. */
  close(): Promise<void>;
}

const closed = (s: Server | undefined): Promise<void> =>
  s?.listening ? new Promise((resolve) => s.close(() => resolve())) : Promise.resolve();

export function drainer(parts: DrainParts): Drainer {
  const { lifecycle, listeners, stopBackground, after, defaultTimeoutMs } = parts;
  const { rest, grpc, admin } = listeners;
  let closing: Promise<void> | undefined;
  /** Ends the drain's wait early (close() during a drain). */
  let cutShort: (() => void) | undefined;
  const drain = (timeoutMs: number = defaultTimeoutMs): Promise<void> => {
    closing ??= (async () => {
      lifecycle.draining = true;
      stopBackground();
      // Stop accepting; the close callbacks fire once every connection / session is gone.
      const forwarding = Promise.all([closed(rest), closed(grpc)]);
      // GOAWAY: no new streams on these sessions, the open ones run to their end.
      grpc?.goawayAll();
      // Idle keep-alive connections close now, busy ones once their response has been
      // flushed (rest.ts trackConnections; close() above did the same).
      rest?.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([forwarding, new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        cutShort = resolve;
      })]);
      clearTimeout(timer);
      // Past the drain timeout: cut what is left.
      rest?.closeAllConnections();
      grpc?.destroyAll();
      await forwarding;
      const adminClosed = closed(admin);
      admin?.closeAllConnections();
      await adminClosed;
      for (const close of after) await close();
    })();
    return closing;
  };
  return {
    drain,
    close: () => {
      cutShort?.();
      return drain(0);
    },
  };
}
