import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Proxy } from '../../proxy/index.ts';
import { Issues } from '../../common/index.ts';
import { createProxy, readProxyConfig } from '../../proxy/index.ts';
import { Registry } from 'prom-client';
import { startProxy, startUpstream, tfServingLike } from './helpers.ts';
import type { Upstream } from './helpers.ts';

describe('admin API', () => {
  let up: Upstream;
  let proxy: Proxy;
  const auth = { authorization: 'Bearer t0ken' };

  before(async () => {
    // Serves fraud versions 1 and 2 and answers TF Serving's status API.
    up = await startUpstream(tfServingLike({ fraud: ['1', '2'] }));
    ({ proxy } = await startProxy(
      { rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { statusPoll: '1h' }, splits: { fraud: { stable: 1, canary: 2, weight: 5 } } },
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

  const put = (body: string | undefined, query = '') =>
    fetch(`${proxy.adminUrl}/api/v1/models/fraud/split${query}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body }) });

  test('an empty or non-object body is 400 and changes nothing (an empty PUT never deletes the split)', async () => {
    proxy.setSplit('fraud', { stable: '1', canary: '2', weight: 5 });
    for (const body of [undefined, '', 'null', '[]', '"1"', '{}', '{"stable": ""}']) {
      const r = await put(body);
      assert.equal(r.status, 400, `body ${JSON.stringify(body)}`);
      assert.equal(((await r.json()) as { code: string }).code, 'PRX_ERR_INVALID_ARGUMENT');
      assert.deepEqual(proxy.getSplit('fraud'), { stable: '1', canary: '2', weight: 5 });
    }
  });

  test('canary equal to stable is 400', async () => {
    const r = await put(JSON.stringify({ stable: '2', canary: '2', weight: 10 }));
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /canary: is the same version as stable \(2\)/);
    assert.equal(proxy.getSplit('fraud')?.stable, '1');
  });

  test('a version the upstream does not serve is 409 naming it, unless ?force=1', async () => {
    const r = await put(JSON.stringify({ stable: '1', canary: '7', weight: 10 }));
    assert.equal(r.status, 409);
    const body = (await r.json()) as { error: string; code: string };
    assert.equal(body.code, 'PRX_ERR_CONFLICT');
    assert.match(body.error, /does not serve version 7 of "fraud" \(serving: 1, 2\); add \?force=1/);
    assert.equal(proxy.getSplit('fraud')?.canary, '2');
    const forced = await put(JSON.stringify({ stable: '1', canary: '7', weight: 10 }), '?force=1');
    assert.equal(forced.status, 200);
    await forced.text();
    assert.equal(proxy.getSplit('fraud')?.canary, '7');
    proxy.setSplit('fraud', { stable: '1', canary: '2', weight: 5 });
  });

  test('a manual split of a model under an active rollout is 409 naming the rollout command', async () => {
    const unguard = proxy.guardSplits((m) => (m === 'fraud' ? 'under an active rollout: use modelgate rollout pause|resume|promote|abort fraud' : undefined));
    try {
      const r = await put(JSON.stringify({ stable: '1', canary: '2', weight: 50 }));
      assert.equal(r.status, 409);
      assert.match(((await r.json()) as { error: string }).error, /modelgate rollout pause\|resume\|promote\|abort fraud/);
      const del = await fetch(`${proxy.adminUrl}/api/v1/models/fraud/split`, { method: 'DELETE', headers: auth });
      assert.equal(del.status, 409);
      await del.text();
      assert.deepEqual(proxy.getSplit('fraud'), { stable: '1', canary: '2', weight: 5 });
    } finally {
      unguard();
    }
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

test('with statusApi none the upstream cannot confirm a version: a split needs ?force=1', async () => {
  const up = await startUpstream((_req, res) => res.end('{}'));
  const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { statusApi: 'none' } }, { env: { MODELGATE_ADMIN_TOKEN: 't' } });
  try {
    const url = `${proxy.adminUrl}/api/v1/models/fraud/split`;
    const init = { method: 'PUT', headers: { authorization: 'Bearer t' }, body: JSON.stringify({ stable: '1' }) };
    const r = await fetch(url, init);
    assert.equal(r.status, 409);
    assert.match(((await r.json()) as { error: string }).error, /cannot confirm .* add \?force=1/);
    assert.equal(proxy.getSplit('fraud'), undefined);
    assert.equal((await fetch(`${url}?force=1`, init).then((x) => (x.body?.cancel(), x))).status, 200);
    assert.deepEqual(proxy.getSplit('fraud'), { stable: '1', weight: 0 });
  } finally {
    await proxy.close();
    await up.close();
  }
});

test('the admin API beyond loopback without a token refuses to start; with admin.readOnly it starts and refuses every change', async () => {
  const up = await startUpstream((_req, res) => res.end('{}'));
  const make = (admin: Record<string, unknown>) => {
    const issues = new Issues();
    const config = readProxyConfig({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, labels: { statusApi: 'none' }, admin: { port: 0, ...admin } }, 'proxy', issues);
    assert.deepEqual(issues.errors, []);
    return createProxy({ config, registry: new Registry(), env: {} });
  };
  try {
    await assert.rejects(make({ host: '0.0.0.0' }), (e: Error) => e.name === 'ConfigError' && /beyond loopback on 0\.0\.0\.0 without a token: set MODELGATE_ADMIN_TOKEN .* admin\.readOnly: true/.test(e.message));
    const proxy = await make({ host: '0.0.0.0', readOnly: true });
    try {
      const port = new URL(proxy.adminUrl).port;
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/models/fraud/split`, { method: 'PUT', body: '{"stable":"1"}' });
      assert.equal(r.status, 403);
      assert.match(((await r.json()) as { error: string }).error, /read-only/);
    } finally {
      await proxy.close();
    }
  } finally {
    await up.close();
  }
});
