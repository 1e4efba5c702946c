// The proxy under test for bench/drift-proxy.ts: createProxy in front of `upstream`, with
// drift off (nobody subscribes to bodies, so the proxy tees nothing), tee (every body teed
// to a subscriber that does nothing: the proxy's share of the cost), or on (every body
// teed, sampleRate 1, into a DriftRecorder with the fraud baseline). Prints "READY {port}".
import { Registry } from 'prom-client';
import { fileURLToPath } from 'node:url';
import { Issues } from '../common/index.ts';
import { createProxy, readProxyConfig } from '../proxy/index.ts';
import { DriftRecorder, loadBaselines, registerDriftMetrics, validateDriftSection } from '../drift/index.ts';

const [mode, upstream] = process.argv.slice(2) as ['on' | 'off' | 'tee', string];
const issues = new Issues();
const config = readProxyConfig({ rest: { host: '127.0.0.1', port: 0, upstream }, admin: { port: 0 }, bodies: { sampleRate: 1 } }, 'proxy', issues);
const drift = validateDriftSection(
  {
    sampleRate: 1,
    models: {
      fraud: {
        inputs: ['amount', 'account_age_days', 'tx_last_hour', 'distance_km', 'merchant_risk', 'hour_of_day', 'device_age_days', 'failed_logins'],
        outputs: [{ name: 'fraud_probability', output: 'probabilities', column: 1 }],
      },
    },
  },
  'drift',
  issues,
);
if (!issues.ok) throw new Error(JSON.stringify(issues.errors));
const registry = new Registry();
const proxy = await createProxy({ config, registry });
let recorder: DriftRecorder | undefined;
if (mode === 'tee') proxy.onBodies(() => {});
if (mode === 'on') {
  const { profiles } = await loadBaselines(fileURLToPath(new URL('../examples/baselines', import.meta.url)));
  recorder = new DriftRecorder(drift, { baselines: profiles });
  registerDriftMetrics(registry, recorder);
  proxy.onBodies((b) => recorder!.offer(b));
  // The evaluation tick, as the lead's process runs it.
  setInterval(() => recorder!.evaluate(), 2000).unref();
}
process.on('message', (m) => {
  if (m === 'stats') process.send?.({ stats: recorder?.stats ?? null });
});
console.log(`READY ${JSON.stringify({ port: Number(new URL(proxy.restUrl!).port) })}`);
process.on('SIGTERM', () => process.exit(0));
