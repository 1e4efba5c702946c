// Leader election on a Kubernetes coordination.k8s.io/v1 Lease, against a fake API server
// (test/fleet/fake-kube-api.ts: HTTPS, bearer tokens, resourceVersion conflicts). Each
// candidate has its own token, so the fake server can cut one off (a network partition).
// Clocks are manual: every step is one renewal round of each candidate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, ManualClock } from '../../common/index.ts';
import { KubernetesLeaseBackend, inClusterApi, microTime } from '../../app/k8s-lease.ts';
import { LeaderElector } from '../../app/leader.ts';
import { startLeadership } from '../../app/leadership.ts';
import { validateLeader } from '../../app/leader-config.ts';
import { FakeKubeApi } from './fake-kube-api.ts';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1';

// client-go's defaults: lease duration 15 s, renew deadline 10 s, retry period 2 s.
const TTL = 15_000;
const RENEW_DEADLINE = 10_000;
const RETRY = 2_000;
const T0 = 1_700_000_000_000;

let api: FakeKubeApi;
before(async () => {
  api = await FakeKubeApi.start(['token-a', 'token-b', 'token-c']);
});
after(() => api.close());

let n = 0;
/** Candidates a and b on a fresh Lease, each with its own token, one clock. */
function pair() {
  const name = `leader-${++n}`;
  const clock = new ManualClock(T0);
  const make = (id: string) =>
    new LeaderElector({
      backend: new KubernetesLeaseBackend({ api: api.api(`token-${id}`), name, timeoutMs: 2_000 }),
      identity: `pod-${id}`,
      clock,
      ttlMs: TTL,
      renewMs: RETRY,
      graceMs: TTL - RENEW_DEADLINE,
    });
  return { name, clock, a: make('a'), b: make('b') };
}

test('two candidates racing for a new Lease: exactly one wins, the other sees it held', async () => {
  const { name, a, b } = pair();
  api.gateGets(2); // both read "not found" before either creates
  await Promise.all([a.tryNow(), b.tryNow()]);
  assert.equal([a.isLeader(), b.isLeader()].filter(Boolean).length, 1);
  const winner = a.isLeader() ? 'pod-a' : 'pod-b';
  assert.equal(api.lease(name)?.spec['holderIdentity'], winner);
  assert.ok(api.writes.some((w) => w.verb === 'create' && w.status === 409), 'the loser\'s create was refused: AlreadyExists');
  await a.close();
  await b.close();
});

test('two candidates that read the same resourceVersion of a free Lease: one update wins, the other gets 409 Conflict', async () => {
  const { name, clock, a, b } = pair();
  await a.tryNow();
  await a.close(); // released: no holder, both may take it
  const c = new LeaderElector({ backend: new KubernetesLeaseBackend({ api: api.api('token-c'), name }), identity: 'pod-c', clock, ttlMs: TTL, renewMs: RETRY, graceMs: TTL - RENEW_DEADLINE });
  const conflictsBefore = api.writes.filter((w) => w.status === 409).length;
  api.gateGets(2);
  await Promise.all([b.tryNow(), c.tryNow()]);
  assert.equal([b.isLeader(), c.isLeader()].filter(Boolean).length, 1);
  assert.equal(api.writes.filter((w) => w.status === 409).length, conflictsBefore + 1, 'one update was refused for its stale resourceVersion');
  assert.equal(api.lease(name)?.spec['holderIdentity'], b.isLeader() ? 'pod-b' : 'pod-c');
  await b.close();
  await c.close();
});

