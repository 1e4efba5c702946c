// Reading a REST request body within its limits: size (413), time (408) and the number of
// large bodies handled at once (503).
import type { IncomingMessage } from 'node:http';
import type { ModelgateError } from '../../common/errors.ts';
import { SrvErr } from '../errors.ts';
import type { Deadlines, Expirable } from './deadlines.ts';

/**
 * A body over this size is "large": it holds one of the --max_large_bodies slots from the
 * moment it is known to be large (its content-length, or the bytes received) until it is
 * answered, so only a few multi-second JSON parses and encodes run at once.
 */
export const LARGE_BODY_BYTES = 1024 * 1024;

/** The --max_large_bodies slots; the last one given back calls `afterLast` (memory reclaim). */
export class LargeBodySlots {
  private inFlight = 0;

  constructor(
    private readonly max: number,
    private readonly afterLast: (() => void) | undefined,
  ) {}

  take(): boolean {
    if (this.inFlight >= this.max) return false;
    this.inFlight++;
    return true;
  }

  give(): void {
    if (--this.inFlight === 0) this.afterLast?.();
  }
}

/** The body-read deadline of one request, on the shared deadline timer. */
class BodyRead implements Expirable {
  deadlinePrev: Expirable | undefined = undefined;
  deadlineNext: Expirable | undefined = undefined;
  deadlineLinked = false;
  constructor(
    readonly deadlineMs: number,
    readonly onExpire: () => void,
  ) {}

  expire(): void {
    this.onExpire();
  }
}

export interface BodyLimits {
  limit: number;
  timeoutMs: number;
  timers: Deadlines;
  /** Called once when the body is known to be over LARGE_BODY_BYTES; false refuses it (503). */
  takeLarge: () => boolean;
}

/**
 * Reads the body up to the limit and calls `done` once: with the text, or with an error
 * (413 as soon as the limit is passed, 408 when the whole body has not arrived within the
 * body-read timeout, 503 when it is large and the large-body slots are taken). Callbacks
 * rather than a promise: one promise and one await less per request on the predict path.
 */
export function readBody(req: IncomingMessage, lim: BodyLimits, done: (text: string | undefined, err?: unknown) => void): void {
  const { limit } = lim;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    done(undefined, SrvErr.SRV_ERR_BODY_TOO_LARGE(`Request body of ${declared} bytes is over the limit of ${limit} bytes`));
    return;
  }
  let large = Number.isFinite(declared) && declared > LARGE_BODY_BYTES;
  if (large && !lim.takeLarge()) {
    done(undefined, tooManyLarge());
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const stop = (err: unknown) => {
    req.removeAllListeners('data');
    req.resume();
    lim.timers.delete(timer);
    if (!settled) {
      settled = true;
      done(undefined, err);
    }
  };
  const timer = new BodyRead(Date.now() + lim.timeoutMs, () =>
    stop(SrvErr.SRV_ERR_REQUEST_TIMEOUT(`The request body did not arrive within ${lim.timeoutMs} ms (${size} bytes received); send it faster or raise --body_read_timeout (body_read_timeout_ms in the server: section)`)),
  );
  lim.timers.add(timer);
  // Listeners are inline arrows: in the compiled build a named function expression would
  // cost the same, but when the sources run through tsx (the tests) it is wrapped in
  // __name(), which defines a property per request (~0.5 µs in a CPU profile).
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > limit) return stop(SrvErr.SRV_ERR_BODY_TOO_LARGE(`Request body is over the limit of ${limit} bytes`));
    if (!large && size > LARGE_BODY_BYTES) {
      large = true;
      if (!lim.takeLarge()) return stop(tooManyLarge());
    }
    chunks.push(c);
  });
  req.on('end', () => {
    lim.timers.delete(timer);
    if (settled) return;
    settled = true;
    // Most bodies arrive in one chunk: decode it in place rather than copy it first.
    done((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'));
  });
  // A client that goes away mid-body makes node destroy the request with an 'aborted'
  // error (IncomingMessage._destroy in node:_http_incoming), so one 'error' listener
  // covers both; the deprecated 'aborted' event is not needed.
  req.on('error', (e) => {
    lim.timers.delete(timer);
    if (settled) return;
    settled = true;
    done(undefined, req.complete ? e : SrvErr.SRV_ERR_CANCELLED('client closed the request', e));
  });
}

function tooManyLarge(): ModelgateError {
  return SrvErr.SRV_ERR_UNAVAILABLE(`Too many requests with bodies over ${LARGE_BODY_BYTES} bytes in progress; retry shortly (--max_large_bodies)`);
}
