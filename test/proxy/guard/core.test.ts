import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Issues, ManualClock } from '../../../common/index.ts';
import { ConcurrencyLimit, Guard, RateBuckets, readGuardConfig, sha256KeyHash, scryptKeyHash } from '../../../proxy/guard/index.ts';
import type { Admission, AdmissionRequest, GuardConfig } from '../../../proxy/guard/index.ts';

function read(raw: Record<string, unknown>): { config: GuardConfig; issues: Issues } {
  const issues = new Issues();
  return { config: readGuardConfig(raw, 'proxy', issues), issues };
}

function guard(raw: Record<string, unknown>, clock = new ManualClock(1_000_000), env: Record<string, string> = {}): Guard {
  const { config, issues } = read(raw);
  assert.deepEqual(issues.errors, []);
  return new Guard({ config, registry: new Registry(), clock, env, modelLabel: (m) => m });
}

const req = (over: Partial<AdmissionRequest>): AdmissionRequest => ({ protocol: 'rest', api: 'predict', model: 'fraud', version: undefined, bearer: undefined, apiKey: undefined, ...over });
const sync = (a: Admission | Promise<Admission>): Admission => {
  assert.ok(!(a instanceof Promise), 'decided at once');
  return a;
};

const KEYS = {
  apiKeys: [
    { name: 'fraud-app', hash: sha256KeyHash('k-fraud'), groups: ['fraud-team'] },
    { name: 'batch', env: 'BATCH_KEY' },
  ],
  rules: [
    { identities: ['group:fraud-team'], models: ['fraud'], apis: ['predict', 'metadata'] },
    { identities: ['batch'], models: ['*'], versions: ['1', 'stable'] },
  ],
};

describe('admission config', () => {
  test('misspelt fields, APIs and identity names are refused with the closest known one', () => {
    const { issues } = read({
      auth: { apiKeys: [{ name: 'fraud-app', hash: sha256KeyHash('x') }], rules: [{ identities: ['fraud-ap'], models: ['*'], apis: ['predcit'] }], identity_label: true },
      concurrency: { models: { fraud: { adaptive: 'gradiant' } } },
    });
    const messages = issues.errors.map((i) => `${i.path}: ${i.message}`).join('\n');
    assert.match(messages, /proxy\.auth\.identity_label: unknown field "identity_label"; did you mean "identityLabel"\?/);
    assert.match(messages, /apis\[0\]: unknown API "predcit"; did you mean "predict"\?/);
    assert.match(messages, /identities\[0\]: no API key named "fraud-ap"; did you mean "fraud-app"\?/);
    assert.match(messages, /adaptive: must be "gradient" or "aimd", got "gradiant"; did you mean "gradient"\?/);
  });

  test('a key needs exactly one source, hashes have a checked form, and "none" is never an algorithm', () => {
    const { issues } = read({
      auth: {
        apiKeys: [{ name: 'a' }, { name: 'b', hash: 'md5:abc' }, { name: 'c', hash: sha256KeyHash('x'), env: 'C' }],
        jwt: { issuer: 'https://issuer', audience: 'modelgate', jwksFile: '/x.json', algorithms: ['none'] },
      },
    });
    const messages = issues.errors.map((i) => `${i.path}: ${i.message}`).join('\n');
    assert.match(messages, /apiKeys\[0\]: needs one of hash/);
    assert.match(messages, /apiKeys\[1\]\.hash: must be "sha256:<64 hex digits>"/);
    assert.match(messages, /apiKeys\[2\]: has hash and env; give exactly one/);
    assert.match(messages, /algorithms\[0\]: "none" accepts unsigned tokens/);
  });

  test('identity limits and priorities without auth are refused: callers would be anonymous', () => {
    const { issues } = read({ rateLimits: { identity: { rps: 5 } }, concurrency: { default: { limit: 4 }, priority: ['x'] } });
    assert.equal(issues.errors.length, 2);
  });

  test('no auth section: nothing configured, every request admitted without an identity', () => {
    const g = guard({});
    assert.deepEqual(sync(g.admit(req({}))), { ok: true, identity: undefined, ticket: undefined });
  });
});