test('the holder renews every retry period and keeps the Lease; the record carries client-go\'s fields', async () => {
  const { name, clock, a, b } = pair();
  await a.tryNow();
  for (let i = 0; i < 20; i++) {
    clock.advance(RETRY);
    await a.tryNow();
    await b.tryNow();
    assert.deepEqual([a.isLeader(), b.isLeader()], [true, false]);
  }
  const spec = api.lease(name)!.spec;
  assert.equal(spec['holderIdentity'], 'pod-a');
  assert.equal(spec['leaseDurationSeconds'], 15);
  assert.equal(spec['renewTime'], microTime(clock.now()));
  assert.equal(spec['acquireTime'], microTime(T0), 'renewals keep the acquire time');
  assert.equal(spec['leaseTransitions'], 0);
  assert.match(String(spec['renewTime']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime format');
  assert.doesNotThrow(() => new Lease(api.lease(name) as any).validate(), 'the Lease written validates against the coordination.k8s.io/v1 schema');
  assert.match(b.describe(), /held by pod-a/);
  await a.close();
  await b.close();
});

test('the leader dies without releasing: it would have stopped acting at the renew deadline, and the other takes over one lease duration after the record stopped changing', async () => {
  const { name, clock, a, b } = pair();
  await a.tryNow();
  await b.tryNow(); // b first sees a's record now
  // a dies here. b keeps trying every retry period.
  let takenAt: number | undefined;
  for (let t = RETRY; t <= 2 * TTL; t += RETRY) {
    clock.advance(RETRY);
    if (clock.now() - T0 >= RENEW_DEADLINE) assert.equal(a.isLeader(), false, 'a dead holder no longer counts itself leader past the renew deadline');
    await b.tryNow();
    assert.ok(!(a.isLeader() && b.isLeader()), `two leaders at +${t} ms`);
    if (b.isLeader()) {
      takenAt = clock.now() - T0;
      break;
    }
  }
  assert.ok(takenAt !== undefined, 'b took over');
  assert.ok(takenAt >= TTL && takenAt <= TTL + RETRY, `taken over at +${takenAt} ms: within one retry after the lease duration`);
  assert.equal(api.lease(name)?.spec['holderIdentity'], 'pod-b');
  assert.equal(api.lease(name)?.spec['leaseTransitions'], 1);
  await a.close(); // a's release finds b holding: it leaves the Lease alone
  assert.equal(api.lease(name)?.spec['holderIdentity'], 'pod-b');
  await b.close();
});

test('a clean shutdown releases the Lease (empty holder) and the other candidate takes it at its next retry', async () => {
  const { name, clock, a, b } = pair();
  await a.tryNow();
  await b.tryNow();
  await a.close();
  assert.equal(api.lease(name)?.spec['holderIdentity'], '');
  clock.advance(RETRY);
  await b.tryNow();
  assert.equal(b.isLeader(), true);
  await b.close();
});

test('a network partition never yields two leaders: the cut-off holder steps down before the other can take over, and cannot take it back when it returns', async () => {
  const { name, clock, a, b } = pair();
  const lines: string[] = [];
  const aLogged = new LeaderElector({
    backend: new KubernetesLeaseBackend({ api: api.api('token-a'), name, timeoutMs: 2_000 }),
    identity: 'pod-a', clock, ttlMs: TTL, renewMs: RETRY, graceMs: TTL - RENEW_DEADLINE, log: (l) => lines.push(l),
  });
  await a.close();
  await aLogged.tryNow();
  await b.tryNow();
  assert.deepEqual([aLogged.isLeader(), b.isLeader()], [true, false]);
  api.partition('token-a');
  const timeline: string[] = [];
  for (let t = RETRY; t <= 3 * TTL; t += RETRY) {
    clock.advance(RETRY);
    await Promise.all([aLogged.tryNow(), b.tryNow()]);
    const state = `${aLogged.isLeader() ? 'A' : '-'}${b.isLeader() ? 'B' : '-'}`;
    timeline.push(`+${t / 1000}s ${state}`);
    assert.notEqual(state, 'AB', `two leaders: ${timeline.join(', ')}`);
  }
  assert.deepEqual([aLogged.isLeader(), b.isLeader()], [false, true], timeline.join(', '));
  // a stepped down at the renew deadline; b took over after the lease duration: a gap, never an overlap.
  assert.equal(timeline.find((s) => s.endsWith('--')), '+10s --', timeline.join(', '));
  assert.ok(lines.some((l) => /leader lease: Kubernetes Lease default\/leader-\d+/.test(l)), lines.join('\n'));
  // The partition heals: a reads b's record and stays a follower.
  api.heal('token-a');
  clock.advance(RETRY);
  await Promise.all([aLogged.tryNow(), b.tryNow()]);
  assert.deepEqual([aLogged.isLeader(), b.isLeader()], [false, true]);
  await aLogged.close();
  await b.close();
});

test('the API server partitioned from every candidate: nobody acts once the renew deadline has passed', async () => {
  const { clock, a, b } = pair();
  await a.tryNow();
  await b.tryNow();
  api.partition('token-a');
  api.partition('token-b');
  try {
    for (let t = RETRY; t <= 2 * TTL; t += RETRY) {
      clock.advance(RETRY);
      await Promise.all([a.tryNow(), b.tryNow()]);
      assert.equal(b.isLeader(), false);
      assert.equal(a.isLeader(), t < RENEW_DEADLINE, `a at +${t} ms`);
    }
  } finally {
    api.heal('token-a');
    api.heal('token-b');
  }
  await a.close();
  await b.close();
});

test('a refused token or a missing RBAC permission is logged with what to fix, and the candidate never leads', async () => {
  const clock = new ManualClock(T0);
  const lines: string[] = [];
  const e = new LeaderElector({ backend: new KubernetesLeaseBackend({ api: api.api('not-a-token'), name: 'leader-auth' }), identity: 'pod-x', clock, ttlMs: TTL, renewMs: RETRY, graceMs: TTL - RENEW_DEADLINE, log: (l) => lines.push(l) });
  await e.tryNow();
  assert.equal(e.isLeader(), false);
  assert.ok(lines.some((l) => /HTTP 401.*token was refused/.test(l)), lines.join('\n'));
  await e.close();
});

test('leader config: a Kubernetes Lease gets client-go\'s timings by default, and impossible timings are refused with the rule', () => {
  const issues = new Issues();
  const c = validateLeader({ mode: 'lease', lease: { kubernetes: { name: 'modelgate-leader' } } }, 'leader', issues);
  assert.deepEqual(issues.list, []);
  assert.deepEqual(c, { mode: 'lease', file: undefined, kubernetes: { name: 'modelgate-leader', namespace: undefined }, ttlMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, identity: undefined });
  const bad = (lease: object) => {
    const i = new Issues();
    validateLeader({ mode: 'lease', lease }, 'leader', i);
    return i.list.map((x) => `${x.path}: ${x.message}`).join('\n');
  };
  assert.match(bad({ kubernetes: { name: 'm' }, ttl: '15s', renewDeadline: '15s' }), /leader\.lease\.renewDeadline: must be shorter than ttl/);
  assert.match(bad({ kubernetes: { name: 'm' }, renewDeadline: '10s', retryPeriod: '10s' }), /leader\.lease\.retryPeriod: must be shorter than renewDeadline/);
  assert.match(bad({ kubernetes: { name: 'Modelgate_Leader' } }), /leader\.lease\.kubernetes\.name: must be a Kubernetes object name/);
  assert.match(bad({ kubernetes: { name: 'm' }, file: '/x' }), /leader\.lease: give either file .* or kubernetes/);
  assert.match(bad({ ttl: '15s' }), /leader\.lease: needs a backend/);
  assert.match(bad({ kubernetes: { nmae: 'm' } }), /leader\.lease\.kubernetes\.nmae: unknown field/);
});

test('outside a pod the Kubernetes Lease refuses to start with what to use instead; in a pod it reads the service account', async () => {
  assert.throws(() => inClusterApi({}), /KUBERNETES_SERVICE_HOST is not set.*use leader\.lease\.file/);
  assert.throws(() => inClusterApi({ KUBERNETES_SERVICE_HOST: '10.0.0.1', MODELGATE_SERVICEACCOUNT_DIR: '/nonexistent' }), /cannot read the service account's ca\.crt/);
  const sa = await api.serviceAccountDir('token-a', 'ml-serving');
  try {
    const k = inClusterApi({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port), MODELGATE_SERVICEACCOUNT_DIR: sa.dir });
    assert.equal(k.url, api.url);
    assert.equal(k.namespace, 'ml-serving');
    assert.equal(k.token(), 'token-a');
    assert.equal(inClusterApi({ KUBERNETES_SERVICE_HOST: 'fd00::1', MODELGATE_SERVICEACCOUNT_DIR: sa.dir }).url, 'https://[fd00::1]:443');
  } finally {
    await sa.remove();
  }
});

test('from the config in a pod: the first replica leads, and when it closes (SIGTERM) the other leads at its next retry, with real timers', async () => {
  const sa = await api.serviceAccountDir('token-a', 'ml');
  const env = (pod: string) => ({ HOSTNAME: pod, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port), MODELGATE_SERVICEACCOUNT_DIR: sa.dir });
  const issues = new Issues();
  // The shortest timings allowed, so the hand-over happens within a second.
  const config = validateLeader({ mode: 'lease', lease: { kubernetes: { name: 'modelgate-leader' }, ttl: '3s', renewDeadline: '2s', retryPeriod: '200ms' } }, 'leader', issues);
  assert.deepEqual(issues.list, []);
  const clock = { now: () => Date.now() };
  const a = await startLeadership(config, { clock, env: env('modelgate-a') });
  const b = await startLeadership(config, { clock, env: env('modelgate-b') });
  try {
    assert.deepEqual([a.isLeader(), b.isLeader()], [true, false]);
    assert.equal(api.lease('modelgate-leader', 'ml')?.spec['holderIdentity'], 'modelgate-a');
    const bLeads = new Promise<void>((resolve) => b.onChange((l) => l && resolve()));
    await a.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([bLeads, new Promise<void>((_, reject) => { timer = setTimeout(() => reject(new Error('b did not take over within 10 s')), 10_000); })]);
    clearTimeout(timer);
    assert.equal(api.lease('modelgate-leader', 'ml')?.spec['holderIdentity'], 'modelgate-b');
  } finally {
    await a.close();
    await b.close();
    await sa.remove();
  }
});
