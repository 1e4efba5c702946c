// Memory per stored prediction: the heap the prediction store (truth/) holds for N stored
// fraud predictions (one row, two class probabilities, a request id of 36 characters),
// measured as the heap after a full GC with N stored minus the heap before, for N = 10k
// and 100k, in the same process; plus the time to store one.
//
//   node --expose-gc --import tsx bench/truth-memory.ts
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Issues, systemClock } from '../common/index.ts';
import { GroundTruth, validateTruthSection } from '../truth/index.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const issues = new Issues();
const config = validateTruthSection({ maxEntries: 1_000_000, ttl: '1h', models: { fraud: { task: 'classification', predicted: 'label', probabilities: 'probabilities', classes: ['legit', 'fraud'] } } }, 'truth', issues);
if (!issues.ok) throw new Error(JSON.stringify(issues.errors));

const request = Buffer.from('{"instances":[{"amount":120.5,"account_age_days":400,"tx_last_hour":1,"distance_km":3.2,"merchant_risk":0.1,"hour_of_day":14,"device_age_days":300,"failed_logins":0}]}');
const responses = Array.from({ length: 64 }, (_, i) => Buffer.from(JSON.stringify({ predictions: [{ probabilities: [1 - i / 100, i / 100], label: i % 2 }] })));

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

console.log(`prediction store memory; node ${process.version}`);
console.log('');
console.log('| stored predictions | heap held | bytes per prediction | µs per store |');
console.log('|---:|---:|---:|---:|');
for (const n of [10_000, 100_000]) {
  const ids = Array.from({ length: n }, () => randomUUID());
  const before = heap();
  const truth = new GroundTruth(config!, { clock: systemClock, presampled: true });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    truth.offer({ model: 'fraud', version: '1', protocol: 'rest', requestBody: request, responseBody: responses[i % responses.length]!, contentType: 'application/json', requestId: ids[i]!, variant: 'stable' });
  }
  const elapsed = performance.now() - t0;
  if (truth.counters.stored !== n) throw new Error(`stored ${truth.counters.stored} of ${n}`);
  // The ids are the proxy's own strings either way (x-request-id): counted as held by the store.
  ids.length = 0;
  const after = heap();
  console.log(`| ${n.toLocaleString('en')} | ${((after - before) / 1048576).toFixed(1)} MiB | ${Math.round((after - before) / n)} | ${((elapsed * 1000) / n).toFixed(1)} |`);
  if (truth.snapshot().store.entries !== n) throw new Error('entries');
}
