// Ten slow clients through the whole gateway (proxy + SLO engine): slow uploads are answered,
// stalled ones get 408, and neither spends any error budget, availability or latency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/index.ts';
import { startGateway } from '../../app/gateway.ts';
import { startUpstream, tfServingLike } from '../proxy/helpers.ts';
import { pieces, slowPost } from '../proxy/slow-client.ts';

test('ten slow and ten stalled clients through the gateway: no 504, and no error budget spent', async () => {
  const up = await startUpstream(tfServingLike({ m: ['1'] }));
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-slow-clients-'));
  const file = join(dir, 'modelgate.yaml');
  await writeFile(file, [
    'apiVersion: modelgate/v1',
    'slos:',
    '  - {name: m-availability, model: m, version: each, sli: {availability: {}}, objective: 99.9, period: 30d}',
    '  - {name: m-latency, model: m, version: each, sli: {latency: {threshold: 250ms}}, objective: 99, period: 30d}',
    '',
  ].join('\n'));
  const gw = await startGateway({
    config: loadConfig(file),
    tickMs: 60_000,
    stateDir: join(dir, 'state'),
    proxyOverride: (p) => ({
      ...p,
      rest: { host: '127.0.0.1', port: 0, upstream: up.url, client: 'native' },
      admin: { ...p.admin, port: 0 },
      // Uploads below take ~1.2 s: three times both timeouts.
      timeouts: { ...p.timeouts, upstreamMs: 400, clientBodyMs: 400 },
      labels: { ...p.labels, statusApi: 'none' },
    }),
  });
  try {
    const base = gw.proxy.restUrl!;
    // One ordinary request first: the model's name becomes a label once the upstream answers for it.
    assert.equal((await fetch(`${base}/v1/models/m:predict`, { method: 'POST', body: '{"instances":[1]}' })).status, 200);
    const slow = Array.from({ length: 10 }, (_, i) => slowPost(base, '/v1/models/m:predict', { pieces: pieces(8), gapMs: 150, chunked: i % 2 === 1 }));
    const stalled = Array.from({ length: 10 }, (_, i) => slowPost(base, '/v1/models/m:predict', { pieces: ['{"instances":'], gapMs: 20, ...(i % 2 ? { chunked: true, stall: true } : { declaredLength: 100 }) }));
    const slowStatuses = (await Promise.all(slow)).map((r) => r.status);
    const stalledStatuses = (await Promise.all(stalled)).map((r) => r.status);
    assert.deepEqual(slowStatuses, Array(10).fill(200));
    assert.deepEqual(stalledStatuses, Array(10).fill(408));
    gw.tick();
    const snap = gw.slo.snapshot();
    for (const slo of snap.slos) {
      const series = slo.series;
      assert.ok(series.length > 0, `${slo.name} saw the requests`);
      for (const s of series) {
        assert.equal(s.budget.total, 21, `${slo.name} counted every request`);
        assert.equal(s.budget.bad, 0, `${slo.name} spent budget on slow clients`);
      }
    }
  } finally {
    await gw.close();
    await up.close();
    await rm(dir, { recursive: true, force: true });
  }
});
