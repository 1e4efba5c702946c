import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomHex, randomTraceparent, randomUuid } from '../../proxy/random-ids.ts';
import { parseTraceparent } from '../../proxy/tracing.ts';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('request ids are version-4 UUIDs, all different across many refills of the random pool', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const id = randomUuid();
    assert.match(id, V4);
    seen.add(id);
  }
  assert.equal(seen.size, 20_000);
});

test('every position of a request id takes several values (the bytes are random, not a counter or a constant)', () => {
  const ids = Array.from({ length: 2000 }, () => randomUuid());
  for (let k = 0; k < 36; k++) {
    const values = new Set(ids.map((id) => id[k]));
    if (k === 8 || k === 13 || k === 18 || k === 23) assert.deepEqual([...values], ['-']);
    else if (k === 14) assert.deepEqual([...values], ['4']);
    else if (k === 19) assert.equal(values.size, 4, `variant digit: ${[...values]}`);
    else assert.equal(values.size, 16, `position ${k}: ${[...values]}`);
  }
});

test('hex ids have two lower-case hex digits per byte and do not repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const span = randomHex(8);
    const trace = randomHex(16);
    assert.match(span, /^[0-9a-f]{16}$/);
    assert.match(trace, /^[0-9a-f]{32}$/);
    seen.add(span).add(trace);
  }
  assert.equal(seen.size, 20_000);
});

test('a new trace context is a version-00 traceparent with random trace and parent ids, not sampled, never repeated', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const t = randomTraceparent();
    assert.match(t, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.deepEqual(parseTraceparent(t), { traceId: t.slice(3, 35), spanId: t.slice(36, 52), flags: 0 });
    seen.add(t.slice(3, 35)).add(t.slice(36, 52));
  }
  assert.equal(seen.size, 20_000);
});
