// Time limits of a gRPC call: the client's deadline (grpc-timeout) and the time it has to
// send its request message.
import type { Expirable } from '../rest/deadlines.ts';

/** grpc-timeout: an integer of at most 8 digits and a unit (H, M, S, m, u, n). */
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

export function parseGrpcTimeout(v: string | string[] | undefined, now: number): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return undefined;
  return now + Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]!;
}

/** The read deadline of one request message, on the transport's shared deadline timer. */
export class MessageRead implements Expirable {
  deadlinePrev: Expirable | undefined = undefined;
  deadlineNext: Expirable | undefined = undefined;
  deadlineLinked = false;
  onExpire: () => void = () => {};
  constructor(
    readonly deadlineMs: number,
    /** Why the read was cut, for the error message. */
    readonly what: string,
  ) {}

  expire(): void {
    this.onExpire();
  }
}

/** The message read ends at the call's deadline or after `readTimeoutMs`, whichever is first. */
export function messageReadDeadline(callDeadlineMs: number | undefined, now: number, readTimeoutMs: number): MessageRead {
  const byDeadline = callDeadlineMs !== undefined && callDeadlineMs < now + readTimeoutMs;
  return byDeadline ? new MessageRead(callDeadlineMs, 'The call\'s deadline passed') : new MessageRead(now + readTimeoutMs, `No complete request message within ${readTimeoutMs} ms`);
}
