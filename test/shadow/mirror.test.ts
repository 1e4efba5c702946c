// The mirror's own budget: it never queues behind client traffic. With its slots busy and
// its queue full, further copies are dropped and counted; a pinned request is never copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { SHADOW_METRIC, systemClock } from '../../common/index.ts';
import { Mirror } from '../../shadow/index.ts';
import type { BodySample } from '../../proxy/index.ts';
import { parseMetrics, sample, startUpstream } from '../proxy/helpers.ts';

const body = (over: Partial<BodySample> = {}): BodySample => ({
  model: 'fraud', version: '1', api: 'predict', protocol: 'rest', contentType: 'application/json', path: '/v1/models/fraud:predict',
  requestBody: Buffer.from('{"instances":[[1]]}'), responseBody: Buffer.from('{"predictions":[[0.5]]}'), durationSeconds: 0.001, ...over,
});

test('with its slots busy and its queue full, the mirror drops further copies and counts them; it never copies a pinned request', async () => {
  const release: Array<() => void> = [];
  const up = await startUpstream((_req, res) => {
    // The candidate hangs until the test lets it answer.
    release.push(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"predictions":[[0.5]]}');
    });
  });
  const registry = new Registry();
  const mirror = new Mirror({
    rest: { upstream: up.url },
    plan: (m) => (m === 'fraud' ? { candidate: '2', share: 1, compare: { outputs: [], absTolerance: 1e-6, relTolerance: 1e-4 }, sinceMs: 1 } : undefined),
    registry,
    clock: systemClock,
    maxInFlight: 2,
    maxQueued: 3,
  });
  try {
    for (let i = 0; i < 10; i++) mirror.offer(body());
    mirror.offer(body({ pinned: true }));
    mirror.offer(body({ version: '2' }));
    mirror.offer(body({ model: 'churn' }));
    const dropped = sample(parseMetrics(await registry.metrics()), SHADOW_METRIC.requests, { model: 'fraud', version: '2', outcome: 'dropped_queue_full' });
    assert.equal(dropped, 10 - 2 - 3, '2 in flight, 3 queued, the rest dropped');
    while (up.seen.length < 5 || release.length > 0) {
      release.splice(0).forEach((f) => f());
      await new Promise((r) => setTimeout(r, 10));
    }
    await mirror.idle();
    assert.equal(up.seen.length, 5, 'only the copies taken were sent');
    assert.ok(up.seen.every((r) => r.url === '/v1/models/fraud/versions/2:predict' && r.headers['x-modelgate-shadow'] === '1'), 'pinned to the candidate and marked');
    const m = parseMetrics(await registry.metrics());
    assert.equal(sample(m, SHADOW_METRIC.requests, { model: 'fraud', version: '2', outcome: 'compared' }), 5);
    assert.equal(sample(m, SHADOW_METRIC.agreement, { model: 'fraud', version: '2' }), 1);
    assert.equal(mirror.views()[0]!.dropped, 5);
  } finally {
    release.splice(0).forEach((f) => f());
    await mirror.close();
    await up.close();
  }
});
