import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deadlines, type Expirable } from '../../server/rest/deadlines.ts';
import { eventually } from '../helpers/repo.ts';

function request(name: string, deadlineMs: number, expired: string[]): Expirable {
  return {
    deadlineMs,
    expire: () => expired.push(name),
    deadlinePrev: undefined,
    deadlineNext: undefined,
    deadlineLinked: false,
  };
}

/** Waits (bounded by wall-clock time, not by a count of timer turns) until cond() holds. */
const until = (cond: () => boolean, withinMs = 10_000) => eventually(cond, withinMs, 5);

test('requests past their deadline are expired once each, and finished ones never', async () => {
  // The clock is injected: deadlines pass when the test says so, and one sweep may expire
  // several requests at once (as a busy machine's late timer does), in any order.
  let now = 1_000;
  const d = new Deadlines(() => now);
  const expired: string[] = [];
  const late = request('late', now + 20, expired);
  const finished = request('finished', now + 10, expired);
  const later = request('later', now + 40, expired);
  const early = request('early', now + 5, expired); // added last with the earliest deadline: re-arms the timer
  for (const r of [late, finished, later, early]) d.add(r);
  d.delete(finished);
  d.delete(finished); // deleting twice is harmless
  assert.equal(d.size, 3);
  now += 25; // early and late are past their deadline, later is not
  await until(() => expired.length === 2);
  assert.deepEqual([...expired].sort(), ['early', 'late']);
  assert.equal(d.size, 1);
  now += 100;
  await until(() => expired.length === 3);
  assert.deepEqual([...expired].sort(), ['early', 'late', 'later']);
  assert.equal(d.size, 0);
  await new Promise((r) => setTimeout(r, 20)); // a stray sweep would expire something twice
  assert.deepEqual([...expired].sort(), ['early', 'late', 'later']);
  d.close();
});

test('a failing expire() does not stop the others expiring', async () => {
  const d = new Deadlines();
  const expired: string[] = [];
  const now = Date.now();
  d.add({ ...request('throws', now + 5, expired), expire: () => {
    throw new Error('boom');
  } });
  d.add(request('next', now + 5, expired));
  await until(() => expired.length === 1);
  assert.deepEqual(expired, ['next']);
  d.close();
});

test('after close nothing in flight is expired', async () => {
  const d = new Deadlines();
  const expired: string[] = [];
  d.add(request('a', Date.now() + 5, expired));
  d.close();
  assert.equal(d.size, 0);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(expired, []);
});
