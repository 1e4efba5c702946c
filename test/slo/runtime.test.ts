import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { ManualClock } from '../../common/index.ts';
import { parseConfig } from '../../config/index.ts';
import { startSlos } from '../../slo/runtime.ts';
import { MINUTE, outcome } from './helpers.ts';

test('a config, an engine, gauges and a webhook wired together: an outage reaches the receiver and /metrics', async () => {
  const bodies: any[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const { config, issues } = parseConfig(`apiVersion: modelgate/v1
slos:
  - {name: fraud-availability, model: fraud, sli: {availability: {}}, objective: 99.9, notify: [oncall]}
notify:
  - {name: oncall, webhook: "http://127.0.0.1:${port}/hook"}
`);
  assert.ok(config, JSON.stringify(issues));
  const clock = new ManualClock(100 * MINUTE);
  const registry = new Registry();
  const slos = startSlos(config, { clock, registry, tickMs: 0 });
  for (let i = 0; i < 100; i++) slos.engine.record(outcome(clock.now() - i, 'UNAVAILABLE', { protocol: 'grpc', grpcCode: 14 }));
  const [status] = slos.tick();
  assert.equal(status!.verdict, 'fail');
  await slos.notifier.idle();
  assert.deepEqual(bodies.map((b) => [b.status, b.alerts[0].labels.severity]).sort(), [['firing', 'page'], ['firing', 'ticket']]);
  assert.match(await registry.metrics(), /modelgate_slo_alert\{slo="fraud-availability",model="fraud",version="2",severity="page"\} 1/);
  assert.equal(slos.engine.snapshot().slos[0]!.series[0]!.verdict, 'fail');
  await slos.close();
});
