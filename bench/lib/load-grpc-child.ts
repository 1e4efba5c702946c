// The gRPC load generator process (forked by bench/lib/load-grpc.ts). For each cell it opens
// one h2c connection, runs a warmup, then a measured closed loop, and replies with the
// summary. Sends only to the origin it is given (the benchmark gives it 127.0.0.1).
import http2 from 'node:http2';
import { Samples, summarize } from './load-rest.ts';
import type { GrpcChildReply, GrpcChildRequest, GrpcLoadSpec } from './load-grpc.ts';

interface Counts {
  requests: number;
  errors: number;
}

/** One call: resolves true for HTTP 200 with grpc-status 0 after the whole answer arrived. */
function call(session: http2.ClientHttp2Session, path: string, framed: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let status = 0;
    let grpcStatus: string | undefined;
    s.on('response', (h) => {
      status = Number(h[':status']);
      // Trailers-only answers carry grpc-status in the headers.
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    s.on('trailers', (t) => {
      grpcStatus = String(t['grpc-status']);
    });
    s.on('data', () => {});
    s.on('close', () => resolve(status === 200 && grpcStatus === '0'));
    s.on('error', () => {});
    s.end(framed);
  });
}

async function loop(session: http2.ClientHttp2Session, spec: GrpcLoadSpec, framed: Buffer, until: number, samples: Samples | undefined, counts: Counts): Promise<void> {
  while (performance.now() < until) {
    const t0 = performance.now();
    if (!(await call(session, spec.path, framed))) counts.errors++;
    samples?.push(performance.now() - t0);
    counts.requests++;
  }
}

async function runCell(spec: GrpcLoadSpec) {
  const framed = Buffer.from(spec.framedBase64, 'base64');
  const session = http2.connect(spec.origin);
  session.on('error', () => {});
  try {
    const warm: Counts = { requests: 0, errors: 0 };
    const warmUntil = performance.now() + spec.warmupMs;
    await Promise.all(Array.from({ length: spec.concurrency }, () => loop(session, spec, framed, warmUntil, undefined, warm)));
    const counts: Counts = { requests: 0, errors: 0 };
    const samples = new Samples();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: spec.concurrency }, () => loop(session, spec, framed, t0 + spec.durationMs, samples, counts)));
    const elapsed = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return summarize(samples.data, samples.count, counts.errors + warm.errors, elapsed, warm.requests, (cpu.user + cpu.system) / Math.max(1, counts.requests));
  } finally {
    session.close();
  }
}

process.on('message', (m: GrpcChildRequest) => {
  runCell(m.spec).then(
    (summary) => process.send!({ id: m.id, ok: true, summary } satisfies GrpcChildReply),
    (e: unknown) => process.send!({ id: m.id, ok: false, error: String((e as Error)?.stack ?? e) } satisfies GrpcChildReply),
  );
});
// Exit when the parent disconnects (it closes the IPC channel when the bench ends).
process.on('disconnect', () => process.exit(0));
