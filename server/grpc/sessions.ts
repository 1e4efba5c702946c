// The transport's open HTTP/2 connections: calls open on each, the idle sweep, and closing
// them all on shutdown.
import type { Http2Session, ServerHttp2Stream } from 'node:http2';

interface SessionState {
  open: number;
  idleSince: number;
}

export class Sessions {
  /** Open connections: calls open on each, and since when it has had none. */
  private readonly sessions = new Map<Http2Session, SessionState>();
  private readonly idleSweep: NodeJS.Timeout;

  /**
   * Idle connections (no call open for idleTimeoutMs) get GOAWAY; one sweep for all of
   * them, so a call costs two counter updates, not a timer. The session is destroyed if
   * the peer has not closed it a few seconds later.
   */
  constructor(idleTimeoutMs: number) {
    this.idleSweep = setInterval(() => {
      const now = Date.now();
      for (const [s, st] of this.sessions) {
        if (st.open > 0 || now - st.idleSince < idleTimeoutMs || s.closed || s.destroyed) continue;
        s.close();
        setTimeout(() => s.destroy(), 5000).unref();
      }
    }, Math.max(10, Math.min(idleTimeoutMs / 4, 5000)));
    this.idleSweep.unref();
  }

  add(s: Http2Session): void {
    this.sessions.set(s, { open: 0, idleSince: Date.now() });
    s.on('close', () => this.sessions.delete(s));
    s.on('error', () => {});
  }

  /** Counts a call as open on its connection until its stream closes. */
  track(stream: ServerHttp2Stream): void {
    const st = this.sessions.get(stream.session!);
    if (st) {
      st.open++;
      stream.once('close', () => {
        if (--st.open === 0) st.idleSince = Date.now();
      });
    }
  }

  stopSweep(): void {
    clearInterval(this.idleSweep);
  }

  /** GOAWAY on every connection: no new streams, open ones finish; what is left after graceMs is cut. */
  closeAll(graceMs: number): void {
    for (const s of this.sessions.keys()) s.close();
    const timer = setTimeout(() => {
      for (const s of this.sessions.keys()) s.destroy();
    }, graceMs);
    timer.unref();
  }
}
