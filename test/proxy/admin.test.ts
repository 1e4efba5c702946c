import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Proxy } from '../../proxy/index.ts';
import { startProxy, startUpstream } from './helpers.ts';
import type { Upstream } from './helpers.ts';

describe('admin API', () => {
  let up: Upstream;
  let proxy: Proxy;
  const auth = { authorization: 'Bearer t0ken' };

  before(async () => {
    up = await startUpstream((_req, res) => res.end('{}'));
    ({ proxy } = await startProxy(
      { rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { statusApi: 'none' }, splits: { fraud: { stable: 1, canary: 2, weight: 5 } } },
      { env: { MODELGATE_ADMIN_TOKEN: 't0ken' } },
    ));
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  test('the admin port listens on loopback by default', () => {
    assert.match(proxy.adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('/healthz and /metrics answer without a token', async () => {
    assert.deepEqual(await (await fetch(`${proxy.adminUrl}/healthz`)).json(), { status: 'ok' });
    const m = await fetch(`${proxy.adminUrl}/metrics`);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await m.text(), /modelgate_split_weight\{model="fraud"\} 5/);
  });

  test('the split API refuses a missing or wrong token with 401', async () => {
    const none = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, 'PRX_ERR_UNAUTHORIZED');
    const wrong = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    await wrong.text();
  });

  test('GET returns the split, PUT changes it for the proxy, DELETE removes it', async () => {
    const got = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`, { headers: auth });
    assert.deepEqual(await got.json(), { model: 'fraud', split: { stable: '1', canary: '2', weight: 5 } });
    const put = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ stable: '1', canary: '2', weight: 50 }) });
    assert.equal(put.status, 200);
    await put.text();
    assert.deepEqual(proxy.getSplit('fraud'), { stable: '1', canary: '2', weight: 50 });
    const del = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`, { method: 'DELETE', headers: auth });
    assert.equal(del.status, 204);
    assert.equal(proxy.getSplit('fraud'), undefined);
    const gone = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`, { headers: auth });
    assert.equal(gone.status, 404);
    await gone.text();
  });

  test('a bad split is refused with 400 naming the field, and the old split stays', async () => {
    proxy.setSplit('fraud', { stable: '1', canary: '2', weight: 5 });
    const r = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`, { method: 'PUT', headers: auth, body: JSON.stringify({ stable: '1', canary: '2', weight: 250 }) });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /weight: must be <= 100/);
    assert.equal(proxy.getSplit('fraud')?.weight, 5);
    const notJson = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`, { method: 'PUT', headers: auth, body: '{' });
    assert.equal(notJson.status, 400);
    await notJson.text();
  });

  test('routes mounted by other areas are served and protected the same way', async () => {
    proxy.route('GET', '/api/v1/slos', () => ({ body: { slos: [] } }));
    proxy.route('GET', '/api/v1/rollouts/:model', ({ params }) => ({ body: { model: params['model'] } }));
    assert.equal((await fetch(`${proxy.adminUrl}/api/v1/slos`).then((r) => (r.body?.cancel(), r))).status, 401);
    assert.deepEqual(await (await fetch(`${proxy.adminUrl}/api/v1/slos`, { headers: auth })).json(), { slos: [] });
    assert.deepEqual(await (await fetch(`${proxy.adminUrl}/api/v1/rollouts/fr%20aud`, { headers: auth })).json(), { model: 'fr aud' });
  });

  test('unknown routes get 404 and wrong methods 405', async () => {
    const r = await fetch(`${proxy.adminUrl}/nope`);
    assert.equal(r.status, 404);
    await r.text();
    const m = await fetch(`${proxy.adminUrl}/healthz`, { method: 'POST' });
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'GET');
    await m.text();
  });
});

test('with no admin token configured the split API is disabled (403), and the proxy still runs', async () => {
  const up = await startUpstream((_req, res) => res.end('{}'));
  const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { statusApi: 'none' } });
  try {
    const r = await fetch(`${proxy.adminUrl}/api/v1/splits`, { headers: { authorization: 'Bearer anything' } });
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { error: string }).error, /MODELGATE_ADMIN_TOKEN/);
  } finally {
    await proxy.close();
    await up.close();
  }
});
