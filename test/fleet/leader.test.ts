// Only one replica acts: single controller mode by name, and the lease (file backend,
// real files in a temp dir, manual clocks) with take-over, step-down and hand-over.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../common/index.ts';
import { FileLeaseBackend } from '../../app/file-lease.ts';
import { LeaderElector, runWhileLeader, staticLeadership } from '../../app/leader.ts';
import type { LeaseBackend, LeaseRecord } from '../../app/leader.ts';
import { startLeadership } from '../../app/leadership.ts';
import { validateLeader } from '../../app/leader-config.ts';
import { Issues } from '../../common/index.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelgate-lease-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;
const TTL = 15_000;
let n = 0;
const leasePath = () => join(dir, `leader-${++n}.lease`);

/** Two replicas on one lease file, each with its own clock (started at the same time). */
function pair(path = leasePath()) {
  const clock = new ManualClock(T0);
  const make = (identity: string) => new LeaderElector({ backend: new FileLeaseBackend(path), identity, clock, ttlMs: TTL });
  return { clock, a: make('replica-a'), b: make('replica-b'), path };
}

test('of two replicas competing for the lease, exactly one leads', async () => {
  const { a, b } = pair();
  await a.tryNow();
  await b.tryNow();
  assert.deepEqual([a.isLeader(), b.isLeader()], [true, false]);
  assert.match(b.describe(), /held by replica-a/);
  await a.close();
  await b.close();
});

test('a holder that keeps renewing keeps the lease past its ttl', async () => {
  const { clock, a, b } = pair();
  await a.tryNow();
  for (let i = 0; i < 6; i++) {
    clock.advance(TTL / 3);
    await a.tryNow();
    await b.tryNow();
  }
  assert.deepEqual([a.isLeader(), b.isLeader()], [true, false]);
  await a.close();
  await b.close();
});

test('a holder that stops renewing steps down before the lease expires, and another replica takes over after it', async () => {
  const { clock, a, b } = pair();
  await a.tryNow();
  // a's process pauses: no renewals. Two thirds of the ttl later it no longer acts ...
  clock.advance((2 * TTL) / 3);
  assert.equal(a.isLeader(), false, 'stepped down at ttl - grace');
  await b.tryNow();
  assert.equal(b.isLeader(), false, 'the lease has not expired yet: nobody acts for a moment, never two');
  // ... and once the ttl has passed, b acquires it.
  clock.advance(TTL / 3);
  await b.tryNow();
  assert.equal(b.isLeader(), true);
  // When a wakes up, its renewal fails: b holds the lease.
  await a.tryNow();
  assert.deepEqual([a.isLeader(), b.isLeader()], [false, true]);
  await a.close();
  await b.close();
});

test('closing the leader hands the lease over at once', async () => {
  const { a, b } = pair();
  await a.tryNow();
  await a.close();
  await b.tryNow();
  assert.equal(b.isLeader(), true);
  await b.close();
});

test('a backend that fails keeps the last renewal: the holder steps down when it runs out', async () => {
  const clock = new ManualClock(T0);
  let failing = false;
  const inner = new FileLeaseBackend(leasePath());
  const backend: LeaseBackend = {
    tryAcquire: (h, t, now) => (failing ? Promise.reject(new Error('disk gone')) : inner.tryAcquire(h, t, now)),
    release: (h) => inner.release(h),
    describe: () => 'flaky',
  };
  const lines: string[] = [];
  const a = new LeaderElector({ backend, identity: 'a', clock, ttlMs: TTL, log: (l) => lines.push(l) });
  await a.tryNow();
  failing = true;
  clock.advance(TTL / 3);
  await a.tryNow();
  assert.equal(a.isLeader(), true, 'still inside ttl - grace');
  clock.advance(TTL / 3);
  await a.tryNow();
  assert.equal(a.isLeader(), false);
  assert.ok(lines.some((l) => l.includes('disk gone')), lines.join('\n'));
  await a.close();
});

test('listeners hear acquire and loss, and runWhileLeader starts and stops what only the leader runs', async () => {
  const { clock, a, b, path } = pair();
  const events: string[] = [];
  const running = runWhileLeader(b, async () => {
    events.push('start');
    return { close: async () => void events.push('stop') };
  });
  await a.tryNow();
  await b.tryNow();
  assert.deepEqual(events, []);
  await a.close(); // hand-over
  await b.tryNow();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ['start']);
  // b stops renewing long enough for its lease to expire; c takes it; b's next try loses.
  clock.advance(TTL);
  const c = new LeaderElector({ backend: new FileLeaseBackend(path), identity: 'replica-c', clock, ttlMs: TTL });
  await c.tryNow();
  await b.tryNow();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ['start', 'stop']);
  assert.deepEqual([b.isLeader(), c.isLeader()], [false, true]);
  await running.close();
  await b.close();
  await c.close();
});

test('a torn lease file counts as no lease and is replaced', async () => {
  const path = leasePath();
  await writeFile(path, '{"holder": "x", "renew');
  const backend = new FileLeaseBackend(path);
  const r = await backend.tryAcquire('a', TTL, T0);
  assert.equal(r.acquired, true);
  assert.deepEqual(await backend.read(), { holder: 'a', renewedAt: T0, ttlMs: TTL } satisfies LeaseRecord);
});

test('a mutex left by a crashed replica is broken once stale, not before', async () => {
  const path = leasePath();
  await writeFile(`${path}.lock`, '');
  const backend = new FileLeaseBackend(path);
  await assert.rejects(backend.tryAcquire('a', TTL, T0), /held by another replica/);
  const { utimes } = await import('node:fs/promises');
  const old = new Date(Date.now() - 60_000);
  await utimes(`${path}.lock`, old, old);
  assert.equal((await backend.tryAcquire('a', TTL, T0)).acquired, true);
});

test('single controller mode: only the replica named as controller acts; with no name, this process acts', async () => {
  const leader = (raw: unknown, env: Record<string, string>) => {
    const issues = new Issues();
    const config = validateLeader(raw, 'leader', issues);
    assert.ok(issues.ok);
    return startLeadership(config, { clock: new ManualClock(T0), env });
  };
  assert.equal((await leader({ mode: 'single', controller: 'modelgate-0' }, { HOSTNAME: 'modelgate-0' })).isLeader(), true);
  assert.equal((await leader({ mode: 'single', controller: 'modelgate-0' }, { HOSTNAME: 'modelgate-1' })).isLeader(), false);
  assert.equal((await leader(undefined, {})).isLeader(), true);
  assert.equal(staticLeadership(false).isLeader(), false);
});

test('lease mode from the config: the first replica to start leads', async () => {
  const path = leasePath();
  const issues = new Issues();
  const config = validateLeader({ mode: 'lease', lease: { file: path, ttl: '15s' } }, 'leader', issues);
  const clock = new ManualClock(T0);
  const a = await startLeadership(config, { clock, env: { HOSTNAME: 'pod-a' } });
  const b = await startLeadership(config, { clock, env: { HOSTNAME: 'pod-b' } });
  assert.deepEqual([a.isLeader(), b.isLeader()], [true, false]);
  await a.close();
  await b.close();
});
