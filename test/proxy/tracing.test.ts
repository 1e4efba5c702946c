import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../common/index.ts';
import { Tracing, parseTraceparent } from '../../proxy/tracing.ts';

// W3C Trace Context §3.2 as a regex: the reference the hand-written parser must agree with.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
function byRegex(header: string | undefined) {
  if (!header) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest === '-')) return undefined;
  if (traceId === '0'.repeat(32) || spanId === '0'.repeat(16)) return undefined;
  return { traceId: traceId!, spanId: spanId!, flags: parseInt(flags!, 16) };
}

const VALID = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

test('parseTraceparent reads every header as the W3C regex does', () => {
  const fixed = [
    undefined, '', VALID, ` ${VALID}\t`, `${VALID}-`, `${VALID}x`, `01-${VALID.slice(3)}-extra`, `01-${VALID.slice(3)}`, `01-${VALID.slice(3)}x`,
    `ff-${VALID.slice(3)}`, VALID.toUpperCase(), VALID.slice(0, 54), `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
    `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`, VALID.replace(/-/g, '_'), `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g`,
    `\n${VALID}\n`, `0-${VALID}`,
  ];
  for (const h of fixed) assert.deepEqual(parseTraceparent(h), byRegex(h), String(h));
  // Mutations of valid headers: a character replaced, removed or added anywhere.
  const rand = seededRandom(7);
  const alphabet = '0123456789abcdefABCDEFgz- \t';
  const pick = () => alphabet[Math.floor(rand() * alphabet.length)]!;
  let valid = 0;
  for (let i = 0; i < 50_000; i++) {
    let h = (rand() < 0.5 ? '00' : rand() < 0.5 ? 'ff' : '0a') + VALID.slice(2) + (rand() < 0.3 ? '-' + pick() + pick() : '');
    const at = Math.floor(rand() * (h.length + 1));
    const op = rand();
    if (op < 0.4) h = h.slice(0, at) + pick() + h.slice(at + 1);
    else if (op < 0.6) h = h.slice(0, at) + h.slice(at + 1);
    else if (op < 0.8) h = h.slice(0, at) + pick() + h.slice(at);
    const want = byRegex(h);
    if (want) valid++;
    assert.deepEqual(parseTraceparent(h), want, JSON.stringify(h));
  }
  assert.ok(valid > 5_000 && valid < 45_000, `valid ${valid}`);
});

test('without an SDK, a new trace gets random lowercase-hex ids and an incoming one is continued with a new span id', () => {
  const tracing = new Tracing(true);
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const tp = tracing.start('POST predict', undefined)!.traceparent;
    assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.ok(!seen.has(tp.slice(3, 35)) && !seen.has(tp.slice(36, 52)), tp);
    seen.add(tp.slice(3, 35));
    seen.add(tp.slice(36, 52));
  }
  const continued = tracing.start('POST predict', VALID)!.traceparent;
  assert.match(continued, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  assert.notEqual(continued.slice(36, 52), 'b7ad6b7169203331');
  assert.equal(new Tracing(false).start('POST predict', VALID), undefined);
});
