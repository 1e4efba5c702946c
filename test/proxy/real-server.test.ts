// The proxy in front of modelgate's own inference server (server/index.ts) on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import { PROXY_METRIC, VARIANT_HEADER } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { ALL_VERSIONS, serveExampleCopies, type ServerWithRepo } from '../helpers/server.ts';
import { parseMetrics, sample, seeded, startProxy, until } from './helpers.ts';

const row = { amount: 2500, account_age_days: 3, tx_last_hour: 9, distance_km: 800, merchant_risk: 0.9, hour_of_day: 3, device_age_days: 1, failed_logins: 4 };

describe('proxy in front of the modelgate server', () => {
  let srv: ServerWithRepo;
  let proxy: Proxy;
  let registry: Registry;
  const outcomes: RequestOutcome[] = [];

  before(async () => {
    srv = await serveExampleCopies({ half_plus_two: {}, fraud: { policy: ALL_VERSIONS } });
    ({ proxy, registry } = await startProxy(
      { rest: { host: '127.0.0.1', port: 0, upstream: srv.restUrl }, splits: { fraud: { stable: 1, canary: 2, weight: 25, stickyHeader: 'x-user' } } },
      { random: seeded(7) },
    ));
    proxy.onOutcome((o) => outcomes.push(o));
  });
  after(async () => {
    await proxy.close();
    await srv.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${proxy.restUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    return { status: r.status, headers: r.headers, text: await r.text() };
  };
  const nextOutcome = async (n: number) => until(() => outcomes.length >= n && outcomes[n - 1]);

  test('a predict through the proxy returns exactly what the server returns, labelled with the version that served', async () => {
    outcomes.length = 0;
    const r = await post('/v1/models/half_plus_two:predict', { instances: [1.0, 2.0, 5.0] });
    assert.equal(r.status, 200);
    assert.equal(r.text, '{"predictions":[2.5,3.0,4.5]}');
    assert.equal(r.headers.get('x-model-version'), '123');
    const o = await nextOutcome(1);
    assert.deepEqual([o.model, o.version, o.api, o.code, o.variant], ['half_plus_two', '123', 'predict', '200', 'direct']);
  });

  // A call that names no version is labelled with the version the server serves by default
  // (its latest AVAILABLE one, from the status the proxy polls), also for status calls.
  const FORMS: Array<[string, 'GET' | 'POST', unknown, { api: string; version: string; code: string }]> = [
    ['/v1/models/half_plus_two', 'GET', undefined, { api: 'status', version: '123', code: '200' }],
    ['/v1/models/half_plus_two/versions/123', 'GET', undefined, { api: 'status', version: '123', code: '200' }],
    ['/v1/models/half_plus_two/metadata', 'GET', undefined, { api: 'metadata', version: '123', code: '200' }],
    ['/v1/models/half_plus_two:regress', 'POST', { examples: [{ x: 1.0 }] }, { api: 'regress', version: '123', code: '200' }],
    ['/v2/models/half_plus_two/infer', 'POST', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] }, { api: 'infer', version: '123', code: '200' }],
    ['/v2/models/half_plus_two/versions/123/ready', 'GET', undefined, { api: 'status', version: '123', code: '200' }],
    ['/v1/models/fraud/versions/1:predict', 'POST', { instances: [row] }, { api: 'predict', version: '1', code: '200' }],
    ['/v1/models/half_plus_two:predict', 'POST', { instances: ['not a number'] }, { api: 'predict', version: '123', code: '400' }],
  ];
  for (const [path, method, body, want] of FORMS) {
    test(`${method} ${path} is labelled api=${want.api} version=${want.version} code=${want.code}`, async () => {
      outcomes.length = 0;
      const r = await fetch(`${proxy.restUrl}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
      await r.text();
      const o = await nextOutcome(1);
      assert.deepEqual({ model: o.model, api: o.api, version: o.version, code: o.code }, { model: path.includes('fraud') ? 'fraud' : 'half_plus_two', ...want });
    });
  }

  test('a 25% split sends about a quarter of 400 requests to version 2, and the server confirms each version', async () => {
    outcomes.length = 0;
    const n = 400;
    let canary = 0;
    for (let i = 0; i < n; i++) {
      const r = await post('/v1/models/fraud:predict', { instances: [row] });
      assert.equal(r.status, 200);
      const variant = r.headers.get(VARIANT_HEADER);
      assert.equal(r.headers.get('x-model-version'), variant === 'canary' ? '2' : '1');
      if (variant === 'canary') canary++;
    }
    assert.ok(Math.abs(canary - n * 0.25) < 4 * Math.sqrt(n * 0.25 * 0.75), `canary=${canary}`);
    await until(() => outcomes.length === n);
    assert.equal(outcomes.filter((o) => o.version === '2' && o.variant === 'canary').length, canary);
  });

  test('a sticky user sees one version on every request', async () => {
    const versions = new Set<string | null>();
    for (let i = 0; i < 20; i++) versions.add((await post('/v1/models/fraud:predict', { instances: [row] }, { 'x-user': 'bob' })).headers.get('x-model-version'));
    assert.equal(versions.size, 1);
  });

  test('labels/canary and labels/stable resolve to the split even though the server has no such labels', async () => {
    assert.equal((await post('/v1/models/fraud/labels/canary:predict', { instances: [row] })).headers.get('x-model-version'), '2');
    assert.equal((await post('/v1/models/fraud/labels/stable:predict', { instances: [row] })).headers.get('x-model-version'), '1');
  });

  test('the metrics agree with the outcomes', async () => {
    const m = parseMetrics(await registry.metrics());
    const total = (v: string, variant: string) => sample(m, PROXY_METRIC.requests, { model: 'fraud', version: v, api: 'predict', code: '200', variant }) ?? 0;
    assert.ok(total('1', 'stable') > 0 && total('2', 'canary') > 0);
  });
});
