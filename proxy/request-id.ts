// Request ids: every proxied request carries one (`x-request-id`), so a client, the access
// log and a later label (POST /api/v1/feedback) can name the same request. A client's id is
// kept when it is short and plain (the characters of a UUID, a ULID or a trace id, plus
// `.`, `_`, `:`, `-`), so ids cannot smuggle separators or control bytes into logs; any
// other value is replaced by a fresh UUID (Envoy's x-request-id behaves the same way).
import { randomUuid } from './random-ids.ts';

/** Longest client id kept. */
export const MAX_REQUEST_ID_LENGTH = 128;
const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function isValidRequestId(v: string): boolean {
  return VALID_ID.test(v);
}

/** The client's id when valid, else a new random one. */
export function requestIdFrom(clientValue: string | undefined): string {
  return clientValue !== undefined && VALID_ID.test(clientValue) ? clientValue : randomUuid();
}
