// Random ids for every request (span ids, trace ids, request ids), drawn from one pooled
// random buffer: one getrandom call per 4 KiB of ids rather than one per id. Each id is
// written as ONE string by a native call (Buffer#toString), not put together from
// two-character pieces: a 32-character id built with `+=` leaves ~10 intermediate strings
// behind, and those were ~1 KB of the ~10 KB the REST path allocated per request
// (docs/benchmarks.md, "The REST relay front").
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/** `n` fresh random bytes' offset in `pool`. */
function take(n: number): number {
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += n;
  return at;
}

/** `bytes` random bytes as lower-case hex. */
export function randomHex(bytes: number): string {
  const at = take(bytes);
  return pool.toString('hex', at, at + bytes);
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where ids are spelled out before they become one string. */
const spelled = Buffer.alloc(64);

/** Writes `n` fresh random bytes as hex into `spelled` from `j`; returns the end. */
function spellHex(j: number, n: number): number {
  const at = take(n);
  for (let i = 0; i < n; i++) {
    const b = pool[at + i]!;
    spelled[j++] = HEX_DIGITS[b >> 4]!;
    spelled[j++] = HEX_DIGITS[b & 15]!;
  }
  return j;
}

/** A random (version 4, RFC 9562 §5.4) UUID in its 36-character form, as crypto.randomUUID gives. */
export function randomUuid(): string {
  const at = take(16);
  let j = 0;
  for (let i = 0; i < 16; i++) {
    let b = pool[at + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10
    if (i === 4 || i === 6 || i === 8 || i === 10) spelled[j++] = 0x2d;
    spelled[j++] = HEX_DIGITS[b >> 4]!;
    spelled[j++] = HEX_DIGITS[b & 15]!;
  }
  return spelled.toString('latin1', 0, 36);
}

/**
 * A W3C traceparent (Trace Context §3.2) of a new trace: version 00, a random trace-id and
 * parent-id, flags 00 (not sampled). One string from one native call.
 */
export function randomTraceparent(): string {
  spelled[0] = spelled[1] = 0x30;
  spelled[2] = 0x2d;
  let j = spellHex(3, 16);
  spelled[j++] = 0x2d;
  j = spellHex(j, 8);
  spelled[j++] = 0x2d;
  spelled[j++] = 0x30;
  spelled[j++] = 0x30;
  return spelled.toString('latin1', 0, j);
}
