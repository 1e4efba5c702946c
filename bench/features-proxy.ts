// Proxy throughput with the correctness and logging features on, against off, same run:
// shadow traffic at 20% with the prediction store on for the same 20% (target ≥ 0.85× of
// off; the mirror's copies are a second upstream request each, counted separately), the
// prediction store alone for every request, and the access log at 100% to a file
// (target ≥ 0.9×).
//
//   node --import tsx bench/features-proxy.ts [--rounds 3] [--seconds 5] [--concurrency 16]
import { cpus, loadavg } from 'node:os';
import { flag, runModes } from './lib/proxy-modes.ts';

const ROUNDS = Number(flag('rounds', '3'));
const SECONDS = Number(flag('seconds', '5'));
const CONCURRENCY = Number(flag('concurrency', '16'));

type Mode = 'off' | 'shadow' | 'store' | 'accesslog';
const MODES: Mode[] = ['off', 'shadow', 'store', 'accesslog'];
const LABEL: Record<Mode, string> = {
  off: 'off (no body copies)',
  shadow: 'shadow 20% + prediction store 20%',
  store: 'prediction store (every prediction)',
  accesslog: 'access log 100% (file)',
};

const r = await runModes({ child: new URL('./features-proxy-child.ts', import.meta.url), modes: MODES, rounds: ROUNDS, seconds: SECONDS, concurrency: CONCURRENCY });
const off = r.row('off');
console.log(`proxy throughput with features on vs off; ${ROUNDS} rounds × ${SECONDS} s, ${CONCURRENCY} connections, median; node ${process.version}, ${cpus().length} cores shared by load generator, proxy and upstream (load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
console.log('');
console.log('| mode | req/s | p50 ms | p99 ms | × off | proxy CPU µs / request (last run) | upstream requests / client request (last run) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const mode of MODES) {
  const m = r.row(mode);
  const last = r.runs[mode].at(-1)!;
  const clientRequests = last.requests + last.warmupRequests;
  const up = r.upstreamRequests[mode] ?? NaN;
  // The proxy child's CPU from READY to the end of the run, over the requests it answered (warm-up included).
  const st = r.stats[mode] as { cpuUs: number; answered: number } | undefined;
  console.log(`| ${LABEL[mode]} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${(m.rps / off.rps).toFixed(2)} | ${st ? (st.cpuUs / st.answered).toFixed(0) : '–'} | ${(up / clientRequests).toFixed(3)} |`);
}
console.log('');
console.log(`shadow, last run: ${JSON.stringify(r.stats.shadow)}; store, last run: ${JSON.stringify(r.stats.store)}`);
process.exit(0);
