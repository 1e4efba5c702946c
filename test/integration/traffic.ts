// Test fixtures for traffic: a fault injector between the proxy and the real model server
// (the chaos upstream of examples/lib/chaos.ts), and a load generator that only talks to
// loopback.
import { startChaos } from '../../examples/lib/chaos.ts';

export interface FaultInjector {
  url: string;
  /** Fail this share (0..1) of predict calls to the version, deterministically (every n-th of 10). */
  failVersion(version: string, share: number): void;
  /** Cut the connection of the next `n` requests without an answer (an upstream reset). */
  resetNext(n: number): void;
  close(): Promise<void>;
}

/** The chaos upstream (examples/lib/chaos.ts) with the two faults these tests use. */
export async function startFaultInjector(upstream: string): Promise<FaultInjector> {
  const chaos = await startChaos(upstream);
  let faulty: string | undefined;
  return {
    url: chaos.url,
    failVersion(version, share) {
      if (faulty !== undefined) chaos.set(faulty, undefined);
      faulty = version;
      chaos.set(version, { failShare: share });
    },
    resetNext: (n) => chaos.resetNext(n),
    close: () => chaos.close(),
  };
}

export interface Load {
  sent(): number;
  stop(): Promise<void>;
}

/** `workers` loops posting `body` to `url`, pausing `pauseMs` between requests. */
export function startLoad(url: string, body: unknown, workers = 2, pauseMs = 15): Load {
  let running = true;
  let sent = 0;
  const payload = JSON.stringify(body);
  const loop = async () => {
    while (running) {
      try {
        const r = await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
      } catch {
        // A failed request is part of the traffic; the proxy counts it.
      }
      sent++;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    sent: () => sent,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
