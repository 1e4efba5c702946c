// Open-loop load at a fixed rate (the wrk2 idea): requests are scheduled at fixed times,
// whatever the previous ones are doing. Two latencies are kept: from the actual send
// (service time) and from the scheduled time (wrk2's corrected figure, which also charges
// this generator's own timer lateness of up to ~1 ms). A 1 ms timer rather than a busy loop,
// so the generator does not eat a core the proxy needs. Runs in its own process; prints
// one JSON line.
// argv: url rate durationMs warmupMs connections
import { Pool } from 'undici';
import { performance } from 'node:perf_hooks';

const [url, rateS, durS, warmS, connS] = process.argv.slice(2) as [string, string, string, string, string];
const rate = Number(rateS), durationMs = Number(durS), warmupMs = Number(warmS), connections = Number(connS);
const u = new URL(url);
const pool = new Pool(u.origin, { connections, keepAliveTimeout: 60_000 });
const body = '{"instances":[{"amount":120.5,"account_age_days":400,"tx_last_hour":1,"distance_km":3.2,"merchant_risk":0.1,"hour_of_day":14,"device_age_days":300,"failed_logins":0}]}';

const total = Math.round((rate * (warmupMs + durationMs)) / 1000);
const warmCount = Math.round((rate * warmupMs) / 1000);
const lat = new Float64Array(total);
const corrected = new Float64Array(total);
let done = 0, errors = 0, sent = 0;
const start = performance.now() + 50;
const interval = 1000 / rate;

function send(i: number, scheduled: number): void {
  const t0 = performance.now();
  pool.request({ path: u.pathname, method: 'POST', body, headers: { 'content-type': 'application/json' } }).then(
    async (r) => {
      await r.body.dump();
      if (r.statusCode !== 200) errors++;
      const t1 = performance.now();
      lat[i] = t1 - t0;
      corrected[i] = t1 - scheduled;
      if (++done === total) finish();
    },
    () => {
      errors++;
      const t1 = performance.now();
      lat[i] = t1 - t0;
      corrected[i] = t1 - scheduled;
      if (++done === total) finish();
    },
  );
}

function tick(): void {
  const now = performance.now();
  while (sent < total && start + sent * interval <= now) {
    send(sent, start + sent * interval);
    sent++;
  }
  if (sent < total) setTimeout(tick, 1);
}

function pct(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function finish(): void {
  const measured = lat.slice(warmCount).sort();
  const corr = corrected.slice(warmCount).sort();
  console.log(JSON.stringify({
    requests: measured.length, errors,
    p50: pct(measured, 0.5), p99: pct(measured, 0.99), p999: pct(measured, 0.999),
    correctedP50: pct(corr, 0.5), correctedP99: pct(corr, 0.99),
  }));
  void pool.close().then(() => process.exit(0));
}

setTimeout(tick, 50);
