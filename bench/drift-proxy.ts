// Proxy throughput with drift on (every request's bodies teed and recorded off the
// response path) vs drift off (target: throughput on >= 85% of off),
// and "tee": bodies teed to a subscriber that does nothing, which separates the proxy's
// share of the cost (copying bodies) from the recorder's.
//
//   node --import tsx bench/drift-proxy.ts [--rounds 3] [--seconds 5] [--concurrency 16]
//
// Three processes on loopback: the upstream (bench/proxy/upstream-child.ts, a trivial
// TF Serving look-alike answering the fraud predict), the proxy (bench/drift-proxy-child.ts,
// started fresh for each measurement), and the closed-loop load generator
// (bench/lib/load-rest.ts). Rounds alternate off/on so drift in machine load spreads over
// both; the median per mode is reported.
import { cpus, loadavg } from 'node:os';
import { flag, runModes } from './lib/proxy-modes.ts';

const ROUNDS = Number(flag('rounds', '3'));
const SECONDS = Number(flag('seconds', '5'));
const CONCURRENCY = Number(flag('concurrency', '16'));

type Mode = 'off' | 'tee' | 'on';
const MODES: Mode[] = ['off', 'tee', 'on'];

const r = await runModes({ child: new URL('./drift-proxy-child.ts', import.meta.url), modes: MODES, rounds: ROUNDS, seconds: SECONDS, concurrency: CONCURRENCY });
const off = r.row('off');
console.log(`proxy throughput, drift off vs on (sampling 100%); ${ROUNDS} rounds × ${SECONDS} s, ${CONCURRENCY} connections, median; node ${process.version}, ${cpus().length} cores shared by load generator, proxy and upstream (and other work: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
console.log('');
console.log('| drift | req/s | p50 ms | p99 ms | × off |');
console.log('|---|---:|---:|---:|---:|');
for (const mode of MODES) {
  const m = r.row(mode);
  console.log(`| ${mode} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${(m.rps / off.rps).toFixed(2)} |`);
}
const lastOn = r.runs.on.at(-1)!;
console.log('');
console.log(`last "on" run: ${lastOn.requests + lastOn.warmupRequests} requests answered (warm-up included; a few more may have been in flight); recorder stats: ${JSON.stringify(r.stats.on)}`);
console.log('offered < requests means the proxy\'s own body-tee queue dropped bodies before the recorder saw them (counted in modelgate_telemetry_dropped_total).');
process.exit(0);
