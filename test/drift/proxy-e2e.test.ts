// End to end: traffic through the real proxy to the real modelgate
// server serving the example fraud model; the proxy's body tee feeds a DriftRecorder
// holding the committed baseline. Hour of day is shifted (a bot running round the clock):
// that feature's drift gauge on the proxy's /metrics fires, the others do not.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { DRIFT_METRIC } from '../../common/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { DriftRecorder, loadBaselines, registerDriftMetrics } from '../../drift/index.ts';
import { eventually } from '../helpers/repo.ts';
import { serveExampleCopies, type ServerWithRepo } from '../helpers/server.ts';
import { startProxy } from '../helpers/proxy.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import type { FraudRow } from '../../examples/data/fraud-reference.ts';
import { fraudDriftConfig } from './helpers.ts';

let server: ServerWithRepo;
let proxy: Proxy;
let recorder: DriftRecorder;

before(async () => {
  server = await serveExampleCopies({ fraud: { policy: { kind: 'specific', versions: [1] } } });
  let registry: Registry;
  ({ proxy, registry } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: server.restUrl }, bodies: { sampleRate: 1 } }));
  const { profiles } = await loadBaselines(fileURLToPath(new URL('../../examples/baselines', import.meta.url)));
  recorder = new DriftRecorder(fraudDriftConfig(), { baselines: profiles });
  registerDriftMetrics(registry, recorder);
  proxy.onBodies((b) => recorder.offer(b));
});

after(async () => {
  await proxy.close();
  await server.close();
});

async function predict(rows: readonly FraudRow[]): Promise<void> {
  const r = await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: rows }) });
  assert.equal(r.status, 200, await r.text());
}

/** drift_score{method="js"} per feature and drift_detected, read from the proxy's own /metrics. */
async function scrape(): Promise<{ js: Record<string, number>; detected: string[] }> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const js: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${DRIFT_METRIC.score}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels['method'] === 'js' && labels['version'] === '1') js[labels['feature']!] = Number(m[2]);
  }
  const detected = [...text.matchAll(new RegExp(`^${DRIFT_METRIC.detected}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => `${m[1]} ${m[2]}`);
  return { js, detected };
}

test('a shifted hour of day through the proxy fires only that feature\'s drift gauge', async () => {
  const rows = fraudRows(600, 31, { flatHours: true });
  // Four requests in flight at a time, 10 instances each.
  for (let i = 0; i < rows.length; i += 40) {
    await Promise.all([0, 10, 20, 30].map((o) => predict(rows.slice(i + o, i + o + 10))));
  }
  await eventually(() => recorder.stats.offered === 60 || undefined);
  await recorder.flush();
  assert.equal(recorder.stats.unparsable, 0);
  const [v] = recorder.evaluate();
  assert.equal(v!.version, '1', 'the version the server reported');
  assert.equal(v!.samples, 600);
  const { js, detected } = await scrape();
  assert.equal(Object.keys(js).length, 10, 'a js score for every feature');
  assert.deepEqual(Object.entries(js).filter(([, s]) => s >= 0.1).map(([f]) => f), ['hour_of_day']);
  assert.deepEqual(detected, ['model="fraud",version="1" 1']);
});
