// Open-loop load at a fixed rate (the wrk2 idea): requests are scheduled at fixed times,
// whatever the previous ones are doing. With several URLs, each gets the full rate and
// their requests are interleaved in the same time window ("paired"), so a burst of load
// from elsewhere on the machine hits every path alike and their latencies stay comparable.
// Two latencies are kept: from the actual send (service time) and from the scheduled time
// (wrk2's corrected figure, which also charges this generator's own timer lateness of up to
// ~1 ms). A 1 ms timer, not a busy loop, so the generator does not eat a core the proxy
// needs. Runs in its own process; prints one JSON line: an array, one entry per URL.
// argv: url[,url...] rate durationMs warmupMs connections
import { Pool } from 'undici';
import { performance } from 'node:perf_hooks';

const [urlsS, rateS, durS, warmS, connS] = process.argv.slice(2) as [string, string, string, string, string];
const rate = Number(rateS), durationMs = Number(durS), warmupMs = Number(warmS), connections = Number(connS);
const body = '{"instances":[{"amount":120.5,"account_age_days":400,"tx_last_hour":1,"distance_km":3.2,"merchant_risk":0.1,"hour_of_day":14,"device_age_days":300,"failed_logins":0}]}';
const total = Math.round((rate * (warmupMs + durationMs)) / 1000);
const warmCount = Math.round((rate * warmupMs) / 1000);

interface Target {
  path: string;
  pool: Pool;
  lat: Float64Array;
  corrected: Float64Array;
  errors: number;
}
const targets: Target[] = urlsS.split(',').map((url) => {
  const u = new URL(url);
  return { path: u.pathname, pool: new Pool(u.origin, { connections, keepAliveTimeout: 60_000 }), lat: new Float64Array(total), corrected: new Float64Array(total), errors: 0 };
});
let done = 0, sent = 0;
const expected = total * targets.length;
const start = performance.now() + 50;
const interval = 1000 / rate;

function send(t: Target, i: number, scheduled: number): void {
  const t0 = performance.now();
  const record = (ok: boolean) => {
    if (!ok) t.errors++;
    const t1 = performance.now();
    t.lat[i] = t1 - t0;
    t.corrected[i] = t1 - scheduled;
    if (++done === expected) finish();
  };
  t.pool.request({ path: t.path, method: 'POST', body, headers: { 'content-type': 'application/json' } }).then(
    async (r) => {
      await r.body.dump();
      record(r.statusCode === 200);
    },
    () => record(false),
  );
}

function tick(): void {
  const now = performance.now();
  while (sent < total && start + sent * interval <= now) {
    // Rotate which target goes first, so none is always last in a burst.
    for (let k = 0; k < targets.length; k++) send(targets[(sent + k) % targets.length]!, sent, start + sent * interval);
    sent++;
  }
  if (sent < total) setTimeout(tick, 1);
}

function pct(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function finish(): void {
  const out = targets.map((t) => {
    const measured = t.lat.slice(warmCount).sort();
    const corr = t.corrected.slice(warmCount).sort();
    return {
      requests: measured.length, errors: t.errors,
      p50: pct(measured, 0.5), p99: pct(measured, 0.99), p999: pct(measured, 0.999),
      correctedP50: pct(corr, 0.5), correctedP99: pct(corr, 0.99),
    };
  });
  console.log(JSON.stringify(out));
  void Promise.all(targets.map((t) => t.pool.close())).then(() => process.exit(0));
}

setTimeout(tick, 50);