describe('authentication and authorization', () => {
  const g = guard({ auth: KEYS }, new ManualClock(0), { BATCH_KEY: 'k-batch' });

  test('no credential: 401 with a Bearer challenge', () => {
    const a = sync(g.admit(req({})));
    assert.equal(a.ok, false);
    if (a.ok) return;
    assert.equal(a.reason, 'unauthenticated');
    assert.equal(a.spec.http, 401);
    assert.equal(a.headers['www-authenticate'], 'Bearer realm="modelgate"');
  });

  test('a wrong key: 401 invalid_token, not who the key belongs to', () => {
    const a = sync(g.admit(req({ apiKey: 'k-wrong' })));
    assert.ok(!a.ok && a.reason === 'unauthenticated' && /invalid_token/.test(a.headers['www-authenticate']!));
  });

  test('a key as x-api-key or as a bearer token names its identity', () => {
    assert.deepEqual(sync(g.admit(req({ apiKey: 'k-fraud' }))), { ok: true, identity: 'fraud-app', ticket: undefined });
    assert.deepEqual(sync(g.admit(req({ bearer: 'k-batch', version: '1' }))), { ok: true, identity: 'batch', ticket: undefined });
  });

  test('rules match groups, models, versions and APIs; forbidden and unknown models get the same answer', () => {
    const status = sync(g.admit(req({ apiKey: 'k-fraud', api: 'status' })));
    assert.ok(!status.ok && status.reason === 'forbidden' && status.spec.http === 403);
    const other = sync(g.admit(req({ apiKey: 'k-fraud', model: 'mnist' })));
    const unknown = sync(g.admit(req({ apiKey: 'k-fraud', model: 'no-such-model' })));
    assert.ok(!other.ok && !unknown.ok);
    assert.equal(other.message.replace('mnist', 'X'), unknown.message.replace('no-such-model', 'X'));
    assert.equal(sync(g.admit(req({ apiKey: 'k-batch', version: '1' }))).ok, true);
    assert.equal(sync(g.admit(req({ apiKey: 'k-batch', version: 'stable' }))).ok, true);
    assert.equal(sync(g.admit(req({ apiKey: 'k-batch', version: '2' }))).ok, false);
    assert.equal(sync(g.admit(req({ apiKey: 'k-batch' }))).ok, false, 'a versions list matches only requests naming one of them');
  });

  test('health checks need no credential', () => {
    assert.equal(sync(g.admit(req({ api: 'health', model: '' }))).ok, true);
  });

  test('an unset key variable stops the start with the setting to fix', () => {
    const { config } = read({ auth: KEYS });
    assert.throws(() => new Guard({ config, registry: new Registry(), clock: new ManualClock(0), env: {}, modelLabel: (m) => m }), /apiKeys\[1\]\.env: the environment variable BATCH_KEY is not set/);
  });

  test('scrypt-stored keys verify once (asynchronously), then from the cache', async () => {
    const hash = await scryptKeyHash('k-scrypt', Buffer.from('0123456789abcdef'));
    const s = guard({ auth: { apiKeys: [{ name: 'slow', hash }], rules: [{ identities: ['*'], models: ['*'] }] } });
    const first = s.admit(req({ apiKey: 'k-scrypt' }));
    assert.ok(first instanceof Promise);
    assert.equal((await first).ok, true);
    assert.equal(sync(s.admit(req({ apiKey: 'k-scrypt' }))).ok, true);
    assert.equal((await s.admit(req({ apiKey: 'nope' }))).ok, false);
  });
});

describe('rate limits', () => {
  test('GCRA buckets: burst at once, then one per 1/rps; the wait is what Retry-After says', () => {
    const b = new RateBuckets();
    const rate = { rps: 10, burst: 3 };
    for (let i = 0; i < 3; i++) assert.equal(b.take(0, [['k', rate]]), 0);
    const wait = b.take(0, [['k', rate]]);
    assert.ok(wait > 0 && wait <= 100, `wait ${wait}`);
    assert.equal(b.take(wait, [['k', rate]]), 0);
  });

  test('tokens are taken from every bucket or none', () => {
    const b = new RateBuckets();
    const small = { rps: 1, burst: 1 };
    const big = { rps: 100, burst: 100 };
    assert.equal(b.take(0, [['a', big], ['m', small]]), 0);
    assert.ok(b.take(0, [['a', big], ['m', small]]) > 0);
    // 'a' lost nothing to the refused request: 99 more fit.
    for (let i = 0; i < 99; i++) assert.equal(b.take(0, [['a', big]]), 0);
    assert.ok(b.take(0, [['a', big]]) > 0);
  });

  test('a noisy identity is limited (429, Retry-After) while another is not', () => {
    const clock = new ManualClock(0);
    const g = guard({ auth: { ...KEYS, rules: [{ identities: ['*'], models: ['*'] }] }, rateLimits: { identity: { rps: 5, burst: 5 } } }, clock, { BATCH_KEY: 'k-batch' });
    const results = Array.from({ length: 20 }, () => sync(g.admit(req({ apiKey: 'k-batch' }))));
    assert.equal(results.filter((r) => r.ok).length, 5);
    const refused = results.find((r) => !r.ok);
    assert.ok(refused && !refused.ok && refused.reason === 'rate_limited' && refused.spec.http === 429 && refused.spec.grpc === 8);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(sync(g.admit(req({ apiKey: 'k-fraud' }))).ok, true);
    clock.advance(1000);
    assert.equal(sync(g.admit(req({ apiKey: 'k-batch' }))).ok, true, 'refilled after a second');
  });
});

