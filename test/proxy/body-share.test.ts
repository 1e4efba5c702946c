// Several areas read the proxy's request/response bodies, each at its own share of the
// traffic (drift at proxy.bodies.sampleRate, the prediction store, capture and shadow
// mirroring at theirs). One uniform draw per request decides them all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BodySample, Proxy } from '../../proxy/index.ts';
import { seeded, startProxy, startUpstream, until } from './helpers.ts';
import type { Upstream } from './helpers.ts';

describe('body subscribers with their own share of traffic', () => {
  let up: Upstream;
  let proxy: Proxy;
  const everyFraud: BodySample[] = [];
  const halfOfAll: BodySample[] = [];
  const atSampleRate: BodySample[] = [];
  const N = 200;

  before(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-model-version': '1' });
      res.end('{"predictions":[1]}');
    });
    // sampleRate 0: a subscriber that names no share gets nothing.
    ({ proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url }, bodies: { sampleRate: 0 } }, { random: seeded(7) }));
    proxy.onBodies((b) => void everyFraud.push(b), { share: (m) => (m === 'fraud' ? 1 : 0) });
    proxy.onBodies((b) => void halfOfAll.push(b), { share: () => 0.5, maxShare: () => 0.5 });
    proxy.onBodies((b) => void atSampleRate.push(b));
    for (let i = 0; i < N; i++) {
      for (const model of ['fraud', 'churn']) {
        const r = await fetch(`${proxy.restUrl}/v1/models/${model}:predict?x=1`, { method: 'POST', body: `{"instances":[${i}]}` });
        await r.text();
      }
    }
    await until(() => everyFraud.length >= N);
  });
  after(async () => {
    await proxy.close();
    await up.close();
  });

  test('a subscriber with share 1 for one model receives every request of that model and none of the others', () => {
    assert.equal(everyFraud.length, N);
    assert.ok(everyFraud.every((b) => b.model === 'fraud'));
  });

  test('a subscriber at half the traffic receives about half of every model, drawn the same way', () => {
    const fraud = halfOfAll.filter((b) => b.model === 'fraud').length;
    const churn = halfOfAll.filter((b) => b.model === 'churn').length;
    assert.ok(fraud > N * 0.35 && fraud < N * 0.65, `fraud: ${fraud} of ${N}`);
    assert.ok(churn > N * 0.35 && churn < N * 0.65, `churn: ${churn} of ${N}`);
    // A smaller share sees a subset of a larger one's requests.
    const all = new Set(everyFraud.map((b) => b.requestId));
    assert.ok(halfOfAll.filter((b) => b.model === 'fraud').every((b) => all.has(b.requestId)));
    assert.ok(halfOfAll.every((b) => b.draw! < 0.5));
  });

  test('a subscriber without a share gets proxy.bodies.sampleRate (0 here)', () => {
    assert.equal(atSampleRate.length, 0);
  });

  test('a REST sample carries the request path (without the query), the primary latency and its draw', () => {
    const b = everyFraud[0]!;
    assert.equal(b.path, '/v1/models/fraud:predict');
    assert.ok(typeof b.durationSeconds === 'number' && b.durationSeconds >= 0);
    assert.ok(typeof b.draw === 'number' && b.draw >= 0 && b.draw < 1);
    assert.equal(JSON.parse(b.responseBody.toString()).predictions[0], 1);
  });
});
