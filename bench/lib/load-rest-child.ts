// The load generator process (forked by bench/lib/load-rest.ts). For each cell it opens an
// undici Pool with one keep-alive connection per worker, runs a warmup, then a measured
// closed loop, and replies with the summary. Sends only to the origin it is given
// (the benchmark gives it 127.0.0.1).
import { Pool } from 'undici';
import { Samples, summarize, type ChildReply, type ChildRequest, type LoadSpec, type LoadSummary } from './load-rest.ts';

interface Counts {
  requests: number;
  errors: number;
  lastDone: number;
}

async function loop(pool: Pool, spec: LoadSpec, until: number, samples: Samples | undefined, counts: Counts): Promise<void> {
  const headers = { 'content-type': 'application/json' };
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      const res = await pool.request({ path: spec.path, method: 'POST', headers, body: spec.body });
      // Read the whole body: a server is not done until its last byte has arrived.
      await res.body.arrayBuffer();
      if (res.statusCode < 200 || res.statusCode > 299) counts.errors++;
    } catch {
      counts.errors++;
    }
    const t1 = performance.now();
    samples?.push(t1 - t0);
    counts.requests++;
    counts.lastDone = t1;
  }
}

async function runCell(spec: LoadSpec): Promise<LoadSummary> {
  // pipelining 1: one request in flight per connection, like a keep-alive client pool.
  const pool = new Pool(spec.origin, { connections: spec.concurrency, pipelining: 1 });
  try {
    const workers = (until: number, samples: Samples | undefined, counts: Counts) =>
      Promise.all(Array.from({ length: spec.concurrency }, () => loop(pool, spec, until, samples, counts)));
    const warm: Counts = { requests: 0, errors: 0, lastDone: 0 };
    await workers(performance.now() + spec.warmupMs, undefined, warm);
    const samples = new Samples();
    const counts: Counts = { requests: 0, errors: 0, lastDone: 0 };
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await workers(start + spec.durationMs, samples, counts);
    const cpu = process.cpuUsage(cpu0);
    const clientCpu = (cpu.user + cpu.system) / Math.max(1, counts.requests);
    return summarize(samples.data, samples.count, counts.errors + warm.errors, counts.lastDone - start, warm.requests, clientCpu);
  } finally {
    await pool.close();
  }
}

process.on('message', (m: ChildRequest) => {
  runCell(m.spec).then(
    (summary) => process.send!({ id: m.id, ok: true, summary } satisfies ChildReply),
    (e: unknown) => process.send!({ id: m.id, ok: false, error: (e as Error)?.message ?? String(e) } satisfies ChildReply),
  );
});
// Exit when the parent disconnects (it closes the IPC channel when the bench ends).
process.on('disconnect', () => process.exit(0));