describe('concurrency limits', () => {
  test('fixed: admitted up to the limit, then shed until a ticket is returned', () => {
    const g = guard({ concurrency: { models: { fraud: { limit: 2 } } } });
    const a = sync(g.admit(req({})));
    const b = sync(g.admit(req({})));
    const c = sync(g.admit(req({})));
    assert.ok(a.ok && b.ok && !c.ok && c.reason === 'shed' && c.spec.http === 503 && c.spec.grpc === 14);
    assert.equal(sync(g.admit(req({ model: 'mnist' }))).ok, true, 'other models are not limited without a default');
    if (a.ok) a.ticket!.done(0.01, false);
    if (a.ok) a.ticket!.done(0.01, false); // twice frees once
    assert.equal(sync(g.admit(req({}))).ok, true);
    assert.equal(sync(g.admit(req({}))).ok, false);
  });

  test('priority identities may use the reserved share; others are shed first', () => {
    const g = guard({
      auth: { ...KEYS, rules: [{ identities: ['*'], models: ['*'] }] },
      concurrency: { models: { fraud: { limit: 5 } }, priority: ['fraud-app'], reserve: 0.4 },
    }, new ManualClock(0), { BATCH_KEY: 'k-batch' });
    const batch = Array.from({ length: 5 }, () => sync(g.admit(req({ apiKey: 'k-batch' }))).ok);
    assert.deepEqual(batch, [true, true, true, false, false]);
    const fraud = Array.from({ length: 3 }, () => sync(g.admit(req({ apiKey: 'k-fraud' }))).ok);
    assert.deepEqual(fraud, [true, true, false]);
  });

  test('aimd: each slow or dropped request shrinks the limit by 10%, each fast one on a busy limit adds one, within min and max', () => {
    const l = new ConcurrencyLimit({ kind: 'aimd', initial: 10, min: 2, max: 12, latencyTargetMs: 100 }, 0);
    // Steady load: as many in flight as the limit allows, one finishing as another starts.
    const steady = (n: number, ms: number, dropped = false) => {
      while (l.tryAcquire(false));
      for (let i = 0; i < n; i++) {
        l.release(ms, dropped);
        while (l.tryAcquire(false));
      }
    };
    steady(1, 500);
    assert.equal(l.limit, 9);
    steady(30, 10, true);
    assert.equal(l.limit, 2);
    steady(30, 10);
    assert.equal(l.limit, 12);
    // Idle (under half used): a fast request does not grow it.
    const idle = new ConcurrencyLimit({ kind: 'aimd', initial: 10, min: 2, max: 12, latencyTargetMs: 100 }, 0);
    idle.tryAcquire(false);
    idle.release(10, false);
    assert.equal(idle.limit, 10);
  });

  test('gradient: grows while latency holds, shrinks when it rises above its long-term level or the target', () => {
    const l = new ConcurrencyLimit({ kind: 'gradient', initial: 20, min: 1, max: 100, latencyTargetMs: 50 }, 0);
    // Steady load: as many in flight as the limit allows, one finishing as another starts.
    let inFlight = 0;
    const window = (ms: number) => {
      while (l.tryAcquire(false)) inFlight++;
      for (let i = 0; i < 10; i++) {
        l.release(ms, false);
        inFlight--;
        if (l.tryAcquire(false)) inFlight++;
      }
    };
    for (let i = 0; i < 20; i++) window(10);
    const grown = l.limit;
    assert.ok(grown > 20, `grows while latency holds: ${grown}`);
    for (let i = 0; i < 5; i++) window(25);
    const ratio = l.limit;
    assert.ok(ratio < grown, `latency 2.5x its long-term level, under the target: ${grown} -> ${ratio}`);
    for (let i = 0; i < 20; i++) window(100);
    assert.ok(l.limit < grown / 2, `latency twice the target: ${grown} -> ${l.limit}`);
    assert.ok(l.limit >= 1);
  });
});

describe('identity label', () => {
  test('key names are always label values; other identities up to the cap, then __other__; off by default', async () => {
    const { GuardMetrics } = await import('../../../proxy/guard/metrics.ts');
    const registry = new Registry();
    const m = new GuardMetrics(registry, { identityLabel: true, knownIdentities: ['fraud-app'], maxIdentityLabels: 2, limits: () => [] });
    assert.deepEqual(['fraud-app', 'alice', 'bob', 'carol', 'fraud-app', undefined].map((n) => m.identityLabel(n)), ['fraud-app', 'alice', 'bob', '__other__', 'fraud-app', '']);
    m.reject('fraud', 'shed', 'mallory');
    assert.match(await registry.metrics(), /modelgate_requests_rejected_total\{model="fraud",reason="shed",identity="__other__"\} 1/);
    const plain = new Registry();
    new GuardMetrics(plain, { identityLabel: false, knownIdentities: [], maxIdentityLabels: 2, limits: () => [] }).reject('fraud', 'shed', 'alice');
    assert.match(await plain.metrics(), /modelgate_requests_rejected_total\{model="fraud",reason="shed"\} 1/);
  });
});
